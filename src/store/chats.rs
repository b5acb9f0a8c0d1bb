//! Chats, their participants (with per-user unread counts) and messages.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::FromRow;

use super::users::UserRow;
use super::{Backend, Db, StoreError, is_foreign_key_violation, now, on_pool};
use crate::ports::ChatStore;
use crate::wire::models::MessageKind;
use crate::wire::{Chat, ChatId, ChatMember, Message, MessageId, UserId, UserRef, UserSummary};

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
            id: MessageId::new(r.id),
            chat_id: ChatId::new(r.chat_id),
            sender: UserRef {
                id: UserId::new(r.sender_id),
                username: r.sender_username,
            },
            text: r.text,
            kind: message_kind(&r.kind),
            created_at: r.created_at,
        }
    }
}

/// Only `text` is ever written.
fn message_kind(_stored: &str) -> MessageKind {
    MessageKind::Text
}

#[derive(FromRow)]
struct MemberRow {
    id: String,
    username: String,
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
    user: UserRow,
}

const MESSAGE_COLUMNS: &str = "m.id, m.chat_id, m.sender_id, u.username AS sender_username, \
     m.text, m.type AS kind, m.created_at";

impl Db {
    /// Next value of the chat activity counter: one index probe on SQLite
    /// (writers are serialized there), a sequence on PostgreSQL (several
    /// nodes write at once).
    fn next_activity(&self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "(SELECT COALESCE(MAX(activity), 0) + 1 FROM chats)",
            Backend::Postgres => "nextval('chat_activity')",
        }
    }
}

#[async_trait]
impl ChatStore for Db {
    async fn is_chat_participant(
        &self,
        chat_id: &ChatId,
        user_id: &UserId,
    ) -> Result<bool, StoreError> {
        let sql =
            self.sql("SELECT user_id FROM chat_participants WHERE chat_id = ? AND user_id = ?");
        let row: Option<(String,)> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(chat_id.as_str())
            .bind(user_id.as_str())
            .fetch_optional(p)
            .await)?;
        Ok(row.is_some())
    }

    async fn create_chat(
        &self,
        name: Option<&str>,
        creator_id: &UserId,
        participants: Vec<UserSummary>,
    ) -> Result<Chat, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let at = now();
        let chat_sql = self
            .sql(&format!(
                "INSERT INTO chats (id, name, created_by, created_at, last_activity_at, activity) \
                 VALUES (?, ?, ?, ?, ?, {})",
                self.next_activity()
            ))
            .into_owned();
        let member_sql = self.sql(
            "INSERT INTO chat_participants (chat_id, user_id, unread_count, joined_at) \
             VALUES (?, ?, 0, ?)",
        );
        let res: Result<(), sqlx::Error> = on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            sqlx::query(&chat_sql)
                .bind(&id)
                .bind(name)
                .bind(creator_id.as_str())
                .bind(&at)
                .bind(&at)
                .execute(&mut *tx)
                .await?;
            for p in &participants {
                sqlx::query(&member_sql)
                    .bind(&id)
                    .bind(p.id.as_str())
                    .bind(&at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await);
        match res {
            Ok(()) => Ok(Chat {
                id: ChatId::new(id),
                name: name.map(str::to_owned),
                participants: participants.into_iter().map(Into::into).collect(),
                created_at: at,
                last_message: None,
                unread_count: 0,
            }),
            Err(e) if is_foreign_key_violation(&e) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn chats_of(
        &self,
        user_id: &UserId,
        chat_id: Option<&ChatId>,
    ) -> Result<Vec<Chat>, StoreError> {
        let chat_id = chat_id.map(ChatId::as_str);
        let sql = self.sql(
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
        );
        let rows = on_pool!(self, p => sqlx::query_as::<_, ChatRow>(&sql)
            .bind(user_id.as_str())
            .bind(chat_id)
            .fetch_all(p)
            .await)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let sql = self.sql(
            "SELECT cp2.chat_id, u.id, u.username, u.email \
             FROM chat_participants cp1 \
             JOIN chat_participants cp2 ON cp2.chat_id = cp1.chat_id \
             JOIN users u ON u.id = cp2.user_id \
             WHERE cp1.user_id = ?1 AND (?2 IS NULL OR cp1.chat_id = ?2) \
             ORDER BY cp2.joined_at, u.username, u.id",
        );
        let participants = on_pool!(self, p => sqlx::query_as::<_, ParticipantRow>(&sql)
            .bind(user_id.as_str())
            .bind(chat_id)
            .fetch_all(p)
            .await)?;
        let mut by_chat: HashMap<String, Vec<ChatMember>> = HashMap::new();
        for p in participants {
            by_chat
                .entry(p.chat_id)
                .or_default()
                .push(UserSummary::from(p.user).into());
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
                            id: MessageId::new(id),
                            chat_id: ChatId::new(r.id.clone()),
                            sender: UserRef {
                                id: UserId::new(sid),
                                username: sname,
                            },
                            text,
                            kind: message_kind(&kind),
                            created_at: at,
                        })
                    }
                    _ => None,
                };
                Chat {
                    participants: by_chat.remove(&r.id).unwrap_or_default(),
                    id: ChatId::new(r.id),
                    name: r.name,
                    created_at: r.created_at,
                    last_message,
                    unread_count: r.unread_count,
                }
            })
            .collect())
    }

    async fn chat_members(&self, chat_id: &ChatId) -> Result<Vec<UserRef>, StoreError> {
        let sql = self.sql(
            "SELECT u.id, u.username FROM chat_participants cp \
             JOIN users u ON u.id = cp.user_id WHERE cp.chat_id = ?",
        );
        let rows = on_pool!(self, p => sqlx::query_as::<_, MemberRow>(&sql)
            .bind(chat_id.as_str())
            .fetch_all(p)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|r| UserRef {
                id: UserId::new(r.id),
                username: r.username,
            })
            .collect())
    }

    async fn insert_message(
        &self,
        chat_id: &ChatId,
        sender: &UserRef,
        text: &str,
    ) -> Result<Message, StoreError> {
        let msg = Message {
            id: MessageId::new(uuid::Uuid::new_v4().to_string()),
            chat_id: chat_id.clone(),
            sender: sender.clone(),
            text: text.to_owned(),
            kind: MessageKind::Text,
            created_at: now(),
        };
        let insert = self.sql(
            "INSERT INTO messages (id, chat_id, sender_id, text, type, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        );
        let bump = self
            .sql(&format!(
                "UPDATE chats SET last_activity_at = ?, activity = {} WHERE id = ?",
                self.next_activity()
            ))
            .into_owned();
        let unread = self.sql(
            "UPDATE chat_participants SET unread_count = unread_count + 1 \
             WHERE chat_id = ? AND user_id != ?",
        );
        on_pool!(self, pool => async {
            let mut tx = pool.begin().await?;
            sqlx::query(&insert)
                .bind(msg.id.as_str())
                .bind(msg.chat_id.as_str())
                .bind(msg.sender.id.as_str())
                .bind(&msg.text)
                .bind("text")
                .bind(&msg.created_at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(&bump)
                .bind(&msg.created_at)
                .bind(chat_id.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query(&unread)
                .bind(chat_id.as_str())
                .bind(sender.id.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await)?;
        Ok(msg)
    }

    async fn message_seq(
        &self,
        chat_id: &ChatId,
        message_id: &MessageId,
    ) -> Result<Option<i64>, StoreError> {
        let sql = self.sql("SELECT seq FROM messages WHERE id = ? AND chat_id = ?");
        let row: Option<(i64,)> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(message_id.as_str())
            .bind(chat_id.as_str())
            .fetch_optional(p)
            .await)?;
        Ok(row.map(|r| r.0))
    }

    async fn messages(
        &self,
        chat_id: &ChatId,
        limit: i64,
        before: Option<i64>,
    ) -> Result<Vec<Message>, StoreError> {
        let sql = self
            .sql(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id \
                 WHERE m.chat_id = ?1 AND m.seq < ?2 \
                 ORDER BY m.seq DESC LIMIT ?3"
            ))
            .into_owned();
        let mut rows = on_pool!(self, p => sqlx::query_as::<_, MessageRow>(&sql)
            .bind(chat_id.as_str())
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(p)
            .await)?;
        rows.reverse();
        Ok(rows.into_iter().map(Message::from).collect())
    }

    async fn mark_chat_read(&self, chat_id: &ChatId, user_id: &UserId) -> Result<(), StoreError> {
        let sql = self
            .sql("UPDATE chat_participants SET unread_count = 0 WHERE chat_id = ? AND user_id = ?");
        let affected = on_pool!(self, p => sqlx::query(&sql)
            .bind(chat_id.as_str())
            .bind(user_id.as_str())
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn chat_contacts(&self, user_id: &UserId) -> Result<Vec<UserId>, StoreError> {
        let sql = self.sql(
            "SELECT DISTINCT cp2.user_id FROM chat_participants cp1 \
             JOIN chat_participants cp2 ON cp2.chat_id = cp1.chat_id \
             WHERE cp1.user_id = ?1 AND cp2.user_id != ?1",
        );
        let rows: Vec<(String,)> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(user_id.as_str())
            .fetch_all(p)
            .await)?;
        Ok(rows.into_iter().map(|r| UserId::new(r.0)).collect())
    }
}
