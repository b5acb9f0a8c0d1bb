//! Accounts: registration (validated, argon2id-hashed), login, user lookup
//! and search. Tokens are minted by [`TokenService`].

use std::sync::Arc;

use super::identity::{TokenService, password};
use crate::ports::{StoreError, UserStore};
use crate::wire::{UserId, UserSummary};

/// Longest accepted password, in bytes (argon2 cost is linear in it).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest user search, in characters.
pub const MAX_SEARCH_CHARS: usize = 100;
/// Most users one search returns.
pub const SEARCH_LIMIT: i64 = 20;

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Bad input; the message says what to fix.
    #[error("{0}")]
    Invalid(String),
    /// The e-mail is registered already.
    #[error("email already registered")]
    EmailTaken,
    /// Wrong e-mail or password (never says which).
    #[error("invalid email or password")]
    BadCredentials,
    /// The token's user no longer exists.
    #[error("user no longer exists")]
    Gone,
    /// Hashing, signing or the store failed.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => AccountError::EmailTaken,
            other => AccountError::Internal(other.to_string()),
        }
    }
}

/// A user with a fresh token.
#[derive(Debug, Clone)]
pub struct Session {
    /// The JWT.
    pub token: String,
    /// The user.
    pub user: UserSummary,
}

/// Registration, login and lookup.
#[derive(Clone, Debug)]
pub struct Accounts {
    users: Arc<dyn UserStore>,
    tokens: Arc<TokenService>,
}

/// A plausible e-mail address: `local@domain.tld`, no spaces, <= 254 bytes.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
        && email.len() <= 254
}

impl Accounts {
    /// Accounts in `users`, signing with `tokens`.
    pub fn new(users: Arc<dyn UserStore>, tokens: Arc<TokenService>) -> Self {
        Self { users, tokens }
    }

    /// The token service.
    pub fn tokens(&self) -> &TokenService {
        &self.tokens
    }

    fn session(&self, user: UserSummary) -> Result<Session, AccountError> {
        let token = self
            .tokens
            .issue(user.id.as_str(), &user.username, &user.email, None)
            .map_err(|e| AccountError::Internal(e.to_string()))?;
        Ok(Session { token, user })
    }

    /// Create an account: e-mail shape, username 3-32 characters, password
    /// at least 8 characters.
    pub async fn register(
        &self,
        email: &str,
        username: &str,
        password: String,
    ) -> Result<Session, AccountError> {
        let email = email.trim().to_lowercase();
        let username = username.trim();
        if !valid_email(&email) {
            return Err(AccountError::Invalid("email is not a valid address".into()));
        }
        if !(3..=32).contains(&username.chars().count()) {
            return Err(AccountError::Invalid(
                "username must be 3-32 characters".into(),
            ));
        }
        if password.chars().count() < 8 {
            return Err(AccountError::Invalid(
                "password must be at least 8 characters".into(),
            ));
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(AccountError::Invalid("password is too long".into()));
        }
        let hash = password::hash(password)
            .await
            .map_err(|e| AccountError::Internal(e.to_string()))?;
        let user = self.users.create_user(&email, username, &hash).await?;
        tracing::info!(user_id = %user.id, "user registered");
        self.session(user)
    }

    /// Check an e-mail and password.
    pub async fn login(&self, email: &str, password: String) -> Result<Session, AccountError> {
        let email = email.trim().to_lowercase();
        let found = self
            .users
            .user_by_email(&email)
            .await?
            .ok_or(AccountError::BadCredentials)?;
        if password.len() > MAX_PASSWORD_BYTES
            || !password::verify(password, found.password_hash).await
        {
            return Err(AccountError::BadCredentials);
        }
        self.session(found.user)
    }

    /// A fresh token for the holder of a still-valid one (the user as
    /// stored now, so a deleted account cannot refresh).
    pub async fn refresh(&self, id: &UserId) -> Result<Session, AccountError> {
        let user = self.users.user_by_id(id).await?.ok_or(AccountError::Gone)?;
        self.session(user)
    }

    /// The user behind a verified token.
    pub async fn me(&self, id: &UserId) -> Result<UserSummary, AccountError> {
        self.users.user_by_id(id).await?.ok_or(AccountError::Gone)
    }

    /// Users whose name or e-mail contains `q`.
    pub async fn search(&self, q: &str) -> Result<Vec<UserSummary>, AccountError> {
        let q = q.trim();
        if q.chars().count() > MAX_SEARCH_CHARS {
            return Err(AccountError::Invalid(format!(
                "search is limited to {MAX_SEARCH_CHARS} characters"
            )));
        }
        Ok(self.users.search_users(q, SEARCH_LIMIT).await?)
    }
}
