//! `/todos`: owner-scoped CRUD. Thin: extract, call [`TodoService`], shape.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

use super::auth::AuthUser;
use super::error::{ApiError, JsonBody};
use crate::domain::todos::TodoService;
use crate::state::AppState;
use crate::wire::http::{NewTodo, TodoPatch};
use crate::wire::{Todo, TodoId};

/// Routes under `/todos`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/todos", get(list).post(create))
        .route("/todos/{id}", get(one).patch(update).delete(remove))
}

async fn list(
    State(todos): State<TodoService>,
    AuthUser(me): AuthUser,
) -> Result<Json<Vec<Todo>>, ApiError> {
    Ok(Json(todos.list(&me.user().id).await?))
}

async fn create(
    State(todos): State<TodoService>,
    AuthUser(me): AuthUser,
    JsonBody(body): JsonBody<NewTodo>,
) -> Result<(StatusCode, Json<Todo>), ApiError> {
    let todo = todos.create(&me.user().id, body).await?;
    Ok((StatusCode::CREATED, Json(todo)))
}

async fn one(
    State(todos): State<TodoService>,
    AuthUser(me): AuthUser,
    Path(id): Path<TodoId>,
) -> Result<Json<Todo>, ApiError> {
    Ok(Json(todos.get(&me.user().id, &id).await?))
}

async fn update(
    State(todos): State<TodoService>,
    AuthUser(me): AuthUser,
    Path(id): Path<TodoId>,
    JsonBody(patch): JsonBody<TodoPatch>,
) -> Result<Json<Todo>, ApiError> {
    Ok(Json(todos.update(&me.user().id, &id, patch).await?))
}

async fn remove(
    State(todos): State<TodoService>,
    AuthUser(me): AuthUser,
    Path(id): Path<TodoId>,
) -> Result<StatusCode, ApiError> {
    todos.delete(&me.user().id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
