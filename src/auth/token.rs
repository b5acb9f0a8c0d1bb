//! JWT issue and verification (HS256 only) and the token-source lookup shared
//! by HTTP and Socket.IO.

use std::time::Duration;

use axum::http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Name of the httpOnly cookie carrying the access token.
pub const COOKIE_NAME: &str = "access_token";

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

/// Strip an optional `Bearer ` prefix (case-insensitive) and surrounding space.
pub fn strip_bearer(raw: &str) -> &str {
    let raw = raw.trim();
    match raw.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => raw[7..].trim(),
        _ => raw,
    }
}

/// The token from the first source that has one: handshake `auth.token`,
/// query `token`, `Authorization` header, `access_token` cookie.
pub fn find_token(
    auth: Option<&serde_json::Value>,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Option<String> {
    let non_empty = |s: &str| {
        let t = strip_bearer(s);
        (!t.is_empty()).then(|| t.to_owned())
    };
    if let Some(t) = auth
        .and_then(|a| a.get("token"))
        .and_then(|t| t.as_str())
        .and_then(non_empty)
    {
        return Some(t);
    }
    if let Some(t) = query.and_then(query_token).and_then(|t| non_empty(&t)) {
        return Some(t);
    }
    headers_token(headers)
}

/// The token from the `Authorization` header, else the `access_token` cookie.
pub fn headers_token(headers: &HeaderMap) -> Option<String> {
    let non_empty = |s: &str| {
        let t = strip_bearer(s);
        (!t.is_empty()).then(|| t.to_owned())
    };
    if let Some(t) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(non_empty)
    {
        return Some(t);
    }
    let jar = axum_extra::extract::cookie::CookieJar::from_headers(headers);
    jar.get(COOKIE_NAME).and_then(|c| non_empty(c.value()))
}

fn query_token(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "token").then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'+' {
            out.push(b' ');
        } else if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex);
            let lo = bytes.get(i + 2).copied().and_then(hex);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push(hi << 4 | lo);
                i += 2;
            } else {
                out.push(b);
            }
        } else {
            out.push(b);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

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

    #[test]
    fn source_order() {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer hdr"));
        h.insert("cookie", HeaderValue::from_static("a=1; access_token=cook"));
        let auth = serde_json::json!({"token": "Bearer auth"});
        assert_eq!(
            find_token(Some(&auth), Some("token=q"), &h).as_deref(),
            Some("auth")
        );
        assert_eq!(
            find_token(None, Some("x=1&token=Bearer%20q"), &h).as_deref(),
            Some("q")
        );
        assert_eq!(find_token(None, None, &h).as_deref(), Some("hdr"));
        h.remove("authorization");
        assert_eq!(find_token(None, None, &h).as_deref(), Some("cook"));
        assert_eq!(find_token(None, None, &HeaderMap::new()), None);
    }
}
