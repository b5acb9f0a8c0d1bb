//! REST routes: auth, users, todos, chats, ICE servers, health, the test
//! page and the bundled socket.io client. Handlers are thin: they validate, call a
//! service or the store, and shape the answer.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::{AuthUser, handlers as auth};
use crate::error::{ApiError, QueryParams};
use crate::store::User;
use crate::turn::IceServers;

pub mod chats;
pub mod todos;

const TEST_PAGE: &str = include_str!("assets/test-socket.html");
const SOCKET_IO_JS: &str = include_str!("assets/socket.io.min.js");

/// All REST routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/users", get(search_users))
        .route("/ice-servers", get(ice_servers))
        .route("/test-socket.html", get(test_page))
        .route("/socket.io.min.js", get(socket_io_js))
        .merge(todos::routes())
        .merge(chats::routes())
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
    State(state): State<AppState>,
    AuthUser(_me): AuthUser,
    QueryParams(q): QueryParams<SearchQuery>,
) -> Result<Json<Vec<User>>, ApiError> {
    let q = q.search.trim();
    if q.chars().count() > 100 {
        return Err(ApiError::BadRequest(
            "search is limited to 100 characters".into(),
        ));
    }
    Ok(Json(state.db.search_users(q, 20).await?))
}

async fn ice_servers(State(state): State<AppState>, AuthUser(me): AuthUser) -> Json<IceServers> {
    Json(state.ice.for_user(&me.sub))
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
