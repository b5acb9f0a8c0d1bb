//! Origin allowlist, enforced before any Socket.IO session exists (Engine.IO
//! checks no `Origin` itself) and in front of every HTTP route, plus the CORS
//! layer for the same list. A request without `Origin` (non-browser client)
//! passes; a browser's request from a foreign origin gets 403.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The allowed origins.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    allowed: Arc<HashSet<String>>,
}

impl OriginPolicy {
    /// From the configured list (trailing slashes ignored).
    pub fn new(origins: &[String]) -> Self {
        let allowed = origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        Self {
            allowed: Arc::new(allowed),
        }
    }

    /// True when `origin` is listed, or is the server's own origin (`host`
    /// is the request's `Host` header).
    pub fn allows(&self, origin: &str, host: Option<&str>) -> bool {
        if self.allowed.contains(origin) {
            return true;
        }
        match (host, origin.split_once("://")) {
            (Some(host), Some(("http" | "https", rest))) => rest == host,
            _ => false,
        }
    }

    /// CORS with credentials for the listed origins.
    pub fn cors_layer(&self) -> CorsLayer {
        let list: Vec<HeaderValue> = self
            .allowed
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_credentials(true)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PATCH,
                Method::PUT,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
    }
}

/// Axum middleware refusing foreign origins with 403.
pub async fn enforce(State(policy): State<OriginPolicy>, req: Request, next: Next) -> Response {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        let ok = origin
            .to_str()
            .map(|o| policy.allows(o, host))
            .unwrap_or(false);
        if !ok {
            tracing::info!(
                origin = ?origin,
                path = req.uri().path(),
                "request refused: origin not allowed"
            );
            let body = serde_json::json!({
                "error": "origin_not_allowed",
                "message": "this Origin is not in CORS_ORIGINS",
            });
            crate::telemetry::refused(crate::telemetry::Refusal::Origin);
            return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_and_same_origin() {
        let p = OriginPolicy::new(&["http://localhost:5173/".to_owned()]);
        assert!(p.allows("http://localhost:5173", None));
        assert!(!p.allows("http://evil.example", None));
        assert!(p.allows("http://127.0.0.1:4000", Some("127.0.0.1:4000")));
        assert!(!p.allows("http://evil.example", Some("127.0.0.1:4000")));
        assert!(!p.allows("null", Some("127.0.0.1:4000")));
    }
}
