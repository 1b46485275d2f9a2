//! The tower layer: [`BearerGuardLayer`] wraps a service in [`BearerGuard`], which lets a
//! request through only with a valid bearer token, put in its extensions as a
//! [`VerifiedToken`].
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::get};
//! use bearer_guard::{BearerGuardLayer, ResourceServer, VerifiedToken};
//!
//! async fn private(token: VerifiedToken) -> String {
//!     format!("hello {}", token.subject().unwrap_or("anonymous"))
//! }
//!
//! let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
//!     .with_scope("read:messages", "Read messages");
//! let guard = BearerGuardLayer::builder(api).build()?;
//! let read_messages = guard.require_all(["read:messages"])?;
//!
//! let app: Router = Router::new()
//!     .route("/api/private", get(private))
//!     .route("/api/messages", get(private).route_layer(read_messages))
//!     .layer(guard)
//!     .route("/api/public", get(|| async { "public" }));
//! # Ok::<(), bearer_guard::ConfigError>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::bearer;
use crate::builder::BearerGuardBuilder;
use crate::error::ConfigError;
use crate::future::ResponseFuture;
use crate::rejection::{DefaultRejection, OnRejection, Rejection, RejectionKind};
use crate::require_scopes::RequireScopesLayer;
use crate::resource_server::ResourceServer;
use crate::scope::ScopeRequirement;
use crate::token::VerifiedToken;
use crate::validator::TokenValidator;

/// Applies [`BearerGuard`] to a service. See the [module docs](self).
///
/// Cloning is cheap: all clones share one checked configuration.
pub struct BearerGuardLayer<R = DefaultRejection> {
    guard: Arc<Guard<R>>,
}

/// The checked configuration every clone of the layer and its services share.
pub(crate) struct Guard<R> {
    pub(crate) validator: TokenValidator,
    pub(crate) declared: Box<[Box<str>]>,
    pub(crate) required: Option<Required>,
    pub(crate) allow_anonymous: bool,
    pub(crate) allow_query_token: bool,
    pub(crate) on_rejection: R,
}

/// A checked scope requirement with its challenge text rendered once.
#[derive(Debug)]
pub(crate) struct Required {
    requirement: ScopeRequirement,
    rendered: Arc<str>,
}

impl Required {
    pub(crate) fn new(
        requirement: ScopeRequirement,
        declared: &[Box<str>],
    ) -> Result<Self, ConfigError> {
        requirement.check(|scope| declared.iter().any(|d| **d == *scope))?;
        Ok(Self {
            rendered: requirement.to_string().into(),
            requirement,
        })
    }

    /// Passes when `token` holds the required scopes.
    pub(crate) fn check(&self, token: &VerifiedToken) -> Result<(), Rejection> {
        if self.requirement.is_satisfied_by(token.scopes()) {
            Ok(())
        } else {
            Err(Rejection::insufficient_scope(
                Arc::clone(token.realm()),
                Arc::clone(&self.rendered),
            ))
        }
    }
}

/// Marks a request let through without credentials by [`allow_anonymous`].
///
/// [`allow_anonymous`]: BearerGuardBuilder::allow_anonymous
#[derive(Clone, Debug)]
pub(crate) struct Anonymous {
    /// For the extractors' 401 challenge.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) realm: Arc<str>,
}

impl BearerGuardLayer {
    /// Starts configuring a layer for `resource_server`.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let layer = BearerGuardLayer::builder(api).issuer("https://tenant.example/").build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn builder(resource_server: ResourceServer) -> BearerGuardBuilder {
        BearerGuardBuilder::new(resource_server)
    }
}

impl<R> BearerGuardLayer<R> {
    pub(crate) fn new(guard: Arc<Guard<R>>) -> Self {
        Self { guard }
    }

    /// The validator this layer runs, for checking tokens outside HTTP.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let layer = BearerGuardLayer::builder(ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")).build()?;
    /// assert!(layer.validator().validate("not a token").is_err());
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[must_use]
    pub fn validator(&self) -> &TokenValidator {
        &self.guard.validator
    }

    /// A layer that reads an `access_token` from form-encoded request bodies (RFC 6750 §2.2)
    /// for this guard; apply it outside the guard. See [`FormTokenLayer`].
    ///
    /// # Example
    ///
    /// ```
    /// use axum::{Router, routing::post};
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api).build()?;
    /// let app: Router = Router::new()
    ///     .route("/api/messages", post(|| async { "posted" }))
    ///     .layer(guard.clone())
    ///     .layer(guard.form_token_layer());
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    ///
    /// [`FormTokenLayer`]: crate::FormTokenLayer
    #[cfg(feature = "form")]
    #[must_use]
    pub fn form_token_layer(&self) -> crate::FormTokenLayer<R> {
        crate::FormTokenLayer::new(Arc::clone(&self.guard))
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
    /// let readers = guard.require(ScopeRequirement::any(["read:messages", "admin"]))?;
    /// assert!(guard.require(ScopeRequirement::all(["read:mesages"])).is_err());
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn require(
        &self,
        requirement: ScopeRequirement,
    ) -> Result<RequireScopesLayer<R>, ConfigError> {
        let required = Required::new(requirement, &self.guard.declared)?;
        Ok(RequireScopesLayer::new(
            Arc::clone(&self.guard),
            Arc::new(required),
        ))
    }

    /// Shorthand for [`require`](Self::require) with [`ScopeRequirement::all`].
    ///
    /// # Errors
    ///
    /// As [`require`](Self::require).
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5").with_scope("read:messages", "");
    /// let guard = BearerGuardLayer::builder(api).build()?;
    /// let readers = guard.require_all(["read:messages"])?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn require_all<I>(&self, scopes: I) -> Result<RequireScopesLayer<R>, ConfigError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.require(ScopeRequirement::all(scopes))
    }

    /// Shorthand for [`require`](Self::require) with [`ScopeRequirement::any`].
    ///
    /// # Errors
    ///
    /// As [`require`](Self::require).
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5").with_scope("read:messages", "").with_scope("admin", "");
    /// let guard = BearerGuardLayer::builder(api).build()?;
    /// let readers = guard.require_any(["read:messages", "admin"])?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn require_any<I>(&self, scopes: I) -> Result<RequireScopesLayer<R>, ConfigError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.require(ScopeRequirement::any(scopes))
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
            .field("realm", &self.guard.validator.realm)
            .field("required", &self.guard.required)
            .field("allow_anonymous", &self.guard.allow_anonymous)
            .field("allow_query_token", &self.guard.allow_query_token)
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

/// Middleware that lets a request through only with a valid bearer token. See the
/// [module docs](self).
pub struct BearerGuard<S, R = DefaultRejection> {
    inner: S,
    guard: Arc<Guard<R>>,
}

impl<R> Guard<R> {
    /// Finds and checks the token, leaving a [`VerifiedToken`] (or the anonymous marker) in
    /// the request extensions. Returns whether the token came in the URL.
    fn authenticate<B>(&self, request: &mut Request<B>) -> Result<bool, Rejection> {
        #[cfg(feature = "form")]
        let body = request
            .extensions_mut()
            .remove::<crate::form_token::FormBodyToken>();
        #[cfg(feature = "form")]
        let body = body.as_ref().map(|body| &*body.0);
        #[cfg(not(feature = "form"))]
        let body = None;
        let query = if self.allow_query_token {
            request.uri().query()
        } else {
            None
        };
        let found = match bearer::find_token(request.headers(), query, body) {
            Ok(Some(found)) => found,
            // A layer-wide scope requirement cannot be met without a token.
            Ok(None) if self.allow_anonymous && self.required.is_none() => {
                request.extensions_mut().insert(Anonymous {
                    realm: Arc::clone(&self.validator.realm),
                });
                return Ok(false);
            }
            Ok(None) => return Err(self.reject(RejectionKind::MissingCredentials)),
            Err(kind) => return Err(self.reject(RejectionKind::InvalidRequest(kind))),
        };
        let verified = self
            .validator
            .validate(&found.token)
            .map_err(|err| self.reject(RejectionKind::InvalidToken(err.kind())))?;
        let in_url = found.in_url;
        if let Some(required) = &self.required {
            required.check(&verified)?;
        }
        request.extensions_mut().insert(verified);
        Ok(in_url)
    }

    pub(crate) fn reject(&self, kind: RejectionKind) -> Rejection {
        Rejection::new(kind, Arc::clone(&self.validator.realm))
    }

    /// Logs the rejection and builds its response, with the rejection in its extensions.
    pub(crate) fn respond<B>(&self, rejection: Rejection) -> Response<B>
    where
        R: OnRejection<B>,
    {
        tracing::debug!(
            reason = rejection.reason(),
            status = rejection.status().as_u16(),
            "bearer-guard rejected a request"
        );
        let mut response = self.on_rejection.on_rejection(&rejection);
        response.extensions_mut().insert(rejection);
        response
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for BearerGuard<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: OnRejection<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        match self.guard.authenticate(&mut request) {
            Ok(in_url) => ResponseFuture::inner(self.inner.call(request), in_url),
            Err(rejection) => ResponseFuture::rejected(self.guard.respond(rejection)),
        }
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
