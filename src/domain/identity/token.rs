//! JWT issue and verification (HS256 only).

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::wire::{UserId, UserSummary};

/// Claims carried by every token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Display name.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expires at (unix seconds).
    pub exp: i64,
}

impl Claims {
    /// The user this token speaks for.
    pub fn user(&self) -> UserSummary {
        UserSummary {
            id: UserId::new(self.sub.clone()),
            username: self.username.clone(),
            email: self.email.clone(),
        }
    }
}

/// Why a token was refused. The text never contains the token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// No token in any source.
    #[error("no token provided")]
    Missing,
    /// Past its `exp`.
    #[error("token expired")]
    Expired,
    /// Bad signature, wrong algorithm, malformed, or missing claims.
    #[error("invalid token")]
    Invalid,
}

/// Signs and verifies tokens with one secret.
#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenService {
    /// A service signing with `secret`, issuing tokens valid for `ttl`.
    pub fn new(secret: &str, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            ttl,
        }
    }

    /// Default lifetime of issued tokens.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Sign a token for the user, valid for `ttl` (or the default).
    pub fn issue(
        &self,
        user_id: &str,
        username: &str,
        email: &str,
        ttl: Option<Duration>,
    ) -> Result<String, TokenError> {
        let now = chrono::Utc::now().timestamp();
        let ttl = ttl.unwrap_or(self.ttl).as_secs() as i64;
        let claims = Claims {
            sub: user_id.to_owned(),
            username: username.to_owned(),
            email: email.to_owned(),
            iat: now,
            exp: now + ttl,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Invalid)
    }

    /// Verify signature, algorithm and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc() -> TokenService {
        TokenService::new("secret", Duration::from_secs(60))
    }

    #[test]
    fn roundtrip_and_refusals() {
        let s = svc();
        let t = s.issue("u1", "alice", "a@x.io", None).unwrap();
        assert_eq!(s.verify(&t).unwrap().sub, "u1");
        let other = TokenService::new("other", Duration::from_secs(60));
        assert_eq!(other.verify(&t), Err(TokenError::Invalid));
        let mut tampered = t.clone();
        tampered.insert(t.find('.').unwrap() + 2, 'x');
        assert_eq!(s.verify(&tampered), Err(TokenError::Invalid));
        let old = s
            .issue("u1", "alice", "a@x.io", Some(Duration::ZERO))
            .unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(s.verify(&old), Err(TokenError::Expired));
    }

    #[test]
    fn alg_none_is_refused() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let exp = chrono::Utc::now().timestamp() + 600;
        let body = b64.encode(format!(
            r#"{{"sub":"u","username":"n","email":"e","iat":0,"exp":{exp}}}"#
        ));
        assert_eq!(
            svc().verify(&format!("{header}.{body}.")),
            Err(TokenError::Invalid)
        );
    }
}
