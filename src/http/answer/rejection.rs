//! Rejected requests: the typed [`Rejection`], plain data, and its RFC 6750 answer. One
//! table ([`Answer::of`]) gives each reason its status, error code, texts and gRPC status.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, header};

use crate::dpop::DpopError;
use crate::http::answer::challenge::{Challenge, StepUpChallenge};
use crate::http::credentials::authorization::RequestErrorKind;
use crate::mtls::MtlsError;
use crate::token::{StepUpFailure, TokenErrorKind};

/// Why a request was turned away, and the RFC 6750 answer to it.
///
/// | request | status | `WWW-Authenticate` |
/// |---|---|---|
/// | no `Authorization`, or another scheme | 401 | `Bearer realm="…"` |
/// | `Bearer` without token, bad grammar, two headers | 400 | `Bearer realm="…", error="invalid_request", error_description="…"` |
/// | invalid token | 401 | `Bearer realm="…", error="invalid_token", error_description="…"` |
/// | valid token, missing scope | 403 | `Bearer realm="…", error="insufficient_scope", error_description="…", scope="…"` |
///
/// With [`advertise_scopes`](crate::BearerGuardBuilder::advertise_scopes), every 401 challenge
/// names those scopes in `scope` too; with
/// [`resource_metadata`](crate::BearerGuardBuilder::resource_metadata), every challenge ends
/// with `resource_metadata="…"`.
///
/// The rejected response always carries the [`Rejection`] in its extensions, for logging layers.
/// A DPoP proof refused for its server nonce (`use_dpop_nonce`, RFC 9449 §9) is answered with a
/// fresh one in `DPoP-Nonce` ([`dpop_nonce`](Self::dpop_nonce)).
///
/// Each rejection is logged by `tracing` at **debug** level, one event with `reason`,
/// `status`, `method` and `path` (never the query string, the token or a claim); a scope layer
/// or extractor with no guard, or under another guard, logs an **error**. To tie the event to
/// the rest of the request's story, run tower-http's `TraceLayer` outside the guard: its span
/// (with the request id you give it) encloses the event.
///
/// # Example
///
/// Answer with your own JSON error format, keeping the RFC 6750 status and challenge:
///
/// ```
/// use bearer_guard::{BearerGuardLayer, Rejection, ResourceServer};
/// use http::Response;
///
/// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
/// let layer = BearerGuardLayer::builder(api)
///     .on_rejection(|rejection: &Rejection| {
///         let mut response = Response::new(format!(r#"{{"code":"{}"}}"#, rejection.reason()));
///         *response.status_mut() = rejection.status();
///         // The challenge, and `Retry-After` or `DPoP-Nonce` when the answer has them.
///         rejection.apply_headers(response.headers_mut());
///         response
///     })
///     .build()?;
///
/// // What a hook (or a test of one) reads from a rejection:
/// use bearer_guard::{RejectionKind, TokenErrorKind};
/// let expired = Rejection::new(RejectionKind::InvalidToken(TokenErrorKind::Expired), "https://my-api-urn");
/// assert_eq!(expired.kind(), RejectionKind::InvalidToken(TokenErrorKind::Expired));
/// assert_eq!(expired.status(), 401);
/// assert_eq!(expired.error_code(), Some("invalid_token"));
/// assert_eq!(expired.reason(), "expired");
/// assert_eq!(expired.description(), "The access token expired");
/// assert_eq!(expired.to_string(), "The access token expired");
/// assert_eq!(
///     expired.www_authenticate().unwrap(),
///     r#"Bearer realm="https://my-api-urn", error="invalid_token", error_description="The access token expired""#
/// );
/// let forbidden = Rejection::insufficient_scope("https://my-api-urn", "read:messages");
/// assert_eq!(forbidden.status(), 403);
/// assert_eq!(forbidden.required_scope(), Some("read:messages"));
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Rejection {
    kind: RejectionKind,
    /// The guard's realm, schemes and metadata URL.
    challenge: Arc<Challenge>,
    /// Whether the request came with `Authorization: DPoP`: its challenge carries the error.
    dpop_scheme: bool,
    required_scope: Option<Arc<str>>,
    /// Seconds to send in `Retry-After`, for a 503.
    retry_after: Option<u64>,
    /// The server nonce to send in `DPoP-Nonce` (RFC 9449 §9), for `use_dpop_nonce`.
    dpop_nonce: Option<Box<str>>,
    /// What a step-up refusal asks for (RFC 9470 §3): `acr_values` and `max_age`.
    step_up: Option<Arc<StepUpChallenge>>,
}

/// RFC 9449 §8.1's response header: the server nonce a client puts in its next proofs.
pub(crate) const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// Sets `DPoP-Nonce: nonce` (a server nonce is base64url, so always a valid value).
pub(crate) fn insert_dpop_nonce(headers: &mut HeaderMap, nonce: &str) {
    if let Ok(value) = HeaderValue::from_str(nonce) {
        headers.insert(DPOP_NONCE, value);
    }
}

/// What kind of rejection, and so which answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No bearer credentials (no `Authorization` header, or another scheme): 401, no `error`.
    MissingCredentials,
    /// A bearer token came to an API that requires DPoP-bound tokens (RFC 9449 §7.1): 401 with
    /// the DPoP challenge alone and no `error`, as for no credentials, but a reason that says
    /// so.
    DpopRequired,
    /// The credentials could not be read: 400 `invalid_request`.
    InvalidRequest(RequestErrorKind),
    /// The token failed a check: 401 `invalid_token`.
    InvalidToken(TokenErrorKind),
    /// The token is valid but lacks a scope the route needs: 403 `insufficient_scope`.
    InsufficientScope,
    /// A scope layer or extractor ran without `BearerGuardLayer` before it: a server bug, 500.
    MissingLayer,
    /// A scope layer ran behind another `BearerGuardLayer` than the one it was made from (the
    /// token was verified for another audience, secret or issuer): a server bug, 500. Make the
    /// scope layer with the `require_scopes` of the guard around the route.
    OtherGuard,
    /// The keys to verify the token are not available yet (no JWK set has loaded, or the one
    /// loaded has been stale too long): 503 with `Retry-After`, no challenge. The server's
    /// fault, not the client's (feature `jwks`).
    KeysUnavailable,
    /// The DPoP proof, or the DPoP binding of the token, failed a check (RFC 9449): 401
    /// `invalid_dpop_proof`, `invalid_token` or `use_dpop_nonce`, 400 for a missing or
    /// repeated `DPoP` header, 503 when the replay store cannot answer (feature `jwks`).
    Dpop(DpopError),
    /// The token is valid but the user's authentication does not meet the route's step-up
    /// requirement (RFC 9470): its `acr` is missing or not among those required, or its
    /// `auth_time` is missing, too old or in the future. 401 `insufficient_user_authentication`,
    /// whose challenge names the `acr_values` and `max_age` required.
    InsufficientUserAuthentication(StepUpFailure),
    /// The token's binding to a client certificate (RFC 8705 §3) did not hold, or the
    /// certificate could not be read: 401 `invalid_token` ([`crate::mtls`]).
    Mtls(MtlsError),
}

/// The answer to one kind of rejection: a row of the table in [`Answer::of`].
struct Answer {
    status: StatusCode,
    /// RFC 6750's (or RFC 9449's) `error`, if the answer has one.
    code: Option<&'static str>,
    /// `error_description`: generic text, never the token or a claim.
    description: &'static str,
    /// The stable machine-readable reason, for logs.
    reason: &'static str,
    /// gRPC's status code for the same answer.
    grpc: u8,
}

impl Answer {
    /// The table: every kind's status, code, texts and gRPC status, in one place.
    fn of(kind: RejectionKind) -> Self {
        use RejectionKind as K;
        let row = |status, code, grpc, reason, description| Self {
            status,
            code,
            description,
            reason,
            grpc,
        };
        match kind {
            K::MissingCredentials => row(
                StatusCode::UNAUTHORIZED,
                None,
                16,
                "missing_credentials",
                "A bearer token is required",
            ),
            K::DpopRequired => row(
                StatusCode::UNAUTHORIZED,
                None,
                16,
                "dpop_required",
                "This API requires DPoP-bound tokens, sent as Authorization: DPoP with a DPoP proof",
            ),
            K::InvalidRequest(kind) => row(
                StatusCode::BAD_REQUEST,
                Some("invalid_request"),
                3,
                kind.reason(),
                kind.description(),
            ),
            K::InvalidToken(kind) => row(
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                16,
                kind.reason(),
                kind.description(),
            ),
            K::InsufficientScope => row(
                StatusCode::FORBIDDEN,
                Some("insufficient_scope"),
                7,
                "insufficient_scope",
                "The access token lacks a required scope",
            ),
            K::MissingLayer => row(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                13,
                "missing_layer",
                "bearer-guard found no token verified by this route's BearerGuardLayer: add that layer around the route (is the layer installed?)",
            ),
            K::OtherGuard => row(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                13,
                "other_guard",
                "bearer-guard: this route's scope layer was made from another BearerGuardLayer than the one that verified the token: make it with the require_scopes of the guard around the route",
            ),
            K::KeysUnavailable => row(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                14,
                "keys_unavailable",
                "The keys to verify access tokens are not available yet; try again later",
            ),
            K::InsufficientUserAuthentication(failure) => row(
                StatusCode::UNAUTHORIZED,
                Some("insufficient_user_authentication"),
                16,
                failure.reason(),
                failure.description(),
            ),
            K::Dpop(error) => {
                let status = error.status();
                let grpc = match status.as_u16() {
                    400 => 3,
                    503 => 14,
                    _ => 16,
                };
                row(
                    status,
                    error.error_code(),
                    grpc,
                    error.reason(),
                    error.description(),
                )
            }
            K::Mtls(error) => row(
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                16,
                error.reason(),
                error.description(),
            ),
        }
    }

    /// Whether the answer carries a `WWW-Authenticate` challenge: not for the server's own
    /// faults (500, 503), which no credentials would fix.
    fn challenges(&self) -> bool {
        !self.status.is_server_error()
    }
}

impl Rejection {
    /// A rejection of this kind in `realm`; for testing your own [`OnRejection`](crate::OnRejection) hooks.
    /// Use [`insufficient_scope`](Self::insufficient_scope) for a 403.
    #[must_use]
    pub fn new(kind: RejectionKind, realm: impl Into<Arc<str>>) -> Self {
        Self::with_challenge(kind, &Arc::new(Challenge::bearer(realm.into())))
    }

    /// A rejection of this kind by a guard: in its realm, with its challenges.
    pub(crate) fn with_challenge(kind: RejectionKind, challenge: &Arc<Challenge>) -> Self {
        Self {
            kind,
            challenge: Arc::clone(challenge),
            dpop_scheme: false,
            required_scope: None,
            dpop_nonce: None,
            step_up: None,
            // A DPoP replay store that cannot answer says when to come back.
            retry_after: match kind {
                RejectionKind::Dpop(error) => error.retry_after().map(|wait| wait.as_secs().max(1)),
                _ => None,
            },
        }
    }

    /// A 403 by a guard: the token lacks `required_scope`.
    pub(crate) fn insufficient_scope_for(
        challenge: &Arc<Challenge>,
        required_scope: Arc<str>,
    ) -> Self {
        Self {
            required_scope: Some(required_scope),
            ..Self::with_challenge(RejectionKind::InsufficientScope, challenge)
        }
    }

    /// A 401 by a guard: the user's authentication falls short of `step_up` (RFC 9470).
    pub(crate) fn insufficient_user_authentication_for(
        challenge: &Arc<Challenge>,
        failure: StepUpFailure,
        step_up: Arc<StepUpChallenge>,
    ) -> Self {
        Self {
            step_up: Some(step_up),
            ..Self::with_challenge(
                RejectionKind::InsufficientUserAuthentication(failure),
                challenge,
            )
        }
    }

    /// The same rejection, of a request that came with `Authorization: DPoP`.
    pub(crate) fn of_dpop_request(mut self) -> Self {
        self.dpop_scheme = true;
        self
    }

    /// The same rejection, with the server nonce `nonce` to send in `DPoP-Nonce`.
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) fn with_dpop_nonce(mut self, nonce: Box<str>) -> Self {
        self.dpop_nonce = Some(nonce);
        self
    }

    /// The same rejection, telling the client to come back in `retry_after` (a 503).
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) fn retry_after_secs(mut self, retry_after: std::time::Duration) -> Self {
        self.retry_after = Some(retry_after.as_secs().max(1));
        self
    }

    /// A 403 `insufficient_scope` rejection naming `required_scope` (space-delimited).
    #[must_use]
    pub fn insufficient_scope(
        realm: impl Into<Arc<str>>,
        required_scope: impl Into<Arc<str>>,
    ) -> Self {
        Self {
            required_scope: Some(required_scope.into()),
            ..Self::new(RejectionKind::InsufficientScope, realm)
        }
    }

    /// What kind of rejection this is.
    #[must_use]
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The HTTP status of the answer: 400, 401, 403, 503 while keys load, or 500 for a
    /// missing or mismatched layer.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        Answer::of(self.kind).status
    }

    /// The RFC 6750 error code, if the answer has one.
    #[must_use]
    pub fn error_code(&self) -> Option<&'static str> {
        Answer::of(self.kind).code
    }

    /// A short generic text for people; it never quotes the token or its claims.
    #[must_use]
    pub fn description(&self) -> &'static str {
        Answer::of(self.kind).description
    }

    /// A stable machine-readable reason, the one logged by `tracing`.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        Answer::of(self.kind).reason
    }

    /// The seconds a client should wait before trying again, for a 503.
    #[must_use]
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The fresh server nonce the answer sends in `DPoP-Nonce` (RFC 9449 §9): set for a DPoP
    /// proof refused as `use_dpop_nonce` (its nonce missing, stale or not ours) by a guard
    /// with `dpop_nonces` (feature `jwks`). [`to_response`](Self::to_response)
    /// and [`to_grpc_response`](Self::to_grpc_response) send it; the guard adds it to a
    /// response of your own [`OnRejection`](crate::OnRejection) hook that has none.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{Rejection, RejectionKind};
    ///
    /// let rejection = Rejection::new(RejectionKind::MissingCredentials, "https://my-api-urn");
    /// assert_eq!(rejection.dpop_nonce(), None);
    /// ```
    #[must_use]
    pub fn dpop_nonce(&self) -> Option<&str> {
        self.dpop_nonce.as_deref()
    }

    /// The `acr` values the route accepts (space-separated, in order of preference), for
    /// `insufficient_user_authentication` (RFC 9470 §3): what the client asks the
    /// authorization server for in `acr_values`.
    ///
    /// # Example
    ///
    /// ```
    /// use axum::{Router, body::Body, http::Request, routing::get};
    /// use bearer_guard::{BearerGuardLayer, Rejection, RejectionKind, ResourceServer};
    /// use bearer_guard::issuer::TokenIssuer;
    /// use bearer_guard::step_up::StepUpFailure;
    /// use tower::ServiceExt as _;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// const MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api.clone()).build()?;
    /// let app = Router::new()
    ///     .route("/api/private-mfa", get(|| async { "ok" }).route_layer(guard.require_acr([MFA])?))
    ///     .route_layer(guard);
    ///
    /// let password_only = TokenIssuer::new(&api, "https://tenant.example/")?.token("auth0|alice")
    ///     .authorize(Request::get("/api/private-mfa"))?.body(Body::empty())?;
    /// let answer = app.oneshot(password_only).await?;
    /// let rejection = answer.extensions().get::<Rejection>().unwrap();
    /// assert_eq!(rejection.kind(), RejectionKind::InsufficientUserAuthentication(StepUpFailure::AcrMissing));
    /// assert_eq!(rejection.acr_values(), Some(MFA));
    /// assert_eq!(rejection.max_age(), None);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn acr_values(&self) -> Option<&str> {
        self.step_up.as_ref()?.acr_values.as_deref()
    }

    /// The maximum age of the user's authentication the route accepts, in seconds, for
    /// `insufficient_user_authentication` (RFC 9470 §3): what the client asks the
    /// authorization server for in `max_age`.
    #[must_use]
    pub fn max_age(&self) -> Option<u64> {
        self.step_up.as_ref()?.max_age
    }

    /// The scopes the route needs (space-delimited), for `insufficient_scope`.
    #[must_use]
    pub fn required_scope(&self) -> Option<&str> {
        self.required_scope.as_deref()
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3); none for a missing layer, or when the
    /// realm or scope could not stand in a quoted parameter (never for a built layer's).
    #[must_use]
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        let answer = Answer::of(self.kind);
        let params = &*self.challenge;
        if !answer.challenges()
            || !quotable(&params.realm)
            || !self.required_scope.as_deref().is_none_or(quotable)
            || !self.acr_values().is_none_or(quotable)
        {
            return None;
        }
        let bearer = params.bearer;
        let dpop_algs = params.dpop_algs.as_deref();
        let metadata = params.resource_metadata.as_deref();
        // A 403 names the scope the route needs; a 401 the scopes the guard advertises.
        let scope = self.required_scope.as_deref().or_else(|| {
            (answer.status == StatusCode::UNAUTHORIZED)
                .then_some(params.scope.as_deref())
                .flatten()
        });
        // The error goes with the scheme the request used (RFC 9449 §7.1): DPoP for a DPoP
        // request or a DPoP error, and where Bearer is not taken.
        let dpop_error = matches!(self.kind, RejectionKind::Dpop(_));
        let error_on_dpop = dpop_algs.is_some() && (self.dpop_scheme || dpop_error || !bearer);
        // Descriptions are static text in the same character set, so nothing needs escaping.
        let mut challenge = String::with_capacity(96);
        let write_params = |challenge: &mut String, with_error: bool| {
            let _ = write!(challenge, "realm=\"{}\"", params.realm);
            if with_error {
                if let Some(code) = answer.code {
                    let _ = write!(
                        challenge,
                        ", error=\"{code}\", error_description=\"{}\"",
                        answer.description
                    );
                }
                if let Some(scope) = scope {
                    let _ = write!(challenge, ", scope=\"{scope}\"");
                }
                self.write_step_up(challenge);
            }
            if let Some(url) = metadata {
                let _ = write!(challenge, ", resource_metadata=\"{url}\"");
            }
        };
        if bearer {
            challenge.push_str("Bearer ");
            write_params(&mut challenge, !error_on_dpop);
        }
        if let Some(algs) = dpop_algs {
            if !challenge.is_empty() {
                challenge.push_str(", ");
            }
            challenge.push_str("DPoP ");
            write_params(&mut challenge, error_on_dpop);
            let _ = write!(challenge, ", algs=\"{algs}\"");
        }
        HeaderValue::from_str(&challenge).ok()
    }

    /// The default answer: status, `WWW-Authenticate` (and `Retry-After`, `DPoP-Nonce` when they
    /// apply) and a small JSON body. The layers add the rejection itself to the response
    /// extensions, whichever hook built the response.
    ///
    /// # Example
    ///
    /// Keep the default answer and add a header to it:
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, Rejection, ResourceServer};
    /// use http::{HeaderValue, Response};
    /// use http_body_util::Full;
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let layer = BearerGuardLayer::builder(api)
    ///     .on_rejection(|rejection: &Rejection| {
    ///         let mut response: Response<Full<bytes::Bytes>> = rejection.to_response();
    ///         response.headers_mut().insert("cache-control", HeaderValue::from_static("no-store"));
    ///         response
    ///     })
    ///     .build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[must_use]
    pub fn to_response<B: From<Bytes>>(&self) -> Response<B> {
        let mut response = self.json_response();
        self.apply_headers(response.headers_mut());
        response
    }

    /// Adds the answer's standard headers to `headers`: the `WWW-Authenticate` challenge,
    /// `Retry-After` for a 503 and `DPoP-Nonce` when the client must use a new nonce. A hook
    /// that answers with a body of its own calls this, so that no client loses what it needs
    /// to retry.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, Rejection, ResourceServer};
    /// use http::Response;
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let layer = BearerGuardLayer::builder(api)
    ///     .on_rejection(|rejection: &Rejection| {
    ///         let mut response = Response::new(format!(r#"{{"code":"{}"}}"#, rejection.reason()));
    ///         *response.status_mut() = rejection.status();
    ///         rejection.apply_headers(response.headers_mut());
    ///         response
    ///     })
    ///     .build()?;
    ///
    /// let expired = Rejection::new(
    ///     bearer_guard::RejectionKind::InvalidToken(bearer_guard::TokenErrorKind::Expired),
    ///     "https://my-api-urn",
    /// );
    /// let mut headers = http::HeaderMap::new();
    /// expired.apply_headers(&mut headers);
    /// assert!(headers.contains_key("www-authenticate"));
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn apply_headers(&self, headers: &mut http::HeaderMap) {
        if let Some(challenge) = self.www_authenticate() {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(nonce) = &self.dpop_nonce {
            insert_dpop_nonce(headers, nonce);
        }
    }

    /// RFC 9470 §3's parameters, after the error: `acr_values` and `max_age`, quoted as its
    /// examples quote them.
    fn write_step_up(&self, out: &mut String) {
        if let Some(acr_values) = self.acr_values() {
            let _ = write!(out, ", acr_values=\"{acr_values}\"");
        }
        if let Some(max_age) = self.max_age() {
            let _ = write!(out, ", max_age=\"{max_age}\"");
        }
    }

    /// The default answer without its standard headers: status, content type and JSON body.
    fn json_response<B: From<Bytes>>(&self) -> Response<B> {
        let mut body = String::with_capacity(160);
        body.push('{');
        if let Some(code) = self.error_code() {
            let _ = write!(body, "\"error\":\"{code}\",");
        }
        let _ = write!(body, "\"error_description\":\"{}\"", self.description());
        // A quotable scope has no `"`, `\` or control character, so it is a valid JSON string.
        if let Some(scope) = self.required_scope.as_deref().filter(|s| quotable(s)) {
            let _ = write!(body, ",\"scope\":\"{scope}\"");
        }
        // Quotable as well, checked when the requirement was built.
        if let Some(acr_values) = self.acr_values().filter(|acr| quotable(acr)) {
            let _ = write!(body, ",\"acr_values\":\"{acr_values}\"");
        }
        if let Some(max_age) = self.max_age() {
            let _ = write!(body, ",\"max_age\":{max_age}");
        }
        body.push('}');

        let mut response = Response::new(B::from(Bytes::from(body)));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

impl Rejection {
    /// The gRPC status code of the answer (gRPC's `statusCodes`): 16 `UNAUTHENTICATED` for a
    /// 401, 7 `PERMISSION_DENIED` for a 403, 3 `INVALID_ARGUMENT` for a 400, 14 `UNAVAILABLE`
    /// for a 503 and 13 `INTERNAL` for a 500.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{Rejection, RejectionKind};
    ///
    /// assert_eq!(Rejection::new(RejectionKind::MissingCredentials, "api").grpc_code(), 16);
    /// assert_eq!(Rejection::insufficient_scope("api", "read:messages").grpc_code(), 7);
    /// ```
    #[must_use]
    pub fn grpc_code(&self) -> u8 {
        Answer::of(self.kind).grpc
    }

    /// The gRPC answer ("Trailers-Only", as gRPC servers send errors): HTTP 200,
    /// `content-type: application/grpc`, [`grpc-status`](Self::grpc_code), a percent-encoded
    /// `grpc-message` with the [description](Self::description), and the RFC 6750
    /// `WWW-Authenticate` challenge (and `Retry-After`, `DPoP-Nonce`) kept as response
    /// metadata; the body is empty. [`DefaultRejection`](crate::answer::DefaultRejection) answers so for
    /// `tonic::body::Body` (feature `tonic`); a hook may call it for any body type, such as a
    /// gRPC service routed through axum.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{Rejection, RejectionKind};
    ///
    /// let rejection = Rejection::insufficient_scope("https://my-api-urn", "read:messages");
    /// let response: http::Response<String> = rejection.to_grpc_response();
    /// assert_eq!(response.status(), 200);
    /// assert_eq!(response.headers()["grpc-status"], "7");
    /// assert_eq!(response.headers()["grpc-message"], "The access token lacks a required scope");
    /// assert!(response.headers().contains_key("www-authenticate"));
    /// ```
    #[must_use]
    pub fn to_grpc_response<B: Default>(&self) -> Response<B> {
        let mut response = Response::new(B::default());
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert(
            "grpc-status",
            HeaderValue::from(u16::from(self.grpc_code())),
        );
        if let Ok(message) = HeaderValue::from_str(&grpc_percent_encode(self.description())) {
            headers.insert("grpc-message", message);
        }
        self.apply_headers(headers);
        response
    }
}

/// `grpc-message`'s encoding: bytes outside %x20-7E, and `%`, as `%XX`.
fn grpc_percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if (0x20..=0x7E).contains(&byte) && byte != b'%' {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// The description, as sent in `error_description`.
impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for Rejection {}

/// May stand inside a quoted `WWW-Authenticate` parameter (RFC 6750 §3: %x20-21 / %x23-5B /
/// %x5D-7E).
pub(crate) fn quotable(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, 0x20 | 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// The default answer, with the rejection in the response's extensions. Extractors answer
/// with the guard's hook instead (see `ExtractorRejection`).
#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for Rejection {
    fn into_response(self) -> axum_core::response::Response {
        let mut response = self.to_response();
        response.extensions_mut().insert(self);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TestBody(Bytes);

    impl From<Bytes> for TestBody {
        fn from(bytes: Bytes) -> Self {
            Self(bytes)
        }
    }

    fn realm() -> Arc<str> {
        "https://my-api-urn".into()
    }

    fn challenge(rejection: &Rejection) -> String {
        rejection
            .www_authenticate()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn missing_credentials_is_401_without_error() {
        let rejection = Rejection::new(RejectionKind::MissingCredentials, realm());
        assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            challenge(&rejection),
            r#"Bearer realm="https://my-api-urn""#
        );
    }

    #[test]
    fn invalid_request_is_400() {
        let rejection = Rejection::new(
            RejectionKind::InvalidRequest(RequestErrorKind::EmptyToken),
            realm(),
        );
        assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            challenge(&rejection),
            r#"Bearer realm="https://my-api-urn", error="invalid_request", error_description="The bearer token is missing""#
        );
    }

    #[test]
    fn invalid_token_is_401_with_error() {
        let rejection = Rejection::new(
            RejectionKind::InvalidToken(TokenErrorKind::Expired),
            realm(),
        );
        assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            challenge(&rejection),
            r#"Bearer realm="https://my-api-urn", error="invalid_token", error_description="The access token expired""#
        );
    }

    #[test]
    fn insufficient_scope_is_403_naming_the_scope() {
        let rejection = Rejection::insufficient_scope(realm(), "read:messages write:messages");
        assert_eq!(rejection.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            challenge(&rejection),
            r#"Bearer realm="https://my-api-urn", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read:messages write:messages""#
        );
    }

    #[test]
    fn missing_layer_is_500_without_challenge() {
        let rejection = Rejection::new(RejectionKind::MissingLayer, "");
        assert!(rejection.description().contains("BearerGuardLayer"));
        assert_eq!(rejection.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(rejection.www_authenticate().is_none());
    }

    #[test]
    fn every_description_fits_the_rfc_6750_character_set() {
        use TokenErrorKind as T;
        let kinds = [
            RejectionKind::MissingCredentials,
            RejectionKind::DpopRequired,
            RejectionKind::InsufficientScope,
            RejectionKind::MissingLayer,
            RejectionKind::InvalidRequest(RequestErrorKind::EmptyToken),
            RejectionKind::InvalidRequest(RequestErrorKind::MalformedCredentials),
            RejectionKind::InvalidRequest(RequestErrorKind::MultipleHeaders),
            RejectionKind::InvalidRequest(RequestErrorKind::MultipleTokenParameters),
            RejectionKind::InvalidRequest(RequestErrorKind::MultipleMethods),
            RejectionKind::InvalidRequest(RequestErrorKind::BodyTooLarge),
            RejectionKind::InvalidRequest(RequestErrorKind::UnreadableBody),
        ]
        .into_iter()
        .chain(
            [
                T::TooLarge,
                T::Malformed,
                T::UnsupportedAlgorithm,
                T::CriticalHeader,
                T::InvalidSignature,
                T::InvalidClaim,
                T::MissingExpiry,
                T::Expired,
                T::NotYetValid,
                T::MissingAudience,
                T::InvalidAudience,
                T::MissingIssuer,
                T::InvalidIssuer,
                T::InvalidType,
                T::MissingClaim,
                T::IssuedInFuture,
                T::TooOld,
                T::ExcessiveLifetime,
                T::UnknownKeyId,
            ]
            .map(RejectionKind::InvalidToken),
        );
        for kind in kinds {
            let description = Rejection::new(kind, realm()).description();
            assert!(quotable(description), "{description}");
        }
    }

    #[test]
    fn unquotable_realm_or_scope_gets_no_challenge() {
        assert!(
            Rejection::new(RejectionKind::MissingCredentials, "a\"b")
                .www_authenticate()
                .is_none()
        );
        let rejection = Rejection::insufficient_scope(realm(), "a\\b");
        assert!(rejection.www_authenticate().is_none());
        let response: Response<TestBody> = rejection.to_response();
        let body: serde_json::Value = serde_json::from_slice(&response.body().0).unwrap();
        assert!(body.get("scope").is_none());
    }

    #[test]
    fn accessors_report_reason_and_scope() {
        let expired = Rejection::new(
            RejectionKind::InvalidToken(TokenErrorKind::Expired),
            realm(),
        );
        assert_eq!(expired.reason(), "expired");
        assert_eq!(expired.required_scope(), None);
        let missing = Rejection::new(RejectionKind::MissingCredentials, realm());
        assert_eq!(missing.reason(), "missing_credentials");
        let scoped = Rejection::insufficient_scope(realm(), "read:messages");
        assert_eq!(scoped.reason(), "insufficient_scope");
        assert_eq!(scoped.required_scope(), Some("read:messages"));
    }

    #[cfg(feature = "axum")]
    #[test]
    fn into_response_carries_the_rejection() {
        use axum_core::response::IntoResponse as _;
        let response = Rejection::insufficient_scope(realm(), "read:messages").into_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response
                .extensions()
                .get::<Rejection>()
                .map(Rejection::kind),
            Some(RejectionKind::InsufficientScope)
        );
    }

    #[test]
    fn displays_its_description_as_an_error() {
        let rejection = Rejection::insufficient_scope(realm(), "read:messages");
        assert_eq!(
            rejection.to_string(),
            "The access token lacks a required scope"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(rejection);
        assert!(boxed.source().is_none());
    }

    #[test]
    fn grpc_answers_carry_the_status_code_and_the_challenge() {
        for (rejection, code) in [
            (
                Rejection::new(RejectionKind::MissingCredentials, realm()),
                "16",
            ),
            (
                Rejection::new(
                    RejectionKind::InvalidToken(TokenErrorKind::Expired),
                    realm(),
                ),
                "16",
            ),
            (Rejection::insufficient_scope(realm(), "read:messages"), "7"),
            (
                Rejection::new(
                    RejectionKind::InvalidRequest(RequestErrorKind::EmptyToken),
                    realm(),
                ),
                "3",
            ),
            (Rejection::new(RejectionKind::MissingLayer, ""), "13"),
            (
                Rejection::new(RejectionKind::KeysUnavailable, realm())
                    .retry_after_secs(std::time::Duration::from_secs(5)),
                "14",
            ),
        ] {
            let response: Response<String> = rejection.to_grpc_response();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()["grpc-status"], code);
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/grpc");
            assert_eq!(
                response.headers()["grpc-message"],
                rejection.description(),
                "descriptions need no escaping"
            );
            assert_eq!(
                response.headers().get(header::WWW_AUTHENTICATE),
                rejection.www_authenticate().as_ref()
            );
            assert!(response.body().is_empty());
        }
    }

    #[test]
    fn grpc_message_is_percent_encoded() {
        assert_eq!(grpc_percent_encode("50% off\n é"), "50%25 off%0A %C3%A9");
    }

    #[test]
    fn a_nonce_to_send_rides_on_both_answers() {
        let rejection = Rejection::new(RejectionKind::Dpop(DpopError::NonceRequired), realm())
            .with_dpop_nonce("AAAAAAO1bNBc2kGKyQ0SLfjfXP1sWnyE".into());
        assert_eq!(
            rejection.dpop_nonce(),
            Some("AAAAAAO1bNBc2kGKyQ0SLfjfXP1sWnyE")
        );
        let http: Response<TestBody> = rejection.to_response();
        let grpc: Response<String> = rejection.to_grpc_response();
        for headers in [http.headers(), grpc.headers()] {
            assert_eq!(headers[DPOP_NONCE], "AAAAAAO1bNBc2kGKyQ0SLfjfXP1sWnyE");
        }
        // Without one, neither answer has the header.
        let plain = Rejection::new(RejectionKind::Dpop(DpopError::Replayed), realm());
        let http: Response<TestBody> = plain.to_response();
        let grpc: Response<String> = plain.to_grpc_response();
        assert!(!http.headers().contains_key(DPOP_NONCE));
        assert!(!grpc.headers().contains_key(DPOP_NONCE));
    }

    #[test]
    fn a_dpop_requests_scope_error_goes_on_its_dpop_challenge() {
        let challenge = Arc::new(Challenge {
            realm: realm(),
            bearer: true,
            dpop_algs: Some("ES256".into()),
            resource_metadata: None,
            scope: None,
        });
        let scope = || Rejection::insufficient_scope_for(&challenge, "read:messages".into());
        let error = r#"error="insufficient_scope", error_description="The access token lacks a required scope", scope="read:messages""#;
        assert_eq!(
            self::challenge(&scope().of_dpop_request()),
            format!(
                r#"Bearer realm="https://my-api-urn", DPoP realm="https://my-api-urn", {error}, algs="ES256""#
            )
        );
        assert_eq!(
            self::challenge(&scope()),
            format!(
                r#"Bearer realm="https://my-api-urn", {error}, DPoP realm="https://my-api-urn", algs="ES256""#
            )
        );
    }

    #[test]
    fn default_body_is_json() {
        let rejection = Rejection::insufficient_scope(realm(), "read:messages");
        let response: Response<TestBody> = rejection.to_response();
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body: serde_json::Value = serde_json::from_slice(&response.body().0).unwrap();
        assert_eq!(body["error"], "insufficient_scope");
        assert_eq!(body["scope"], "read:messages");
    }
}
