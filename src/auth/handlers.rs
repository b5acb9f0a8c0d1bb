//! `/auth/register`, `/auth/login`, `/auth/logout`, `/auth/me`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::{Deserialize, Serialize};

use super::token::COOKIE_NAME;
use super::{AuthUser, password};
use crate::app::AppState;
use crate::error::{ApiError, JsonBody};
use crate::store::User;

/// Body of `POST /auth/register`.
#[derive(Debug, Deserialize)]
pub struct RegisterBody {
    email: String,
    username: String,
    password: String,
}

/// Body of `POST /auth/login`.
#[derive(Debug, Deserialize)]
pub struct LoginBody {
    email: String,
    password: String,
}

/// Answer of register and login.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    access_token: String,
    user: User,
}

fn valid_email(email: &str) -> bool {
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

fn session_cookie(state: &AppState, token: String) -> Cookie<'static> {
    let mut c = Cookie::new(COOKIE_NAME, token);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_path("/");
    c.set_secure(state.config.cookie_secure);
    c.set_max_age(time_max_age(state.tokens.ttl()));
    c
}

fn time_max_age(ttl: std::time::Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(ttl.as_secs() as i64)
}

fn issue(
    state: &AppState,
    jar: CookieJar,
    user: User,
) -> Result<(CookieJar, AuthResponse), ApiError> {
    let token = state
        .tokens
        .issue(&user.id, &user.username, &user.email, None)
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    let jar = jar.add(session_cookie(state, token.clone()));
    Ok((
        jar,
        AuthResponse {
            access_token: token,
            user,
        },
    ))
}

/// `POST /auth/register`.
pub async fn register(
    State(state): State<AppState>,
    jar: CookieJar,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<impl IntoResponse, ApiError> {
    let email = body.email.trim().to_lowercase();
    let username = body.username.trim().to_owned();
    if !valid_email(&email) {
        return Err(ApiError::BadRequest("email is not a valid address".into()));
    }
    let ulen = username.chars().count();
    if !(3..=32).contains(&ulen) {
        return Err(ApiError::BadRequest(
            "username must be 3-32 characters".into(),
        ));
    }
    if body.password.chars().count() < 8 {
        return Err(ApiError::BadRequest(
            "password must be at least 8 characters".into(),
        ));
    }
    if body.password.len() > 1024 {
        return Err(ApiError::BadRequest("password is too long".into()));
    }
    let hash = password::hash(body.password)
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    let user = state.db.create_user(&email, &username, &hash).await?;
    tracing::info!(user_id = %user.id, "user registered");
    let (jar, resp) = issue(&state, jar, user)?;
    Ok((StatusCode::CREATED, jar, Json(resp)))
}

/// `POST /auth/login`.
pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<impl IntoResponse, ApiError> {
    let email = body.email.trim().to_lowercase();
    let bad = || ApiError::Unauthorized("invalid email or password".into());
    let found = state.db.user_by_email(&email).await?.ok_or_else(bad)?;
    if body.password.len() > 1024 || !password::verify(body.password, found.password_hash).await {
        return Err(bad());
    }
    let (jar, resp) = issue(&state, jar, found.user)?;
    Ok((StatusCode::OK, jar, Json(resp)))
}

/// `POST /auth/logout`: clears the cookie.
pub async fn logout(jar: CookieJar) -> impl IntoResponse {
    let mut c = Cookie::new(COOKIE_NAME, "");
    c.set_path("/");
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    (StatusCode::NO_CONTENT, jar.remove(c))
}

/// `GET /auth/me`.
pub async fn me(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = state
        .db
        .user_by_id(&claims.sub)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("user no longer exists".into()))?;
    Ok(Json(serde_json::json!({ "user": user })))
}
