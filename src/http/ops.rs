//! Operations endpoints: `GET /metrics` (Prometheus text, behind
//! `METRICS_TOKEN` when set), `GET /ready` (the database answers; `/health`
//! stays a liveness check), and the landing page `GET /` shown when no web
//! client is built.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::error::ApiError;
use crate::config::Config;
use crate::domain::signalling::Signalling;
use crate::state::RedisCheck;
use crate::store::Db;

/// `GET /metrics`.
pub async fn metrics(
    State(config): State<Arc<Config>>,
    State(signalling): State<Signalling>,
    headers: HeaderMap,
) -> Response {
    if let Some(expected) = config.metrics_token.as_deref() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !same(given.as_bytes(), expected.as_bytes()) {
            return ApiError::Unauthorized(
                "metrics need `Authorization: Bearer <METRICS_TOKEN>`".into(),
            )
            .into_response();
        }
    }
    if let Ok(n) = signalling.rooms().room_count().await {
        crate::telemetry::rooms(n);
    }
    let Some(handle) = crate::telemetry::handle() else {
        return ApiError::Internal("no metrics recorder".into()).into_response();
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// Compare without an early exit on the first differing byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /ready`: 200 when every dependency answers (the database, and
/// Redis in cluster mode), 503 naming the failing ones.
pub async fn ready(State(db): State<Db>, State(redis): State<Option<RedisCheck>>) -> Response {
    let mut checks = serde_json::Map::new();
    let mut failing = Vec::new();
    match db.ping().await {
        Ok(()) => {
            checks.insert("database".into(), "ok".into());
        }
        Err(e) => {
            tracing::warn!(error = %e, "not ready: database");
            checks.insert("database".into(), "unreachable".into());
            failing.push("database");
        }
    }
    if let Some(r) = redis {
        match r.ping().await {
            Ok(()) => {
                checks.insert("redis".into(), "ok".into());
            }
            Err(e) => {
                tracing::warn!(error = %e, "not ready: redis");
                checks.insert("redis".into(), "unreachable".into());
                failing.push("redis");
            }
        }
    }
    if failing.is_empty() {
        return Json(serde_json::json!({"status": "ready", "checks": checks})).into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(serde_json::json!({
            "status": "unavailable",
            "failing": failing,
            "checks": checks,
        })),
    )
        .into_response()
}

const LANDING: &str = include_str!("assets/landing.html");

/// `GET /` without a built web client.
pub async fn landing() -> Html<&'static str> {
    Html(LANDING)
}
