//! `/chats`: create, list, history, mark read. Thin: extract, call
//! [`ChatService`], shape. Chats the caller is not in are 404.
//!
//! [`ChatService`]: crate::chats::ChatService

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::chats::{ChatError, DEFAULT_PAGE, MAX_PAGE};
use crate::error::{ApiError, JsonBody};
use crate::store::{Chat, Message};

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::Invalid(m) => ApiError::BadRequest(m),
            e @ ChatError::UnknownUsers(_) => ApiError::BadRequest(e.to_string()),
            ChatError::NotFound => ApiError::NotFound("chat not found".into()),
            ChatError::UnknownUser => ApiError::Unauthorized("unknown user".into()),
            ChatError::Store(e) => ApiError::Internal(Box::new(e)),
        }
    }
}

/// Routes under `/chats`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/chats", get(list).post(create))
        .route("/chats/{id}/messages", get(history))
        .route("/chats/{id}/read", post(read))
}

/// Body of `POST /chats`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateChat {
    participant_ids: Vec<String>,
    #[serde(default)]
    name: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    JsonBody(body): JsonBody<CreateChat>,
) -> Result<(StatusCode, Json<Chat>), ApiError> {
    let chat = state
        .chats
        .create(&me.sub, body.participant_ids, body.name)
        .await?;
    Ok((StatusCode::CREATED, Json(chat)))
}

async fn list(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
) -> Result<Json<Vec<Chat>>, ApiError> {
    Ok(Json(state.chats.list(&me.sub).await?))
}

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    limit: Option<String>,
    before: Option<String>,
}

async fn history(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    Path(id): Path<String>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<Vec<Message>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = match q.limit.as_deref() {
        None => DEFAULT_PAGE,
        Some(raw) => raw.trim().parse::<i64>().map_err(|_| {
            ApiError::BadRequest(format!("limit must be an integer from 1 to {MAX_PAGE}"))
        })?,
    };
    let before = q.before.as_deref().filter(|b| !b.is_empty());
    Ok(Json(
        state.chats.history(&me.sub, &id, limit, before).await?,
    ))
}

async fn read(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.chats.mark_read(&me.sub, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
