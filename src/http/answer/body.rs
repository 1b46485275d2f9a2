//! The default answers, by response body type: [`DefaultRejection`] and [`RejectionBody`].

use bytes::Bytes;
use http::Response;

use crate::http::answer::hook::OnRejection;
use crate::http::answer::rejection::Rejection;

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
/// use bearer_guard::Rejection;
/// use bearer_guard::answer::RejectionBody;
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
