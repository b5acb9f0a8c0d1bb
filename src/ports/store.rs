//! The database, as the domain needs it: users, todos, chats and messages.
//! The SQLite implementation is [`crate::store::Db`].

use async_trait::async_trait;

use crate::wire::{Chat, ChatId, Message, MessageId, Todo, TodoId, UserId, UserRef, UserSummary};

/// Errors of a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or is not visible to the caller).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken.
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A user with the stored password hash (never serialized).
#[derive(Debug, Clone)]
pub struct UserWithHash {
    /// The public part.
    pub user: UserSummary,
    /// PHC-format argon2 hash.
    pub password_hash: String,
}

/// Accounts.
#[async_trait]
pub trait UserStore: Send + Sync + std::fmt::Debug {
    /// Insert a new user; `Conflict` when the e-mail is taken.
    async fn create_user(
        &self,
        email: &str,
        username: &str,
        password_hash: &str,
    ) -> Result<UserSummary, StoreError>;
    /// The user with this e-mail, with the password hash.
    async fn user_by_email(&self, email: &str) -> Result<Option<UserWithHash>, StoreError>;
    /// The user with this id.
    async fn user_by_id(&self, id: &UserId) -> Result<Option<UserSummary>, StoreError>;
    /// Users whose name or e-mail contains `q` (case-insensitive), at most `limit`.
    async fn search_users(&self, q: &str, limit: i64) -> Result<Vec<UserSummary>, StoreError>;
    /// The users among `ids` that exist (in no particular order).
    async fn users_by_ids(&self, ids: &[UserId]) -> Result<Vec<UserSummary>, StoreError>;
}

/// Todos, always scoped to their owner.
#[async_trait]
pub trait TodoStore: Send + Sync + std::fmt::Debug {
    /// The owner's todos, newest first.
    async fn list_todos(&self, owner: &UserId) -> Result<Vec<Todo>, StoreError>;
    /// One of the owner's todos.
    async fn todo(&self, owner: &UserId, id: &TodoId) -> Result<Option<Todo>, StoreError>;
    /// Insert `todo`; `NotFound` when its owner does not exist.
    async fn insert_todo(&self, todo: &Todo) -> Result<(), StoreError>;
    /// Overwrite the mutable fields of `todo` (matched by id and owner).
    async fn update_todo(&self, todo: &Todo) -> Result<(), StoreError>;
    /// Delete one of the owner's todos; `NotFound` when no such todo.
    async fn delete_todo(&self, owner: &UserId, id: &TodoId) -> Result<(), StoreError>;
}

/// Chats, participants with unread counts, and messages.
#[async_trait]
pub trait ChatStore: Send + Sync + std::fmt::Debug {
    /// True when `user` is a participant of `chat`.
    async fn is_chat_participant(&self, chat: &ChatId, user: &UserId) -> Result<bool, StoreError>;
    /// Create a chat with these participants (existing users, creator
    /// included); `NotFound` when one of them vanished meanwhile.
    async fn create_chat(
        &self,
        name: Option<&str>,
        creator: &UserId,
        participants: Vec<UserSummary>,
    ) -> Result<Chat, StoreError>;
    /// The chats of `user`, most recent activity first; only `chat` when given.
    async fn chats_of(&self, user: &UserId, chat: Option<&ChatId>)
    -> Result<Vec<Chat>, StoreError>;
    /// The participants of a chat (empty when there is no such chat).
    async fn chat_members(&self, chat: &ChatId) -> Result<Vec<UserRef>, StoreError>;
    /// Store a message, bump the chat's activity and every other
    /// participant's unread count, in one transaction.
    async fn insert_message(
        &self,
        chat: &ChatId,
        sender: &UserRef,
        text: &str,
    ) -> Result<Message, StoreError>;
    /// The storage position of `message` within `chat`.
    async fn message_seq(
        &self,
        chat: &ChatId,
        message: &MessageId,
    ) -> Result<Option<i64>, StoreError>;
    /// Up to `limit` messages stored before position `before` (the newest
    /// when `None`), oldest first.
    async fn messages(
        &self,
        chat: &ChatId,
        limit: i64,
        before: Option<i64>,
    ) -> Result<Vec<Message>, StoreError>;
    /// Reset `user`'s unread count in `chat`; `NotFound` unless a participant.
    async fn mark_chat_read(&self, chat: &ChatId, user: &UserId) -> Result<(), StoreError>;
    /// Users who share at least one chat with `user` (not the user).
    async fn chat_contacts(&self, user: &UserId) -> Result<Vec<UserId>, StoreError>;
}
