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

pub(crate) mod anonymous;
pub(crate) mod answer {
    //! The answers to rejected requests: the [`Rejection`](rejection::Rejection) data, the
    //! challenges, the hook and the default bodies.
    pub(crate) mod body;
    pub(crate) mod challenge;
    pub(crate) mod hook;
    pub(crate) mod rejection;
}
#[cfg(feature = "axum")]
pub(crate) mod axum;
pub(crate) mod credentials {
    //! Where a request's token is found: `Authorization`, the query, the form body, and the
    //! configured cookies, headers and functions.
    pub(crate) mod authorization;
    #[cfg(feature = "form")]
    pub(crate) mod form;
    pub(crate) mod sources;
}
#[cfg(feature = "jwks")]
pub(crate) mod dpop;
pub(crate) mod future;
pub(crate) mod guard {
    //! The guard: its layers and services, the pipeline every request goes through, and the
    //! response future.
    pub(crate) mod api;
    pub(crate) mod future;
    pub(crate) mod layer;
    pub(crate) mod multi;
    pub(crate) mod pipeline;
    pub(crate) mod verifiers;
}
pub(crate) mod metadata;
pub(crate) mod mtls;
pub(crate) mod scope;
pub(crate) mod step_up;

pub use answer::body::{DefaultRejection, RejectionBody};
pub use answer::hook::OnRejection;
pub use answer::rejection::{Rejection, RejectionKind};
#[cfg(feature = "axum")]
pub use axum::{Claims, ExtractorRejection};
pub use credentials::authorization::RequestErrorKind;
#[cfg(feature = "form")]
pub use credentials::form::{FormToken, FormTokenFuture, FormTokenLayer};
pub use future::ResponseFuture;
pub use guard::future::GuardFuture;
pub use guard::layer::{BearerGuard, BearerGuardLayer};
pub use guard::multi::{MultiApi, MultiApiLayer};
pub use metadata::ResourceMetadata;
pub use scope::{RequireScopes, RequireScopesLayer};
pub use step_up::{RequireAuthentication, RequireAuthenticationLayer};
