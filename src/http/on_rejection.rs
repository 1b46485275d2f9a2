//! The hook that shapes rejected requests' answers, and the part of a guard that answers.

use std::sync::Arc;

use bytes::Bytes;
use http::Response;

use crate::http::rejection::{Rejection, RejectionKind};
use crate::token::GuardMark;

/// Builds the response for a rejected request; see
/// [`BearerGuardBuilder::on_rejection`](crate::BearerGuardBuilder::on_rejection).
///
/// Implemented for [`DefaultRejection`] and for every `Fn(&Rejection) -> Response<B>`.
/// Whichever builds the response, the layers add the [`Rejection`] to its extensions.
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

/// The RFC 6750 answer of [`Rejection::to_response`]: status, `WWW-Authenticate` and a small
/// JSON body.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRejection;

impl<B: From<Bytes>> OnRejection<B> for DefaultRejection {
    fn on_rejection(&self, rejection: &Rejection) -> Response<B> {
        rejection.to_response()
    }
}

/// How one guard answers: its mark (for its `realm`) and its hook. Shared by the guard and
/// the layers made from it, so that all of them answer alike.
pub(crate) struct Responder<R> {
    pub(crate) guard: GuardMark,
    on_rejection: R,
}

impl<R> Responder<R> {
    pub(crate) fn new(guard: GuardMark, on_rejection: R) -> Arc<Self> {
        Arc::new(Self {
            guard,
            on_rejection,
        })
    }

    /// A rejection of `kind` in this guard's realm.
    pub(crate) fn reject(&self, kind: RejectionKind) -> Rejection {
        Rejection::new(kind, Arc::clone(&self.guard.realm))
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
