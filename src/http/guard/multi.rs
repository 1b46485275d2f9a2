//! Several APIs behind one layer: [`MultiApiLayer`] verifies each token with the API its
//! `aud` and `iss` name.

use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use crate::config::ConfigError;
use crate::http::answer::body::DefaultRejection;
use crate::http::guard::api::Api;
use crate::http::guard::layer::{BearerGuard, BearerGuardLayer};
use crate::http::guard::verifiers::{Apis, Verifiers, identity, overlap};
use crate::token::GuardId;

/// Applies [`MultiApi`] to a service: one layer for several resource servers (APIs), each
/// with its own secret or keys, issuer and scopes.
///
/// Made from the [`BearerGuardLayer`]s of the APIs. A token's unverified `aud` and `iss` pick
/// the one API that verifies it: the first whose identifier is in `aud` and whose issuer (if
/// it has one; of an API with [`issuers`](crate::BearerGuardBuilder::issuers), any of them)
/// equals `iss`. No other API's keys are tried; a token naming none of them is a
/// 401 `invalid_token` (`InvalidAudience` or `InvalidIssuer`) without any signature check.
/// Two APIs with the same identifier must have different issuers (no issuer in common), or
/// `new` refuses them.
///
/// The first API's settings find the token (`Authorization`, and its query, cookie, header
/// or function sources, anonymous mode) and its hook answers; each API's own
/// [`require_scopes_for_every_request`](crate::BearerGuardBuilder::require_scopes_for_every_request)
/// applies to its tokens. Per-route scope layers name the API they check by the guard they
/// are made from (`orders.require_all(…)`): a token of another API of the same
/// `MultiApiLayer` is 401 `invalid_token` there, as its audience is wrong for the route.
/// Handlers tell the APIs apart with [`BearerGuardLayer::has_verified`].
///
/// With one API, use its [`BearerGuardLayer`] itself: it does none of this work.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use bearer_guard::{BearerGuardLayer, MultiApiLayer, ResourceServer};
///
/// let orders = ResourceServer::new("https://orders.example", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
///     .with_scope("read:orders", "Read orders");
/// let billing = ResourceServer::new("https://billing.example", "another-secret-of-32-bytes-min!!")
///     .with_scope("read:invoices", "Read invoices");
/// let orders = BearerGuardLayer::builder(orders).issuer("https://tenant-a.example/").build()?;
/// let billing = BearerGuardLayer::builder(billing).issuer("https://tenant-b.example/").build()?;
///
/// let app: Router = Router::new()
///     .route("/orders", get(|| async { "orders" }).route_layer(orders.require_all(["read:orders"])?))
///     .route("/invoices", get(|| async { "invoices" }).route_layer(billing.require_all(["read:invoices"])?))
///     .layer(MultiApiLayer::new([orders, billing])?);
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
pub struct MultiApiLayer<R = DefaultRejection> {
    apis: Arc<Apis<R>>,
}

impl<R> MultiApiLayer<R> {
    /// One layer for `apis`' guards, in order of preference.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidApiSet`] when no API is given, an API is given twice, two APIs
    /// with the same identifier do not have distinct issuers (their tokens could not be told
    /// apart), or a guard is already part of another `MultiApiLayer` with other APIs.
    pub fn new<I>(apis: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = BearerGuardLayer<R>>,
    {
        let guards: Box<[Arc<Api<R>>]> = apis
            .into_iter()
            .map(|api| Arc::clone(api.shared()))
            .collect();
        let invalid = |problem: String| ConfigError::InvalidApiSet { problem };
        if guards.is_empty() {
            return Err(invalid("no API given".to_owned()));
        }
        for (at, guard) in guards.iter().enumerate() {
            let (audience, _) = identity(guard);
            for earlier in &guards[..at] {
                if earlier.id() == guard.id() {
                    return Err(invalid(format!("the API {audience:?} is given twice")));
                }
                if overlap(guard, earlier) {
                    return Err(invalid(format!(
                        "two APIs have the identifier {audience:?} without distinct issuers, so their tokens cannot be told apart; give each its issuer"
                    )));
                }
            }
        }
        let ids: Arc<[GuardId]> = guards.iter().map(|g| g.id()).collect();
        // Every guard is checked before any is marked, so a refused set marks none.
        for guard in &guards {
            if guard
                .responder
                .siblings
                .get()
                .is_some_and(|siblings| **siblings != *ids)
            {
                return Err(invalid(format!(
                    "the guard of {:?} is already part of a MultiApiLayer with other APIs; build a guard per layer",
                    identity(guard).0
                )));
            }
        }
        for guard in &guards {
            let _ = guard.responder.siblings.set(Arc::clone(&ids));
        }
        Ok(Self {
            apis: Arc::new(Apis { apis: guards }),
        })
    }
}

impl<R> Clone for MultiApiLayer<R> {
    fn clone(&self) -> Self {
        Self {
            apis: Arc::clone(&self.apis),
        }
    }
}

impl<R> fmt::Debug for MultiApiLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let apis: Vec<_> = self.apis.apis.iter().map(|api| identity(api)).collect();
        f.debug_struct("MultiApiLayer")
            .field("apis", &apis)
            .finish_non_exhaustive()
    }
}

impl<S, R> Layer<S> for MultiApiLayer<R> {
    type Service = MultiApi<S, R>;

    fn layer(&self, inner: S) -> MultiApi<S, R> {
        BearerGuard::with_verifiers(inner, Verifiers::Several(Arc::clone(&self.apis)))
    }
}

/// Middleware that lets a request through only with a valid token for one of several APIs:
/// a [`BearerGuard`] whose token chooses the API that verifies it. See [`MultiApiLayer`].
pub type MultiApi<S, R = DefaultRejection> = BearerGuard<S, R>;
