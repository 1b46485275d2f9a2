//! One protected API's checked configuration ([`Api`]), shared by every clone of its layer
//! and services.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::Request;

use crate::config::ConfigError;
use crate::config::ResourceServer;
use crate::http::answer::challenge::Challenge;
use crate::http::answer::rejection::quotable;
use crate::http::credentials::sources::SourceSetting;
use crate::http::metadata::MetadataFields;
use crate::token::ScopeRequirement;

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
use crate::http::mtls::{MtlsGuard, MtlsGuardSettings};
use crate::http::scope::Required;
use crate::http::step_up::StepUp;
use crate::token::{AuthenticationRequirement, GuardId, TokenValidator};

/// One API's checked settings: how its tokens are found, verified and answered.
pub(crate) struct Api<R> {
    pub(crate) validator: TokenValidator,
    /// The scopes the resource server declares, which scope requirements are checked against.
    pub(crate) declared: Box<[Box<str>]>,
    /// The scopes every request needs.
    pub(crate) required: Option<Required>,
    /// What every request needs of the user's authentication (RFC 9470).
    pub(crate) step_up: Option<StepUp>,
    pub(crate) allow_anonymous: bool,
    pub(crate) allow_query_token: bool,
    /// Cookies, headers and functions the token may come from besides `Authorization`.
    pub(crate) sources: TokenSources,
    /// Whether the token comes from those sources only, `Authorization` unread.
    pub(crate) sources_only: bool,
    /// The `Authorization` schemes taken: `Bearer`, `DPoP` or both.
    pub(crate) schemes: Schemes,
    /// DPoP (RFC 9449): the proofs' checks, when the API takes DPoP.
    #[cfg(feature = "jwks")]
    pub(crate) dpop: Option<DpopGuard>,
    /// RFC 9728's metadata, when published.
    pub(crate) metadata: Option<ResourceMetadata>,
    /// Certificate-bound tokens (RFC 8705 §3): the binding's check, when the API takes them.
    pub(crate) mtls: Option<MtlsGuard>,
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

/// What a builder collects about the HTTP side of one API.
#[derive(Debug, Default)]
pub(crate) struct HttpSettings {
    /// The scopes every request needs.
    pub(crate) required: Option<ScopeRequirement>,
    /// The challenges' realm; none: the identifier.
    pub(crate) realm: Option<String>,
    pub(crate) allow_anonymous: bool,
    pub(crate) allow_query_token: bool,
    /// Cookies, headers and functions to read the token from besides `Authorization`.
    pub(crate) sources: Vec<SourceSetting>,
    /// Read the token from those sources only, never from `Authorization`.
    pub(crate) sources_only: bool,
    /// The scopes 401 challenges name in `scope`.
    pub(crate) advertised: Option<ScopeRequirement>,
    /// RFC 9728: publish the protected resource's metadata and name it in challenges.
    pub(crate) resource_metadata: bool,
    /// Whether `on_rejection` set a hook of the user's.
    pub(crate) custom_rejection: bool,
    /// What every request needs of the user's authentication (RFC 9470).
    pub(crate) step_up: Option<AuthenticationRequirement>,
    /// Certificate-bound tokens (RFC 8705 §3): mode and certificate source.
    pub(crate) mtls: MtlsGuardSettings,
}

/// Tells one built guard from every other of the process.
static NEXT_GUARD_ID: AtomicU64 = AtomicU64::new(1);

impl<R> Api<R> {
    /// The API of `api` with its `validator`, as `settings` say: realm, scope requirement,
    /// token sources, the DPoP step, RFC 9728 metadata and the answers of `on_rejection`,
    /// each checked here. `issuer` is the one the metadata names.
    pub(crate) fn from_settings(
        api: &ResourceServer,
        settings: &HttpSettings,
        issuer: Option<&str>,
        validator: TokenValidator,
        #[cfg(feature = "jwks")] dpop: Option<DpopGuard>,
        on_rejection: R,
    ) -> Result<Self, ConfigError> {
        let realm = settings
            .realm
            .clone()
            .unwrap_or_else(|| api.identifier().to_owned());
        if realm.is_empty() || !quotable(&realm) {
            return Err(ConfigError::InvalidRealm { realm });
        }
        let declared: Box<[Box<str>]> = api
            .declared_scopes()
            .iter()
            .map(|scope| scope.value.clone().into_boxed_str())
            .collect();
        let required = settings
            .required
            .clone()
            .map(|requirement| Required::new(requirement, &declared))
            .transpose()?;
        let advertised = settings
            .advertised
            .clone()
            .map(|scopes| Required::new(scopes, &declared))
            .transpose()?;
        let step_up = settings
            .step_up
            .clone()
            .map(|requirement| StepUp::new(requirement, validator.leeway))
            .transpose()?;
        let sources = TokenSources::new(&settings.sources)?;
        let only = |problem| ConfigError::InvalidTokenSource {
            source_name: String::new(),
            problem,
        };
        if settings.sources_only && settings.sources.is_empty() {
            return Err(only(
                "token_sources_only() needs a token_cookie, token_header or token_from to read the token from",
            ));
        }
        #[cfg(feature = "jwks")]
        let (schemes, dpop_algs) = match &dpop {
            Some(dpop) => (
                Schemes {
                    bearer: !dpop.required(),
                    dpop: true,
                },
                Some(dpop.algs()),
            ),
            None => (Schemes::BEARER, None),
        };
        #[cfg(not(feature = "jwks"))]
        let (schemes, dpop_algs) = (Schemes::BEARER, None::<String>);
        if settings.sources_only && schemes.dpop {
            return Err(only(
                "token_sources_only() leaves Authorization unread, and DPoP requests come as Authorization: DPoP: drop one of the two",
            ));
        }
        let mtls = MtlsGuard::from_settings(api, &settings.mtls)?;
        let metadata = if settings.resource_metadata {
            Some(ResourceMetadata::new(&MetadataFields {
                resource: api.identifier(),
                issuer,
                more_issuers: validator.issuers().skip(1).collect(),
                scopes: &declared,
                name: api.name(),
                query_tokens: settings.allow_query_token,
                dpop_algs: dpop_algs.as_deref().map(|algs| algs.split(' ').collect()),
                dpop_required: !schemes.bearer,
                certificate_bound: mtls.is_some(),
            })?)
        } else {
            None
        };
        let id = GuardId(NEXT_GUARD_ID.fetch_add(1, Ordering::Relaxed));
        let challenge = Challenge {
            realm: realm.into(),
            bearer: schemes.bearer,
            dpop_algs: dpop_algs.map(String::into_boxed_str),
            resource_metadata: metadata.as_ref().map(|metadata| metadata.url().into()),
            scope: advertised.as_ref().map(Required::rendered),
        };
        Ok(Self {
            validator,
            declared,
            required,
            step_up,
            allow_anonymous: settings.allow_anonymous,
            allow_query_token: settings.allow_query_token,
            sources,
            sources_only: settings.sources_only,
            schemes,
            #[cfg(feature = "jwks")]
            dpop,
            metadata,
            mtls,
            responder: Responder::new(id, challenge, on_rejection, settings.custom_rejection),
        })
    }
}
