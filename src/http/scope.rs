//! Per-route scope requirements: a small layer that reads the [`VerifiedToken`] its guard
//! left in the extensions.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::config::ConfigError;
use crate::http::anonymous::Anonymous;
use crate::http::answer::body::DefaultRejection;
use crate::http::answer::challenge::Challenge;
use crate::http::answer::hook::{OnRejection, Responder, log_missing_layer, log_other_guard};
use crate::http::answer::rejection::{Rejection, RejectionKind};
use crate::http::future::ResponseFuture;
use crate::token::{ScopeRequirement, TokenErrorKind, VerifiedToken};

/// A scope requirement checked against the resource server, with its challenge text
/// rendered once.
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

    /// Passes when `token` holds the required scopes; else a 403 with `challenge`, whose
    /// error and scope go on the challenge of the scheme the token came with (RFC 9449 §7.1,
    /// §7.2).
    pub(crate) fn check(
        &self,
        token: &VerifiedToken,
        challenge: &Arc<Challenge>,
    ) -> Result<(), Rejection> {
        if self.requirement.is_satisfied_by(token.scopes()) {
            return Ok(());
        }
        let rejection = Rejection::insufficient_scope_for(challenge, Arc::clone(&self.rendered));
        // A guard that takes DPoP lets a DPoP-bound token (`cnf.jkt`) in only with
        // `Authorization: DPoP` and its proof, and an unbound one only as Bearer: the binding
        // says which scheme the request used, at no cost to the request.
        Err(if token.confirmation_thumbprint().is_some() {
            rejection.of_dpop_request()
        } else {
            rejection
        })
    }
}

/// Applies [`RequireScopes`] to a route.
///
/// Made by [`BearerGuardLayer::require_scopes`](crate::BearerGuardLayer::require_scopes) (or
/// its shorthands `require_all` and `require_any`), so its scopes are checked against the
/// resource server at startup and its answers match the guard's. It must run inside that
/// guard: in axum, as a `route_layer` of a route the guard's `layer` covers.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use bearer_guard::{BearerGuardLayer, ResourceServer};
///
/// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
///     .with_scope("read:messages", "Read messages");
/// let guard = BearerGuardLayer::builder(api).build()?;
///
/// let app: Router = Router::new()
///     .route("/api/messages", get(|| async { "messages" }).route_layer(guard.require_all(["read:messages"])?))
///     .route("/api/me", get(|| async { "me" }))
///     .layer(guard);
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
pub struct RequireScopesLayer<R = DefaultRejection> {
    responder: Arc<Responder<R>>,
    required: Arc<Required>,
}

impl<R> RequireScopesLayer<R> {
    pub(crate) fn new(responder: Arc<Responder<R>>, required: Required) -> Self {
        Self {
            responder,
            required: Arc::new(required),
        }
    }
}

impl<R> Clone for RequireScopesLayer<R> {
    fn clone(&self) -> Self {
        Self {
            responder: Arc::clone(&self.responder),
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
/// [`BearerGuard`](crate::service::BearerGuard) it was made from did not run before it. See
/// [`RequireScopesLayer`].
pub struct RequireScopes<S, R = DefaultRejection> {
    inner: S,
    layer: RequireScopesLayer<R>,
}

define_inner_service_accessors!(RequireScopes);

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
        let responder = &self.layer.responder;
        let extensions = request.extensions();
        let missing_layer = || {
            log_missing_layer();
            Rejection::new(RejectionKind::MissingLayer, "")
        };
        let checked =
            match extensions.get::<VerifiedToken>() {
                Some(token) => match token.guard() {
                    Some(id) if id == responder.id => {
                        self.layer.required.check(token, &responder.challenge)
                    }
                    // Another API's token, from the same MultiApiLayer: not for this route.
                    Some(other) if responder.is_sibling(other) => Err(responder
                        .reject(RejectionKind::InvalidToken(TokenErrorKind::InvalidAudience))),
                    // Verified by another guard (another audience or secret): not ours to vouch for.
                    Some(other) => {
                        let theirs = Challenge::of_guard(other);
                        log_other_guard(
                            &responder.challenge.realm,
                            theirs.as_ref().map(|theirs| &*theirs.realm),
                        );
                        Err(Rejection::new(RejectionKind::OtherGuard, ""))
                    }
                    None => Err(missing_layer()),
                },
                None if extensions.get::<Anonymous>().is_some() => {
                    Err(responder.reject(RejectionKind::MissingCredentials))
                }
                None => Err(missing_layer()),
            };
        match checked {
            Ok(()) => ResponseFuture::inner(self.inner.call(request), false),
            Err(rejection) => ResponseFuture::rejected(responder.respond(
                rejection,
                request.method(),
                request.uri(),
            )),
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
