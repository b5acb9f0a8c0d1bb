//! `GET /calls`: the caller's call log, most recent first. Thin: extract,
//! call [`Calls::history`], shape.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::auth::AuthUser;
use super::error::{ApiError, QueryParams};
use crate::domain::calls::{Calls, DEFAULT_PAGE, MAX_PAGE};
use crate::state::AppState;
use crate::wire::CallId;
use crate::wire::calls::CallRecord;

/// Routes under `/calls`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/calls", get(list))
}

#[derive(Debug, Deserialize)]
struct LogQuery {
    limit: Option<String>,
    before: Option<String>,
}

async fn list(
    State(calls): State<Calls>,
    AuthUser(me): AuthUser,
    QueryParams(q): QueryParams<LogQuery>,
) -> Result<Json<Vec<CallRecord>>, ApiError> {
    let limit = match q.limit.as_deref() {
        None => DEFAULT_PAGE,
        Some(raw) => raw.trim().parse::<i64>().map_err(|_| {
            ApiError::BadRequest(format!("limit must be an integer from 1 to {MAX_PAGE}"))
        })?,
    };
    let before = q.before.filter(|b| !b.is_empty()).map(CallId::new);
    Ok(Json(
        calls.history(&me.user().id, limit, before.as_ref()).await?,
    ))
}
