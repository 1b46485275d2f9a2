//! HTTP: the guard layer and its service, the per-route scope layer, the form-body token
//! layer, the extractors, the bearer header grammar and the RFC 6750 answers.

/// `get_ref`, `get_mut` and `into_inner` for a service `$name<S, R>` whose wrapped service is
/// its `inner` field, as tower-http gives each of its middlewares.
macro_rules! define_inner_service_accessors {
    ($name:ident) => {
        impl<S, R> $name<S, R> {
            /// The wrapped service.
            pub fn get_ref(&self) -> &S {
                &self.inner
            }

            /// The wrapped service, mutably.
            pub fn get_mut(&mut self) -> &mut S {
                &mut self.inner
            }

            /// The wrapped service, unwrapped.
            pub fn into_inner(self) -> S {
                self.inner
            }
        }
    };
}

mod bearer;
#[cfg(feature = "jwks")]
mod dpop;
mod extract;
#[cfg(feature = "form")]
mod form;
mod future;
mod guard_future;
mod layer;
mod multi;
mod on_rejection;
mod rejection;
mod resource_metadata;
mod scope_layer;
mod sources;

pub use bearer::RequestErrorKind;
pub(crate) use bearer::Schemes;
#[cfg(feature = "jwks")]
pub(crate) use dpop::DpopGuard;
#[cfg(feature = "axum")]
pub use extract::Claims;
#[cfg(feature = "form")]
pub use form::{FormToken, FormTokenFuture, FormTokenLayer};
pub use future::ResponseFuture;
pub use guard_future::GuardFuture;
pub(crate) use layer::Guard;
pub use layer::{BearerGuard, BearerGuardLayer};
pub use multi::{MultiApi, MultiApiLayer};
pub(crate) use on_rejection::Responder;
pub use on_rejection::{DefaultRejection, OnRejection, RejectionBody};
pub(crate) use rejection::quotable;
pub use rejection::{Rejection, RejectionKind};
pub(crate) use resource_metadata::MetadataFields;
pub use resource_metadata::ResourceMetadata;
pub(crate) use scope_layer::Required;
pub use scope_layer::{RequireScopes, RequireScopesLayer};
pub(crate) use sources::{SourceSetting, TokenSources};
