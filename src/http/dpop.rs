//! The guard's DPoP step (RFC 9449, feature `jwks`): the proof of a request sent with
//! `Authorization: DPoP` checked against its verified token, then its `jti` recorded once.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use http::request::Parts;

use crate::dpop::{DpopError, DpopMode, DpopRequest, DpopVerifier, ReplayStore};
use crate::token::VerifiedToken;

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
    pub(crate) fn new(
        mode: DpopMode,
        verifier: DpopVerifier,
        store: Arc<dyn ReplayStore>,
        external_url: &str,
    ) -> Self {
        Self {
            mode,
            verifier,
            store,
            external_url: external_url.trim_end_matches('/').into(),
        }
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
            .verify(request.headers.get_all("dpop"), &checked)?;
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
