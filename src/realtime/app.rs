//! Namespace `/`: application events. On connect a socket joins its user's
//! room `user-<id>`, so every tab and device of the user receives the
//! events the domain services publish through [`crate::notifier`]. The
//! handlers here are thin: parse, call [`crate::chats::ChatService`] or
//! [`crate::presence::Presence`], answer. Each socket's events are handled
//! in arrival order ([`Ticket`]).

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use socketioxide::extract::{SocketRef, State, TryData};
use socketioxide::socket::DisconnectReason;

use super::events::{self, ChatRef, MessageSend, TypingRequest};
use super::{EventError, Reply, Ticket, Unauthorized, socket_user};
use crate::app::AppState;
use crate::chats::ChatError;

/// The room of a chat on `/`: `chat-<chatId>`.
pub fn chat_room(chat_id: &str) -> String {
    format!("chat-{chat_id}")
}

/// Connect middleware (runs after auth, before the client is told it is
/// connected): join the personal room and register every event handler, so
/// an event the client emits right on `connect` always finds its handler.
pub async fn setup(s: SocketRef) -> Result<(), Unauthorized> {
    super::admit(&s)?;
    s.on(events::JOIN, on_join);
    s.on(events::USER_JOIN, on_join);
    s.on(events::CHAT_JOIN, on_chat_join);
    s.on(events::CHAT_LEAVE, on_chat_leave);
    s.on(events::MESSAGE_SEND, on_message_send);
    s.on(events::TYPING, on_typing);
    s.on_disconnect(on_disconnect);
    Ok(())
}

/// Connect handler (the socket is connected): count it for presence and
/// announce the user online if this is their first socket.
pub async fn on_connect(s: SocketRef, State(state): State<AppState>) {
    let Some(user) = socket_user(&s) else { return };
    let sid = s.id.to_string();
    state.presence.add(&user.id, &sid);
    // `close` clears `connected` before it runs the disconnect handler: if
    // the socket is already gone, that handler may have run before `add`.
    // Removing is idempotent, so undoing here is always safe.
    if !s.connected() {
        state.presence.remove(&user.id, &sid);
    }
    state.presence.announce(&user.id).await;
}

async fn on_join(s: SocketRef, reply: Reply) {
    let Some(user) = socket_user(&s) else { return };
    let msg = json!({
        "message": "Successfully connected to real-time updates",
        "user": &*user,
    });
    if let Err(e) = s.emit(events::JOINED, &msg) {
        tracing::debug!(socket_id = %s.id, error = %e, "joined not delivered");
    }
    reply.ack(&msg);
}

/// Parse a payload; the error reads `invalid payload: …`.
fn parse<T: DeserializeOwned>(
    data: Result<Value, impl std::fmt::Display>,
) -> Result<T, EventError> {
    let detail = match data {
        Err(e) => format!("payload is not JSON: {e}"),
        Ok(v) => match serde_json::from_value(v) {
            Ok(t) => return Ok(t),
            Err(e) => e.to_string(),
        },
    };
    Err(EventError::new(
        format!("invalid payload: {detail}"),
        detail,
    ))
}

/// `{success: false, error: "Access denied"}` in the ack, or an `error` event.
fn access_denied(reply: Reply) {
    if reply.wants_ack() {
        reply.ack(&json!({ "success": false, "error": "Access denied" }));
    } else {
        reply.error(EventError::new(
            "Access denied",
            "you are not a participant of this chat",
        ));
    }
}

/// Answer a failed chat operation.
fn chat_error(reply: Reply, e: ChatError) {
    match e {
        ChatError::NotFound | ChatError::UnknownUser => access_denied(reply),
        ChatError::Invalid(m) => reply.error(EventError::new(format!("invalid payload: {m}"), m)),
        e @ ChatError::UnknownUsers(_) => reply.error(EventError::new(
            format!("invalid payload: {e}"),
            e.to_string(),
        )),
        ChatError::Store(e) => {
            tracing::error!(error = %e, "chat operation failed");
            reply.error(EventError::new("internal error", "try again later"));
        }
    }
}

async fn on_chat_join(
    s: SocketRef,
    State(state): State<AppState>,
    ticket: Ticket,
    reply: Reply,
    TryData(data): TryData<Value>,
) {
    let _turn = ticket.turn().await;
    let Some(user) = socket_user(&s) else { return };
    let req: ChatRef = match parse(data) {
        Ok(r) => r,
        Err(e) => return reply.error(e),
    };
    match state.chats.is_participant(&req.chat_id, &user.id).await {
        Ok(true) => {
            s.join(chat_room(&req.chat_id));
            // Gone while the check ran? Its rooms may already have been
            // cleared; don't leave a ghost entry behind.
            if super::is_gone(&s) {
                s.leave(chat_room(&req.chat_id));
                return;
            }
            reply.ack(&json!({
                "success": true,
                "message": format!("Joined chat {}", req.chat_id),
            }));
        }
        Ok(false) => access_denied(reply),
        Err(e) => chat_error(reply, e),
    }
}

async fn on_chat_leave(s: SocketRef, ticket: Ticket, reply: Reply, TryData(data): TryData<Value>) {
    let _turn = ticket.turn().await;
    let req: ChatRef = match parse(data) {
        Ok(r) => r,
        Err(e) => return reply.error(e),
    };
    s.leave(chat_room(&req.chat_id));
    reply.ack(&json!({
        "success": true,
        "message": format!("Left chat {}", req.chat_id),
    }));
}

async fn on_message_send(
    s: SocketRef,
    State(state): State<AppState>,
    ticket: Ticket,
    reply: Reply,
    TryData(data): TryData<Value>,
) {
    let _turn = ticket.turn().await;
    let Some(user) = socket_user(&s) else { return };
    let req: MessageSend = match parse(data) {
        Ok(r) => r,
        Err(e) => return reply.error(e),
    };
    match state.chats.send(&user.id, &req.chat_id, &req.text).await {
        Ok(message) => reply.ack(&json!({ "success": true, "message": message })),
        Err(e) => chat_error(reply, e),
    }
}

async fn on_typing(
    s: SocketRef,
    State(state): State<AppState>,
    ticket: Ticket,
    reply: Reply,
    TryData(data): TryData<Value>,
) {
    let _turn = ticket.turn().await;
    let Some(user) = socket_user(&s) else { return };
    let req: TypingRequest = match parse(data) {
        Ok(r) => r,
        Err(e) => return reply.error(e),
    };
    match state
        .chats
        .typing(&user.id, &req.chat_id, req.is_typing)
        .await
    {
        Ok(()) => reply.ack(&json!({ "success": true })),
        Err(e) => chat_error(reply, e),
    }
}

async fn on_disconnect(s: SocketRef, State(state): State<AppState>, reason: DisconnectReason) {
    super::departed(&s, &reason);
    if let Some(user) = socket_user(&s) {
        state.presence.remove(&user.id, &s.id.to_string());
        state.presence.announce(&user.id).await;
    }
}
