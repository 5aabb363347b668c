//! The one error type of the HTTP edge and its JSON shape
//! `{"error": {"code": "...", "message": "..."}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use callwire_engine::EngineError;

/// An error answered to an HTTP client.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the request is malformed or a value is invalid.
    BadRequest(String),
    /// 401: missing or wrong credentials.
    Unauthorized(String),
    /// 403: authenticated, but not allowed (token scope, call policy).
    Forbidden(String),
    /// 404: no such object or route.
    NotFound(String),
    /// 405: the route exists, the method does not.
    MethodNotAllowed,
    /// 409: exists already, or wrong state.
    Conflict(String),
    /// 413: body too large.
    PayloadTooLarge,
    /// 415: not JSON.
    UnsupportedMediaType,
    /// 503: over a limit or stopping.
    Unavailable(String),
    /// 410: no longer retained (events older than retention).
    Gone(String),
    /// 500: something failed inside; details are logged, not returned.
    Internal,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m.clone()),
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m.clone()),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m.clone()),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m.clone()),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route".into(),
            ),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, "conflict", m.clone()),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("request body over {} bytes", crate::MAX_BODY_BYTES),
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send a JSON body with Content-Type: application/json".into(),
            ),
            ApiError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", m.clone()),
            ApiError::Gone(m) => (StatusCode::GONE, "gone", m.clone()),
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error".into(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let body = serde_json::json!({"error": {"code": code, "message": message}});
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: a 401 names the scheme it wants.
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"callwire\""),
            );
        }
        response
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        match e {
            EngineError::NotFound { .. } => ApiError::NotFound(e.to_string()),
            EngineError::Conflict(m) => ApiError::Conflict(m),
            EngineError::Forbidden(m) => ApiError::Forbidden(m),
            EngineError::InvalidArgument(m) => ApiError::BadRequest(m),
            EngineError::Unavailable(m) => ApiError::Unavailable(m),
            EngineError::Gone(m) => ApiError::Gone(m),
            other => {
                tracing::error!(error = %other, "engine error");
                ApiError::Internal
            }
        }
    }
}
