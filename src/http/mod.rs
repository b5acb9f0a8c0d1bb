//! HTTP transport: the REST routes (auth, users, todos, chats, ICE servers,
//! health, the test page and the bundled socket.io client), the error
//! format ([`error`]), where credentials come from ([`credentials`]) and
//! the Origin guard in front of everything ([`origin`]). Handlers are thin:
//! extract the narrow state they need, call a domain service, shape.

pub mod auth;
pub mod calls;
pub mod chats;
pub mod credentials;
pub mod error;
pub mod limits;
pub mod ops;
pub mod origin;
pub mod rate;
pub mod todos;

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use self::auth::AuthUser;
use self::error::{ApiError, QueryParams};
use crate::domain::accounts::Accounts;
use crate::state::AppState;
use crate::turn::{IceConfig, IceServers};
use crate::wire::UserSummary;

const TEST_PAGE: &str = include_str!("assets/test-socket.html");
const SOCKET_IO_JS: &str = include_str!("assets/socket.io.min.js");

/// All REST routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/users", get(search_users))
        .route("/ice-servers", get(ice_servers))
        .route("/test-socket.html", get(test_page))
        .route("/socket.io.min.js", get(socket_io_js))
        .merge(todos::routes())
        .merge(chats::routes())
        .merge(calls::routes())
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    #[serde(default)]
    search: String,
}

async fn search_users(
    State(accounts): State<Accounts>,
    AuthUser(_me): AuthUser,
    QueryParams(q): QueryParams<SearchQuery>,
) -> Result<Json<Vec<UserSummary>>, ApiError> {
    Ok(Json(accounts.search(&q.search).await?))
}

async fn ice_servers(
    State(ice): State<Arc<IceConfig>>,
    AuthUser(me): AuthUser,
) -> Json<IceServers> {
    Json(ice.for_user(&me.sub))
}

async fn test_page() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        TEST_PAGE,
    )
}

async fn socket_io_js() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        SOCKET_IO_JS,
    )
}
