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
use crate::http::answer::hook::{OnRejection, Responder, log_other_guard, missing_layer};
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

    /// The requirement, space-delimited, as challenges name it.
    pub(crate) fn rendered(&self) -> Arc<str> {
        Arc::clone(&self.rendered)
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
        Err(on_scheme_of(rejection, token))
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

    /// The layer's check, from inside a handler: `Ok` when `token` holds the scopes, else the
    /// rejection the layer would answer with. For a server that learns what a request needs
    /// only from its body, such as a JSON-RPC method or an MCP tool call
    /// (`examples/mcp_server.rs`).
    ///
    /// A token short of the scopes gets the 403 `insufficient_scope` whose challenge names
    /// the `scope` needed and, with
    /// [`resource_metadata`](crate::BearerGuardBuilder::resource_metadata), the guard's
    /// `resource_metadata` URL, as the MCP authorization spec (2025-11-25, "Scope Challenge
    /// Handling") asks of a tool call that needs more scope. A token that this layer's guard
    /// did not verify gets the answer the layer gives it (a 500 for a token of another guard,
    /// 401 for a token of another API of the same `MultiApiLayer`). A refusal is not logged
    /// (only those server bugs are, at error level): answer it with
    /// [`Rejection::to_response`] (or, with axum, return it: it is `IntoResponse`), or with
    /// your own hook.
    ///
    /// # Errors
    ///
    /// The [`Rejection`] to answer with.
    ///
    /// # Example
    ///
    /// ```
    /// use axum::{Json, Router, routing::post};
    /// use axum::response::{IntoResponse, Response};
    /// use bearer_guard::{BearerGuardLayer, ResourceServer, VerifiedToken};
    /// use serde_json::Value;
    ///
    /// let api = ResourceServer::new("https://api.example.com/rpc", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
    ///     .with_scope("notes:write", "Write notes");
    /// let guard = BearerGuardLayer::builder(api)
    ///     .issuer("https://my-tenant.example.com/")
    ///     .resource_metadata()
    ///     .build()?;
    /// // Checked against the registration here, at startup.
    /// let writers = guard.require_all(["notes:write"])?;
    ///
    /// let rpc = move |token: VerifiedToken, Json(call): Json<Value>| async move {
    ///     if call["method"] == "notes/write" {
    ///         if let Err(rejection) = writers.check(&token) {
    ///             return rejection.into_response();
    ///         }
    ///     }
    ///     Json(serde_json::json!({"jsonrpc": "2.0", "id": call["id"], "result": {}})).into_response()
    /// };
    /// let app: Router = Router::new().route("/rpc", post(rpc)).layer(guard);
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn check(&self, token: &VerifiedToken) -> Result<(), Rejection> {
        vouched(&self.responder, token, |challenge| {
            self.required.check(token, challenge)
        })
    }
}

/// Runs a route layer's `check` on `token` when the layer's guard (`responder`'s) verified it,
/// with that guard's challenge; otherwise the answer a token of another guard gets (a 500 for
/// a token of another guard, 401 for a token of another API of the same `MultiApiLayer`).
pub(crate) fn vouched<R>(
    responder: &Responder<R>,
    token: &VerifiedToken,
    check: impl FnOnce(&Arc<Challenge>) -> Result<(), Rejection>,
) -> Result<(), Rejection> {
    match token.guard() {
        Some(id) if id == responder.id => check(&responder.challenge),
        // Another API's token, from the same MultiApiLayer: not for this route.
        Some(other) if responder.is_sibling(other) => {
            Err(responder.reject(RejectionKind::InvalidToken(TokenErrorKind::InvalidAudience)))
        }
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
    }
}

/// A route layer's check of a request: `check` on the verified token the guard left, 401 for
/// an anonymous request, 500 when no guard ran.
pub(crate) fn check_request<R>(
    responder: &Responder<R>,
    extensions: &http::Extensions,
    check: impl FnOnce(&VerifiedToken) -> Result<(), Rejection>,
) -> Result<(), Rejection> {
    match extensions.get::<VerifiedToken>() {
        Some(token) => check(token),
        None if extensions.get::<Anonymous>().is_some() => {
            Err(responder.reject(RejectionKind::MissingCredentials))
        }
        None => Err(missing_layer()),
    }
}

/// `rejection`, on the challenge of the scheme `token` came with: a guard that takes DPoP lets
/// a DPoP-bound token (`cnf.jkt`) in only with `Authorization: DPoP` and its proof, and an
/// unbound one only as Bearer, so the binding says which scheme the request used, at no cost
/// to the request (RFC 9449 §7.1, §7.2).
pub(crate) fn on_scheme_of(rejection: Rejection, token: &VerifiedToken) -> Rejection {
    if token.confirmation_thumbprint().is_some() {
        rejection.of_dpop_request()
    } else {
        rejection
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
        let checked = check_request(responder, request.extensions(), |token| {
            self.layer.check(token)
        });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BearerGuardLayer;
    use crate::test_support::{AUDIENCE, ISSUER, NOW, claims_json, mint, resource_server};

    fn guard() -> BearerGuardLayer {
        BearerGuardLayer::builder(resource_server())
            .issuer(ISSUER)
            .resource_metadata()
            .build()
            .unwrap()
    }

    /// A token with `scope`, verified by `guard` as its service would.
    fn verified(guard: &BearerGuardLayer, scope: &str) -> VerifiedToken {
        let api = guard.api();
        let claims = claims_json(&[("scope", &format!("\"{scope}\""))]);
        api.validator
            .verify(&mint(&claims), NOW, Some(api.id()))
            .unwrap()
    }

    #[test]
    fn check_passes_a_token_holding_the_scopes() {
        let guard = guard();
        let readers = guard.require_all(["read:messages"]).unwrap();
        assert!(
            readers
                .check(&verified(&guard, "openid read:messages"))
                .is_ok()
        );
    }

    #[test]
    fn check_answers_403_with_the_scope_and_the_metadata_url() {
        let guard = guard();
        let readers = guard.require_all(["read:messages"]).unwrap();
        let rejection = readers.check(&verified(&guard, "openid")).unwrap_err();
        assert_eq!(rejection.kind(), RejectionKind::InsufficientScope);
        assert_eq!(rejection.status(), 403);
        assert_eq!(rejection.required_scope(), Some("read:messages"));
        assert_eq!(
            rejection.www_authenticate().unwrap(),
            &*format!(
                r#"Bearer realm="{AUDIENCE}", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read:messages", resource_metadata="{AUDIENCE}/.well-known/oauth-protected-resource""#
            )
        );
    }

    #[test]
    fn check_refuses_a_token_another_guard_verified() {
        let (ours, theirs) = (guard(), guard());
        let readers = ours.require_all(["read:messages"]).unwrap();
        let rejection = readers
            .check(&verified(&theirs, "read:messages"))
            .unwrap_err();
        assert_eq!(rejection.kind(), RejectionKind::OtherGuard);
        assert_eq!(rejection.status(), 500);
    }

    #[test]
    fn check_refuses_a_token_no_guard_verified() {
        let guard = guard();
        let readers = guard.require_all(["read:messages"]).unwrap();
        let claims = claims_json(&[]);
        let unmarked = guard
            .api()
            .validator
            .verify(&mint(&claims), NOW, None)
            .unwrap();
        let rejection = readers.check(&unmarked).unwrap_err();
        assert_eq!(rejection.kind(), RejectionKind::MissingLayer);
    }
}
