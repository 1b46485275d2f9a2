//! The hook that shapes rejected requests' answers, the part of a guard that answers
//! ([`Responder`]), and the one log event of every rejection.

use std::sync::{Arc, OnceLock};

use http::{Method, Response, Uri};

use crate::http::answer::challenge::Challenge;
use crate::http::answer::rejection::{DPOP_NONCE, Rejection, RejectionKind, insert_dpop_nonce};
use crate::token::GuardId;

/// Builds the response for a rejected request; see
/// [`BearerGuardBuilder::on_rejection`](crate::BearerGuardBuilder::on_rejection).
///
/// Implemented for [`DefaultRejection`](crate::answer::DefaultRejection) and for every `Fn(&Rejection) -> Response<B>`.
/// Whichever builds the response, the layers add the [`Rejection`] to its extensions. The
/// guard's hook answers for its scope layers and for the extractors behind it too.
///
/// # Example
///
/// ```
/// use bearer_guard::{OnRejection, Rejection, RejectionKind};
/// use http::Response;
///
/// struct PlainText;
///
/// impl OnRejection<String> for PlainText {
///     fn on_rejection(&self, rejection: &Rejection) -> Response<String> {
///         let mut response = Response::new(rejection.to_string());
///         *response.status_mut() = rejection.status();
///         response
///     }
/// }
///
/// let response = PlainText.on_rejection(&Rejection::new(RejectionKind::MissingCredentials, "api"));
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.body(), "A bearer token is required");
/// ```
pub trait OnRejection<B> {
    /// The response to send instead of calling the protected service.
    fn on_rejection(&self, rejection: &Rejection) -> Response<B>;
}

impl<B, F> OnRejection<B> for F
where
    F: Fn(&Rejection) -> Response<B>,
{
    fn on_rejection(&self, rejection: &Rejection) -> Response<B> {
        self(rejection)
    }
}

/// How one guard answers: its id, its challenge and its hook. Shared by the guard and the
/// layers made from it, so that all of them answer alike.
pub(crate) struct Responder<R> {
    pub(crate) id: GuardId,
    pub(crate) challenge: Arc<Challenge>,
    on_rejection: R,
    /// Whether the hook is the user's (set with `on_rejection`): only then does the guard
    /// leave it in the request extensions for the extractors, which otherwise answer as
    /// [`DefaultRejection`] does, so the default costs nothing per request.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) custom: bool,
    /// The guards of the [`MultiApiLayer`](crate::MultiApiLayer) this guard is part of: a
    /// token they verified is another API's token, not a misplaced layer.
    pub(crate) siblings: OnceLock<Arc<[GuardId]>>,
}

impl<R> Responder<R> {
    /// The answers of the guard `id`, whose challenge is registered for the layers and
    /// extractors behind it.
    pub(crate) fn new(
        id: GuardId,
        challenge: Challenge,
        on_rejection: R,
        custom: bool,
    ) -> Arc<Self> {
        let challenge = Arc::new(challenge);
        Challenge::register(id, &challenge);
        Arc::new(Self {
            id,
            challenge,
            on_rejection,
            custom,
            siblings: OnceLock::new(),
        })
    }

    /// Whether the guard `id` shares a [`MultiApiLayer`](crate::MultiApiLayer) with this one.
    pub(crate) fn is_sibling(&self, id: GuardId) -> bool {
        self.siblings.get().is_some_and(|ids| ids.contains(&id))
    }

    /// A rejection of `kind` in this guard's realm.
    pub(crate) fn reject(&self, kind: RejectionKind) -> Rejection {
        Rejection::with_challenge(kind, &self.challenge)
    }

    /// Logs the rejection of a `method` request to `uri` and builds its response, with the
    /// rejection in its extensions, and its server nonce in `DPoP-Nonce` when the hook left
    /// none: a client told `use_dpop_nonce` without one could never get in.
    pub(crate) fn respond<B>(&self, rejection: Rejection, method: &Method, uri: &Uri) -> Response<B>
    where
        R: OnRejection<B>,
    {
        log_rejection(&rejection, method, uri);
        let mut response = self.on_rejection.on_rejection(&rejection);
        if let Some(nonce) = rejection.dpop_nonce()
            && !response.headers().contains_key(DPOP_NONCE)
        {
            insert_dpop_nonce(response.headers_mut(), nonce);
        }
        response.extensions_mut().insert(rejection);
        response
    }
}

/// The one `tracing` event of a rejection, at debug level: its reason, status, and the
/// request's method and path (never its query, which may hold a token).
pub(crate) fn log_rejection(rejection: &Rejection, method: &Method, uri: &Uri) {
    tracing::debug!(
        reason = rejection.reason(),
        status = rejection.status().as_u16(),
        method = method.as_str(),
        path = uri.path(),
        "bearer-guard rejected a request"
    );
}

/// The answer of a scope layer or extractor that found no token verified by its guard: a
/// server bug, answered 500 and logged at error level.
pub(crate) fn missing_layer() -> Rejection {
    tracing::error!(
        "bearer-guard found no token verified by this route's BearerGuardLayer: add that layer around the route"
    );
    Rejection::new(RejectionKind::MissingLayer, "")
}

/// Logs, at error level, a scope layer made from the guard of realm `ours` that found a token
/// verified by another guard (of realm `theirs`, if it is still alive).
pub(crate) fn log_other_guard(ours: &str, theirs: Option<&str>) {
    tracing::error!(
        scope_layer_realm = ours,
        verifying_guard_realm = theirs,
        "bearer-guard: this route's scope layer was made from another BearerGuardLayer than the one that verified the token: make the scope layer with the require_scopes of the guard around the route"
    );
}

/// A guard's rejection hook for responses with bodies of type `B`, with its type erased: the
/// guard leaves it in the request extensions (when the hook is the user's), and the extractors
/// answer with it. Feature `axum`.
#[cfg(feature = "axum")]
pub(crate) struct Hook<B>(Arc<dyn AnswerWith<B> + Send + Sync>);

#[cfg(feature = "axum")]
impl<B> Hook<B> {
    pub(crate) fn new<R>(responder: &Arc<Responder<R>>) -> Self
    where
        R: OnRejection<B> + Send + Sync + 'static,
    {
        Self(Arc::clone(responder) as Arc<dyn AnswerWith<B> + Send + Sync>)
    }

    /// The hook's answer to `rejection`, with the rejection in its extensions.
    pub(crate) fn answer(&self, rejection: Rejection) -> Response<B> {
        self.0.answer(rejection)
    }
}

#[cfg(feature = "axum")]
impl<B> Clone for Hook<B> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

#[cfg(feature = "axum")]
impl<B> std::fmt::Debug for Hook<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}

/// [`Responder`] without its hook's type.
#[cfg(feature = "axum")]
trait AnswerWith<B> {
    fn answer(&self, rejection: Rejection) -> Response<B>;
}

#[cfg(feature = "axum")]
impl<B, R: OnRejection<B>> AnswerWith<B> for Responder<R> {
    fn answer(&self, rejection: Rejection) -> Response<B> {
        let mut response = self.on_rejection.on_rejection(&rejection);
        response.extensions_mut().insert(rejection);
        response
    }
}
