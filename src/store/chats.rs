//! Chats, their participants (with per-user unread counts) and messages.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::{FromRow, QueryBuilder, Sqlite};

use super::{Db, StoreError, User, is_foreign_key_violation, now};

/// The sender of a message.
#[derive(Debug, Clone, Serialize, FromRow, PartialEq, Eq)]
pub struct MessageSender {
    /// User id.
    pub id: String,
    /// Display name.
    pub username: String,
}

/// A participant of a chat, as the message path needs it.
pub type ChatMember = MessageSender;

/// A chat message as clients see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// UUID.
    pub id: String,
    /// The chat.
    pub chat_id: String,
    /// Who wrote it.
    pub sender: MessageSender,
    /// Text (1-4000 characters).
    pub text: String,
    /// Always `text`.
    #[serde(rename = "type")]
    pub kind: String,
    /// RFC 3339 UTC with milliseconds.
    pub created_at: String,
}

/// A chat as one participant sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Chat {
    /// UUID.
    pub id: String,
    /// Optional name.
    pub name: Option<String>,
    /// Every participant, the viewer included.
    pub participants: Vec<User>,
    /// RFC 3339 UTC with milliseconds.
    pub created_at: String,
    /// The newest message, if any.
    pub last_message: Option<Message>,
    /// Messages the viewer has not read.
    pub unread_count: i64,
}

#[derive(FromRow)]
struct MessageRow {
    id: String,
    chat_id: String,
    sender_id: String,
    sender_username: String,
    text: String,
    kind: String,
    created_at: String,
}

impl From<MessageRow> for Message {
    fn from(r: MessageRow) -> Self {
        Message {
            id: r.id,
            chat_id: r.chat_id,
            sender: MessageSender {
                id: r.sender_id,
                username: r.sender_username,
            },
            text: r.text,
            kind: r.kind,
            created_at: r.created_at,
        }
    }
}

#[derive(FromRow)]
struct ChatRow {
    id: String,
    name: Option<String>,
    created_at: String,
    unread_count: i64,
    m_id: Option<String>,
    m_sender_id: Option<String>,
    m_sender_username: Option<String>,
    m_text: Option<String>,
    m_kind: Option<String>,
    m_created_at: Option<String>,
}

#[derive(FromRow)]
struct ParticipantRow {
    chat_id: String,
    #[sqlx(flatten)]
    user: User,
}

const MESSAGE_COLUMNS: &str = "m.id, m.chat_id, m.sender_id, u.username AS sender_username, \
     m.text, m.type AS kind, m.created_at";

/// Next value of the chat activity counter (one index probe).
const NEXT_ACTIVITY: &str = "(SELECT COALESCE(MAX(activity), 0) + 1 FROM chats)";

impl Db {
    /// True when `user_id` is a participant of `chat_id`.
    pub async fn is_chat_participant(
        &self,
        chat_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM chat_participants WHERE chat_id = ? AND user_id = ?")
                .bind(chat_id)
                .bind(user_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.is_some())
    }

    /// The users among `ids` that exist (in no particular order).
    pub async fn users_by_ids(&self, ids: &[String]) -> Result<Vec<User>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("SELECT id, username, email FROM users WHERE id IN (");
        let mut list = q.separated(", ");
        for id in ids {
            list.push_bind(id);
        }
        q.push(")");
        Ok(q.build_query_as::<User>().fetch_all(self.pool()).await?)
    }

    /// Create a chat with these participants (existing users, creator
    /// included); `NotFound` when one of them vanished meanwhile.
    pub async fn create_chat(
        &self,
        name: Option<&str>,
        creator_id: &str,
        participants: Vec<User>,
    ) -> Result<Chat, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let at = now();
        let res: Result<(), sqlx::Error> = async {
            let mut tx = self.pool().begin().await?;
            sqlx::query(&format!(
                "INSERT INTO chats (id, name, created_by, created_at, last_activity_at, activity) \
                 VALUES (?, ?, ?, ?, ?, {NEXT_ACTIVITY})"
            ))
            .bind(&id)
            .bind(name)
            .bind(creator_id)
            .bind(&at)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
            for p in &participants {
                sqlx::query(
                    "INSERT INTO chat_participants (chat_id, user_id, unread_count, joined_at) \
                     VALUES (?, ?, 0, ?)",
                )
                .bind(&id)
                .bind(&p.id)
                .bind(&at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        }
        .await;
        match res {
            Ok(()) => Ok(Chat {
                id,
                name: name.map(str::to_owned),
                participants,
                created_at: at,
                last_message: None,
                unread_count: 0,
            }),
            Err(e) if is_foreign_key_violation(&e) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// The chats of `user_id`, most recent activity first; only `chat_id`
    /// when given.
    pub async fn chats_of(
        &self,
        user_id: &str,
        chat_id: Option<&str>,
    ) -> Result<Vec<Chat>, StoreError> {
        let rows = sqlx::query_as::<_, ChatRow>(
            "SELECT c.id, c.name, c.created_at, cp.unread_count, \
                    m.id AS m_id, m.sender_id AS m_sender_id, u.username AS m_sender_username, \
                    m.text AS m_text, m.type AS m_kind, m.created_at AS m_created_at \
             FROM chat_participants cp \
             JOIN chats c ON c.id = cp.chat_id \
             LEFT JOIN messages m ON m.seq = \
                 (SELECT MAX(seq) FROM messages WHERE chat_id = c.id) \
             LEFT JOIN users u ON u.id = m.sender_id \
             WHERE cp.user_id = ?1 AND (?2 IS NULL OR cp.chat_id = ?2) \
             ORDER BY c.activity DESC",
        )
        .bind(user_id)
        .bind(chat_id)
        .fetch_all(self.pool())
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let participants = sqlx::query_as::<_, ParticipantRow>(
            "SELECT cp2.chat_id, u.id, u.username, u.email \
             FROM chat_participants cp1 \
             JOIN chat_participants cp2 ON cp2.chat_id = cp1.chat_id \
             JOIN users u ON u.id = cp2.user_id \
             WHERE cp1.user_id = ?1 AND (?2 IS NULL OR cp1.chat_id = ?2) \
             ORDER BY cp2.joined_at, u.username, u.id",
        )
        .bind(user_id)
        .bind(chat_id)
        .fetch_all(self.pool())
        .await?;
        let mut by_chat: HashMap<String, Vec<User>> = HashMap::new();
        for p in participants {
            by_chat.entry(p.chat_id).or_default().push(p.user);
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let last_message = match (
                    r.m_id,
                    r.m_sender_id,
                    r.m_sender_username,
                    r.m_text,
                    r.m_kind,
                    r.m_created_at,
                ) {
                    (Some(id), Some(sid), Some(sname), Some(text), Some(kind), Some(at)) => {
                        Some(Message {
                            id,
                            chat_id: r.id.clone(),
                            sender: MessageSender {
                                id: sid,
                                username: sname,
                            },
                            text,
                            kind,
                            created_at: at,
                        })
                    }
                    _ => None,
                };
                Chat {
                    participants: by_chat.remove(&r.id).unwrap_or_default(),
                    id: r.id,
                    name: r.name,
                    created_at: r.created_at,
                    last_message,
                    unread_count: r.unread_count,
                }
            })
            .collect())
    }

    /// The participants of a chat (empty when there is no such chat).
    pub async fn chat_members(&self, chat_id: &str) -> Result<Vec<ChatMember>, StoreError> {
        Ok(sqlx::query_as::<_, ChatMember>(
            "SELECT u.id, u.username FROM chat_participants cp \
             JOIN users u ON u.id = cp.user_id WHERE cp.chat_id = ?",
        )
        .bind(chat_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Store a message, bump the chat's activity and every other
    /// participant's unread count, in one transaction.
    pub async fn insert_message(
        &self,
        chat_id: &str,
        sender: &ChatMember,
        text: &str,
    ) -> Result<Message, StoreError> {
        let msg = Message {
            id: uuid::Uuid::new_v4().to_string(),
            chat_id: chat_id.to_owned(),
            sender: sender.clone(),
            text: text.to_owned(),
            kind: "text".to_owned(),
            created_at: now(),
        };
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO messages (id, chat_id, sender_id, text, type, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&msg.id)
        .bind(&msg.chat_id)
        .bind(&msg.sender.id)
        .bind(&msg.text)
        .bind(&msg.kind)
        .bind(&msg.created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "UPDATE chats SET last_activity_at = ?, activity = {NEXT_ACTIVITY} WHERE id = ?"
        ))
        .bind(&msg.created_at)
        .bind(chat_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE chat_participants SET unread_count = unread_count + 1 \
             WHERE chat_id = ? AND user_id != ?",
        )
        .bind(chat_id)
        .bind(&sender.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(msg)
    }

    /// The storage position of `message_id` within `chat_id`.
    pub async fn message_seq(
        &self,
        chat_id: &str,
        message_id: &str,
    ) -> Result<Option<i64>, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT seq FROM messages WHERE id = ? AND chat_id = ?")
                .bind(message_id)
                .bind(chat_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|r| r.0))
    }

    /// Up to `limit` messages of a chat stored before position `before`
    /// (the newest ones when `None`), oldest first.
    pub async fn messages(
        &self,
        chat_id: &str,
        limit: i64,
        before: Option<i64>,
    ) -> Result<Vec<Message>, StoreError> {
        let mut rows = sqlx::query_as::<_, MessageRow>(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id \
             WHERE m.chat_id = ?1 AND m.seq < ?2 \
             ORDER BY m.seq DESC LIMIT ?3"
        ))
        .bind(chat_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.reverse();
        Ok(rows.into_iter().map(Message::from).collect())
    }

    /// Reset the unread count of `user_id` in `chat_id`; `NotFound` when
    /// the user is not a participant.
    pub async fn mark_chat_read(&self, chat_id: &str, user_id: &str) -> Result<(), StoreError> {
        let res = sqlx::query(
            "UPDATE chat_participants SET unread_count = 0 WHERE chat_id = ? AND user_id = ?",
        )
        .bind(chat_id)
        .bind(user_id)
        .execute(self.pool())
        .await?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Users who share at least one chat with `user_id` (not the user).
    pub async fn chat_contacts(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT cp2.user_id FROM chat_participants cp1 \
             JOIN chat_participants cp2 ON cp2.chat_id = cp1.chat_id \
             WHERE cp1.user_id = ?1 AND cp2.user_id != ?1",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}
