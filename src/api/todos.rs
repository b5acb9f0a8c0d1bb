//! `/todos`: owner-scoped CRUD. Thin: extract, call [`TodoService`], shape.
//!
//! [`TodoService`]: crate::todos::TodoService

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::error::{ApiError, JsonBody};
use crate::store::Todo;
use crate::todos::{NewTodo, TodoError, TodoPatch};

impl From<TodoError> for ApiError {
    fn from(e: TodoError) -> Self {
        match e {
            TodoError::Invalid(m) => ApiError::BadRequest(m),
            TodoError::NotFound => ApiError::NotFound("todo not found".into()),
            TodoError::UnknownUser => ApiError::Unauthorized("unknown user".into()),
            TodoError::Store(e) => ApiError::Internal(Box::new(e)),
        }
    }
}

/// Routes under `/todos`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/todos", get(list).post(create))
        .route("/todos/{id}", get(one).patch(update).delete(remove))
}

async fn list(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
) -> Result<Json<Vec<Todo>>, ApiError> {
    Ok(Json(state.todos.list(&me.sub).await?))
}

async fn create(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    JsonBody(body): JsonBody<NewTodo>,
) -> Result<(StatusCode, Json<Todo>), ApiError> {
    let todo = state.todos.create(&me.sub, body).await?;
    Ok((StatusCode::CREATED, Json(todo)))
}

async fn one(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Todo>, ApiError> {
    Ok(Json(state.todos.get(&me.sub, &id).await?))
}

async fn update(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<TodoPatch>,
) -> Result<Json<Todo>, ApiError> {
    Ok(Json(state.todos.update(&me.sub, &id, patch).await?))
}

async fn remove(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.todos.delete(&me.sub, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
