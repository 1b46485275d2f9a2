//! Per-route scope requirements: a small layer that reads the [`VerifiedToken`] that
//! [`BearerGuardLayer`](crate::BearerGuardLayer) left in the extensions.
//!
//! Made by [`BearerGuardLayer::require`](crate::BearerGuardLayer::require), so its scopes are
//! checked against the resource server at startup and its answers match the guard's.
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::get};
//! use bearer_guard::{BearerGuardLayer, ResourceServer};
//!
//! let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
//!     .with_scope("read:messages", "Read messages");
//! let guard = BearerGuardLayer::builder(api).build()?;
//!
//! let app: Router = Router::new()
//!     .route("/api/messages", get(|| async { "messages" }).route_layer(guard.require_all(["read:messages"])?))
//!     .route("/api/me", get(|| async { "me" }))
//!     .layer(guard);
//! # Ok::<(), bearer_guard::ConfigError>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::future::ResponseFuture;
use crate::layer::{Anonymous, Guard, Required};
use crate::rejection::{DefaultRejection, OnRejection, Rejection, RejectionKind};
use crate::token::VerifiedToken;

/// Applies [`RequireScopes`] to a route. See the [module docs](self).
pub struct RequireScopesLayer<R = DefaultRejection> {
    guard: Arc<Guard<R>>,
    required: Arc<Required>,
}

impl<R> RequireScopesLayer<R> {
    pub(crate) fn new(guard: Arc<Guard<R>>, required: Arc<Required>) -> Self {
        Self { guard, required }
    }
}

impl<R> Clone for RequireScopesLayer<R> {
    fn clone(&self) -> Self {
        Self {
            guard: Arc::clone(&self.guard),
            required: Arc::clone(&self.required),
        }
    }
}

impl<R> fmt::Debug for RequireScopesLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireScopesLayer")
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}

impl<S, R> Layer<S> for RequireScopesLayer<R> {
    type Service = RequireScopes<S, R>;

    fn layer(&self, inner: S) -> RequireScopes<S, R> {
        RequireScopes {
            inner,
            layer: self.clone(),
        }
    }
}

/// Middleware that lets a request through only if its verified token holds the route's
/// scopes: 403 `insufficient_scope` otherwise, 401 for an anonymous request, 500 when the
/// [`BearerGuard`](crate::BearerGuard) it was made from did not run before it. See the
/// [module docs](self).
pub struct RequireScopes<S, R = DefaultRejection> {
    inner: S,
    layer: RequireScopesLayer<R>,
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for RequireScopes<S, R>
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

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let guard = &self.layer.guard;
        let extensions = request.extensions();
        let checked = match extensions.get::<VerifiedToken>() {
            Some(token) if token.validator_id() == guard.validator.id => {
                self.layer.required.check(token)
            }
            // Verified by another guard (another audience or secret): not ours to vouch for.
            Some(_) => Err(Rejection::missing_layer()),
            None if extensions.get::<Anonymous>().is_some() => {
                Err(guard.reject(RejectionKind::MissingCredentials))
            }
            None => Err(Rejection::missing_layer()),
        };
        match checked {
            Ok(()) => ResponseFuture::inner(self.inner.call(request), false),
            Err(rejection) => ResponseFuture::rejected(guard.respond(rejection)),
        }
    }
}

impl<S: Clone, R> Clone for RequireScopes<S, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, R> fmt::Debug for RequireScopes<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireScopes")
            .field("inner", &self.inner)
            .field("required", &self.layer.required)
            .finish_non_exhaustive()
    }
}
