//! `POST /oauth/token`: the client-credentials grant (RFC 6749 §4.4), with errors as §5.2 says.

use axum::extract::{FromRequest, Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

use super::management::{SharedTenant, lock};
use super::tenant::TokenRefusal;

/// The token endpoint's route.
pub(crate) fn router() -> Router<SharedTenant> {
    Router::new().route("/oauth/token", post(token))
}

/// The request's parameters, from a JSON or a form body. Unknown parameters are ignored
/// (RFC 6749 §3.2); a repeated one is an error (§3.1). No `Debug`: it holds the secret.
#[derive(Deserialize)]
struct TokenParams {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    audience: Option<String>,
    scope: Option<String>,
}

/// An error answer of RFC 6749 §5.2.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn invalid_client() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed: unknown client_id or wrong client_secret",
        )
    }

    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, no_store(), Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="oauth/token""#),
            );
        }
        response
    }
}

impl From<TokenRefusal> for OAuthError {
    fn from(refusal: TokenRefusal) -> Self {
        match refusal {
            TokenRefusal::BadClient => Self::invalid_client(),
            TokenRefusal::UnknownAudience(audience) => Self::new(
                StatusCode::FORBIDDEN,
                "access_denied",
                format!("Service not found: {audience}"),
            ),
            TokenRefusal::NoGrant(audience) => Self::new(
                StatusCode::FORBIDDEN,
                "access_denied",
                format!(
                    "Client is not authorized to access {audience:?}: create a client grant for it"
                ),
            ),
            TokenRefusal::ScopeNotGranted(scope) => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                format!("The scope {scope:?} is not granted to this client for this audience"),
            ),
            TokenRefusal::ServerError => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "The token could not be made",
            ),
        }
    }
}

/// RFC 6749 §5.1: token answers must not be cached.
fn no_store() -> [(axum::http::HeaderName, HeaderValue); 2] {
    [
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

async fn token(State(tenant): State<SharedTenant>, request: Request) -> Response {
    match issue(&tenant, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn issue(tenant: &SharedTenant, request: Request) -> Result<Response, OAuthError> {
    let basic = basic_credentials(request.headers())?;
    let params = read_params(request).await?;
    match params.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type {other:?} is not supported here; use client_credentials"),
            ));
        }
        None => return Err(OAuthError::invalid_request("grant_type is missing")),
    }
    let (client_id, client_secret) = match (basic, params.client_id, params.client_secret) {
        (Some(_), _, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method: Basic or client_secret in the body",
            ));
        }
        (Some((id, secret)), body_id, None) => {
            if body_id.is_some_and(|body_id| body_id != id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the one in Authorization",
                ));
            }
            (id, secret)
        }
        (None, Some(id), Some(secret)) => (id, secret),
        (None, _, _) => return Err(OAuthError::invalid_client()),
    };
    let audience = params
        .audience
        .ok_or_else(|| OAuthError::invalid_request("audience is missing"))?;
    let issued = lock(tenant).issue_token(
        &client_id,
        &client_secret,
        &audience,
        params.scope.as_deref(),
    )?;
    let body = json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    });
    Ok((no_store(), Json(body)).into_response())
}

/// The body's parameters, as JSON or as a form.
async fn read_params(request: Request) -> Result<TokenParams, OAuthError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") {
        Json::<TokenParams>::from_request(request, &())
            .await
            .map(|Json(params)| params)
            .map_err(|rejection| OAuthError::invalid_request(rejection.body_text()))
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        Form::<TokenParams>::from_request(request, &())
            .await
            .map(|Form(params)| params)
            .map_err(|rejection| OAuthError::invalid_request(rejection.body_text()))
    } else {
        Err(OAuthError::invalid_request(
            "Content-Type must be application/json or application/x-www-form-urlencoded",
        ))
    }
}

/// `Authorization: Basic` client credentials (RFC 6749 §2.3.1), if the request has them.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let encoded = value
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Basic "))
        .ok_or_else(OAuthError::invalid_client)?;
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(OAuthError::invalid_client)?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(OAuthError::invalid_client)?;
    Ok(Some((id.to_owned(), secret.to_owned())))
}
