//! Error answers of the Management API, and its JSON body extractor.
//!
//! The Management API answers errors as
//! `{"statusCode": 400, "error": "Bad Request", "message": "...", "errorCode": "invalid_body"}`;
//! this server does the same, so that scripts written against it work against a real tenant.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, body::Bytes};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::random::NoRandomness;

/// One error answer of the Management API.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    error_code: &'static str,
    message: String,
}

impl ApiError {
    /// 400: the request body or a value in it is not acceptable.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_body", message)
    }

    /// 403: the operation is not allowed on this resource.
    pub(crate) fn forbidden(error_code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, error_code, message)
    }

    /// 404: no such resource.
    pub(crate) fn not_found(error_code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error_code, message)
    }

    /// 409: the resource would duplicate one that exists.
    pub(crate) fn conflict(error_code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, error_code, message)
    }

    /// 500: the server could not do its part (the OS gave no randomness).
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
    }

    fn new(status: StatusCode, error_code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error_code,
            message: message.into(),
        }
    }
}

impl From<NoRandomness> for ApiError {
    fn from(err: NoRandomness) -> Self {
        ApiError::internal(err.to_string())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "statusCode": self.status.as_u16(),
            "error": self.status.canonical_reason().unwrap_or_default(),
            "message": self.message,
            "errorCode": self.error_code,
        });
        (self.status, Json(body)).into_response()
    }
}

/// A JSON request body. Unlike `axum::Json`, every problem with it (no body, not JSON, a
/// missing or unknown field, a wrong type) is a 400 in the Management API's shape.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|err| ApiError::bad_request(format!("Payload validation error: {err}")))
    }
}
