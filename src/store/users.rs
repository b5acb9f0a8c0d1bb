//! Users: accounts with argon2 password hashes.

use serde::Serialize;
use sqlx::FromRow;

use super::{Db, StoreError, is_unique_violation, now};

/// A user as every client sees it.
#[derive(Debug, Clone, Serialize, FromRow, PartialEq, Eq)]
pub struct User {
    /// UUID.
    pub id: String,
    /// Display name.
    pub username: String,
    /// E-mail (lower-cased).
    pub email: String,
}

/// A user with the stored password hash (never serialized).
#[derive(Debug, Clone, FromRow)]
pub struct UserWithHash {
    /// The public part.
    #[sqlx(flatten)]
    pub user: User,
    /// PHC-format argon2 hash.
    pub password_hash: String,
}

impl Db {
    /// Insert a new user; `Conflict` when the e-mail is taken.
    pub async fn create_user(
        &self,
        email: &str,
        username: &str,
        password_hash: &str,
    ) -> Result<User, StoreError> {
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            username: username.to_owned(),
            email: email.to_owned(),
        };
        let res = sqlx::query(
            "INSERT INTO users (id, email, username, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&user.id)
        .bind(&user.email)
        .bind(&user.username)
        .bind(password_hash)
        .bind(now())
        .execute(self.pool())
        .await;
        match res {
            Ok(_) => Ok(user),
            Err(e) if is_unique_violation(&e) => {
                Err(StoreError::Conflict("email already registered".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The user with this e-mail, with the password hash.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserWithHash>, StoreError> {
        Ok(sqlx::query_as::<_, UserWithHash>(
            "SELECT id, username, email, password_hash FROM users WHERE email = ?",
        )
        .bind(email)
        .fetch_optional(self.pool())
        .await?)
    }

    /// The user with this id.
    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(
            sqlx::query_as::<_, User>("SELECT id, username, email FROM users WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Users whose name or e-mail contains `q` (case-insensitive), at most `limit`.
    pub async fn search_users(&self, q: &str, limit: i64) -> Result<Vec<User>, StoreError> {
        let escaped = q
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        Ok(sqlx::query_as::<_, User>(
            "SELECT id, username, email FROM users \
             WHERE username LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\' \
             ORDER BY username LIMIT ?2",
        )
        .bind(pattern)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}
