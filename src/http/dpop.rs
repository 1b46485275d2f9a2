//! The guard's DPoP step (RFC 9449, feature `jwks`): the proof of a request sent with
//! `Authorization: DPoP` checked against its verified token, then its `jti` recorded once.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use http::request::Parts;

use crate::config::ConfigError;
use crate::config::ResourceServer;
use crate::dpop::{
    DpopError, DpopMode, DpopRequest, DpopSettings, DpopVerifier, MemoryReplayStore, ReplayStore,
};
use crate::token::VerifiedToken;

/// What a builder collects about DPoP.
#[derive(Debug, Default)]
pub(crate) struct DpopGuardSettings {
    /// The mode, when the builder overrides the registration's `proof_of_possession`.
    pub(crate) mode: Option<DpopMode>,
    pub(crate) proofs: DpopSettings,
    pub(crate) store: Option<Arc<dyn ReplayStore>>,
    /// Where clients reach the API, up to the request's path: a proof's `htu` base.
    pub(crate) external_url: Option<String>,
}

/// What a guard that takes DPoP needs per request.
pub(crate) struct DpopGuard {
    pub(crate) mode: DpopMode,
    verifier: DpopVerifier,
    store: Arc<dyn ReplayStore>,
    /// The URL clients reach the API at, up to where the request's path begins, with no
    /// trailing slash: a proof's `htu` is this and the path.
    external_url: Box<str>,
}

impl DpopGuard {
    /// The DPoP step of `api`, when DPoP was asked for: its settings checked, its `htu` base
    /// known.
    ///
    /// DPoP is asked for by the builder's `dpop` or by the registration's
    /// `proof_of_possession`, and by nothing else: an API that never mentions DPoP answers as
    /// a Bearer-only API does, in its challenges and its metadata alike.
    pub(crate) fn from_settings(
        api: &ResourceServer,
        settings: &DpopGuardSettings,
    ) -> Result<Option<Self>, ConfigError> {
        let mode = settings.mode.unwrap_or_else(|| api.dpop_mode());
        if mode == DpopMode::Disabled {
            // Nobody mentioned DPoP, yet its URL is set: a DPoP setup that would do nothing.
            if settings.external_url.is_some() && settings.mode.is_none() {
                return Err(ConfigError::ExternalUrlWithoutDpop);
            }
            return Ok(None);
        }
        let verifier = DpopVerifier::new(settings.proofs.clone())?;
        let external_url = match &settings.external_url {
            Some(url) => url.clone(),
            None => origin(api.identifier()).to_owned(),
        };
        if !(external_url.starts_with("https://") || external_url.starts_with("http://")) {
            return Err(ConfigError::ExternalUrl { url: external_url });
        }
        let store = settings
            .store
            .clone()
            .unwrap_or_else(|| Arc::new(MemoryReplayStore::new()));
        Ok(Some(Self {
            mode,
            verifier,
            store,
            external_url: external_url.trim_end_matches('/').into(),
        }))
    }

    /// Whether Bearer tokens are refused (DPoP required).
    pub(crate) fn required(&self) -> bool {
        self.mode == DpopMode::Required
    }

    /// The algorithms proofs may be signed with, space-separated, for the challenge's `algs`.
    pub(crate) fn algs(&self) -> String {
        self.verifier
            .algorithms()
            .map(|alg| alg.name())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Checks the proof of `request`, which came with `Authorization: DPoP` and the access
    /// token `token`, verified as `verified`. Returns its replay check: `Ok` the first time
    /// its `jti` is seen.
    pub(crate) fn check(
        &self,
        request: &Parts,
        token: &str,
        verified: &VerifiedToken,
    ) -> Result<impl Future<Output = Result<(), DpopError>> + Send + 'static, DpopError> {
        let htu = format!("{}{}", self.external_url, request.uri.path());
        let checked = DpopRequest::new(request.method.as_str(), &htu, SystemTime::now())
            .access_token(token, verified.confirmation_thumbprint());
        let proof = self
            .verifier
            .verify(request.headers.get_all("dpop"), &checked)
            .inspect_err(|error| {
                if matches!(error, DpopError::UriMismatch) {
                    // The cause is usually the server's own configuration: say what it expected.
                    tracing::debug!(
                        expected_htu = %htu,
                        external_url = &*self.external_url,
                        "bearer-guard: the DPoP proof's htu is not this request's URL as configured (external_url followed by the path); check external_url, and any proxy that rewrites the path"
                    );
                }
            })?;
        let store = Arc::clone(&self.store);
        Ok(async move { proof.check_replay(&*store).await })
    }
}

impl fmt::Debug for DpopGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopGuard")
            .field("mode", &self.mode)
            .field("algs", &self.algs())
            .field("external_url", &self.external_url)
            .field("store", &self.store)
            .finish()
    }
}

/// `scheme://authority` of `url`, or `url` itself when it has no `//`.
fn origin(url: &str) -> &str {
    let Some(start) = url.find("://").map(|at| at + 3) else {
        return url;
    };
    let end = url[start..].find('/').map_or(url.len(), |at| start + at);
    &url[..end]
}
