//! `/auth/register`, `/auth/login`, `/auth/refresh`, `/auth/logout`,
//! `/auth/me`, and the
//! [`AuthUser`] extractor for authenticated requests. Thin: extract, call
//! [`Accounts`], set the cookie.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use super::credentials::{COOKIE_NAME, headers_token};
use super::error::{ApiError, JsonBody};
use super::rate::{AuthLimits, ClientIp};
use crate::domain::accounts::{Accounts, Session};
use crate::domain::identity::{Claims, TokenError, TokenService};
use crate::state::CookiePolicy;
use crate::wire::http::{AuthResponse, LoginBody, MeResponse, RegisterBody};

/// The caller of an authenticated HTTP request (token from the
/// `Authorization` header or the `access_token` cookie).
#[derive(Debug, Clone)]
pub struct AuthUser(pub Claims);

impl<S> FromRequestParts<S> for AuthUser
where
    Arc<TokenService>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let token = headers_token(&parts.headers)
            .ok_or_else(|| ApiError::Unauthorized(TokenError::Missing.to_string()))?;
        Arc::<TokenService>::from_ref(state)
            .verify(&token)
            .map(AuthUser)
            .map_err(|e| ApiError::Unauthorized(e.to_string()))
    }
}

fn session_cookie(
    policy: CookiePolicy,
    ttl: std::time::Duration,
    token: String,
) -> Cookie<'static> {
    let mut c = Cookie::new(COOKIE_NAME, token);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_path("/");
    c.set_secure(policy.secure);
    c.set_max_age(cookie::time::Duration::seconds(ttl.as_secs() as i64));
    c
}

fn answer(
    accounts: &Accounts,
    policy: CookiePolicy,
    jar: CookieJar,
    session: Session,
) -> (CookieJar, Json<AuthResponse>) {
    let cookie = session_cookie(policy, accounts.tokens().ttl(), session.token.clone());
    (
        jar.add(cookie),
        Json(AuthResponse {
            access_token: session.token,
            user: session.user,
        }),
    )
}

/// `POST /auth/register`.
pub async fn register(
    State(accounts): State<Accounts>,
    State(policy): State<CookiePolicy>,
    State(limits): State<Arc<AuthLimits>>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<impl IntoResponse, ApiError> {
    limits.attempt(ip, &body.email).await?;
    let session = accounts
        .register(&body.email, &body.username, body.password)
        .await?;
    let (jar, body) = answer(&accounts, policy, jar, session);
    Ok((StatusCode::CREATED, jar, body))
}

/// `POST /auth/login`.
pub async fn login(
    State(accounts): State<Accounts>,
    State(policy): State<CookiePolicy>,
    State(limits): State<Arc<AuthLimits>>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<impl IntoResponse, ApiError> {
    limits.attempt(ip, &body.email).await?;
    let session = accounts.login(&body.email, body.password).await?;
    let (jar, body) = answer(&accounts, policy, jar, session);
    Ok((StatusCode::OK, jar, body))
}

/// `POST /auth/refresh`: a new token and cookie for a caller whose token
/// (cookie or bearer) is still valid.
pub async fn refresh(
    State(accounts): State<Accounts>,
    State(policy): State<CookiePolicy>,
    AuthUser(claims): AuthUser,
    jar: CookieJar,
) -> Result<impl IntoResponse, ApiError> {
    let session = accounts.refresh(&claims.user().id).await?;
    let (jar, body) = answer(&accounts, policy, jar, session);
    Ok((StatusCode::OK, jar, body))
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
    State(accounts): State<Accounts>,
    AuthUser(claims): AuthUser,
) -> Result<Json<MeResponse>, ApiError> {
    let user = accounts.me(&claims.user().id).await?;
    Ok(Json(MeResponse { user }))
}
