//! The one path every socket event takes, in the spirit of mini-redis's
//! parse -> apply -> respond:
//!
//! 1. **order**: a [`Ticket`] is taken while socketioxide reads the packet,
//!    and the handler waits for its turn (see [`super::sequencer`]);
//! 2. **identity**: the socket's [`Caller`], set by the handshake;
//! 3. **parse**: the payload into the handler's type, one error function per
//!    namespace ([`Dialect`]: `invalid payload: …` on `/`,
//!    `invalid_payload` on `/webrtc`);
//! 4. **apply**: the handler calls a domain service;
//! 5. **respond**: the ack, or for an error without ack an `error` event.
//!
//! Rate limits and metrics hook in here, around step 4, for every event.
//! Handlers are plain async functions `(Ctx, State, Payload) ->
//! Result<impl Respond, EventError>`, generic over the adapter.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, SocketRef, State, TryData};
use socketioxide::handler::FromMessageParts;
use socketioxide::socket::Socket;
use socketioxide_core::Value;

use super::log_gate;
use super::rate::Verdict;
use super::sequencer::Ticket;
use super::session::{Caller, caller, sequencer, session};
use crate::telemetry::{self, Refusal};
use crate::wire::events;
use crate::wire::http::ErrorEvent;

/// An error answered to a client event: `{success: false, error, message}`
/// in the ack, or an `error` event `{error, message}` without one.
#[derive(Debug, Clone)]
pub struct EventError {
    /// Machine-readable code (e.g. `peer_not_in_room`).
    pub error: String,
    /// Human-readable detail.
    pub message: String,
    /// The ack carries only `{success, error}` (the `/` contract's shape).
    terse: bool,
    /// Answer nothing (the socket is gone).
    silent: bool,
    /// `retryAfterMs` of a `rate_limited` answer.
    retry_after_ms: Option<u64>,
}

impl EventError {
    /// An error with a code and a message.
    pub fn new(error: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            message: message.into(),
            terse: false,
            silent: false,
            retry_after_ms: None,
        }
    }

    /// `rate_limited`, with the wait until an event would pass.
    pub fn rate_limited(retry_after_ms: u64) -> Self {
        Self {
            retry_after_ms: Some(retry_after_ms),
            ..Self::new(
                "rate_limited",
                format!("too many events: retry in {retry_after_ms} ms"),
            )
        }
    }

    /// An error whose ack is `{success: false, error}` only.
    pub fn terse(error: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            terse: true,
            ..Self::new(error, message)
        }
    }

    /// No answer at all: the socket disconnected while its event ran.
    pub fn silent() -> Self {
        Self {
            silent: true,
            ..Self::new("gone", "the socket disconnected")
        }
    }
}

/// How a namespace words a payload that does not parse.
pub trait Dialect: Copy + Send + Sync + 'static {
    /// The error for a payload that does not parse; `detail` says why.
    fn invalid(self, detail: String) -> EventError;
}

/// A payload type an event handler takes.
pub trait Payload: DeserializeOwned + Send + Sync + 'static {
    /// What to use when the packet carries no usable data (`None`: answer
    /// the parse error).
    fn fallback() -> Option<Self> {
        None
    }
}

impl Payload for serde::de::IgnoredAny {
    fn fallback() -> Option<Self> {
        Some(serde::de::IgnoredAny)
    }
}

/// Any JSON value, or null when the event carries none (`ping`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct AnyValue(pub serde_json::Value);

impl Payload for AnyValue {
    fn fallback() -> Option<Self> {
        Some(AnyValue(serde_json::Value::Null))
    }
}

/// The caller of one event, and its socket.
pub struct Ctx<A: Adapter> {
    /// The socket the event came from.
    pub socket: SocketRef<A>,
    /// Who sent it.
    pub caller: Arc<Caller>,
    wants_ack: bool,
    /// When the event arrived (before it waited for its turn).
    pub received: Instant,
}

impl<A: Adapter> Ctx<A> {
    /// True when the client asked for an ack.
    pub fn wants_ack(&self) -> bool {
        self.wants_ack
    }

    /// Emit `event` to this socket (a full buffer is logged, not fatal).
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) {
        if let Err(e) = self.socket.emit(event, data) {
            tracing::debug!(socket_id = %self.socket.id, event, error = %e, "event not delivered");
        }
    }
}

/// Answers one client event: through its ack when the client asked for one,
/// else (for errors) through an `error` event.
pub struct Reply<A: Adapter> {
    socket: Arc<Socket<A>>,
    ack_id: Option<i64>,
}

impl<A: Adapter> FromMessageParts<A> for Reply<A> {
    type Error = Infallible;
    fn from_message_parts(
        s: &Arc<Socket<A>>,
        _: &mut Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(Reply {
            socket: s.clone(),
            ack_id: *ack_id,
        })
    }
}

impl<A: Adapter> FromMessageParts<A> for Ticket {
    type Error = Infallible;
    fn from_message_parts(
        s: &Arc<Socket<A>>,
        _: &mut Value,
        _: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(sequencer(s).map_or_else(Ticket::unordered, |q| q.ticket()))
    }
}

impl<A: Adapter> Reply<A> {
    /// Ack with `data` (nothing when no ack was asked for).
    pub fn ack<T: Serialize + ?Sized>(&self, data: &T) {
        if let Some(id) = self.ack_id {
            let mut empty = Value::Str(Default::default(), None);
            let Ok(ack) = AckSender::from_message_parts(&self.socket, &mut empty, &Some(id));
            if let Err(e) = ack.send(data)
                && let Some(suppressed) =
                    log_gate::admit(log_gate::Kind::Ack, self.socket.id.as_str())
            {
                tracing::warn!(socket_id = %self.socket.id, error = %e, suppressed, "ack not delivered");
            }
        }
    }

    /// Answer an error.
    pub fn error(&self, err: EventError) {
        if err.silent {
            return;
        }
        if self.ack_id.is_some() {
            let mut body = if err.terse {
                serde_json::json!({ "success": false, "error": err.error })
            } else {
                serde_json::json!({
                    "success": false,
                    "error": err.error,
                    "message": err.message,
                })
            };
            if let Some(ms) = err.retry_after_ms {
                body["retryAfterMs"] = ms.into();
            }
            self.ack(&body);
        } else {
            let body = ErrorEvent {
                error: err.error,
                message: err.message,
                retry_after_ms: err.retry_after_ms,
            };
            if let Err(e) = self.socket.emit(events::ERROR, &body)
                && let Some(suppressed) =
                    log_gate::admit(log_gate::Kind::ErrorEvent, self.socket.id.as_str())
            {
                tracing::warn!(socket_id = %self.socket.id, error = %e, suppressed, "error event not delivered");
            }
        }
    }
}

/// What a successful handler answers.
pub trait Respond: Send + 'static {
    /// Send the answer through `reply`.
    fn respond<A: Adapter>(self, reply: Reply<A>) -> impl Future<Output = ()> + Send;
}

/// Ack with this body (nothing when the client asked for no ack).
pub struct Ack<T>(pub T);

impl<T: Serialize + Send + 'static> Respond for Ack<T> {
    async fn respond<A: Adapter>(self, reply: Reply<A>) {
        reply.ack(&self.0);
    }
}

/// Ack with this body, then run the follow-up (e.g. tell the others).
pub struct AckThen<T, F>(pub T, pub F);

impl<T, F> Respond for AckThen<T, F>
where
    T: Serialize + Send + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    async fn respond<A: Adapter>(self, reply: Reply<A>) {
        reply.ack(&self.0);
        self.1.await;
    }
}

/// `{success: true}`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Success {
    success: bool,
}

/// Ack `{success: true}`.
pub fn success() -> Ack<Success> {
    Ack(Success { success: true })
}

/// The socket's rate limit lets this event through; otherwise it is
/// answered `rate_limited` (out of turn: it is not handled at all), and a
/// socket over its limit for too long is disconnected.
fn admitted<A: Adapter>(socket: &SocketRef<A>, reply: &Reply<A>) -> bool {
    let Some(session) = session(socket) else {
        return true;
    };
    match session.limit.check() {
        Verdict::Allowed => true,
        Verdict::Refused {
            retry_after_ms,
            cut_off,
        } => {
            telemetry::refused(Refusal::RateLimited);
            reply.error(EventError::rate_limited(retry_after_ms));
            if cut_off {
                tracing::info!(socket_id = %socket.id, ns = socket.ns(), "disconnected: over its event rate for too long");
                let s = socket.clone();
                tokio::spawn(async move {
                    let _ = s.disconnect();
                });
            }
            false
        }
    }
}

/// Register `handler` for `event` on socket `s`: every call goes through
/// ordering, identity, parsing and the reply here.
///
/// `S` is the narrow state the handler needs (registered on the server with
/// `with_state`); `P` its payload type.
pub fn on<A, D, S, P, R, F, Fut>(s: &SocketRef<A>, event: &'static str, dialect: D, handler: F)
where
    A: Adapter,
    D: Dialect,
    S: Clone + Send + Sync + 'static,
    P: Payload,
    R: Respond,
    F: Fn(Ctx<A>, S, P) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<R, EventError>> + Send + 'static,
{
    s.on(
        event,
        move |socket: SocketRef<A>,
              ticket: Ticket,
              reply: Reply<A>,
              State(state): State<S>,
              TryData(data): TryData<P>| async move {
            let received = Instant::now();
            if !admitted(&socket, &reply) {
                return;
            }
            telemetry::event(socket.ns(), event);
            let _turn = ticket.turn().await;
            let Some(caller) = caller(&socket) else {
                return;
            };
            let payload = match data.map_err(|e| P::fallback().ok_or(e)) {
                Ok(p) | Err(Ok(p)) => p,
                Err(Err(e)) => return reply.error(dialect.invalid(e.to_string())),
            };
            let ctx = Ctx {
                socket,
                caller,
                wants_ack: reply.ack_id.is_some(),
                received,
            };
            match handler(ctx, state, payload).await {
                Ok(answer) => answer.respond(reply).await,
                Err(e) => reply.error(e),
            }
        },
    );
}

/// Fallback for events a namespace does not know: answered with
/// `unknown_event` (in the ack, or as an `error` event), never silence.
pub fn on_unknown<A: Adapter>(s: &SocketRef<A>) {
    s.on_fallback(
        |socket: SocketRef<A>, ticket: Ticket, reply: Reply<A>, Event(event): Event| async move {
            if !admitted(&socket, &reply) {
                return;
            }
            telemetry::event(socket.ns(), "unknown");
            let _turn = ticket.turn().await;
            let shown: String = event.chars().take(64).collect();
            reply.error(EventError::new(
                "unknown_event",
                format!("no handler for event `{shown}` on this namespace"),
            ));
        },
    );
}
