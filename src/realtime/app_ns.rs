//! Namespace `/`: application events. On connect a socket joins its user's
//! room `user-<id>`, so every tab and device of the user receives the
//! events the domain publishes. Handlers are thin: parse (done by
//! [`dispatch::on`]), call [`ChatService`] or [`Presence`], answer.

use serde::de::IgnoredAny;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State};
use socketioxide::socket::DisconnectReason;

use super::dispatch::{self, Ack, Ctx, Dialect, EventError, Payload, success};
use super::session::{self, Refused, caller};
use crate::domain::chats::{ChatError, ChatService};
use crate::domain::cluster::Cluster;
use crate::domain::presence::Presence;
use crate::ports::Member;
use crate::wire::ChatId;
use crate::wire::app::{
    ChatAck, ChatRef, JOINED_MESSAGE, Joined, MessageAck, MessageSend, PresenceList, TypingRequest,
};
use crate::wire::events;

impl Payload for ChatRef {}
impl Payload for MessageSend {}
impl Payload for TypingRequest {}

/// `/` words a bad payload as `invalid payload: <why>`.
#[derive(Debug, Clone, Copy)]
pub struct AppDialect;

impl Dialect for AppDialect {
    fn invalid(self, detail: String) -> EventError {
        EventError::new(format!("invalid payload: {detail}"), detail)
    }
}

/// The room of a chat on `/`: `chat-<chatId>`.
pub fn chat_room(chat: &ChatId) -> String {
    format!("chat-{chat}")
}

/// Connect middleware (runs after auth, before the client is told it is
/// connected): join the personal room and register every event handler, so
/// an event the client emits right on `connect` always finds its handler.
pub async fn setup<A: Adapter>(s: SocketRef<A>) -> Result<(), Refused> {
    session::admit(&s)?;
    dispatch::on(&s, events::JOIN, AppDialect, on_join::<A>);
    dispatch::on(&s, events::USER_JOIN, AppDialect, on_join::<A>);
    dispatch::on(&s, events::CHAT_JOIN, AppDialect, on_chat_join::<A>);
    dispatch::on(&s, events::CHAT_LEAVE, AppDialect, on_chat_leave::<A>);
    dispatch::on(&s, events::MESSAGE_SEND, AppDialect, on_message_send::<A>);
    dispatch::on(&s, events::TYPING, AppDialect, on_typing::<A>);
    dispatch::on(&s, events::PRESENCE_LIST, AppDialect, on_presence_list::<A>);
    super::expiry::register(&s, AppDialect);
    s.on_disconnect(on_disconnect::<A>);
    Ok(())
}

/// Connect handler (the socket is connected): let its events run, count it
/// for presence and announce the user online if this is their first socket.
pub async fn on_connect<A: Adapter>(
    s: SocketRef<A>,
    State(presence): State<Presence>,
    State(cluster): State<Cluster>,
) {
    session::opened(&s);
    let Some(c) = caller(&s) else { return };
    let sid = s.id.to_string();
    let member = Member::App {
        socket: sid.clone(),
        user: c.user.id.clone(),
    };
    cluster.up(&member).await;
    presence.connected(&c.user.id, &sid).await;
    // `close` clears `connected` before it runs the disconnect handler: if
    // the socket is already gone, that handler may have run before the add.
    // Removing is idempotent, so undoing here is always safe.
    if !s.connected() {
        presence.disconnected(&c.user.id, &sid).await;
        cluster.down(&member).await;
    }
    presence.announce(&c.user.id).await;
}

async fn on_join<A: Adapter>(
    ctx: Ctx<A>,
    _: ChatService,
    _: IgnoredAny,
) -> Result<Ack<Joined>, EventError> {
    let msg = Joined {
        message: JOINED_MESSAGE.to_owned(),
        user: ctx.caller.user.clone(),
    };
    ctx.emit(events::JOINED, &msg);
    Ok(Ack(msg))
}

async fn on_presence_list<A: Adapter>(
    ctx: Ctx<A>,
    presence: Presence,
    _: IgnoredAny,
) -> Result<Ack<PresenceList>, EventError> {
    let online = presence.snapshot(&ctx.caller.user.id).await.map_err(|e| {
        tracing::error!(error = %e, "presence snapshot failed");
        EventError::new("internal error", "try again later")
    })?;
    Ok(Ack(PresenceList {
        success: true,
        online,
    }))
}

/// Answer for a chat the caller is not in: `{success: false, error:
/// "Access denied"}` in the ack, or an `error` event.
fn access_denied() -> EventError {
    EventError::terse("Access denied", "you are not a participant of this chat")
}

fn chat_error(e: ChatError) -> EventError {
    match e {
        ChatError::NotFound | ChatError::UnknownUser => access_denied(),
        ChatError::Invalid(m) => EventError::new(format!("invalid payload: {m}"), m),
        e @ ChatError::UnknownUsers(_) => {
            EventError::new(format!("invalid payload: {e}"), e.to_string())
        }
        ChatError::Internal(e) => {
            tracing::error!(error = %e, "chat operation failed");
            EventError::new("internal error", "try again later")
        }
    }
}

async fn on_chat_join<A: Adapter>(
    ctx: Ctx<A>,
    chats: ChatService,
    req: ChatRef,
) -> Result<Ack<ChatAck>, EventError> {
    let member = chats
        .is_participant(&req.chat_id, &ctx.caller.user.id)
        .await
        .map_err(chat_error)?;
    if !member {
        return Err(access_denied());
    }
    ctx.socket.join(chat_room(&req.chat_id));
    // Gone while the check ran? Its rooms may already have been cleared;
    // don't leave a ghost entry behind.
    if session::is_gone(&ctx.socket) {
        ctx.socket.leave(chat_room(&req.chat_id));
        return Err(EventError::silent());
    }
    Ok(Ack(ChatAck {
        success: true,
        message: format!("Joined chat {}", req.chat_id),
    }))
}

async fn on_chat_leave<A: Adapter>(
    ctx: Ctx<A>,
    _: ChatService,
    req: ChatRef,
) -> Result<Ack<ChatAck>, EventError> {
    ctx.socket.leave(chat_room(&req.chat_id));
    Ok(Ack(ChatAck {
        success: true,
        message: format!("Left chat {}", req.chat_id),
    }))
}

async fn on_message_send<A: Adapter>(
    ctx: Ctx<A>,
    chats: ChatService,
    req: MessageSend,
) -> Result<Ack<MessageAck>, EventError> {
    let message = chats
        .send(&ctx.caller.user.id, &req.chat_id, &req.text)
        .await
        .map_err(chat_error)?;
    Ok(Ack(MessageAck {
        success: true,
        message,
    }))
}

async fn on_typing<A: Adapter>(
    ctx: Ctx<A>,
    chats: ChatService,
    req: TypingRequest,
) -> Result<Ack<dispatch::Success>, EventError> {
    chats
        .typing(&ctx.caller.user.id, &req.chat_id, req.is_typing)
        .await
        .map_err(chat_error)?;
    Ok(success())
}

async fn on_disconnect<A: Adapter>(
    s: SocketRef<A>,
    State(presence): State<Presence>,
    State(cluster): State<Cluster>,
    reason: DisconnectReason,
) {
    session::departed(&s, &reason);
    if let Some(c) = caller(&s) {
        let socket = s.id.to_string();
        presence.disconnected(&c.user.id, &socket).await;
        presence.announce(&c.user.id).await;
        cluster
            .down(&Member::App {
                socket,
                user: c.user.id.clone(),
            })
            .await;
    }
}
