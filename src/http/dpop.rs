//! The guard's DPoP step (RFC 9449, feature `jwks`): the proof of a request sent with
//! `Authorization: DPoP` checked against its verified token (and the server's nonces, where
//! it issues them), then its `jti` recorded once.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use http::request::Parts;

use crate::config::ConfigError;
use crate::config::ResourceServer;
use crate::dpop::{
    DpopError, DpopMode, DpopNonces, DpopRequest, DpopSettings, DpopVerifier, MemoryReplayStore,
    NonceMode, NonceSettings, ReplayStore,
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
    /// Server nonces (RFC 9449 §8, §9); none by default.
    pub(crate) nonces: Option<NonceSettings>,
}

/// What a guard that takes DPoP needs per request.
pub(crate) struct DpopGuard {
    pub(crate) mode: DpopMode,
    verifier: DpopVerifier,
    store: Arc<dyn ReplayStore>,
    /// The URL clients reach the API at, up to where the request's path begins, with no
    /// trailing slash: a proof's `htu` is this and the path.
    external_url: Box<str>,
    /// The server nonces proofs must carry, when they are on or required.
    nonces: Option<DpopNonces>,
}

/// A proof that passed every check but the replay one.
pub(crate) struct VerifiedProof<F> {
    /// Its replay check: `Ok` the first time its `jti` is seen.
    pub(crate) replay: F,
    /// A new server nonce for the answer (RFC 9449 §8.2): its own is from a slot that has
    /// turned, or it has none while nonces are on.
    pub(crate) new_nonce: Option<Box<str>>,
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
        let nonces = match &settings.nonces {
            Some(nonces) => Some(DpopNonces::new(nonces.clone())?),
            None => None,
        }
        .filter(|nonces| nonces.mode() != NonceMode::Off);
        if mode == DpopMode::Disabled {
            // Nobody mentioned DPoP, yet its URL is set or its nonces are on: a DPoP setup
            // that would do nothing. (`dpop(DpopMode::Disabled)` switches it all off.)
            if settings.mode.is_none() {
                if settings.external_url.is_some() {
                    return Err(ConfigError::ExternalUrlWithoutDpop);
                }
                if nonces.is_some() {
                    return Err(ConfigError::DpopNoncesWithoutDpop);
                }
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
            nonces,
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
    /// token `token`, verified as `verified`, now. Returns its replay check and the new
    /// server nonce to answer with, if any; a refusal that
    /// [wants a nonce](DpopError::wants_nonce) is answered with [`fresh_nonce`](Self::fresh_nonce).
    pub(crate) fn check(
        &self,
        request: &Parts,
        token: &str,
        verified: &VerifiedToken,
    ) -> Result<
        VerifiedProof<impl Future<Output = Result<(), DpopError>> + Send + 'static>,
        DpopError,
    > {
        let now = SystemTime::now();
        let htu = format!("{}{}", self.external_url, request.uri.path());
        let mut checked = DpopRequest::new(request.method.as_str(), &htu, now)
            .access_token(token, verified.confirmation_thumbprint());
        if let Some(nonces) = &self.nonces {
            checked = checked.nonces(nonces);
        }
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
        let new_nonce = match &self.nonces {
            Some(nonces) if proof.send_new_nonce() => nonces.issue(now).map(String::into),
            _ => None,
        };
        let store = Arc::clone(&self.store);
        Ok(VerifiedProof {
            replay: async move { proof.check_replay(&*store).await },
            new_nonce,
        })
    }

    /// A nonce fresh from now, for a `use_dpop_nonce` answer; `None` without server nonces.
    pub(crate) fn fresh_nonce(&self) -> Option<Box<str>> {
        let nonces = self.nonces.as_ref()?;
        nonces.issue(SystemTime::now()).map(String::into)
    }
}

impl fmt::Debug for DpopGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopGuard")
            .field("mode", &self.mode)
            .field("algs", &self.algs())
            .field("external_url", &self.external_url)
            .field("store", &self.store)
            .field("nonces", &self.nonces)
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
