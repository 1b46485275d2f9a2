//! Per-route step-up requirements (RFC 9470): a small layer that reads the [`VerifiedToken`]
//! its guard left in the extensions and checks the user's authentication (`acr`,
//! `auth_time`), answering 401 `insufficient_user_authentication` when it falls short.
//!
//! # Example
//!
//! A payments route that needs MFA within the last five minutes, beside a scope:
//!
//! ```
//! use std::time::Duration;
//! use axum::{Router, routing::post};
//! use bearer_guard::{BearerGuardLayer, ResourceServer};
//! use bearer_guard::step_up::AuthenticationRequirement;
//!
//! const MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
//! let api = ResourceServer::new("https://payments.example.com", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
//!     .with_scope("payments:initiate", "Initiate a payment");
//! let guard = BearerGuardLayer::builder(api).build()?;
//! let recent_mfa = guard.require_authentication(
//!     AuthenticationRequirement::acr([MFA]).with_max_age(Duration::from_secs(300)),
//! )?;
//!
//! let app: Router = Router::new()
//!     .route("/payments", post(|| async { "sent" })
//!         .route_layer(recent_mfa)
//!         .route_layer(guard.require_all(["payments:initiate"])?))
//!     .route_layer(guard);
//! # Ok::<(), bearer_guard::ConfigError>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::config::ConfigError;
use crate::http::answer::body::DefaultRejection;
use crate::http::answer::challenge::{Challenge, StepUpChallenge};
use crate::http::answer::hook::{OnRejection, Responder};
use crate::http::answer::rejection::Rejection;
use crate::http::future::ResponseFuture;
use crate::http::scope::{check_request, on_scheme_of, vouched};
use crate::token::{AuthenticationRequirement, VerifiedToken};

/// A step-up requirement checked at startup, with its challenge parameters rendered once and
/// the leeway of the guard it was made from.
#[derive(Debug)]
pub(crate) struct StepUp {
    requirement: AuthenticationRequirement,
    challenge: Arc<StepUpChallenge>,
    /// Seconds of clock skew allowed on `auth_time`: the guard's leeway.
    leeway: f64,
}

impl StepUp {
    pub(crate) fn new(
        requirement: AuthenticationRequirement,
        leeway: f64,
    ) -> Result<Self, ConfigError> {
        requirement.check()?;
        let challenge = Arc::new(StepUpChallenge {
            acr_values: requirement.acr_values().map(Box::from),
            max_age: requirement.max_age_secs(),
        });
        Ok(Self {
            requirement,
            challenge,
            leeway,
        })
    }

    /// Passes when `token`'s authentication meets the requirement now; else a 401
    /// `insufficient_user_authentication` with `challenge`, naming what is required, on the
    /// challenge of the scheme the token came with.
    pub(crate) fn check(
        &self,
        token: &VerifiedToken,
        challenge: &Arc<Challenge>,
    ) -> Result<(), Rejection> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        self.requirement
            .is_met_by(token, now, self.leeway)
            .map_err(|failure| {
                let rejection = Rejection::insufficient_user_authentication_for(
                    challenge,
                    failure,
                    Arc::clone(&self.challenge),
                );
                on_scheme_of(rejection, token)
            })
    }
}

/// Applies [`RequireAuthentication`] to a route: a step-up requirement (RFC 9470) on the
/// user's authentication, on top of a valid token.
///
/// Made by [`BearerGuardLayer::require_authentication`](crate::BearerGuardLayer::require_authentication)
/// (or its shorthands `require_acr` and `require_max_auth_age`), so that the requirement is
/// checked at startup and its answers match the guard's. It must run inside that guard: in
/// axum, as a `route_layer` of a route the guard's layer covers. It composes with scope layers
/// in either order: the outer one answers first.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use bearer_guard::{BearerGuardLayer, ResourceServer};
///
/// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
/// let guard = BearerGuardLayer::builder(api).build()?;
/// let mfa = guard.require_acr(["http://schemas.openid.net/pape/policies/2007/06/multi-factor"])?;
///
/// let app: Router = Router::new()
///     .route("/api/private-mfa", get(|| async { "strongly authenticated" }).route_layer(mfa))
///     .route_layer(guard);
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
pub struct RequireAuthenticationLayer<R = DefaultRejection> {
    responder: Arc<Responder<R>>,
    step_up: Arc<StepUp>,
}

impl<R> RequireAuthenticationLayer<R> {
    pub(crate) fn new(responder: Arc<Responder<R>>, step_up: StepUp) -> Self {
        Self {
            responder,
            step_up: Arc::new(step_up),
        }
    }

    /// The layer's check, from inside a handler: `Ok` when `token`'s authentication meets the
    /// requirement now, else the rejection the layer would answer with (401
    /// `insufficient_user_authentication` naming `acr_values` and `max_age`). For a server that
    /// learns what a request needs only from its body (a payment above some amount, an MCP
    /// tool call). A token that this layer's guard did not verify gets the answer the layer
    /// gives it, as [`RequireScopesLayer::check`](crate::service::RequireScopesLayer::check)
    /// does. A refusal is not logged: answer it with [`Rejection::to_response`] (or, with
    /// axum, return it), or with your own hook.
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
    /// let api = ResourceServer::new("https://payments.example.com", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api).build()?;
    /// let mfa = guard.require_acr(["http://schemas.openid.net/pape/policies/2007/06/multi-factor"])?;
    ///
    /// let pay = move |token: VerifiedToken, Json(payment): Json<Value>| async move {
    ///     // Small payments need a token; large ones, a token of an MFA login.
    ///     if payment["amount"].as_u64().unwrap_or(u64::MAX) > 100 {
    ///         if let Err(rejection) = mfa.check(&token) {
    ///             return rejection.into_response();
    ///         }
    ///     }
    ///     Json(serde_json::json!({"status": "sent"})).into_response()
    /// };
    /// let app: Router = Router::new().route("/payments", post(pay)).layer(guard);
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn check(&self, token: &VerifiedToken) -> Result<(), Rejection> {
        vouched(&self.responder, token, |challenge| {
            self.step_up.check(token, challenge)
        })
    }
}

impl<R> Clone for RequireAuthenticationLayer<R> {
    fn clone(&self) -> Self {
        Self {
            responder: Arc::clone(&self.responder),
            step_up: Arc::clone(&self.step_up),
        }
    }
}

impl<R> fmt::Debug for RequireAuthenticationLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireAuthenticationLayer")
            .field("required", &self.step_up.requirement)
            .finish_non_exhaustive()
    }
}

impl<S, R> Layer<S> for RequireAuthenticationLayer<R> {
    type Service = RequireAuthentication<S, R>;

    fn layer(&self, inner: S) -> RequireAuthentication<S, R> {
        RequireAuthentication {
            inner,
            layer: self.clone(),
        }
    }
}

/// Middleware that lets a request through only if its verified token's authentication meets
/// the route's step-up requirement: 401 `insufficient_user_authentication` otherwise (RFC
/// 9470), 401 for an anonymous request, 500 when the
/// [`BearerGuard`](crate::service::BearerGuard) it was made from did not run before it. See
/// [`RequireAuthenticationLayer`].
pub struct RequireAuthentication<S, R = DefaultRejection> {
    inner: S,
    layer: RequireAuthenticationLayer<R>,
}

define_inner_service_accessors!(RequireAuthentication);

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for RequireAuthentication<S, R>
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
        match check_request(responder, request.extensions(), |token| {
            self.layer.check(token)
        }) {
            Ok(()) => ResponseFuture::inner(self.inner.call(request), false),
            Err(rejection) => ResponseFuture::rejected(responder.respond(
                rejection,
                request.method(),
                request.uri(),
            )),
        }
    }
}

impl<S: Clone, R> Clone for RequireAuthentication<S, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, R> fmt::Debug for RequireAuthentication<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireAuthentication")
            .field("inner", &self.inner)
            .field("required", &self.layer.step_up.requirement)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::BearerGuardLayer;
    use crate::RejectionKind;
    use crate::test_support::{AUDIENCE, ISSUER, claims_json, mint, resource_server};
    use crate::token::StepUpFailure;

    const MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

    fn guard() -> BearerGuardLayer {
        BearerGuardLayer::builder(resource_server())
            .issuer(ISSUER)
            .build()
            .unwrap()
    }

    fn now() -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            .floor()
    }

    /// A token valid now with `claims`, verified by `guard` as its service would.
    fn verified(guard: &BearerGuardLayer, claims: &[(&str, &str)]) -> VerifiedToken {
        let now = now();
        let (iat, exp) = ((now - 10.0).to_string(), (now + 3600.0).to_string());
        let mut all = vec![("iat", iat.as_str()), ("exp", exp.as_str())];
        all.extend_from_slice(claims);
        let api = guard.api();
        api.validator
            .verify(&mint(&claims_json(&all)), now, Some(api.id()))
            .unwrap()
    }

    #[test]
    fn check_names_both_requirements_in_the_challenge() {
        let guard = guard();
        let layer = guard
            .require_authentication(
                AuthenticationRequirement::acr([MFA, "urn:acr:strong"])
                    .with_max_age(Duration::from_secs(300)),
            )
            .unwrap();
        let mfa = format!("\"{MFA}\"");
        let rejection = layer.check(&verified(&guard, &[])).unwrap_err();
        assert_eq!(
            rejection.kind(),
            RejectionKind::InsufficientUserAuthentication(StepUpFailure::AcrMissing)
        );
        assert_eq!(rejection.status(), 401);
        assert_eq!(
            rejection.www_authenticate().unwrap(),
            &*format!(
                r#"Bearer realm="{AUDIENCE}", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="{MFA} urn:acr:strong", max_age="300""#
            )
        );
        let old = (now() - 1000.0).to_string();
        let stale = layer
            .check(&verified(&guard, &[("acr", &mfa), ("auth_time", &old)]))
            .unwrap_err();
        assert_eq!(stale.reason(), "auth_too_old");
        assert_eq!(
            stale.description(),
            "More recent authentication is required"
        );
        let fresh = (now() - 5.0).to_string();
        assert!(
            layer
                .check(&verified(&guard, &[("acr", &mfa), ("auth_time", &fresh)]))
                .is_ok()
        );
    }

    #[test]
    fn check_refuses_a_token_another_guard_verified() {
        let (ours, theirs) = (guard(), guard());
        let layer = ours.require_acr([MFA]).unwrap();
        let mfa = format!("\"{MFA}\"");
        let rejection = layer
            .check(&verified(&theirs, &[("acr", &mfa)]))
            .unwrap_err();
        assert_eq!(rejection.kind(), RejectionKind::OtherGuard);
    }

    #[test]
    fn the_default_answer_carries_the_requirement_in_its_body() {
        let guard = guard();
        let layer = guard.require_max_auth_age(Duration::from_secs(60)).unwrap();
        let rejection = layer.check(&verified(&guard, &[])).unwrap_err();
        assert_eq!(rejection.max_age(), Some(60));
        assert_eq!(rejection.acr_values(), None);
        let response: Response<String> = {
            let response: Response<bytes::Bytes> = rejection.to_response();
            response.map(|body| String::from_utf8(body.to_vec()).unwrap())
        };
        assert_eq!(
            response.body(),
            r#"{"error":"insufficient_user_authentication","error_description":"More recent authentication is required","max_age":60}"#
        );
    }
}
