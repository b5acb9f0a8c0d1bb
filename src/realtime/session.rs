//! A socket's session: the handshake that authenticates it, what it carries
//! (its [`Caller`], its event [`Sequencer`], its [`Gone`] flag), and the
//! connect and disconnect log lines, the same in every namespace.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State, TryData};
use socketioxide::socket::{DisconnectReason, Socket};

use super::admission::{Admission, Seat, TooMany};
use super::dispatch;
use super::expiry::{self, Expiry};
use super::rate::{EventLimit, EventQuota};
use super::sequencer::Sequencer;
use crate::domain::identity::TokenService;
use crate::http::credentials::find_token;
use crate::telemetry::{self, Refusal};
use crate::wire::{PeerId, UserRef, UserSummary};

/// The authenticated user of a socket, set by [`authenticate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `{id, username, email}`.
    pub user: UserSummary,
    /// `{id, username}` (a relay's `fromUser`).
    pub user_ref: UserRef,
}

impl Caller {
    /// The personal room of this user: `user-<id>`.
    pub fn room(&self) -> String {
        user_room(self.user.id.as_str())
    }
}

/// The personal room of a user: `user-<id>`.
pub fn user_room(user_id: &str) -> String {
    format!("user-{user_id}")
}

/// The room only the `/webrtc` socket `peer_id` is in (cluster mode: how a
/// relay reaches a peer on another node).
pub fn peer_room(peer_id: &str) -> String {
    format!("peer-{peer_id}")
}

/// The socket's id as a peer id.
pub fn peer_id<A: Adapter>(s: &Socket<A>) -> PeerId {
    PeerId::from(s.id.as_str())
}

/// A refused connection; the client sees `connect_error` with this message.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// No token, or a bad one: `unauthorized: …`.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The user's socket cap: `too_many_connections: …`.
    #[error(transparent)]
    TooMany(#[from] TooMany),
}

/// Set once the socket's disconnect handler starts. Unlike
/// `Socket::connected`, which is also false for a moment *before* the
/// socket is connected, this only ever means "gone".
#[derive(Debug, Default)]
pub struct Gone(AtomicBool);

/// Everything a socket carries, in one extension (one allocation and one
/// map entry per socket instead of one per piece).
#[derive(Debug)]
pub struct Session {
    /// Who the socket belongs to.
    pub caller: Arc<Caller>,
    /// The socket's event order.
    pub sequencer: Arc<Sequencer>,
    /// The token's expiry timer.
    pub expiry: Arc<Expiry>,
    /// The event rate limit.
    pub limit: EventLimit,
    gone: Gone,
    seat: Seat,
}

/// The socket's session (set by the handshake before any handler runs).
pub fn session<A: Adapter>(s: &Socket<A>) -> Option<Arc<Session>> {
    s.extensions.get::<Arc<Session>>()
}

/// The socket's user (set by the handshake before any handler runs).
pub fn caller<A: Adapter>(s: &Socket<A>) -> Option<Arc<Caller>> {
    session(s).map(|x| x.caller.clone())
}

/// True when the socket was disconnected because its token expired.
pub fn expired<A: Adapter>(s: &Socket<A>) -> bool {
    session(s).is_some_and(|x| x.expiry.expired())
}

/// The socket's event order.
pub fn sequencer<A: Adapter>(s: &Socket<A>) -> Option<Arc<Sequencer>> {
    session(s).map(|x| x.sequencer.clone())
}

/// True once the socket's disconnect handler has started. A handler that
/// added state after an `.await` checks this afterwards and undoes it: the
/// disconnect handler sets the flag before cleaning up, so one of the two
/// always sees the other's work.
pub fn is_gone<A: Adapter>(s: &Socket<A>) -> bool {
    session(s).is_some_and(|x| x.gone.0.load(Ordering::SeqCst))
}

/// Authenticate the handshake: token from `auth.token`, query `token`,
/// `Authorization` or the `access_token` cookie (first found wins).
pub async fn authenticate<A: Adapter>(
    s: SocketRef<A>,
    TryData(auth): TryData<serde_json::Value>,
    State(tokens): State<Arc<TokenService>>,
    State(admission): State<Arc<Admission>>,
    State(quota): State<EventQuota>,
) -> Result<(), Refused> {
    let parts = s.req_parts();
    let auth = auth.ok();
    let Some(token) = find_token(auth.as_ref(), parts.uri.query(), &parts.headers) else {
        tracing::info!(socket_id = %s.id, ns = s.ns(), "connection refused: no token");
        telemetry::refused(Refusal::Auth);
        return Err(Refused::Unauthorized("no token provided".into()));
    };
    match tokens.verify(&token) {
        Ok(claims) => {
            let user = claims.user();
            let seat = admission.admit(s.ns(), &user.id).inspect_err(|e| {
                telemetry::refused(Refusal::Caps);
                tracing::info!(user_id = %user.id, socket_id = %s.id, ns = s.ns(), reason = %e, "connection refused");
            })?;
            s.extensions.insert(Arc::new(Session {
                caller: Arc::new(Caller {
                    user_ref: user.as_ref(),
                    user,
                }),
                sequencer: Arc::new(Sequencer::new()),
                expiry: Expiry::new(claims.exp),
                limit: quota.limiter(),
                gone: Gone::default(),
                seat,
            }));
            Ok(())
        }
        Err(e) => {
            tracing::info!(socket_id = %s.id, ns = s.ns(), reason = %e, "connection refused");
            telemetry::refused(Refusal::Auth);
            Err(Refused::Unauthorized(e.to_string()))
        }
    }
}

/// Common start of every namespace's setup (a connect middleware, so it
/// runs before the client is told it is connected): the personal room
/// `user-<id>`, the unknown-event fallback, the connect log line.
pub fn admit<A: Adapter>(s: &SocketRef<A>) -> Result<Arc<Caller>, Refused> {
    let caller = caller(s).ok_or_else(|| Refused::Unauthorized("no user".into()))?;
    s.join(caller.room());
    dispatch::on_unknown(s);
    tracing::info!(user_id = %caller.user.id, socket_id = %s.id, ns = s.ns(), "socket connected");
    Ok(caller)
}

/// Start of every connect handler (socketioxide runs it once the socket is
/// marked connected): let the socket's queued events run, start the token
/// expiry timer.
pub fn opened<A: Adapter>(s: &SocketRef<A>) {
    let Some(x) = session(s) else { return };
    x.sequencer.open();
    // After CONNECT went out, so an `auth:expiring` due at once follows it.
    expiry::watch(s, x.expiry.clone());
}

/// Start of every disconnect handler: mark the socket gone, log the line.
pub fn departed<A: Adapter>(s: &Socket<A>, reason: &dyn std::fmt::Debug) {
    if let Some(x) = session(s) {
        x.gone.0.store(true, Ordering::SeqCst);
        x.seat.release();
        x.expiry.stop();
    }
    log_disconnect(s, reason);
}

/// The disconnect log line, the same in every namespace.
pub fn log_disconnect<A: Adapter>(s: &Socket<A>, reason: &dyn std::fmt::Debug) {
    let caller = caller(s);
    tracing::info!(
        user_id = caller.as_ref().map(|c| c.user.id.as_str()).unwrap_or("-"),
        socket_id = %s.id,
        ns = s.ns(),
        ?reason,
        "socket disconnected"
    );
}

/// Log every connected socket as disconnecting because the server closes
/// (the disconnect handlers do not run on `SocketIo::close`). Clients see a
/// transport close and reconnect to the next instance by themselves.
pub fn log_shutdown_disconnects<A: Adapter>(io: &SocketIo<A>) {
    for ns in ["/", "/webrtc"] {
        for s in io.of(ns).map(|op| op.sockets()).unwrap_or_default() {
            log_disconnect(&s, &DisconnectReason::ClosingServer);
        }
    }
}
