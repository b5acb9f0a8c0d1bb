//! HTTP request size: JSON bodies are at most 1 MiB. A request that
//! declares a larger body gets `413 {"error": "payload_too_large"}` only
//! after the server has read (and dropped) what the client sends, up to
//! 64 MiB: a client still uploading when the server answers usually never
//! reads the answer, because the connection is reset under it. Bodies
//! without a declared length are cut at 1 MiB by the extractors (also 413).
//! Engine.IO requests have their own, smaller cap and are left alone.

use std::time::Duration;

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use super::error::ApiError;

/// Largest request body the REST API reads.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Largest oversized body read to the end before answering 413.
const DRAIN_MAX_BYTES: u64 = 64 << 20;
/// How long the server keeps reading an oversized body.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The 413 answer; the connection closes after it.
pub fn too_large() -> Response {
    let mut res = ApiError::PayloadTooLarge(format!(
        "request bodies are limited to {} KiB",
        MAX_BODY_BYTES / 1024
    ))
    .into_response();
    res.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    res
}

/// Middleware: answer 413 for a declared body over [`MAX_BODY_BYTES`].
pub async fn limit_body(req: Request, next: Next) -> Response {
    if crate::realtime::is_engine_io_path(req.uri().path()) {
        return next.run(req).await;
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > MAX_BODY_BYTES as u64 => {
            if n <= DRAIN_MAX_BYTES {
                let mut body = req.into_body();
                let drain = async {
                    let mut read = 0u64;
                    while let Some(Ok(frame)) = body.frame().await {
                        read += frame.data_ref().map_or(0, |d| d.len() as u64);
                        if read >= n {
                            break;
                        }
                    }
                };
                let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain).await;
            }
            too_large()
        }
        _ => next.run(req).await,
    }
}
