//! Identity: JWT tokens, where to find them, password hashing, the axum
//! extractor for authenticated requests and the `/auth/*` handlers.

pub mod handlers;
pub mod password;
pub mod token;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub use token::{Claims, TokenError, TokenService};

use crate::app::AppState;
use crate::error::ApiError;

/// The caller of an authenticated HTTP request (token from the
/// `Authorization` header or the `access_token` cookie).
#[derive(Debug, Clone)]
pub struct AuthUser(pub Claims);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = token::headers_token(&parts.headers)
            .ok_or_else(|| ApiError::Unauthorized(TokenError::Missing.to_string()))?;
        state
            .tokens
            .verify(&token)
            .map(AuthUser)
            .map_err(|e| ApiError::Unauthorized(e.to_string()))
    }
}
