//! Chat service: chats, history, unread counts, messages and typing. REST
//! handlers and socket handlers both call it; it publishes through the
//! [`Publisher`] port.
//!
//! Delivery: a message goes to the personal rooms of every participant in
//! one broadcast, so each socket of each participant gets exactly one copy
//! whether or not it joined the chat room. Order: storing and publishing a
//! chat's message happen under that chat's lock, so every socket sees a
//! chat's messages in storage order even with concurrent senders.

use std::collections::HashSet;
use std::sync::Arc;

use crate::ports::{ChatStore, Locks, PresenceState, Publisher, StateError, StoreError, UserStore};
use crate::wire::app::{AppEvent, Typing};
use crate::wire::{Chat, ChatId, Message, MessageId, UserId};

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
    #[error("unknown user ids: {}", .0.iter().map(UserId::as_str).collect::<Vec<_>>().join(", "))]
    UnknownUsers(Vec<UserId>),
    /// The caller's account does not exist (any more).
    #[error("unknown user")]
    UnknownUser,
    /// The database or the state backend failed.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for ChatError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ChatError::NotFound,
            other => ChatError::Internal(other.to_string()),
        }
    }
}

impl From<StateError> for ChatError {
    fn from(e: StateError) -> Self {
        ChatError::Internal(e.to_string())
    }
}

/// Chats and messages that publish their changes.
#[derive(Clone, Debug)]
pub struct ChatService {
    chats: Arc<dyn ChatStore>,
    users: Arc<dyn UserStore>,
    publisher: Arc<dyn Publisher>,
    locks: Arc<dyn Locks>,
    presence: Option<Arc<dyn PresenceState>>,
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
    /// A service over the stores, publishing through `publisher`; each
    /// chat's messages are stored and published under its lock in `locks`.
    pub fn new(
        chats: Arc<dyn ChatStore>,
        users: Arc<dyn UserStore>,
        publisher: Arc<dyn Publisher>,
        locks: Arc<dyn Locks>,
    ) -> Self {
        Self {
            chats,
            users,
            publisher,
            locks,
            presence: None,
        }
    }

    /// Mark participants online from `presence` (the sockets on `/`).
    pub fn with_presence(mut self, presence: Arc<dyn PresenceState>) -> Self {
        self.presence = Some(presence);
        self
    }

    /// Set each participant's `online` from the presence state.
    async fn mark_online(&self, chats: &mut [Chat]) {
        let Some(presence) = &self.presence else {
            return;
        };
        let mut known: std::collections::HashMap<UserId, bool> = std::collections::HashMap::new();
        for chat in chats.iter_mut() {
            for p in &mut chat.participants {
                if let Some(&on) = known.get(&p.id) {
                    p.online = on;
                    continue;
                }
                let on = presence.sockets(&p.id).await.is_ok_and(|n| n > 0);
                known.insert(p.id.clone(), on);
                p.online = on;
            }
        }
    }

    /// Create a chat of `creator` and `participant_ids`; emits
    /// `chat:created` to every participant.
    pub async fn create(
        &self,
        creator: &UserId,
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
        let ids: Vec<UserId> = std::iter::once(creator.clone())
            .chain(participant_ids.into_iter().map(UserId::from))
            .filter(|id| seen.insert(id.clone()))
            .collect();
        let found = self.users.users_by_ids(&ids).await?;
        if !found.iter().any(|u| &u.id == creator) {
            return Err(ChatError::UnknownUser);
        }
        let missing: Vec<UserId> = ids
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
            .chats
            .create_chat(name.as_deref(), creator, participants)
            .await
        {
            Ok(c) => c,
            Err(StoreError::NotFound) => {
                return Err(ChatError::Invalid("a participant no longer exists".into()));
            }
            Err(e) => return Err(e.into()),
        };
        let mut chat = chat;
        self.mark_online(std::slice::from_mut(&mut chat)).await;
        let to: Vec<UserId> = chat.participants.iter().map(|u| u.id.clone()).collect();
        self.publisher
            .to_users(&to, &AppEvent::ChatCreated(chat.clone()))
            .await;
        Ok(chat)
    }

    /// The caller's chats, most recent activity first.
    pub async fn list(&self, user: &UserId) -> Result<Vec<Chat>, ChatError> {
        let mut chats = self.chats.chats_of(user, None).await?;
        self.mark_online(&mut chats).await;
        Ok(chats)
    }

    /// True when `user` takes part in `chat`.
    pub async fn is_participant(&self, chat: &ChatId, user: &UserId) -> Result<bool, ChatError> {
        Ok(self.chats.is_chat_participant(chat, user).await?)
    }

    /// Up to `limit` (1-100) messages before `before` (a message id of this
    /// chat), oldest first.
    pub async fn history(
        &self,
        user: &UserId,
        chat: &ChatId,
        limit: i64,
        before: Option<&MessageId>,
    ) -> Result<Vec<Message>, ChatError> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ChatError::Invalid(format!(
                "limit must be an integer from 1 to {MAX_PAGE}"
            )));
        }
        if !self.is_participant(chat, user).await? {
            return Err(ChatError::NotFound);
        }
        let before = match before {
            None => None,
            Some(id) => Some(self.chats.message_seq(chat, id).await?.ok_or_else(|| {
                ChatError::Invalid("before must be the id of a message in this chat".into())
            })?),
        };
        Ok(self.chats.messages(chat, limit, before).await?)
    }

    /// Reset the caller's unread count.
    pub async fn mark_read(&self, user: &UserId, chat: &ChatId) -> Result<(), ChatError> {
        Ok(self.chats.mark_chat_read(chat, user).await?)
    }

    /// Store a message of `sender`, then deliver `message:new` once to
    /// every socket of every participant. `NotFound` unless a participant.
    pub async fn send(
        &self,
        sender: &UserId,
        chat: &ChatId,
        text: &str,
    ) -> Result<Message, ChatError> {
        let text = message_text(text)?;
        let _turn = self.locks.lock(&format!("chat:{chat}")).await?;
        let members = self.chats.chat_members(chat).await?;
        let Some(me) = members.iter().find(|m| &m.id == sender) else {
            return Err(ChatError::NotFound);
        };
        let msg = self.chats.insert_message(chat, me, text).await?;
        let to: Vec<UserId> = members.into_iter().map(|m| m.id).collect();
        self.publisher
            .to_users(&to, &AppEvent::MessageNew(msg.clone()))
            .await;
        Ok(msg)
    }

    /// Tell the chat's other participants that `user` started or stopped
    /// typing. `NotFound` unless a participant.
    pub async fn typing(
        &self,
        user: &UserId,
        chat: &ChatId,
        is_typing: bool,
    ) -> Result<(), ChatError> {
        let members = self.chats.chat_members(chat).await?;
        let Some(me) = members.iter().find(|m| &m.id == user) else {
            return Err(ChatError::NotFound);
        };
        let payload = Typing {
            chat_id: chat.clone(),
            user_id: user.clone(),
            username: me.username.clone(),
            is_typing,
        };
        let others: Vec<UserId> = members
            .iter()
            .filter(|m| &m.id != user)
            .map(|m| m.id.clone())
            .collect();
        self.publisher
            .to_users(&others, &AppEvent::Typing(payload))
            .await;
        Ok(())
    }
}
