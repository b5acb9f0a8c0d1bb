//! A socket's session ends when its token does. Each socket has an
//! [`Expiry`]: a task sleeps until 60 s before `exp` and emits
//! `auth:expiring {exp}` (at once when less remains), then until `exp`,
//! emits `auth:expired {message}` and disconnects the socket (its rooms hear
//! `peer:left` with reason `expired`). `auth:refresh {token}` moves `exp`
//! (same `sub` only) and wakes the task, which starts over.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use tokio::sync::Notify;

use super::dispatch::{self, Ack, Ctx, Dialect, EventError, Payload};
use crate::domain::identity::TokenService;
use crate::wire::events;

/// How long before `exp` the client is warned.
pub const WARN_BEFORE: Duration = Duration::from_secs(60);

/// One socket's token expiry.
#[derive(Debug)]
pub struct Expiry {
    exp: AtomicI64,
    changed: Notify,
    gone: AtomicBool,
    expired: AtomicBool,
}

impl Expiry {
    /// A session whose token expires at `exp` (unix seconds).
    pub fn new(exp: i64) -> Arc<Self> {
        Arc::new(Self {
            exp: AtomicI64::new(exp),
            changed: Notify::new(),
            gone: AtomicBool::new(false),
            expired: AtomicBool::new(false),
        })
    }

    /// True once the socket was disconnected because its token expired.
    pub fn expired(&self) -> bool {
        self.expired.load(Ordering::SeqCst)
    }

    /// The socket is gone: end the timer.
    pub fn stop(&self) {
        self.gone.store(true, Ordering::SeqCst);
        self.changed.notify_one();
    }

    fn set(&self, exp: i64) {
        // The same expiry again changes nothing (and warns nobody again).
        if self.exp.swap(exp, Ordering::SeqCst) != exp {
            self.changed.notify_one();
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct Expiring {
    exp: i64,
}

#[derive(Debug, Clone, Serialize)]
struct Expired {
    message: &'static str,
}

/// `auth:refresh` payload.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RefreshRequest {
    /// The new token.
    pub token: String,
}

impl Payload for RefreshRequest {}

/// `auth:refresh` ack.
#[derive(Debug, Clone, Serialize)]
pub struct Refreshed {
    success: bool,
    exp: i64,
}

fn until(exp: i64, before: Duration) -> Duration {
    let now = chrono::Utc::now().timestamp_millis();
    let at = exp * 1000 - before.as_millis() as i64;
    Duration::from_millis((at - now).max(0) as u64)
}

/// Start the expiry timer of `s` (call once, from the namespace setup).
pub fn watch<A: Adapter>(s: &SocketRef<A>, expiry: Arc<Expiry>) {
    let socket = s.clone();
    tokio::spawn(async move {
        'session: loop {
            let exp = expiry.exp.load(Ordering::SeqCst);
            // Warn, unless a refresh comes first.
            tokio::select! {
                () = tokio::time::sleep(until(exp, WARN_BEFORE)) => {}
                () = expiry.changed.notified() => {
                    if expiry.gone.load(Ordering::SeqCst) { return; }
                    continue 'session;
                }
            }
            if let Err(e) = socket.emit(events::AUTH_EXPIRING, &Expiring { exp }) {
                tracing::debug!(socket_id = %socket.id, error = %e, "auth:expiring not delivered");
            }
            tokio::select! {
                () = tokio::time::sleep(until(exp, Duration::ZERO)) => {}
                () = expiry.changed.notified() => {
                    if expiry.gone.load(Ordering::SeqCst) { return; }
                    continue 'session;
                }
            }
            if expiry.exp.load(Ordering::SeqCst) != exp {
                continue 'session;
            }
            expiry.expired.store(true, Ordering::SeqCst);
            let _ = socket.emit(
                events::AUTH_EXPIRED,
                &Expired {
                    message: "your session has expired: sign in again",
                },
            );
            tracing::info!(socket_id = %socket.id, ns = socket.ns(), "disconnected: token expired");
            let _ = socket.disconnect();
            return;
        }
    });
}

/// Register `auth:refresh` on `s` (both namespaces).
pub fn register<A: Adapter, D: Dialect>(s: &SocketRef<A>, dialect: D) {
    dispatch::on(s, events::AUTH_REFRESH, dialect, on_refresh::<A>);
}

async fn on_refresh<A: Adapter>(
    ctx: Ctx<A>,
    tokens: Arc<TokenService>,
    req: RefreshRequest,
) -> Result<Ack<Refreshed>, EventError> {
    let unauthorized = |why: String| EventError::terse(format!("unauthorized: {why}"), why);
    let claims = tokens
        .verify(&req.token)
        .map_err(|e| unauthorized(e.to_string()))?;
    if claims.sub != ctx.caller.user.id.as_str() {
        return Err(unauthorized("the token belongs to another user".into()));
    }
    let Some(session) = super::session::session(&ctx.socket) else {
        return Err(unauthorized("no session".into()));
    };
    session.expiry.set(claims.exp);
    Ok(Ack(Refreshed {
        success: true,
        exp: claims.exp,
    }))
}
