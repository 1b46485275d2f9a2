//! `POST /oauth/token`: the client-credentials grant (RFC 6749 §4.4), with errors as §5.2 says,
//! and DPoP-bound tokens for a request with a `DPoP` proof (RFC 9449 §5), certificate-bound
//! ones (RFC 8705 §3) for a request whose client certificate a trusted proxy passes on.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{FromRequest, Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bearer_guard::ConfigError;
use bearer_guard::dpop::{
    DpopError, DpopProof, DpopRequest, DpopSettings, DpopVerifier, MemoryReplayStore,
};
use bearer_guard::mtls::ClientCertificate;
use serde::Deserialize;
use serde_json::json;

use super::management::{SharedTenant, lock};
use super::tenant::{Proofs, StepUpClaims, TokenRefusal};

/// What DPoP proofs sent to the token endpoint are checked against: the crate's defaults
/// (RS256, PS256, ES256 or EdDSA; `iat` within a minute, plus a minute of leeway).
pub(crate) fn dpop_settings() -> DpopSettings {
    DpopSettings::default()
}

/// What the token endpoint checks DPoP proofs with.
struct DpopCheck {
    /// The endpoint's URL as this server knows it (from its base URL, never from the
    /// request's `Host`): every proof's `htu`.
    url: String,
    verifier: DpopVerifier,
    /// Each proof's `jti` is accepted once within its window (RFC 9449 §11.1).
    replays: MemoryReplayStore,
    /// The header a TLS-terminating proxy sets to the client certificate (RFC 9440), for
    /// `mtls` APIs; none by default, and then no header is trusted.
    client_cert_header: Option<HeaderName>,
    /// The `iss` of the tokens this endpoint issues: the tenant's, or its custom domain's.
    issuer: String,
}

/// The token endpoint's route, at `{issuer}oauth/token`, its tokens' `iss` being `issuer`,
/// reading client certificates from `client_cert_header` when set.
pub(crate) fn router(
    issuer: &str,
    client_cert_header: Option<HeaderName>,
) -> Result<Router<SharedTenant>, ConfigError> {
    let dpop = Arc::new(DpopCheck {
        url: format!("{issuer}oauth/token"),
        verifier: DpopVerifier::new(dpop_settings())?,
        replays: MemoryReplayStore::new(),
        client_cert_header,
        issuer: issuer.to_owned(),
    });
    Ok(Router::new().route(
        "/oauth/token",
        post(
            move |State(tenant): State<SharedTenant>, request: Request| {
                let dpop = Arc::clone(&dpop);
                async move { token(&tenant, &dpop, request).await }
            },
        ),
    ))
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
    /// Test-only: the token's `acr` and `auth_time` (RFC 9470), as a user's login would set
    /// them. Auth0's token endpoint has no such parameters.
    acr: Option<String>,
    auth_time: Option<u64>,
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

    /// RFC 9449 §5: a proof that fails a check is a 400 `invalid_dpop_proof`, whatever the
    /// check; the description says which. A replay store that cannot answer is the server's
    /// fault, and its message (the backend's) stays out of the answer.
    fn invalid_dpop_proof(err: &DpopError) -> Self {
        match err {
            DpopError::ReplayStoreFull { .. } | DpopError::ReplayStoreUnavailable { .. } => {
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "DPoP proofs cannot be checked for replay now; try again later",
                )
            }
            // Its messages name a check, never a value from the proof.
            err => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_dpop_proof",
                err.to_string(),
            ),
        }
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
            TokenRefusal::DpopProofRequired => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_dpop_proof",
                "This API requires DPoP-bound tokens: send a DPoP proof with the token request",
            ),
            TokenRefusal::InvalidDpopProof(err) => Self::invalid_dpop_proof(&err),
            TokenRefusal::ClientCertificateRequired => Self::invalid_request(
                "This API requires certificate-bound tokens: send the token request with a client certificate, through the TLS-terminating proxy that passes it on in the header named by CLIENT_CERT_HEADER",
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

async fn token(tenant: &SharedTenant, dpop: &DpopCheck, request: Request) -> Response {
    match issue(tenant, dpop, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn issue(
    tenant: &SharedTenant,
    dpop: &DpopCheck,
    request: Request,
) -> Result<Response, OAuthError> {
    let basic = basic_credentials(request.headers())?;
    let proofs: Vec<HeaderValue> = request.headers().get_all("dpop").iter().cloned().collect();
    // No access token yet, so no `ath`; the time is now, as the request arrives.
    let proof: Option<Result<DpopProof, DpopError>> = (!proofs.is_empty()).then(|| {
        let request = DpopRequest::new("POST", &dpop.url, SystemTime::now());
        dpop.verifier.verify(&proofs, &request)
    });
    let certificate = client_certificate(request.headers(), dpop.client_cert_header.as_ref())?;
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
    let verdict = proof.as_ref().map(|proof| match proof {
        Ok(proof) => Ok(proof.thumbprint()),
        Err(err) => Err(*err),
    });
    let step_up = StepUpClaims {
        acr: params.acr,
        auth_time: params.auth_time,
    };
    let issued = lock(tenant).issue_token(
        &dpop.issuer,
        &client_id,
        &client_secret,
        &audience,
        params.scope.as_deref(),
        Proofs {
            dpop: verdict,
            certificate: certificate.as_ref(),
        },
        &step_up,
    )?;
    if issued.dpop_bound
        && let Some(Ok(proof)) = &proof
    {
        // Recorded only for a token about to be issued; a replay gets none.
        proof
            .check_replay(&dpop.replays)
            .await
            .map_err(|err| OAuthError::invalid_dpop_proof(&err))?;
    }
    let body = json!({
        "access_token": issued.access_token,
        "token_type": if issued.dpop_bound { "DPoP" } else { "Bearer" },
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    });
    Ok((no_store(), Json(body)).into_response())
}

/// The client certificate in the trusted `header` (RFC 9440: `:<base64 DER>:`), if one is
/// configured and the request has it; a malformed or repeated one is `invalid_request`.
fn client_certificate(
    headers: &HeaderMap,
    header: Option<&HeaderName>,
) -> Result<Option<ClientCertificate>, OAuthError> {
    let Some(header) = header else {
        return Ok(None);
    };
    let mut values = headers.get_all(header).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::invalid_request(
            "the client certificate header came more than once",
        ));
    }
    ClientCertificate::from_rfc9440(value.as_bytes())
        .map(Some)
        .map_err(|_| {
            OAuthError::invalid_request(
                "the client certificate header is not an RFC 9440 byte sequence (:<base64 DER>:)",
            )
        })
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
