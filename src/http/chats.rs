//! `/chats`: create, list, history, mark read. Thin: extract, call
//! [`ChatService`], shape. Chats the caller is not in are 404.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::auth::AuthUser;
use super::error::{ApiError, JsonBody};
use crate::domain::chats::{ChatService, DEFAULT_PAGE, MAX_PAGE};
use crate::state::AppState;
use crate::wire::http::CreateChat;
use crate::wire::{Chat, ChatId, Message, MessageId};

/// Routes under `/chats`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/chats", get(list).post(create))
        .route("/chats/{id}/messages", get(history))
        .route("/chats/{id}/read", post(read))
}

async fn create(
    State(chats): State<ChatService>,
    AuthUser(me): AuthUser,
    JsonBody(body): JsonBody<CreateChat>,
) -> Result<(StatusCode, Json<Chat>), ApiError> {
    let chat = chats
        .create(&me.user().id, body.participant_ids, body.name)
        .await?;
    Ok((StatusCode::CREATED, Json(chat)))
}

async fn list(
    State(chats): State<ChatService>,
    AuthUser(me): AuthUser,
) -> Result<Json<Vec<Chat>>, ApiError> {
    Ok(Json(chats.list(&me.user().id).await?))
}

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    limit: Option<String>,
    before: Option<String>,
}

async fn history(
    State(chats): State<ChatService>,
    AuthUser(me): AuthUser,
    Path(id): Path<ChatId>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<Vec<Message>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = match q.limit.as_deref() {
        None => DEFAULT_PAGE,
        Some(raw) => raw.trim().parse::<i64>().map_err(|_| {
            ApiError::BadRequest(format!("limit must be an integer from 1 to {MAX_PAGE}"))
        })?,
    };
    let before = q.before.filter(|b| !b.is_empty()).map(MessageId::new);
    Ok(Json(
        chats
            .history(&me.user().id, &id, limit, before.as_ref())
            .await?,
    ))
}

async fn read(
    State(chats): State<ChatService>,
    AuthUser(me): AuthUser,
    Path(id): Path<ChatId>,
) -> Result<StatusCode, ApiError> {
    chats.mark_read(&me.user().id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
