//! The hook that shapes rejected requests' answers, and the part of a guard that answers.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{Method, Response, Uri};

use crate::http::rejection::{Rejection, RejectionKind};
use crate::token::GuardMark;

/// Builds the response for a rejected request; see
/// [`BearerGuardBuilder::on_rejection`](crate::BearerGuardBuilder::on_rejection).
///
/// Implemented for [`DefaultRejection`] and for every `Fn(&Rejection) -> Response<B>`.
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

/// The default answer, chosen by the response body type ([`RejectionBody`]): for HTTP
/// bodies, the RFC 6750 answer of [`Rejection::to_response`] (status, `WWW-Authenticate` and a
/// small JSON body); for `tonic::body::Body` (feature `tonic`), the gRPC answer of
/// [`Rejection::to_grpc_response`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRejection;

impl<B: RejectionBody> OnRejection<B> for DefaultRejection {
    fn on_rejection(&self, rejection: &Rejection) -> Response<B> {
        B::default_answer(rejection)
    }
}

/// A response body type that [`DefaultRejection`] can answer with.
///
/// Implemented for axum's `Body` (feature `axum`), `http_body_util`'s `Full<Bytes>`,
/// `BoxBody<Bytes, E>` and `UnsyncBoxBody<Bytes, E>`, `Bytes`, `Vec<u8>` and `String` (the
/// RFC 6750 answer), and for `tonic::body::Body` (feature `tonic`: the gRPC answer). For a
/// body type of your own, implement it with [`Rejection::to_response`] or
/// [`Rejection::to_grpc_response`], or give the guard a hook with
/// [`on_rejection`](crate::BearerGuardBuilder::on_rejection).
///
/// # Example
///
/// ```
/// use bearer_guard::{Rejection, RejectionBody};
/// use bytes::Bytes;
/// use http::Response;
///
/// struct MyBody(Bytes);
///
/// impl RejectionBody for MyBody {
///     fn default_answer(rejection: &Rejection) -> Response<Self> {
///         rejection.to_response::<Bytes>().map(MyBody)
///     }
/// }
/// ```
pub trait RejectionBody: Sized {
    /// The default answer to `rejection`, with a body of this type.
    fn default_answer(rejection: &Rejection) -> Response<Self>;
}

/// The RFC 6750 answer, for body types made from bytes.
macro_rules! rfc6750_answer {
    ($($body:ty),*) => {$(
        impl RejectionBody for $body {
            fn default_answer(rejection: &Rejection) -> Response<Self> {
                rejection.to_response()
            }
        }
    )*};
}

rfc6750_answer!(Bytes, Vec<u8>, http_body_util::Full<Bytes>);

#[cfg(feature = "axum")]
rfc6750_answer!(axum_core::body::Body);

impl RejectionBody for String {
    fn default_answer(rejection: &Rejection) -> Response<Self> {
        // The answer is ASCII JSON, so nothing is lost.
        rejection
            .to_response::<Bytes>()
            .map(|body| String::from_utf8_lossy(&body).into_owned())
    }
}

impl<E: 'static> RejectionBody for http_body_util::combinators::BoxBody<Bytes, E> {
    fn default_answer(rejection: &Rejection) -> Response<Self> {
        use http_body_util::BodyExt as _;
        rejection
            .to_response::<http_body_util::Full<Bytes>>()
            .map(|body| body.map_err(|never| match never {}).boxed())
    }
}

impl<E: 'static> RejectionBody for http_body_util::combinators::UnsyncBoxBody<Bytes, E> {
    fn default_answer(rejection: &Rejection) -> Response<Self> {
        use http_body_util::BodyExt as _;
        rejection
            .to_response::<http_body_util::Full<Bytes>>()
            .map(|body| body.map_err(|never| match never {}).boxed_unsync())
    }
}

/// The gRPC answer (feature `tonic`): HTTP 200 with `grpc-status` and `grpc-message`; see
/// [`Rejection::to_grpc_response`].
#[cfg(feature = "tonic")]
impl RejectionBody for tonic::body::Body {
    fn default_answer(rejection: &Rejection) -> Response<Self> {
        rejection.to_grpc_response()
    }
}

/// How one guard answers: its mark (for its `realm`) and its hook. Shared by the guard and
/// the layers made from it, so that all of them answer alike.
pub(crate) struct Responder<R> {
    pub(crate) guard: GuardMark,
    on_rejection: R,
    /// Whether the hook is the user's (set with `on_rejection`): only then does the guard
    /// leave it in the request extensions for the extractors, which otherwise answer as
    /// [`DefaultRejection`] does, so the default costs nothing per request.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) custom: bool,
    /// The guards of the [`MultiApiLayer`](crate::MultiApiLayer) this guard is part of: a
    /// token they verified is another API's token, not a misplaced layer.
    pub(crate) siblings: OnceLock<Arc<[u64]>>,
}

impl<R> Responder<R> {
    pub(crate) fn new(guard: GuardMark, on_rejection: R, custom: bool) -> Arc<Self> {
        Arc::new(Self {
            guard,
            on_rejection,
            custom,
            siblings: OnceLock::new(),
        })
    }

    /// Whether the guard `id` shares a [`MultiApiLayer`](crate::MultiApiLayer) with this one.
    pub(crate) fn is_sibling(&self, id: u64) -> bool {
        self.siblings.get().is_some_and(|ids| ids.contains(&id))
    }

    /// A rejection of `kind` in this guard's realm.
    pub(crate) fn reject(&self, kind: RejectionKind) -> Rejection {
        Rejection::for_guard(kind, &self.guard)
    }

    /// Logs the rejection of a `method` request to `uri` and builds its response, with the
    /// rejection in its extensions.
    pub(crate) fn respond<B>(&self, rejection: Rejection, method: &Method, uri: &Uri) -> Response<B>
    where
        R: OnRejection<B>,
    {
        log_rejection(&rejection, method, uri);
        let mut response = self.on_rejection.on_rejection(&rejection);
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
