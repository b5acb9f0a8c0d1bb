//! Socket.IO: server setup with capped limits, the auth middleware shared by
//! every namespace, per-socket identity, and the reply/ordering helpers the
//! namespace handlers use. One file per namespace: [`app`] for `/`,
//! [`webrtc`] for `/webrtc`. Event names and payloads live in [`events`].

pub mod app;
pub mod events;
pub mod origin;
pub mod webrtc;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use socketioxide::adapter::LocalAdapter;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use socketioxide::handler::{ConnectHandler, FromMessageParts};
use socketioxide::socket::{DisconnectReason, Socket};
use socketioxide::{SocketIo, SocketIoBuilder};
use socketioxide_core::Value;
use tokio::sync::oneshot;

use crate::app::AppState;
use crate::auth::token::find_token;

/// Largest websocket message or polling payload accepted (SDP is capped at 64 KiB).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// Packets buffered per client before `emit` fails (ICE bursts need headroom).
pub const MAX_BUFFERED_PACKETS: usize = 1024;

/// Websocket read buffer per socket (engineioxide's default is 4096). It is
/// zero-filled, so it costs its full size in RSS on every idle socket; 2048
/// saves ~1.9 KiB per socket with no measurable relay CPU cost (1024 saves
/// ~2.9 KiB but costs ~8% more server CPU per relayed 2–4 KiB SDP).
pub const WS_READ_BUFFER_BYTES: usize = 2048;

/// The authenticated user of a socket, set by [`auth_middleware`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SocketUser {
    /// User id (`sub`).
    pub id: String,
    /// Display name.
    pub username: String,
    /// E-mail.
    pub email: String,
}

impl SocketUser {
    /// The personal room of this user: `user-<id>`.
    pub fn room(&self) -> String {
        user_room(&self.id)
    }
}

/// The personal room of a user: `user-<id>`.
pub fn user_room(user_id: &str) -> String {
    format!("user-{user_id}")
}

/// A refused connection; the client sees `connect_error` with this message.
#[derive(Debug, thiserror::Error)]
#[error("unauthorized: {0}")]
pub struct Unauthorized(pub String);

/// Where Engine.IO (and so Socket.IO) is served: socketioxide's default path.
pub const ENGINE_IO_PATH: &str = "/socket.io";

/// Whether `path` is served by Engine.IO.
pub fn is_engine_io_path(path: &str) -> bool {
    path.strip_prefix(ENGINE_IO_PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Socket.IO builder with Switchboard's limits and the configured heartbeat.
pub fn builder(config: &crate::config::Config) -> SocketIoBuilder {
    SocketIo::builder()
        .req_path(ENGINE_IO_PATH)
        .ws_max_message_size(MAX_MESSAGE_BYTES)
        .ws_max_frame_size(MAX_MESSAGE_BYTES)
        .ws_read_buffer_size(WS_READ_BUFFER_BYTES)
        .max_payload(MAX_MESSAGE_BYTES as u64)
        .max_buffer_size(MAX_BUFFERED_PACKETS)
        .ping_interval(config.ping_interval)
        .ping_timeout(config.ping_timeout)
        .connect_timeout(Duration::from_secs(10))
}

/// Register both namespaces on `io`.
pub fn register(io: &SocketIo) {
    // Middlewares run last-added first: auth, then the namespace's setup.
    io.ns("/", app::on_connect.with(app::setup).with(auth_middleware));
    io.ns(
        "/webrtc",
        webrtc::on_connect.with(webrtc::setup).with(auth_middleware),
    );
}

/// Common start of every namespace's setup: the socket's user (set by
/// [`auth_middleware`]), the personal room `user-<id>`, the connect log line.
pub fn admit(s: &SocketRef) -> Result<Arc<SocketUser>, Unauthorized> {
    let user = socket_user(s).ok_or_else(|| Unauthorized("no user".into()))?;
    s.join(user.room());
    s.on_fallback(on_unknown_event);
    tracing::info!(user_id = %user.id, socket_id = %s.id, ns = s.ns(), "socket connected");
    Ok(user)
}

/// Fallback for events a namespace does not know: answered with
/// `unknown_event` (in the ack, or as an `error` event), never silence.
pub async fn on_unknown_event(
    reply: Reply,
    socketioxide::extract::Event(event): socketioxide::extract::Event,
) {
    let shown: String = event.chars().take(64).collect();
    reply.error(EventError::new(
        "unknown_event",
        format!("no handler for event `{shown}` on this namespace"),
    ));
}

/// Set once the socket's disconnect handler starts. Unlike
/// `Socket::connected`, which is also false for a moment *before* the
/// socket is connected, this only ever means "gone".
#[derive(Debug, Default)]
pub struct Gone(std::sync::atomic::AtomicBool);

/// True once the socket's disconnect handler has started. A handler that
/// added state after an `.await` checks this afterwards and undoes it: the
/// disconnect handler sets the flag before cleaning up, so one of the two
/// always sees the other's work.
pub fn is_gone(s: &Socket<LocalAdapter>) -> bool {
    s.extensions
        .get::<Arc<Gone>>()
        .is_some_and(|g| g.0.load(Ordering::SeqCst))
}

/// Start of every disconnect handler: mark the socket gone, log the line.
pub fn departed(s: &SocketRef, reason: &dyn std::fmt::Debug) {
    if let Some(g) = s.extensions.get::<Arc<Gone>>() {
        g.0.store(true, Ordering::SeqCst);
    }
    log_disconnect(s, reason);
}

/// The disconnect log line, the same in every namespace.
pub fn log_disconnect(s: &SocketRef, reason: &dyn std::fmt::Debug) {
    let user = socket_user(s);
    tracing::info!(
        user_id = user.as_ref().map(|u| u.id.as_str()).unwrap_or("-"),
        socket_id = %s.id,
        ns = s.ns(),
        ?reason,
        "socket disconnected"
    );
}

/// Log every connected socket as disconnecting because the server closes
/// (the disconnect handlers do not run on `SocketIo::close`). Clients see a
/// transport close and reconnect to the next instance by themselves.
pub fn log_shutdown_disconnects(io: &SocketIo) {
    for ns in ["/", "/webrtc"] {
        for s in io.of(ns).map(|op| op.sockets()).unwrap_or_default() {
            log_disconnect(&s, &DisconnectReason::ClosingServer);
        }
    }
}

/// Authenticate the handshake: token from `auth.token`, query `token`,
/// `Authorization` or the `access_token` cookie (first found wins).
pub async fn auth_middleware(
    s: SocketRef,
    TryData(auth): TryData<serde_json::Value>,
    State(state): State<AppState>,
) -> Result<(), Unauthorized> {
    let parts = s.req_parts();
    let auth = auth.ok();
    let Some(token) = find_token(auth.as_ref(), parts.uri.query(), &parts.headers) else {
        tracing::info!(socket_id = %s.id, ns = s.ns(), "connection refused: no token");
        return Err(Unauthorized("no token provided".into()));
    };
    match state.tokens.verify(&token) {
        Ok(claims) => {
            s.extensions.insert(Arc::new(SocketUser {
                id: claims.sub,
                username: claims.username,
                email: claims.email,
            }));
            s.extensions.insert(Arc::new(Sequencer::default()));
            s.extensions.insert(Arc::new(Gone::default()));
            Ok(())
        }
        Err(e) => {
            tracing::info!(socket_id = %s.id, ns = s.ns(), reason = %e, "connection refused");
            Err(Unauthorized(e.to_string()))
        }
    }
}

/// The socket's user (set by the auth middleware before any handler runs).
pub fn socket_user(s: &Socket<LocalAdapter>) -> Option<Arc<SocketUser>> {
    s.extensions.get::<Arc<SocketUser>>()
}

/// An error answered to a client event: `{success: false, error, message}`.
#[derive(Debug, Clone, Serialize)]
pub struct EventError {
    /// Machine-readable code (e.g. `peer_not_in_room`).
    pub error: String,
    /// Human-readable detail.
    pub message: String,
}

impl EventError {
    /// An error with a code and a message.
    pub fn new(error: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            message: message.into(),
        }
    }
}

/// Answers one client event: through its ack when the client asked for one,
/// else (for errors) through an `error` event.
pub struct Reply {
    socket: Arc<Socket<LocalAdapter>>,
    ack_id: Option<i64>,
}

impl FromMessageParts<LocalAdapter> for Reply {
    type Error = Infallible;
    fn from_message_parts(
        s: &Arc<Socket<LocalAdapter>>,
        _: &mut Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(Reply {
            socket: s.clone(),
            ack_id: *ack_id,
        })
    }
}

impl Reply {
    /// True when the client asked for an ack.
    pub fn wants_ack(&self) -> bool {
        self.ack_id.is_some()
    }

    /// Ack with `data` (nothing when no ack was asked for).
    pub fn ack<T: Serialize + ?Sized>(self, data: &T) {
        if let Some(id) = self.ack_id {
            let mut empty = Value::Str(Default::default(), None);
            let Ok(ack) = AckSender::from_message_parts(&self.socket, &mut empty, &Some(id));
            if let Err(e) = ack.send(data) {
                tracing::warn!(socket_id = %self.socket.id, error = %e, "ack not delivered");
            }
        }
    }

    /// Ack `{success: true}`.
    pub fn success(self) {
        #[derive(Serialize)]
        struct Success {
            success: bool,
        }
        self.ack(&Success { success: true });
    }

    /// Answer an error: `{success: false, error, message}` in the ack, or an
    /// `error` event `{error, message}` when no ack was asked for.
    pub fn error(self, err: EventError) {
        if self.ack_id.is_some() {
            self.ack(&serde_json::json!({
                "success": false,
                "error": err.error,
                "message": err.message,
            }));
        } else if let Err(e) = self.socket.emit(events::ERROR, &err) {
            tracing::warn!(socket_id = %self.socket.id, error = %e, "error event not delivered");
        }
    }
}

/// Keeps one socket's events in arrival order. Socket.IO spawns a task per
/// event, so two events of one socket may otherwise be handled out of order;
/// the [`Ticket`] extractor runs synchronously in arrival order, and each
/// handler waits for its [`Turn`]. In the common case (tasks already run in
/// order) waiting costs one uncontended lock and no allocation; a task that
/// runs early parks on a oneshot that only its predecessor's finish fires.
#[derive(Debug, Default)]
pub struct Sequencer {
    next: AtomicU64,
    state: std::sync::Mutex<SeqState>,
}

#[derive(Debug, Default)]
struct SeqState {
    serving: u64,
    parked: HashMap<u64, oneshot::Sender<()>>,
}

impl Sequencer {
    fn lock(&self) -> std::sync::MutexGuard<'_, SeqState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A place in the socket's event order; hold [`Turn`] while handling.
pub struct Ticket {
    seq: Option<Arc<Sequencer>>,
    n: u64,
}

impl FromMessageParts<LocalAdapter> for Ticket {
    type Error = Infallible;
    fn from_message_parts(
        s: &Arc<Socket<LocalAdapter>>,
        _: &mut Value,
        _: &Option<i64>,
    ) -> Result<Self, Infallible> {
        let seq = s.extensions.get::<Arc<Sequencer>>();
        let n = seq
            .as_ref()
            .map(|q| q.next.fetch_add(1, Ordering::Relaxed))
            .unwrap_or(0);
        Ok(Ticket { seq, n })
    }
}

/// While alive, this socket's later events wait; dropping it lets the next run.
pub struct Turn {
    seq: Option<Arc<Sequencer>>,
}

impl Ticket {
    /// Wait until every earlier event of this socket has been handled.
    pub async fn turn(self) -> Turn {
        if let Some(seq) = &self.seq {
            let rx = {
                let mut st = seq.lock();
                if st.serving == self.n {
                    None
                } else {
                    let (tx, rx) = oneshot::channel();
                    st.parked.insert(self.n, tx);
                    Some(rx)
                }
            };
            if let Some(rx) = rx {
                // The sender lives in `parked` until our predecessor finishes.
                let _ = rx.await;
            }
        }
        Turn { seq: self.seq }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(seq) = &self.seq {
            let mut st = seq.lock();
            st.serving += 1;
            let next = st.serving;
            if let Some(tx) = st.parked.remove(&next) {
                let _ = tx.send(());
            }
        }
    }
}
