//! Payloads of namespace `/` (application events).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::events;
use super::ids::{ChatId, TodoId, UserId};
use super::models::{Chat, Message, Todo, UserSummary};

/// `chat:join` / `chat:leave` payload.
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChatRef {
    /// The chat.
    pub chat_id: ChatId,
}

/// `message:send` payload.
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MessageSend {
    /// The chat.
    pub chat_id: ChatId,
    /// Text, 1-4000 characters after trimming.
    pub text: String,
}

/// `typing` from a client.
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "TypingIn")]
pub struct TypingRequest {
    /// The chat.
    pub chat_id: ChatId,
    /// Started (true) or stopped (false).
    pub is_typing: bool,
}

/// `typing` as the chat's other participants receive it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "TypingOut")]
pub struct Typing {
    /// The chat.
    pub chat_id: ChatId,
    /// Who is typing.
    pub user_id: UserId,
    /// Their display name.
    pub username: String,
    /// Started or stopped.
    pub is_typing: bool,
}

/// `presence:update` payload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, TS)]
#[serde(rename_all = "camelCase")]
pub struct PresenceUpdate {
    /// The user.
    pub user_id: UserId,
    /// Online now?
    pub online: bool,
}

/// Ack of `presence:list`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(rename = "PresenceList")]
pub struct PresenceList {
    /// Always true.
    #[ts(skip)]
    pub success: bool,
    /// The users sharing a chat with the caller who are online now.
    pub online: Vec<UserId>,
}

/// `joined` payload (also the ack of `join`).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(rename = "JoinedPayload")]
pub struct Joined {
    /// Always "Successfully connected to real-time updates".
    pub message: String,
    /// The socket's user.
    pub user: UserSummary,
}

/// The text of [`Joined::message`].
pub const JOINED_MESSAGE: &str = "Successfully connected to real-time updates";

/// `todo:deleted` payload.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct TodoDeleted {
    /// The deleted todo.
    pub id: TodoId,
}

/// Ack of `chat:join` / `chat:leave`: `{success: true, message}`.
#[derive(Debug, Clone, Serialize)]
pub struct ChatAck {
    /// Always true.
    pub success: bool,
    /// `Joined chat <id>` or `Left chat <id>`.
    pub message: String,
}

/// Ack of `message:send`: `{success: true, message}`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageAck {
    /// Always true.
    pub success: bool,
    /// The stored message.
    pub message: Message,
}

/// An event the server pushes on `/` to users' sockets; the domain
/// publishes these through the `Publisher` port.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum AppEvent {
    /// `todo:created`.
    TodoCreated(Todo),
    /// `todo:updated`.
    TodoUpdated(Todo),
    /// `todo:deleted`.
    TodoDeleted(TodoDeleted),
    /// `todo:completed`.
    TodoCompleted(Todo),
    /// `chat:created`.
    ChatCreated(Chat),
    /// `message:new`.
    MessageNew(Message),
    /// `typing`.
    Typing(Typing),
    /// `presence:update`.
    PresenceUpdate(PresenceUpdate),
}

impl AppEvent {
    /// The event name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            AppEvent::TodoCreated(_) => events::TODO_CREATED,
            AppEvent::TodoUpdated(_) => events::TODO_UPDATED,
            AppEvent::TodoDeleted(_) => events::TODO_DELETED,
            AppEvent::TodoCompleted(_) => events::TODO_COMPLETED,
            AppEvent::ChatCreated(_) => events::CHAT_CREATED,
            AppEvent::MessageNew(_) => events::MESSAGE_NEW,
            AppEvent::Typing(_) => events::TYPING,
            AppEvent::PresenceUpdate(_) => events::PRESENCE_UPDATE,
        }
    }
}
