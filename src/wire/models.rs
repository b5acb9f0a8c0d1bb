//! The records clients see: users, todos, chats and messages. JSON is
//! camelCase; times are RFC 3339 UTC with milliseconds.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::ids::{ChatId, MessageId, TodoId, UserId};

/// A user as every client sees it (`GET /users`, chat participants, the
/// socket's identity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(rename = "User")]
pub struct UserSummary {
    /// UUID.
    pub id: UserId,
    /// Display name.
    pub username: String,
    /// E-mail (lower-cased).
    pub email: String,
}

impl UserSummary {
    /// The `{id, username}` part.
    pub fn as_ref(&self) -> UserRef {
        UserRef {
            id: self.id.clone(),
            username: self.username.clone(),
        }
    }
}

/// A chat participant: the user, and whether they have a socket on `/`
/// right now (when the chat list or `chat:created` was made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChatMember {
    /// UUID.
    pub id: UserId,
    /// Display name.
    pub username: String,
    /// E-mail (lower-cased).
    pub email: String,
    /// Online on `/` now.
    pub online: bool,
}

impl From<UserSummary> for ChatMember {
    fn from(u: UserSummary) -> Self {
        ChatMember {
            id: u.id,
            username: u.username,
            email: u.email,
            online: false,
        }
    }
}

/// `{id, username}`: a message's sender, a relay's `fromUser`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(rename = "MessageSender")]
pub struct UserRef {
    /// User id.
    pub id: UserId,
    /// Display name.
    pub username: String,
}

/// Todo priority.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// low
    Low,
    /// medium (default)
    #[default]
    Medium,
    /// high
    High,
}

impl Priority {
    /// Stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
        }
    }

    /// From the stored form; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "low" => Some(Priority::Low),
            "medium" => Some(Priority::Medium),
            "high" => Some(Priority::High),
            _ => None,
        }
    }
}

/// A todo as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Todo {
    /// UUID.
    pub id: TodoId,
    /// Title (1-200 characters).
    pub title: String,
    /// Free text, possibly empty.
    pub description: String,
    /// Done?
    pub completed: bool,
    /// `low`, `medium` or `high`.
    pub priority: Priority,
    /// RFC 3339 UTC with milliseconds, or null.
    pub due_date: Option<String>,
    /// Owner.
    pub user_id: UserId,
    /// RFC 3339 UTC with milliseconds.
    pub created_at: String,
    /// RFC 3339 UTC with milliseconds.
    pub updated_at: String,
}

/// Kind of a chat message (only `text` today).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    /// Plain text.
    #[default]
    Text,
}

/// A chat message as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// UUID.
    pub id: MessageId,
    /// The chat.
    pub chat_id: ChatId,
    /// Who wrote it.
    pub sender: UserRef,
    /// Text (1-4000 characters).
    pub text: String,
    /// Always `text`.
    #[serde(rename = "type")]
    pub kind: MessageKind,
    /// RFC 3339 UTC with milliseconds.
    pub created_at: String,
}

/// A chat as one participant sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Chat {
    /// UUID.
    pub id: ChatId,
    /// Optional name.
    pub name: Option<String>,
    /// Every participant, the viewer included, with their presence.
    pub participants: Vec<ChatMember>,
    /// RFC 3339 UTC with milliseconds.
    pub created_at: String,
    /// The newest message, if any.
    pub last_message: Option<Message>,
    /// Messages the viewer has not read.
    #[ts(type = "number")]
    pub unread_count: i64,
}
