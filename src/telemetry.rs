//! Prometheus metrics (`GET /metrics`), with the `metrics` crate and its
//! Prometheus exporter. Every label value comes from a fixed set: namespace
//! names, the events a namespace registers (an unknown event is counted as
//! `unknown`), refusal reasons, axum's matched route templates and status
//! codes. No user id, room id, token or raw client string is ever a label.
//!
//! | series | kind |
//! | --- | --- |
//! | `switchboard_sockets{namespace}` | gauge |
//! | `switchboard_rooms` | gauge (read when scraped) |
//! | `switchboard_events_total{namespace,event}` | counter |
//! | `switchboard_relay_seconds` | histogram: offer/answer/candidate received to handed to the target |
//! | `switchboard_refused_total{reason}` | counter: `auth`, `origin`, `rate_limited`, `caps`, `payload_too_large` |
//! | `switchboard_http_requests_total{route,status}` | counter |
//! | `switchboard_http_request_seconds` | histogram |
//!
//! The recorder is process-wide (one per process, installed on first use).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Buckets of the latency histograms, in seconds.
const BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder (installed on first call; `None` when another
/// recorder was installed before).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// Why something was refused (the `reason` label).
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    /// Bad or missing token.
    Auth,
    /// A browser origin outside the allowlist.
    Origin,
    /// Over a rate limit (socket events or logins).
    RateLimited,
    /// A cap: sockets per user, rooms per socket, room full.
    Caps,
    /// An HTTP body over 1 MiB.
    PayloadTooLarge,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Refusal::Auth => "auth",
            Refusal::Origin => "origin",
            Refusal::RateLimited => "rate_limited",
            Refusal::Caps => "caps",
            Refusal::PayloadTooLarge => "payload_too_large",
        }
    }
}

/// Count a refusal.
pub fn refused(why: Refusal) {
    metrics::counter!("switchboard_refused_total", "reason" => why.label()).increment(1);
}

/// The namespace label: one of the two the server has.
fn ns_label(ns: &str) -> &'static str {
    if ns == "/webrtc" { "/webrtc" } else { "/" }
}

/// A socket was admitted in `ns`.
pub fn socket_opened(ns: &str) {
    metrics::gauge!("switchboard_sockets", "namespace" => ns_label(ns)).increment(1.0);
}

/// A socket of `ns` went away.
pub fn socket_closed(ns: &str) {
    metrics::gauge!("switchboard_sockets", "namespace" => ns_label(ns)).decrement(1.0);
}

/// An event reached its handler (`event` is a registered name or `unknown`).
pub fn event(ns: &str, event: &'static str) {
    metrics::counter!("switchboard_events_total", "namespace" => ns_label(ns), "event" => event)
        .increment(1);
}

/// A relayed message was handed to its target `took` after it arrived.
pub fn relayed(took: Duration) {
    metrics::histogram!("switchboard_relay_seconds").record(took.as_secs_f64());
}

/// Set the room gauge (read when scraped).
pub fn rooms(n: usize) {
    metrics::gauge!("switchboard_rooms").set(n as f64);
}

/// Middleware: count and time every HTTP request by route template.
pub async fn track_http(req: Request, next: Next) -> Response {
    let route: String = match req.extensions().get::<MatchedPath>() {
        Some(p) => p.as_str().to_owned(),
        None if crate::realtime::is_engine_io_path(req.uri().path()) => "/socket.io".into(),
        None => "unmatched".into(),
    };
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status();
    metrics::counter!(
        "switchboard_http_requests_total",
        "route" => route,
        "status" => status.as_u16().to_string()
    )
    .increment(1);
    metrics::histogram!("switchboard_http_request_seconds").record(start.elapsed().as_secs_f64());
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        refused(Refusal::PayloadTooLarge);
    } else if status == axum::http::StatusCode::TOO_MANY_REQUESTS {
        refused(Refusal::RateLimited);
    }
    res
}
