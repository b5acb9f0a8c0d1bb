//! HTTP error type: every failure becomes `{"error": code, "message": text}`
//! with a fitting status code.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::domain::accounts::AccountError;
use crate::domain::calls::CallError;
use crate::domain::chats::ChatError;
use crate::domain::todos::TodoError;
use crate::wire::http::ErrorBody;

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request body or query is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 404: absent, or not visible to the caller.
    #[error("{0}")]
    NotFound(String),
    /// 409: conflicts with existing state.
    #[error("{0}")]
    Conflict(String),
    /// 413: the request body is over the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429: too many attempts; retry after this many seconds.
    #[error("too many attempts: retry in {0} s")]
    RateLimited(u64),
    /// 500: something broke on our side; the detail goes to the log only.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// Machine-readable code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::Internal(_) => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(m) => ApiError::BadRequest(m),
            e @ AccountError::EmailTaken => ApiError::Conflict(e.to_string()),
            e @ (AccountError::BadCredentials | AccountError::Gone) => {
                ApiError::Unauthorized(e.to_string())
            }
            AccountError::Internal(m) => ApiError::Internal(m),
        }
    }
}

impl From<TodoError> for ApiError {
    fn from(e: TodoError) -> Self {
        match e {
            TodoError::Invalid(m) => ApiError::BadRequest(m),
            TodoError::NotFound => ApiError::NotFound("todo not found".into()),
            TodoError::UnknownUser => ApiError::Unauthorized("unknown user".into()),
            TodoError::Internal(m) => ApiError::Internal(m),
        }
    }
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::Invalid(m) => ApiError::BadRequest(m),
            e @ ChatError::UnknownUsers(_) => ApiError::BadRequest(e.to_string()),
            ChatError::NotFound => ApiError::NotFound("chat not found".into()),
            ChatError::UnknownUser => ApiError::Unauthorized("unknown user".into()),
            ChatError::Internal(m) => ApiError::Internal(m),
        }
    }
}

impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::InvalidPayload(m) => ApiError::BadRequest(m),
            CallError::Internal(m) => ApiError::Internal(m),
            e => ApiError::BadRequest(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(source) = &self {
            tracing::error!(error = %source, "internal error");
        }
        let body = ErrorBody {
            error: self.code().to_owned(),
            message: self.to_string(),
        };
        let mut res = (self.status(), Json(body)).into_response();
        if let ApiError::RateLimited(secs) = self {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}

/// JSON body extractor whose rejections are answered in the error format.
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(rej) if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge(format!(
                    "request bodies are limited to {} KiB",
                    super::limits::MAX_BODY_BYTES / 1024
                )))
            }
            Err(rej) => Err(ApiError::BadRequest(rej.body_text())),
        }
    }
}

/// Query-string extractor whose rejections are answered in the error format.
pub struct QueryParams<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for QueryParams<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(QueryParams(v)),
            Err(rej) => Err(ApiError::BadRequest(rej.body_text())),
        }
    }
}
