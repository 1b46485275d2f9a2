//! The guard's pipeline: the whole path of a request, in one function of named steps
//! ([`Verifiers::decide`]).
//!
//! 1. **Find the credentials**: `Authorization` (Bearer or DPoP), the query or form body
//!    where allowed, the configured cookies, headers and functions; none is anonymous where
//!    allowed.
//! 2. **Choose the verifier**: the one API, or of several the one the token's unverified
//!    `aud` and `iss` name.
//! 3. **Verify the token**: the verified-token cache, or the signature and every claim.
//! 4. **Check the binding** of the token to the request: a DPoP proof (and its server nonce,
//!    where the API issues them: a refusal for the nonce carries a fresh one), and the client
//!    certificate of a certificate-bound token (RFC 8705 §3).
//! 5. **Check the scopes** every request of the API needs, and what it needs of the user's
//!    authentication (step-up, RFC 9470).
//! 6. **Decide**: admit (the verified token in the request extensions, and a new server nonce
//!    for the answer when the proof's has aged), reject, or wait (for a key set refetched for
//!    an unknown `kid`, for the replay store) and decide again.
//!
//! A request that waited for keys runs the same function again as [`Attempt::AfterKeyRefetch`],
//! which never waits twice.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::Request;
use http::request::Parts;

use crate::dpop::DpopError;
use crate::http::anonymous::Anonymous;
use crate::http::answer::rejection::{Rejection, RejectionKind};
use crate::http::credentials::authorization::{self, Found, Schemes};
#[cfg(feature = "form")]
use crate::http::credentials::form::FormBodyToken;
use crate::http::guard::api::Api;
use crate::http::guard::verifiers::Verifiers;
use crate::mtls::MtlsError;
use crate::token::{TokenErrorKind, VerifiedToken};

/// Which attempt at a request this is: the first, or the one after the key set was refetched
/// for its unknown `kid`, which may not wait again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    First,
    AfterKeyRefetch,
}

/// A wait for a key-set refetch, before the request is decided again.
pub(crate) type KeyWait = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A verified DPoP proof's replay check: `Ok` the first time its `jti` is seen.
pub(crate) type ReplayCheck = Pin<Box<dyn Future<Output = Result<(), DpopError>> + Send>>;

/// What the pipeline decided about a request.
pub(crate) enum Decision {
    /// Let it through; `in_url` when the token came in the query string; `dpop_nonce`, a new
    /// server nonce for the answer's `DPoP-Nonce` (RFC 9449 §8.2), never one without DPoP.
    Admit {
        in_url: bool,
        dpop_nonce: Option<Box<str>>,
    },
    Reject(Rejection),
    /// Its token names a `kid` the key set lacks, and a refetch runs: decide again after.
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    WaitForKeys(KeyWait),
    /// Its DPoP proof is good: let it through once the replay store has seen its `jti` for
    /// the first time.
    CheckReplay {
        check: ReplayCheck,
        in_url: bool,
        dpop_nonce: Option<Box<str>>,
    },
}

/// What a good DPoP proof leaves to do: its replay check, and the new server nonce to send
/// with the answer, if its own has aged.
#[cfg_attr(not(feature = "jwks"), allow(dead_code))]
struct Bound {
    check: ReplayCheck,
    dpop_nonce: Option<Box<str>>,
}

/// The credentials a request came with.
enum Credentials<'a> {
    Token(Found<'a>),
    /// None, and the API lets such requests through.
    Anonymous,
}

impl<R> Verifiers<R> {
    /// Decides about `request`: its whole path through the guard. A request let through
    /// carries its [`VerifiedToken`] (or the anonymous mark) in its extensions.
    #[inline]
    pub(crate) fn decide<B>(
        &self,
        request: Request<B>,
        attempt: Attempt,
    ) -> (Request<B>, Decision) {
        let (mut parts, body) = request.into_parts();
        let decision = self.decide_parts(&mut parts, attempt);
        (Request::from_parts(parts, body), decision)
    }

    #[inline]
    fn decide_parts(&self, request: &mut Parts, attempt: Attempt) -> Decision {
        let front = self.front();
        let found = match front.find_credentials(request) {
            Ok(Credentials::Token(found)) => found,
            Ok(Credentials::Anonymous) => return front.admit_anonymous(request),
            Err(rejection) => return Decision::Reject(rejection),
        };
        let api = match self.choose(&found.token) {
            Ok(api) => api,
            Err(kind) => return Decision::Reject(front.reject(RejectionKind::InvalidToken(kind))),
        };
        let verified = match api.validator.validate_for(&found.token, api.id()) {
            Ok(verified) => verified,
            Err(kind) => return api.refused(kind, &found.token, attempt, found.dpop),
        };
        let bound = match api.check_binding(request, &found, &verified) {
            Ok(bound) => bound,
            Err(rejection) => return Decision::Reject(rejection),
        };
        if let Err(rejection) = api.check_scopes(&verified) {
            return Decision::Reject(rejection);
        }
        if let Err(rejection) = api.check_authentication(&verified) {
            return Decision::Reject(rejection);
        }
        let in_url = found.in_url;
        api.admit(request, verified);
        match bound {
            Some(Bound { check, dpop_nonce }) => Decision::CheckReplay {
                check,
                in_url,
                dpop_nonce,
            },
            None => Decision::Admit {
                in_url,
                dpop_nonce: None,
            },
        }
    }
}

impl<R> Api<R> {
    /// Step 1: the request's credentials, found by this API's settings. A request without
    /// any is anonymous where allowed (and no scope is needed for every request), else 401.
    fn find_credentials<'a>(&self, request: &'a Parts) -> Result<Credentials<'a>, Rejection> {
        #[cfg(feature = "form")]
        let body = request
            .extensions
            .get::<FormBodyToken>()
            .map(|body| &*body.0);
        #[cfg(not(feature = "form"))]
        let body = None;
        let query = if self.allow_query_token {
            request.uri.query()
        } else {
            None
        };
        let invalid = |kind| self.reject(RejectionKind::InvalidRequest(kind));
        let other = self
            .sources
            .find(&request.headers, Some(request))
            .map_err(invalid)?;
        let read = if self.sources_only {
            Schemes::NONE
        } else {
            self.schemes
        };
        let found = authorization::find_token(&request.headers, read, query, body, other)
            .map_err(invalid)?;
        match found {
            // Where DPoP is required, a token by any other means is no credentials at all.
            Some(found) if !found.dpop && !self.schemes.bearer => {
                Err(self.reject(RejectionKind::DpopRequired))
            }
            Some(found) => Ok(Credentials::Token(found)),
            // A scope requirement for every request cannot be met without a token.
            None if self.allow_anonymous && self.required.is_none() && self.step_up.is_none() => {
                Ok(Credentials::Anonymous)
            }
            // A Bearer token where DPoP is required: no credentials, with a reason that says why.
            None if !self.schemes.bearer && authorization::offers_bearer(&request.headers) => {
                Err(self.reject(RejectionKind::DpopRequired))
            }
            None => Err(self.reject(RejectionKind::MissingCredentials)),
        }
    }

    /// Step 1's other end: an anonymous request, marked for the layers behind.
    fn admit_anonymous(&self, request: &mut Parts) -> Decision {
        let anonymous = Anonymous(Arc::clone(&self.responder.challenge));
        request.extensions.insert(anonymous);
        Decision::Admit {
            in_url: false,
            dpop_nonce: None,
        }
    }

    /// Step 3's refusal: 401, but 503 when the keys are not available, and a wait when an
    /// unknown `kid` may be in a refetched key set (on the first attempt only); of several
    /// issuers, the keys of the token's.
    fn refused(&self, kind: TokenErrorKind, token: &str, attempt: Attempt, dpop: bool) -> Decision {
        #[cfg(feature = "jwks")]
        if let Some(cache) = self.validator.key_cache_for(token) {
            match kind {
                TokenErrorKind::KeysUnavailable => {
                    let rejection = self.reject(RejectionKind::KeysUnavailable);
                    return Decision::Reject(rejection.retry_after_secs(cache.retry_after()));
                }
                TokenErrorKind::UnknownKeyId if attempt == Attempt::First => {
                    if let Some(wait) = cache.refetch_for_unknown_kid(token) {
                        return Decision::WaitForKeys(Box::pin(wait));
                    }
                }
                _ => {}
            }
        }
        #[cfg(not(feature = "jwks"))]
        let _ = (token, attempt);
        let rejection = self.reject(RejectionKind::InvalidToken(kind));
        Decision::Reject(if dpop {
            rejection.of_dpop_request()
        } else {
            rejection
        })
    }

    /// Step 4: the token's binding to the request. A certificate-bound token must come with
    /// its client certificate (RFC 8705 §3). A request with `Authorization: DPoP` must
    /// carry a good proof for it (whose replay check is returned, with a new server nonce
    /// when its own has aged), and a DPoP-bound token must not come as a bearer token (RFC
    /// 9449 §7.1). A proof refused for its server nonce is answered with a fresh one (§9).
    #[cfg_attr(not(feature = "jwks"), allow(clippy::unnecessary_wraps))]
    fn check_binding(
        &self,
        request: &Parts,
        found: &Found<'_>,
        verified: &VerifiedToken,
    ) -> Result<Option<Bound>, Rejection> {
        // A certificate-bound token is checked by its certificate, whatever else binds it;
        // one that no step here can check is refused rather than taken as a bearer token.
        let certificate = match &self.mtls {
            Some(mtls) => mtls.check(request, verified),
            None if verified.certificate_thumbprint().is_some() => Err(MtlsError::NotTaken),
            None => Ok(()),
        };
        if let Err(error) = certificate {
            let rejection = self.reject(RejectionKind::Mtls(error));
            return Err(if found.dpop {
                rejection.of_dpop_request()
            } else {
                rejection
            });
        }
        #[cfg(feature = "jwks")]
        if let Some(dpop) = &self.dpop {
            let refuse = |error| self.reject(RejectionKind::Dpop(error));
            if found.dpop {
                return match dpop.check(request, &found.token, verified) {
                    Ok(proof) => Ok(Some(Bound {
                        check: Box::pin(proof.replay),
                        dpop_nonce: proof.new_nonce,
                    })),
                    Err(error) => {
                        let rejection = refuse(error).of_dpop_request();
                        Err(match error.wants_nonce().then(|| dpop.fresh_nonce()) {
                            Some(Some(nonce)) => rejection.with_dpop_nonce(nonce),
                            _ => rejection,
                        })
                    }
                };
            }
            if verified.confirmation_thumbprint().is_some() {
                return Err(refuse(DpopError::BoundTokenAsBearer));
            }
        }
        Ok(None)
    }

    /// Step 5: the scopes every request of this API needs.
    fn check_scopes(&self, verified: &VerifiedToken) -> Result<(), Rejection> {
        match &self.required {
            Some(required) => required.check(verified, &self.responder.challenge),
            None => Ok(()),
        }
    }

    /// Step 5, continued: what every request of this API needs of the user's authentication
    /// (step-up, RFC 9470).
    fn check_authentication(&self, verified: &VerifiedToken) -> Result<(), Rejection> {
        match &self.step_up {
            Some(step_up) => step_up.check(verified, &self.responder.challenge),
            None => Ok(()),
        }
    }

    /// Step 6: the verified token left for the layers and handlers behind the guard.
    fn admit(&self, request: &mut Parts, verified: VerifiedToken) {
        #[cfg(feature = "form")]
        request.extensions.remove::<FormBodyToken>();
        request.extensions.insert(verified);
    }
}
