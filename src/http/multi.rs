//! Several APIs behind one layer: [`MultiApiLayer`] verifies each token with the API its
//! `aud` and `iss` name.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, Response};
use serde::Deserialize;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::ConfigError;
use crate::http::guard_future::{Gate, GuardFuture};
use crate::http::layer::{BearerGuardLayer, Guard};
use crate::http::on_rejection::{DefaultRejection, OnRejection};
use crate::token::TokenErrorKind;

/// Applies [`MultiApi`] to a service: one layer for several resource servers (APIs), each
/// with its own secret or keys, issuer and scopes.
///
/// Made from the [`BearerGuardLayer`]s of the APIs. A token's unverified `aud` and `iss` pick
/// the one API that verifies it: the first whose identifier is in `aud` and whose issuer (if
/// it has one) equals `iss`. No other API's keys are tried; a token naming none of them is a
/// 401 `invalid_token` (`InvalidAudience` or `InvalidIssuer`) without any signature check.
/// Two APIs with the same identifier must have different issuers, or `new` refuses them.
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

/// The APIs' guards, the first one primary.
pub(crate) struct Apis<R> {
    guards: Box<[Arc<Guard<R>>]>,
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
        let guards: Box<[Arc<Guard<R>>]> = apis
            .into_iter()
            .map(|api| Arc::clone(api.shared()))
            .collect();
        let invalid = |problem: String| ConfigError::InvalidApiSet { problem };
        if guards.is_empty() {
            return Err(invalid("no API given".to_owned()));
        }
        for (at, guard) in guards.iter().enumerate() {
            let (audience, issuer) = identity(guard);
            for earlier in &guards[..at] {
                if earlier.responder.guard.id == guard.responder.guard.id {
                    return Err(invalid(format!("the API {audience:?} is given twice")));
                }
                let (other_audience, other_issuer) = identity(earlier);
                if other_audience == audience
                    && (issuer.is_none() || other_issuer.is_none() || issuer == other_issuer)
                {
                    return Err(invalid(format!(
                        "two APIs have the identifier {audience:?} without distinct issuers, so their tokens cannot be told apart; give each its issuer"
                    )));
                }
            }
        }
        let ids: Arc<[u64]> = guards.iter().map(|g| g.responder.guard.id).collect();
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
            apis: Arc::new(Apis { guards }),
        })
    }
}

/// An API's identifier and issuer.
fn identity<R>(guard: &Guard<R>) -> (&str, Option<&str>) {
    (&guard.validator.audience, guard.validator.issuer.as_deref())
}

impl<R> Apis<R> {
    /// The first API's guard: its settings find the token, its hook answers.
    pub(crate) fn primary(&self) -> &Guard<R> {
        // `new` refuses an empty list.
        &self.guards[0]
    }

    /// The guard that verifies `token`: the first whose identifier is in the token's `aud`
    /// and whose issuer (if any) is its `iss`. A token whose payload cannot be read goes to
    /// the primary guard, whose checks refuse it as they would alone.
    pub(crate) fn choose(&self, token: &str) -> Result<&Guard<R>, TokenErrorKind> {
        let Some(peek) = Peek::of(token) else {
            return Ok(self.primary());
        };
        let mut audience_matched = false;
        for guard in &self.guards {
            let (audience, issuer) = identity(guard);
            if !peek.names_audience(audience) {
                continue;
            }
            audience_matched = true;
            if issuer.is_none_or(|issuer| peek.iss.as_deref() == Some(issuer)) {
                return Ok(guard);
            }
        }
        Err(match (audience_matched, &peek.iss, &peek.aud) {
            (true, None, _) => TokenErrorKind::MissingIssuer,
            (true, Some(_), _) => TokenErrorKind::InvalidIssuer,
            (false, _, None) => TokenErrorKind::MissingAudience,
            (false, _, Some(_)) => TokenErrorKind::InvalidAudience,
        })
    }
}

/// The unverified `aud` and `iss` of a token, read only to choose which API verifies it.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    aud: Option<Audience<'a>>,
    #[serde(borrow, default)]
    iss: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience<'a> {
    One(#[serde(borrow)] Cow<'a, str>),
    Many(#[serde(borrow)] Vec<Cow<'a, str>>),
}

/// Larger tokens are left to the primary guard, whose size cap refuses them.
const MAX_PEEK_LEN: usize = 64 * 1024;

impl Peek<'_> {
    /// Reads the payload of `token`, or `None` when it is not a readable JWS.
    fn of(token: &str) -> Option<Peek<'static>> {
        if token.len() > MAX_PEEK_LEN {
            return None;
        }
        let mut segments = token.split('.');
        let (_, payload, _) = (segments.next()?, segments.next()?, segments.next()?);
        if segments.next().is_some() {
            return None;
        }
        let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let peek: Peek<'_> = serde_json::from_slice(&json).ok()?;
        Some(peek.into_owned())
    }

    fn into_owned(self) -> Peek<'static> {
        let owned = |text: Cow<'_, str>| Cow::Owned(text.into_owned());
        Peek {
            aud: self.aud.map(|aud| match aud {
                Audience::One(one) => Audience::One(owned(one)),
                Audience::Many(many) => Audience::Many(many.into_iter().map(owned).collect()),
            }),
            iss: self.iss.map(owned),
        }
    }

    fn names_audience(&self, audience: &str) -> bool {
        match &self.aud {
            Some(Audience::One(one)) => one == audience,
            Some(Audience::Many(many)) => many.iter().any(|one| one == audience),
            None => false,
        }
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
        let apis: Vec<_> = self.apis.guards.iter().map(|g| identity(g)).collect();
        f.debug_struct("MultiApiLayer")
            .field("apis", &apis)
            .finish_non_exhaustive()
    }
}

impl<S, R> Layer<S> for MultiApiLayer<R> {
    type Service = MultiApi<S, R>;

    fn layer(&self, inner: S) -> MultiApi<S, R> {
        MultiApi {
            inner,
            apis: Arc::clone(&self.apis),
        }
    }
}

/// Middleware that lets a request through only with a valid token for one of several APIs.
/// See [`MultiApiLayer`].
pub struct MultiApi<S, R = DefaultRejection> {
    inner: S,
    apis: Arc<Apis<R>>,
}

define_inner_service_accessors!(MultiApi);

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for MultiApi<S, R>
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
        let apis = &*self.apis;
        let primary = apis.primary();
        let (request, admission) =
            primary.authenticate_owned(request, true, |token| apis.choose(token));
        let gate = || Gate::Several(Arc::clone(&self.apis));
        GuardFuture::admit(admission, request, &mut self.inner, gate, primary)
    }
}

impl<S: Clone, R> Clone for MultiApi<S, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            apis: Arc::clone(&self.apis),
        }
    }
}

impl<S: fmt::Debug, R> fmt::Debug for MultiApi<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiApi")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_with(payload: &str) -> String {
        format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn peek_reads_aud_as_a_string_or_an_array_and_iss() {
        let peek = Peek::of(&token_with(r#"{"aud":["a","b"],"iss":"i","x":1}"#)).unwrap();
        assert!(peek.names_audience("a") && peek.names_audience("b"));
        assert!(!peek.names_audience("c"));
        assert_eq!(peek.iss.as_deref(), Some("i"));
        let peek = Peek::of(&token_with(r#"{"aud":"a\u0062"}"#)).unwrap();
        assert!(peek.names_audience("ab"));
        assert_eq!(peek.iss, None);
    }

    #[test]
    fn unreadable_payloads_are_left_to_the_primary_guard() {
        for token in [
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            "e30.!!!.c2ln".to_owned(),
            token_with("not json"),
            token_with(r#"{"aud":5}"#),
            token_with(r#"{"aud":"a","aud":"b"}"#),
            format!("e30.{}.c2ln", "A".repeat(MAX_PEEK_LEN)),
        ] {
            assert!(Peek::of(&token).is_none(), "{token:.40}");
        }
    }
}
