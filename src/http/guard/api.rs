//! One protected API's checked configuration ([`Api`]), shared by every clone of its layer
//! and services.

use std::sync::Arc;

use http::Request;

#[cfg(feature = "axum")]
use crate::http::answer::hook::Hook;
use crate::http::answer::hook::OnRejection;
use crate::http::answer::hook::Responder;
use crate::http::answer::rejection::{Rejection, RejectionKind};
use crate::http::credentials::authorization::Schemes;
use crate::http::credentials::sources::TokenSources;
#[cfg(feature = "jwks")]
use crate::http::dpop::DpopGuard;
use crate::http::metadata::ResourceMetadata;
use crate::http::scope::Required;
use crate::token::{GuardId, TokenValidator};

/// One API's checked settings: how its tokens are found, verified and answered.
pub(crate) struct Api<R> {
    pub(crate) validator: TokenValidator,
    /// The scopes the resource server declares, which scope requirements are checked against.
    pub(crate) declared: Box<[Box<str>]>,
    /// The scopes every request needs.
    pub(crate) required: Option<Required>,
    pub(crate) allow_anonymous: bool,
    pub(crate) allow_query_token: bool,
    /// Cookies, headers and functions the token may come from besides `Authorization`.
    pub(crate) sources: TokenSources,
    /// The `Authorization` schemes taken: `Bearer`, `DPoP` or both.
    pub(crate) schemes: Schemes,
    /// DPoP (RFC 9449): the proofs' checks, when the API takes DPoP.
    #[cfg(feature = "jwks")]
    pub(crate) dpop: Option<DpopGuard>,
    /// RFC 9728's metadata, when published.
    pub(crate) metadata: Option<ResourceMetadata>,
    /// Its id, challenge and hook.
    pub(crate) responder: Arc<Responder<R>>,
}

impl<R> Api<R> {
    /// Tells this API's guard from every other built in the process.
    pub(crate) fn id(&self) -> GuardId {
        self.responder.id
    }

    /// A rejection of `kind` in this API's realm, with its challenges.
    pub(crate) fn reject(&self, kind: RejectionKind) -> Rejection {
        self.responder.reject(kind)
    }

    /// Leaves the user's rejection hook in the extensions of a request let through, for the
    /// extractors behind the guard to answer with; nothing when the hook is the default.
    pub(crate) fn leave_hook<ResBody, B>(&self, request: &mut Request<B>)
    where
        R: OnRejection<ResBody> + Send + Sync + 'static,
        ResBody: 'static,
    {
        #[cfg(feature = "axum")]
        if self.responder.custom {
            let hook = Hook::<ResBody>::new(&self.responder);
            request.extensions_mut().insert(hook);
        }
        #[cfg(not(feature = "axum"))]
        let _ = request;
    }
}
