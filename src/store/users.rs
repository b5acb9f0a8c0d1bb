//! Users: accounts with argon2 password hashes.

use async_trait::async_trait;
use sqlx::FromRow;

use super::{Backend, Db, StoreError, is_unique_violation, now, on_pool};
use crate::ports::UserStore;
use crate::ports::store::UserWithHash;
use crate::wire::{UserId, UserSummary};

#[derive(FromRow)]
pub(crate) struct UserRow {
    pub(crate) id: String,
    pub(crate) username: String,
    pub(crate) email: String,
}

impl From<UserRow> for UserSummary {
    fn from(r: UserRow) -> Self {
        UserSummary {
            id: UserId::new(r.id),
            username: r.username,
            email: r.email,
        }
    }
}

#[derive(FromRow)]
struct HashRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

#[async_trait]
impl UserStore for Db {
    async fn create_user(
        &self,
        email: &str,
        username: &str,
        password_hash: &str,
    ) -> Result<UserSummary, StoreError> {
        let user = UserSummary {
            id: UserId::new(uuid::Uuid::new_v4().to_string()),
            username: username.to_owned(),
            email: email.to_owned(),
        };
        let sql = self.sql(
            "INSERT INTO users (id, email, username, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        );
        let res = on_pool!(self, p => sqlx::query(&sql)
            .bind(user.id.as_str())
            .bind(&user.email)
            .bind(&user.username)
            .bind(password_hash)
            .bind(now())
            .execute(p)
            .await
            .map(|_| ()));
        match res {
            Ok(_) => Ok(user),
            Err(e) if is_unique_violation(&e) => {
                Err(StoreError::Conflict("email already registered".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserWithHash>, StoreError> {
        let sql = self.sql("SELECT id, username, email, password_hash FROM users WHERE email = ?");
        let row = on_pool!(self, p => sqlx::query_as::<_, HashRow>(&sql)
            .bind(email)
            .fetch_optional(p)
            .await)?;
        Ok(row.map(|r| UserWithHash {
            user: r.user.into(),
            password_hash: r.password_hash,
        }))
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<UserSummary>, StoreError> {
        let sql = self.sql("SELECT id, username, email FROM users WHERE id = ?");
        let row = on_pool!(self, p => sqlx::query_as::<_, UserRow>(&sql)
            .bind(id.as_str())
            .fetch_optional(p)
            .await)?;
        Ok(row.map(Into::into))
    }

    async fn search_users(&self, q: &str, limit: i64) -> Result<Vec<UserSummary>, StoreError> {
        let escaped = q
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        // SQLite's LIKE ignores ASCII case; PostgreSQL needs ILIKE.
        let like = match self.backend() {
            Backend::Sqlite => "LIKE",
            Backend::Postgres => "ILIKE",
        };
        let sql = self
            .sql(&format!(
                "SELECT id, username, email FROM users \
             WHERE username {like} ?1 ESCAPE '\\' OR email {like} ?1 ESCAPE '\\' \
             ORDER BY username LIMIT ?2"
            ))
            .into_owned();
        let rows = on_pool!(self, p => sqlx::query_as::<_, UserRow>(&sql)
            .bind(&pattern)
            .bind(limit)
            .fetch_all(p)
            .await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn users_by_ids(&self, ids: &[UserId]) -> Result<Vec<UserSummary>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = self
            .sql(&format!(
                "SELECT id, username, email FROM users WHERE id IN ({})",
                super::placeholders(ids.len())
            ))
            .into_owned();
        let rows = on_pool!(self, p => {
            let mut q = sqlx::query_as::<_, UserRow>(&sql);
            for id in ids {
                q = q.bind(id.as_str());
            }
            q.fetch_all(p).await
        })?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
