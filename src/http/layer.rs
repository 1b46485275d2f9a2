//! The guard: [`BearerGuardLayer`] wraps a service in [`BearerGuard`], which lets a request
//! through only with a valid bearer token.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::request::Parts;
use http::{Extensions, HeaderMap, Method, Request, Response, Uri};
use tower_layer::Layer;
use tower_service::Service;

#[cfg(feature = "jwks")]
use crate::dpop::DpopError;
use crate::error::ConfigError;
use crate::http::bearer;
use crate::http::bearer::Schemes;
#[cfg(feature = "jwks")]
use crate::http::dpop::{DpopGuard, ReplayCheck};
use crate::http::extract::Anonymous;
#[cfg(feature = "form")]
use crate::http::form::{FormBodyToken, FormTokenLayer};
use crate::http::guard_future::{Gate, GuardFuture, KeyWait};
#[cfg(feature = "axum")]
use crate::http::on_rejection::Hook;
use crate::http::on_rejection::{DefaultRejection, OnRejection, Responder};
use crate::http::rejection::{Rejection, RejectionKind};
use crate::http::resource_metadata::ResourceMetadata;
use crate::http::scope_layer::{RequireScopesLayer, Required};
use crate::http::sources::TokenSources;
use crate::token::{ScopeRequirement, TokenErrorKind, TokenValidator};

/// Applies [`BearerGuard`] to a service: the tower layer that protects an API.
///
/// Built by [`BearerGuardLayer::builder`], which checks every setting at startup. For every
/// request it finds `Authorization: Bearer <token>` (RFC 6750 §2), runs the
/// [`TokenValidator`], and passes the request on with a [`VerifiedToken`](crate::VerifiedToken)
/// in its extensions, or answers 400/401/403 with a `WWW-Authenticate` challenge (see
/// [`Rejection`]). Per-route scope layers come from [`require_scopes`](Self::require_scopes).
///
/// Cloning is cheap: all clones share one checked configuration.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use bearer_guard::{BearerGuardLayer, ResourceServer, VerifiedToken};
///
/// async fn private(token: VerifiedToken) -> String {
///     format!("hello {}", token.subject().unwrap_or("anonymous"))
/// }
///
/// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
///     .with_scope("read:messages", "Read messages");
/// let guard = BearerGuardLayer::builder(api).build()?;
/// let read_messages = guard.require_all(["read:messages"])?;
///
/// let app: Router = Router::new()
///     .route("/api/private", get(private))
///     .route("/api/messages", get(private).route_layer(read_messages))
///     .layer(guard)
///     .route("/api/public", get(|| async { "public" }));
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
pub struct BearerGuardLayer<R = DefaultRejection> {
    guard: Arc<Guard<R>>,
}

/// The checked configuration every clone of the layer and its services share.
pub(crate) struct Guard<R> {
    pub(crate) validator: TokenValidator,
    /// The scopes the resource server declares, which scope requirements are checked against.
    pub(crate) declared: Box<[Box<str>]>,
    pub(crate) required: Option<Required>,
    pub(crate) allow_anonymous: bool,
    pub(crate) allow_query_token: bool,
    /// Cookies, headers and functions the token may come from besides `Authorization`.
    pub(crate) sources: TokenSources,
    /// The `Authorization` schemes taken: `Bearer`, `DPoP` or both.
    pub(crate) schemes: Schemes,
    /// DPoP (RFC 9449): the proofs' checks, when the guard takes DPoP.
    #[cfg(feature = "jwks")]
    pub(crate) dpop: Option<DpopGuard>,
    /// RFC 9728's metadata, when published.
    pub(crate) metadata: Option<ResourceMetadata>,
    pub(crate) responder: Arc<Responder<R>>,
}

impl<R> BearerGuardLayer<R> {
    pub(crate) fn new(guard: Arc<Guard<R>>) -> Self {
        Self { guard }
    }

    /// The checked configuration, for the builder's tests.
    #[cfg(test)]
    pub(crate) fn guard(&self) -> &Guard<R> {
        &self.guard
    }

    /// Whether this layer verified `token`: with [`MultiApiLayer`](crate::MultiApiLayer), which
    /// of its APIs a handler's token is for.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api).build()?;
    /// let handler = move |token: bearer_guard::VerifiedToken| async move {
    ///     if guard.has_verified(&token) { "mine" } else { "another API's" }
    /// };
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[must_use]
    pub fn has_verified(&self, token: &crate::VerifiedToken) -> bool {
        token
            .guard()
            .is_some_and(|guard| guard.id == self.guard.responder.guard.id)
    }

    /// The checked configuration, for [`MultiApiLayer`](crate::MultiApiLayer).
    pub(crate) fn shared(&self) -> &Arc<Guard<R>> {
        &self.guard
    }

    /// The protected resource's metadata (RFC 9728), when
    /// [`resource_metadata`](crate::BearerGuardBuilder::resource_metadata) published it: a
    /// service to route at its [`path`](ResourceMetadata::path).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    ///
    /// let api = ResourceServer::new("https://api.example.com", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api).build()?;
    /// assert!(guard.resource_metadata().is_none()); // off unless asked for
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[must_use]
    pub fn resource_metadata(&self) -> Option<ResourceMetadata> {
        self.guard.metadata.clone()
    }

    /// The validator this layer runs, for checking tokens outside HTTP.
    #[must_use]
    pub fn validator(&self) -> &TokenValidator {
        &self.guard.validator
    }

    /// A snapshot of the verified-token cache (hits, misses, evictions, entries and bytes),
    /// for a metrics endpoint; `None` when it is disabled.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api).build()?;
    /// let status = guard.token_cache_status().unwrap_or_default();
    /// assert_eq!((status.hits, status.misses, status.max_bytes), (0, 0, 8 << 20));
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[must_use]
    pub fn token_cache_status(&self) -> Option<crate::TokenCacheStatus> {
        self.guard.validator.token_cache_status()
    }

    /// A snapshot of the key cache, for a health endpoint: whether keys are loaded, how many,
    /// when the last fetch succeeded, the last error. `None` when the keys do not come from
    /// a cache (HS256, or a static JWK set). Feature `jwks`.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let api = ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "RS256"}"#)?;
    /// // Nothing listens on port 1: the keys cannot load.
    /// let guard = BearerGuardLayer::builder(api).issuer("http://127.0.0.1:1/").build()?;
    /// let err = guard.wait_for_keys(Duration::from_millis(200)).await.unwrap_err();
    /// assert!(!err.0.loaded);
    /// assert_eq!(guard.key_set_status().map(|status| status.keys), Some(0));
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "jwks")]
    #[must_use]
    pub fn key_set_status(&self) -> Option<crate::KeySetStatus> {
        self.guard.validator.key_cache().map(|cache| cache.status())
    }

    /// Waits until the key cache has a usable key set, or `timeout` passes: for a startup
    /// that wants to fail fast rather than answer 503 until the issuer is reachable. Returns
    /// at once when the keys do not come from a cache. Feature `jwks`; needs a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`KeysNotReady`](crate::KeysNotReady), with the cache's status (its last error),
    /// when no key set loaded in time.
    #[cfg(feature = "jwks")]
    pub async fn wait_for_keys(
        &self,
        timeout: std::time::Duration,
    ) -> Result<(), crate::KeysNotReady> {
        match self.guard.validator.key_cache() {
            Some(cache) => cache.wait_for_keys(timeout).await,
            None => Ok(()),
        }
    }

    /// A layer that reads an `access_token` from form-encoded request bodies (RFC 6750 §2.2)
    /// for this guard; apply it outside the guard. See [`FormTokenLayer`].
    #[cfg(feature = "form")]
    #[must_use]
    pub fn form_token_layer(&self) -> FormTokenLayer<R> {
        FormTokenLayer::new(Arc::clone(&self.guard.responder))
    }

    /// A layer for one route (axum's `route_layer`) that needs `requirement` on top of a valid
    /// token. It must run inside this layer, and answers like it.
    ///
    /// # Errors
    ///
    /// [`ConfigError::UndeclaredScope`] when the resource server does not declare a scope,
    /// [`ConfigError::InvalidScope`] or [`ConfigError::EmptyScopeRequirement`].
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer, ScopeRequirement};
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
    ///     .with_scope("read:messages", "Read messages")
    ///     .with_scope("admin", "Everything");
    /// let guard = BearerGuardLayer::builder(api).build()?;
    /// let readers = guard.require_scopes(ScopeRequirement::any(["read:messages", "admin"]))?;
    /// let also_readers = guard.require_any(["read:messages", "admin"])?;
    /// // A typo fails here, at startup:
    /// assert!(guard.require_all(["read:mesages"]).is_err());
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn require_scopes(
        &self,
        requirement: ScopeRequirement,
    ) -> Result<RequireScopesLayer<R>, ConfigError> {
        let required = Required::new(requirement, &self.guard.declared)?;
        Ok(RequireScopesLayer::new(
            Arc::clone(&self.guard.responder),
            required,
        ))
    }

    /// Shorthand for [`require_scopes`](Self::require_scopes) with [`ScopeRequirement::all`].
    ///
    /// # Errors
    ///
    /// As [`require_scopes`](Self::require_scopes).
    pub fn require_all<I>(&self, scopes: I) -> Result<RequireScopesLayer<R>, ConfigError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.require_scopes(ScopeRequirement::all(scopes))
    }

    /// Shorthand for [`require_scopes`](Self::require_scopes) with [`ScopeRequirement::any`].
    ///
    /// # Errors
    ///
    /// As [`require_scopes`](Self::require_scopes).
    pub fn require_any<I>(&self, scopes: I) -> Result<RequireScopesLayer<R>, ConfigError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.require_scopes(ScopeRequirement::any(scopes))
    }
}

impl<R> Clone for BearerGuardLayer<R> {
    fn clone(&self) -> Self {
        Self {
            guard: Arc::clone(&self.guard),
        }
    }
}

impl<R> fmt::Debug for BearerGuardLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerGuardLayer")
            .field("validator", &self.guard.validator)
            .field("realm", &self.guard.responder.guard.realm)
            .field("required", &self.guard.required)
            .field("allow_anonymous", &self.guard.allow_anonymous)
            .field("allow_query_token", &self.guard.allow_query_token)
            .field("sources", &self.guard.sources)
            .finish_non_exhaustive()
    }
}

impl<S, R> Layer<S> for BearerGuardLayer<R> {
    type Service = BearerGuard<S, R>;

    fn layer(&self, inner: S) -> BearerGuard<S, R> {
        BearerGuard {
            inner,
            guard: Arc::clone(&self.guard),
        }
    }
}

/// Middleware that lets a request through only with a valid bearer token. See
/// [`BearerGuardLayer`].
pub struct BearerGuard<S, R = DefaultRejection> {
    inner: S,
    guard: Arc<Guard<R>>,
}

define_inner_service_accessors!(BearerGuard);

/// What the guard decides about a request.
pub(crate) enum Admission {
    /// Let it through; `in_url` when the token came in the query string.
    Pass {
        in_url: bool,
    },
    Reject(Rejection),
    /// Its token names a `kid` the key set lacks, and a refetch runs: check it again after.
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    WaitForKeys(KeyWait),
    /// Its DPoP proof is good: let it through once the replay store has seen its `jti` for
    /// the first time.
    #[cfg(feature = "jwks")]
    CheckReplay {
        check: ReplayCheck,
        in_url: bool,
    },
}

impl Admission {
    /// The same decision; a rejection of a request that came with `Authorization: DPoP`
    /// (`dpop`) says so, for its challenge.
    fn of_dpop_request(self, dpop: bool) -> Self {
        match self {
            Self::Reject(rejection) if dpop => Self::Reject(rejection.of_dpop_request()),
            other => other,
        }
    }
}

impl<R> Guard<R> {
    /// Finds and checks the token, leaving a `VerifiedToken` (or the anonymous mark) in the
    /// request extensions. `may_wait`: whether an unknown `kid` may wait for a refetch.
    #[inline]
    pub(crate) fn authenticate<Q: Incoming>(&self, request: &mut Q, may_wait: bool) -> Admission {
        self.authenticate_with(request, may_wait, |_| Ok(self))
    }

    /// [`authenticate`](Self::authenticate), with the token verified by the guard `choose`
    /// picks for it (this one, or for several APIs the one its `aud` and `iss` name); this
    /// guard's settings find the token.
    #[inline]
    pub(crate) fn authenticate_with<'g, Q, C>(
        &'g self,
        request: &mut Q,
        may_wait: bool,
        choose: C,
    ) -> Admission
    where
        Q: Incoming,
        C: FnOnce(&str) -> Result<&'g Self, TokenErrorKind>,
    {
        // Read, not taken, so that a request that waits for keys still has it afterwards.
        #[cfg(feature = "form")]
        let body = request
            .extensions()
            .get::<FormBodyToken>()
            .map(|body| body.0.clone());
        #[cfg(feature = "form")]
        let body = body.as_deref();
        #[cfg(not(feature = "form"))]
        let body = None;
        let query = if self.allow_query_token {
            request.uri().query()
        } else {
            None
        };
        let other = match self.sources.find(request.headers(), request.parts()) {
            Ok(other) => other,
            Err(kind) => return self.reject(RejectionKind::InvalidRequest(kind)),
        };
        let found = match bearer::find_token(request.headers(), self.schemes, query, body, other) {
            Ok(Some(found)) => found,
            // A layer-wide scope requirement cannot be met without a token.
            Ok(None) if self.allow_anonymous && self.required.is_none() => {
                let anonymous = Anonymous(self.responder.guard.clone());
                request.extensions_mut().insert(anonymous);
                return Admission::Pass { in_url: false };
            }
            Ok(None) => return self.reject(RejectionKind::MissingCredentials),
            Err(kind) => return self.reject(RejectionKind::InvalidRequest(kind)),
        };
        // Where DPoP is required, a token by any other means is no credentials at all.
        if !found.dpop && !self.schemes.bearer {
            return self.reject(RejectionKind::MissingCredentials);
        }
        let chosen = match choose(&found.token) {
            Ok(chosen) => chosen,
            Err(kind) => return self.reject(RejectionKind::InvalidToken(kind)),
        };
        let verified = match chosen
            .validator
            .validate_for(&found.token, &chosen.responder.guard)
        {
            Ok(verified) => verified,
            Err(kind) => {
                return chosen
                    .refused(kind, may_wait, &found.token)
                    .of_dpop_request(found.dpop);
            }
        };
        let in_url = found.in_url;
        #[cfg(feature = "jwks")]
        let replay = match chosen.check_dpop(request, &found, &verified) {
            Ok(replay) => replay,
            Err(rejection) => return Admission::Reject(rejection),
        };
        if let Some(required) = &chosen.required
            && let Err(rejection) = required.check(&verified, &chosen.responder.guard)
        {
            return Admission::Reject(rejection);
        }
        #[cfg(feature = "form")]
        request.extensions_mut().remove::<FormBodyToken>();
        request.extensions_mut().insert(verified);
        #[cfg(feature = "jwks")]
        if let Some(check) = replay {
            return Admission::CheckReplay { check, in_url };
        }
        Admission::Pass { in_url }
    }

    /// The DPoP step, for a token the validator passed: a request with `Authorization: DPoP`
    /// must carry a good proof for it (whose replay check is returned), and a DPoP-bound token
    /// must not come as a bearer token (RFC 9449 §7.1).
    #[cfg(feature = "jwks")]
    fn check_dpop<Q: Incoming>(
        &self,
        request: &Q,
        found: &bearer::Found<'_>,
        verified: &crate::VerifiedToken,
    ) -> Result<Option<ReplayCheck>, Rejection> {
        let Some(dpop) = &self.dpop else {
            return Ok(None);
        };
        let refuse = |error| self.responder.reject(RejectionKind::Dpop(error));
        if found.dpop {
            let checked = dpop.check(
                request.headers(),
                request.method(),
                request.uri(),
                &found.token,
                verified,
            );
            return checked
                .map(Some)
                .map_err(|error| refuse(error).of_dpop_request());
        }
        if verified.confirmation_thumbprint().is_some() {
            return Err(refuse(DpopError::BoundTokenAsBearer));
        }
        Ok(None)
    }

    /// [`authenticate_with`](Self::authenticate_with) for a request owned: taken apart when a
    /// token source is a function of its [`Parts`].
    pub(crate) fn authenticate_owned<'g, B, C>(
        &'g self,
        mut request: Request<B>,
        may_wait: bool,
        choose: C,
    ) -> (Request<B>, Admission)
    where
        C: FnOnce(&str) -> Result<&'g Self, TokenErrorKind>,
    {
        if self.sources.needs_parts() {
            let (mut parts, body) = request.into_parts();
            let admission = self.authenticate_with(&mut parts, may_wait, choose);
            (Request::from_parts(parts, body), admission)
        } else {
            let admission = self.authenticate_with(&mut request, may_wait, choose);
            (request, admission)
        }
    }

    /// Leaves the user's rejection hook in the extensions of a request let through, for the
    /// extractors behind the guard to answer with; nothing when the hook is the default.
    pub(crate) fn leave_hook<ResBody, B>(&self, request: &mut Request<B>)
    where
        R: OnRejection<ResBody> + Send + Sync + 'static,
        ResBody: 'static,
    {
        #[cfg(feature = "axum")]
        if self.responder.custom {
            let hook = Hook::<ResBody>::new(&self.responder);
            request.extensions_mut().insert(hook);
        }
        #[cfg(not(feature = "axum"))]
        let _ = request;
    }

    fn reject(&self, kind: RejectionKind) -> Admission {
        Admission::Reject(self.responder.reject(kind))
    }

    /// The answer to a token the validator refused: 401, but 503 when the keys are not
    /// available, and a wait when an unknown `kid` may be in a refetched key set.
    fn refused(&self, kind: TokenErrorKind, may_wait: bool, token: &str) -> Admission {
        #[cfg(feature = "jwks")]
        if let Some(cache) = self.validator.key_cache() {
            match kind {
                TokenErrorKind::KeysUnavailable => {
                    let realm = Arc::clone(&self.responder.guard.realm);
                    return Admission::Reject(Rejection::keys_unavailable(
                        realm,
                        cache.retry_after(),
                    ));
                }
                TokenErrorKind::UnknownKeyId if may_wait => {
                    if let Some(wait) = cache.refetch_for_unknown_kid(token) {
                        return Admission::WaitForKeys(wait);
                    }
                }
                _ => {}
            }
        }
        #[cfg(not(feature = "jwks"))]
        let _ = (may_wait, token);
        self.reject(RejectionKind::InvalidToken(kind))
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for BearerGuard<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    R: OnRejection<ResBody> + Send + Sync + 'static,
    ResBody: 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = GuardFuture<S, ReqBody, ResBody, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let admission = if self.guard.sources.needs_parts() {
            let guard = &*self.guard;
            let (owned, admission) = guard.authenticate_owned(request, true, |_| Ok(guard));
            request = owned;
            admission
        } else {
            self.guard.authenticate(&mut request, true)
        };
        let gate = || Gate::One(Arc::clone(&self.guard));
        GuardFuture::admit(admission, request, &mut self.inner, gate, &self.guard)
    }
}

/// A request, whole or as its parts: what the guard reads and marks.
pub(crate) trait Incoming {
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    fn method(&self) -> &Method;
    fn headers(&self) -> &HeaderMap;
    fn uri(&self) -> &Uri;
    #[cfg_attr(not(feature = "form"), allow(dead_code))]
    fn extensions(&self) -> &Extensions;
    fn extensions_mut(&mut self) -> &mut Extensions;
    /// The parts, for a token source that is a function of them.
    fn parts(&self) -> Option<&Parts>;
}

impl<B> Incoming for Request<B> {
    fn method(&self) -> &Method {
        self.method()
    }
    fn headers(&self) -> &HeaderMap {
        self.headers()
    }
    fn uri(&self) -> &Uri {
        self.uri()
    }
    fn extensions(&self) -> &Extensions {
        self.extensions()
    }
    fn extensions_mut(&mut self) -> &mut Extensions {
        self.extensions_mut()
    }
    fn parts(&self) -> Option<&Parts> {
        None
    }
}

impl Incoming for Parts {
    fn method(&self) -> &Method {
        &self.method
    }
    fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    fn uri(&self) -> &Uri {
        &self.uri
    }
    fn extensions(&self) -> &Extensions {
        &self.extensions
    }
    fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }
    fn parts(&self) -> Option<&Parts> {
        Some(self)
    }
}

impl<S: Clone, R> Clone for BearerGuard<S, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            guard: Arc::clone(&self.guard),
        }
    }
}

impl<S: fmt::Debug, R> fmt::Debug for BearerGuard<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerGuard")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}
