//! Chat service: chats, history, unread counts, messages and typing. REST
//! handlers and socket handlers both call it; it publishes through the one
//! [`Notifier`].
//!
//! Delivery: a message goes to the personal rooms of every participant in
//! one broadcast, so each socket of each participant gets exactly one copy
//! whether or not it joined the chat room. Order: storing and publishing a
//! chat's message happen under that chat's lock, so every socket sees a
//! chat's messages in storage order even with concurrent senders.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;

use crate::locks::KeyedLocks;
use crate::notifier::Notifier;
use crate::realtime::events;
use crate::store::{Chat, Db, Message, StoreError};

/// Longest message text, in characters (after trimming).
pub const MAX_TEXT_CHARS: usize = 4000;
/// Longest chat name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Most participants named when creating a chat.
pub const MAX_PARTICIPANTS: usize = 100;
/// Default and largest page of history.
pub const DEFAULT_PAGE: i64 = 50;
/// Largest page of history.
pub const MAX_PAGE: i64 = 100;

/// Why a chat operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Bad input; the message says what to fix.
    #[error("{0}")]
    Invalid(String),
    /// No such chat, or the caller is not a participant.
    #[error("chat not found")]
    NotFound,
    /// Some participant ids name no user.
    #[error("unknown user ids: {}", .0.join(", "))]
    UnknownUsers(Vec<String>),
    /// The caller's account does not exist (any more).
    #[error("unknown user")]
    UnknownUser,
    /// The database failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ChatError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ChatError::NotFound,
            other => ChatError::Store(other),
        }
    }
}

/// `typing` as delivered to the other participants.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Typing<'a> {
    /// The chat.
    pub chat_id: &'a str,
    /// Who is typing.
    pub user_id: &'a str,
    /// Their display name.
    pub username: &'a str,
    /// Started or stopped.
    pub is_typing: bool,
}

/// Chats and messages that publish their changes.
#[derive(Clone, Debug)]
pub struct ChatService {
    db: Db,
    notifier: Notifier,
    locks: Arc<KeyedLocks>,
}

/// Trim and check a message text: 1-4000 characters.
pub fn message_text(raw: &str) -> Result<&str, ChatError> {
    let t = raw.trim();
    let n = t.chars().count();
    if n == 0 || n > MAX_TEXT_CHARS {
        return Err(ChatError::Invalid(format!(
            "text must be 1-{MAX_TEXT_CHARS} characters (after trimming)"
        )));
    }
    Ok(t)
}

impl ChatService {
    /// A service over `db` publishing through `notifier`.
    pub fn new(db: Db, notifier: Notifier) -> Self {
        Self {
            db,
            notifier,
            locks: Arc::new(KeyedLocks::new()),
        }
    }

    /// Create a chat of `creator` and `participant_ids`; emits
    /// `chat:created` to every participant.
    pub async fn create(
        &self,
        creator: &str,
        participant_ids: Vec<String>,
        name: Option<String>,
    ) -> Result<Chat, ChatError> {
        if participant_ids.len() > MAX_PARTICIPANTS {
            return Err(ChatError::Invalid(format!(
                "participantIds may name at most {MAX_PARTICIPANTS} users"
            )));
        }
        let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if name
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NAME_CHARS)
        {
            return Err(ChatError::Invalid(format!(
                "name must be at most {MAX_NAME_CHARS} characters"
            )));
        }
        // The creator first, then the others in the order given, once each.
        let mut seen = HashSet::new();
        let ids: Vec<String> = std::iter::once(creator.to_owned())
            .chain(participant_ids)
            .filter(|id| seen.insert(id.clone()))
            .collect();
        let found = self.db.users_by_ids(&ids).await?;
        if !found.iter().any(|u| u.id == creator) {
            return Err(ChatError::UnknownUser);
        }
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !found.iter().any(|u| &u.id == *id))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(ChatError::UnknownUsers(missing));
        }
        let participants = ids
            .iter()
            .filter_map(|id| found.iter().find(|u| &u.id == id).cloned())
            .collect();
        let chat = match self
            .db
            .create_chat(name.as_deref(), creator, participants)
            .await
        {
            Ok(c) => c,
            Err(StoreError::NotFound) => {
                return Err(ChatError::Invalid("a participant no longer exists".into()));
            }
            Err(e) => return Err(e.into()),
        };
        let to: Vec<&str> = chat.participants.iter().map(|u| u.id.as_str()).collect();
        self.notifier
            .to_users(&to, events::CHAT_CREATED, &chat)
            .await;
        Ok(chat)
    }

    /// The caller's chats, most recent activity first.
    pub async fn list(&self, user_id: &str) -> Result<Vec<Chat>, ChatError> {
        Ok(self.db.chats_of(user_id, None).await?)
    }

    /// One chat as the caller sees it; `NotFound` unless a participant.
    pub async fn get(&self, user_id: &str, chat_id: &str) -> Result<Chat, ChatError> {
        self.db
            .chats_of(user_id, Some(chat_id))
            .await?
            .into_iter()
            .next()
            .ok_or(ChatError::NotFound)
    }

    /// True when `user_id` takes part in `chat_id`.
    pub async fn is_participant(&self, chat_id: &str, user_id: &str) -> Result<bool, ChatError> {
        Ok(self.db.is_chat_participant(chat_id, user_id).await?)
    }

    /// Up to `limit` (1-100) messages before `before` (a message id of this
    /// chat), oldest first.
    pub async fn history(
        &self,
        user_id: &str,
        chat_id: &str,
        limit: i64,
        before: Option<&str>,
    ) -> Result<Vec<Message>, ChatError> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ChatError::Invalid(format!(
                "limit must be an integer from 1 to {MAX_PAGE}"
            )));
        }
        if !self.is_participant(chat_id, user_id).await? {
            return Err(ChatError::NotFound);
        }
        let before = match before {
            None => None,
            Some(id) => Some(self.db.message_seq(chat_id, id).await?.ok_or_else(|| {
                ChatError::Invalid("before must be the id of a message in this chat".into())
            })?),
        };
        Ok(self.db.messages(chat_id, limit, before).await?)
    }

    /// Reset the caller's unread count.
    pub async fn mark_read(&self, user_id: &str, chat_id: &str) -> Result<(), ChatError> {
        Ok(self.db.mark_chat_read(chat_id, user_id).await?)
    }

    /// Store a message of `sender_id`, then deliver `message:new` once to
    /// every socket of every participant. `NotFound` unless a participant.
    pub async fn send(
        &self,
        sender_id: &str,
        chat_id: &str,
        text: &str,
    ) -> Result<Message, ChatError> {
        let text = message_text(text)?;
        let _turn = self.locks.lock(chat_id).await;
        let members = self.db.chat_members(chat_id).await?;
        let Some(sender) = members.iter().find(|m| m.id == sender_id) else {
            return Err(ChatError::NotFound);
        };
        let msg = self.db.insert_message(chat_id, sender, text).await?;
        let to: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
        self.notifier.to_users(&to, events::MESSAGE_NEW, &msg).await;
        Ok(msg)
    }

    /// Tell the chat's other participants that `user_id` started or stopped
    /// typing. `NotFound` unless a participant.
    pub async fn typing(
        &self,
        user_id: &str,
        chat_id: &str,
        is_typing: bool,
    ) -> Result<(), ChatError> {
        let members = self.db.chat_members(chat_id).await?;
        let Some(me) = members.iter().find(|m| m.id == user_id) else {
            return Err(ChatError::NotFound);
        };
        let others: Vec<&str> = members
            .iter()
            .filter(|m| m.id != user_id)
            .map(|m| m.id.as_str())
            .collect();
        let payload = Typing {
            chat_id,
            user_id,
            username: &me.username,
            is_typing,
        };
        self.notifier
            .to_users(&others, events::TYPING, &payload)
            .await;
        Ok(())
    }
}
