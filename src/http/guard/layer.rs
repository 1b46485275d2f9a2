//! The guard: [`BearerGuardLayer`] wraps a service in [`BearerGuard`], which lets a request
//! through only with a valid bearer token.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::config::ConfigError;
use crate::http::answer::body::DefaultRejection;
use crate::http::answer::hook::OnRejection;
#[cfg(feature = "form")]
use crate::http::credentials::form::FormTokenLayer;
use crate::http::guard::api::Api;
use crate::http::guard::future::GuardFuture;
use crate::http::guard::verifiers::Verifiers;
use crate::http::metadata::ResourceMetadata;
use crate::http::scope::{RequireScopesLayer, Required};
use crate::http::step_up::{RequireAuthenticationLayer, StepUp};
use crate::token::{AuthenticationRequirement, ScopeRequirement, TokenValidator};

/// Applies [`BearerGuard`] to a service: the tower layer that protects an API.
///
/// Built by [`BearerGuardLayer::builder`], which checks every setting at startup. For every
/// request it finds `Authorization: Bearer <token>` (RFC 6750 §2), runs the
/// [`TokenValidator`], and passes the request on with a [`VerifiedToken`](crate::VerifiedToken)
/// in its extensions, or answers 400/401/403 with a `WWW-Authenticate` challenge (see
/// [`Rejection`](crate::Rejection)). Per-route scope layers come from [`require_scopes`](Self::require_scopes).
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
    api: Arc<Api<R>>,
}

impl<R> BearerGuardLayer<R> {
    pub(crate) fn new(api: Api<R>) -> Self {
        Self { api: Arc::new(api) }
    }

    /// The checked configuration, for the builder's tests.
    #[cfg(test)]
    pub(crate) fn api(&self) -> &Api<R> {
        &self.api
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
        token.guard() == Some(self.api.id())
    }

    /// The checked configuration, for [`MultiApiLayer`](crate::MultiApiLayer).
    pub(crate) fn shared(&self) -> &Arc<Api<R>> {
        &self.api
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
        self.api.metadata.clone()
    }

    /// The validator this layer runs, for checking tokens outside HTTP.
    #[must_use]
    pub fn validator(&self) -> &TokenValidator {
        &self.api.validator
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
    pub fn token_cache_status(&self) -> Option<crate::cache::TokenCacheStatus> {
        self.api.validator.token_cache_status()
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
    /// assert_eq!(guard.key_cache_status().map(|status| status.keys), Some(0));
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "jwks")]
    #[must_use]
    pub fn key_cache_status(&self) -> Option<crate::jwks::KeyCacheStatus> {
        self.key_cache_statuses().into_iter().next()
    }

    /// The key cache of each issuer whose keys are fetched, in the order of
    /// [`issuers`](crate::BearerGuardBuilder::issuers), each status naming its issuer: for an
    /// API with several, whose caches load, fail and recover on their own. One for an API with
    /// one issuer ([`key_cache_status`](Self::key_cache_status)'s); empty when the keys do not
    /// come from a cache. Feature `jwks`.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let api = ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "RS256"}"#)?;
    /// let guard = BearerGuardLayer::builder(api)
    ///     .issuers(["https://my-tenant.eu.auth0.com/", "https://login.example.com/"])
    ///     .build()?;
    /// let issuers: Vec<_> = guard.key_cache_statuses().into_iter().map(|status| status.issuer).collect();
    /// assert_eq!(issuers, [Some("https://my-tenant.eu.auth0.com/".to_owned()), Some("https://login.example.com/".to_owned())]);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "jwks")]
    #[must_use]
    pub fn key_cache_statuses(&self) -> Vec<crate::jwks::KeyCacheStatus> {
        self.api
            .validator
            .key_caches()
            .map(|(issuer, cache)| named(cache.status(), issuer))
            .collect()
    }

    /// Waits until the key cache has a usable key set, or `timeout` passes: for a startup
    /// that wants to fail fast rather than answer 503 until the issuer is reachable. Returns
    /// at once when the keys do not come from a cache. Of several
    /// [`issuers`](crate::BearerGuardBuilder::issuers), waits for every issuer's cache, all
    /// fetching at once, within the one `timeout`. Feature `jwks`; needs a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`KeysNotReady`](crate::jwks::KeysNotReady), with the cache's status (its issuer and
    /// last error), when no key set loaded in time; of several, the first issuer's that did
    /// not.
    #[cfg(feature = "jwks")]
    pub async fn wait_for_keys(
        &self,
        timeout: std::time::Duration,
    ) -> Result<(), crate::jwks::KeysNotReady> {
        let deadline = tokio::time::Instant::now() + timeout;
        // Every cache starts its fetch now, so that the waits below overlap.
        for (_, cache) in self.api.validator.key_caches() {
            let _ = cache.current();
        }
        for (issuer, cache) in self.api.validator.key_caches() {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if let Err(crate::jwks::KeysNotReady(status)) = cache.wait_for_keys(left).await {
                return Err(crate::jwks::KeysNotReady(named(status, issuer)));
            }
        }
        Ok(())
    }

    /// A layer that reads an `access_token` from form-encoded request bodies (RFC 6750 §2.2)
    /// for this guard; apply it outside the guard. See [`FormTokenLayer`].
    #[cfg(feature = "form")]
    #[must_use]
    pub fn form_token_layer(&self) -> FormTokenLayer<R> {
        FormTokenLayer::new(Arc::clone(&self.api.responder))
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
        let required = Required::new(requirement, &self.api.declared)?;
        Ok(RequireScopesLayer::new(
            Arc::clone(&self.api.responder),
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

    /// A layer for one route (axum's `route_layer`) that needs `requirement` of the user's
    /// authentication on top of a valid token (step-up, RFC 9470): an `acr` among a set, an
    /// `auth_time` recent enough (within this guard's leeway), or both; else 401
    /// `insufficient_user_authentication` naming `acr_values` and `max_age`. It must run inside
    /// this layer, answers like it, and composes with scope layers in either order. See
    /// [`AuthenticationRequirement`] and [`RequireAuthenticationLayer`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::EmptyAcrRequirement`], [`ConfigError::InvalidAcrValue`] or
    /// [`ConfigError::MaxAuthAgeOutOfRange`].
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// use bearer_guard::step_up::AuthenticationRequirement;
    ///
    /// const MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api).build()?;
    /// let recent_mfa = guard.require_authentication(
    ///     AuthenticationRequirement::acr([MFA]).with_max_age(Duration::from_secs(300)),
    /// )?;
    /// // Mistakes fail here, at startup:
    /// assert!(guard.require_acr(["two words"]).is_err());
    /// assert!(guard.require_max_auth_age(Duration::ZERO).is_err());
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn require_authentication(
        &self,
        requirement: AuthenticationRequirement,
    ) -> Result<RequireAuthenticationLayer<R>, ConfigError> {
        let step_up = StepUp::new(requirement, self.api.validator.leeway)?;
        Ok(RequireAuthenticationLayer::new(
            Arc::clone(&self.api.responder),
            step_up,
        ))
    }

    /// Shorthand for [`require_authentication`](Self::require_authentication) with
    /// [`AuthenticationRequirement::acr`]: the token's `acr` must be one of `values`.
    ///
    /// # Errors
    ///
    /// As [`require_authentication`](Self::require_authentication).
    pub fn require_acr<I>(&self, values: I) -> Result<RequireAuthenticationLayer<R>, ConfigError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.require_authentication(AuthenticationRequirement::acr(values))
    }

    /// Shorthand for [`require_authentication`](Self::require_authentication) with
    /// [`AuthenticationRequirement::max_age`]: the token's `auth_time` must be at most
    /// `max_age` ago (plus leeway).
    ///
    /// # Errors
    ///
    /// As [`require_authentication`](Self::require_authentication).
    pub fn require_max_auth_age(
        &self,
        max_age: std::time::Duration,
    ) -> Result<RequireAuthenticationLayer<R>, ConfigError> {
        self.require_authentication(AuthenticationRequirement::max_age(max_age))
    }
}

/// `status`, naming the issuer whose keys it reports on.
#[cfg(feature = "jwks")]
fn named(status: crate::jwks::KeyCacheStatus, issuer: Option<&str>) -> crate::jwks::KeyCacheStatus {
    crate::jwks::KeyCacheStatus {
        issuer: issuer.map(str::to_owned),
        ..status
    }
}

impl<R> Clone for BearerGuardLayer<R> {
    fn clone(&self) -> Self {
        Self {
            api: Arc::clone(&self.api),
        }
    }
}

impl<R> fmt::Debug for BearerGuardLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let api = &self.api;
        f.debug_struct("BearerGuardLayer")
            .field("validator", &api.validator)
            .field("realm", &api.responder.challenge.realm)
            .field("required", &api.required)
            .field("allow_anonymous", &api.allow_anonymous)
            .field("allow_query_token", &api.allow_query_token)
            .field("sources", &api.sources)
            .finish_non_exhaustive()
    }
}

impl<S, R> Layer<S> for BearerGuardLayer<R> {
    type Service = BearerGuard<S, R>;

    fn layer(&self, inner: S) -> BearerGuard<S, R> {
        BearerGuard::with_verifiers(inner, Verifiers::One(Arc::clone(&self.api)))
    }
}

/// Middleware that lets a request through only with a valid bearer token: for the one API of
/// a [`BearerGuardLayer`], or for several ([`MultiApiLayer`](crate::MultiApiLayer), whose
/// service is this type, named [`MultiApi`](crate::service::MultiApi)).
pub struct BearerGuard<S, R = DefaultRejection> {
    inner: S,
    verifiers: Verifiers<R>,
}

define_inner_service_accessors!(BearerGuard);

impl<S, R> BearerGuard<S, R> {
    /// `inner`, guarded for the APIs of `verifiers`: one, or several (`MultiApi`).
    pub(crate) fn with_verifiers(inner: S, verifiers: Verifiers<R>) -> Self {
        Self { inner, verifiers }
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

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        GuardFuture::start(&self.verifiers, request, &mut self.inner)
    }
}

impl<S: Clone, R> Clone for BearerGuard<S, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            verifiers: self.verifiers.clone(),
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
