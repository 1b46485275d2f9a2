//! Why a DPoP proof was not accepted: [`DpopError`], and its answer.

use std::time::Duration;

use http::StatusCode;

/// Why a request's DPoP proof, or the DPoP-bound token it came with, was not accepted; one
/// variant per check of RFC 9449 §4.3 and §7.1.
///
/// Each maps to the answer RFC 9449 §7.1 and RFC 6750 §3.1 give it: [`error_code`](Self::error_code)
/// and [`status`](Self::status). A problem with the proof is `invalid_dpop_proof`; a token
/// that is not bound to the proof's key is `invalid_token`; a missing or stale server nonce
/// is `use_dpop_nonce` (RFC 9449 §9); a `DPoP` header missing or repeated is
/// `invalid_request` (400), as RFC 6750 §3.1 answers a missing or repeated parameter; and a
/// replay store that cannot answer is the server's fault (503 with `Retry-After`,
/// [`retry_after`](Self::retry_after)), never a silent accept.
///
/// # Example
///
/// ```
/// use http::StatusCode;
/// use bearer_guard::dpop::DpopError;
///
/// assert_eq!(DpopError::InvalidSignature.error_code(), Some("invalid_dpop_proof"));
/// assert_eq!(DpopError::KeyMismatch.error_code(), Some("invalid_token"));
/// assert_eq!(DpopError::NonceRequired.error_code(), Some("use_dpop_nonce"));
/// assert_eq!(DpopError::MultipleProofs.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(DpopError::Replayed.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(DpopError::Replayed.to_string(), "The DPoP proof was used before");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// The request has no `DPoP` header.
    #[error("The request has no DPoP proof")]
    MissingProof,
    /// The request has more than one `DPoP` header (RFC 9449 §4.3, check 1).
    #[error("The request has more than one DPoP proof")]
    MultipleProofs,
    /// The proof is longer than bearer-guard reads; nothing was decoded.
    #[error("The DPoP proof is too large")]
    TooLarge,
    /// Not a JWS of three base64url segments whose header and payload are JSON objects, or
    /// a member of the wrong type or given twice (check 2).
    #[error("The DPoP proof is malformed")]
    Malformed,
    /// `typ` is missing or not `dpop+jwt` (check 4).
    #[error("The DPoP proof's typ is not dpop+jwt")]
    InvalidType,
    /// `alg` is missing, `none`, symmetric, or not among those accepted (check 5).
    #[error("The DPoP proof's algorithm is not accepted")]
    UnsupportedAlgorithm,
    /// The header has a `crit` parameter; bearer-guard understands no extension.
    #[error("The DPoP proof has a critical header parameter")]
    CriticalHeader,
    /// The header has no `jwk` (check 3).
    #[error("The DPoP proof has no public key")]
    MissingKey,
    /// The `jwk` carries private key members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`)
    /// (check 7).
    #[error("The DPoP proof's key is not a public key")]
    PrivateKey,
    /// The `jwk` does not fit `alg`, or is not a usable key (an RSA modulus outside 2048 to
    /// 8192 bits, a point off the curve, `use` other than `sig`, …) (check 6).
    #[error("The DPoP proof's key cannot verify it")]
    UnusableKey,
    /// The signature does not verify with the `jwk` (check 6).
    #[error("The DPoP proof's signature is invalid")]
    InvalidSignature,
    /// A claim RFC 9449 §4.2 requires is missing (check 3): `jti`, `htm`, `htu` or `iat`.
    #[error("The DPoP proof has no {claim} claim")]
    MissingClaim {
        /// The claim.
        claim: &'static str,
    },
    /// `htm` is not the request's method (check 8).
    #[error("The DPoP proof is for another method")]
    MethodMismatch,
    /// `htu` is not the request's URI, or not an `http(s)` URI without query and fragment
    /// (check 9).
    #[error("The DPoP proof is for another URI")]
    UriMismatch,
    /// `iat` is older than the window allows (check 11).
    #[error("The DPoP proof is too old")]
    Stale,
    /// `iat` is further in the future than the window allows (check 11).
    #[error("The DPoP proof is issued in the future")]
    IssuedInFuture,
    /// An access token came with the proof, and the proof has no `ath` (check 12).
    #[error("The DPoP proof has no access token hash")]
    MissingAccessTokenHash,
    /// `ath` is not the hash of the access token that came with the proof (check 12).
    #[error("The DPoP proof is for another access token")]
    AccessTokenHashMismatch,
    /// The access token presented with `DPoP` is not bound to a key: it has no `cnf.jkt`.
    #[error("The access token is not DPoP-bound")]
    UnboundToken,
    /// A DPoP-bound token (one with `cnf.jkt`) presented as `Bearer`: without a proof it is
    /// refused (RFC 9449 §7.1). For the guard to answer; the verifier never returns it.
    #[error("The access token is DPoP-bound and came without a proof")]
    BoundTokenAsBearer,
    /// The access token is bound to another key than the proof's (check 12).
    #[error("The access token is bound to another key")]
    KeyMismatch,
    /// The server asked for a nonce and the proof has none (RFC 9449 §9).
    #[error("The DPoP proof has no nonce")]
    NonceRequired,
    /// The proof's nonce is not the one the server expects now (check 10): one of the
    /// server's, but too old.
    #[error("The DPoP proof's nonce is not the current one")]
    StaleNonce,
    /// The proof's nonce is none the server issued: not made with its secrets (another
    /// fleet's, or a secret rotated out), or not a nonce at all (RFC 9449 §9).
    #[error("The DPoP proof's nonce was not issued by this server")]
    ForeignNonce,
    /// The proof's `jti` was seen before, within its window (RFC 9449 §11.1).
    #[error("The DPoP proof was used before")]
    Replayed,
    /// The key that signed the proof holds as many unexpired proofs as the replay store keeps
    /// for one key (`Replay::OverQuota`): this key's requests are
    /// refused until some of its proofs expire, so that it cannot fill the store for others.
    #[error("The DPoP proof's key has sent too many proofs")]
    KeyOverQuota,
    /// The replay store is full: the request cannot be checked, and is answered 503 with
    /// `Retry-After`. Logged (at warn) with the store's size, never sent.
    #[error("The DPoP replay store is full")]
    ReplayStoreFull {
        /// When the store expects room, for `Retry-After`.
        retry_after: Duration,
    },
    /// The replay store could not answer: the request cannot be checked, and is answered 503
    /// with `Retry-After`. The store's own error is logged (at warn), never sent.
    #[error("The DPoP replay store is unavailable")]
    ReplayStoreUnavailable {
        /// How long the client should wait, for `Retry-After`.
        retry_after: Duration,
    },
}

impl DpopError {
    /// The `error` code of the answer's challenge: `invalid_dpop_proof`, `invalid_token`,
    /// `use_dpop_nonce` or `invalid_request`; `None` for a replay store failure, which is the
    /// server's (503, no `error` code in RFC 6750).
    #[must_use]
    pub fn error_code(&self) -> Option<&'static str> {
        Some(match self {
            Self::MissingProof | Self::MultipleProofs => "invalid_request",
            Self::UnboundToken | Self::KeyMismatch | Self::BoundTokenAsBearer => "invalid_token",
            Self::NonceRequired | Self::StaleNonce | Self::ForeignNonce => "use_dpop_nonce",
            Self::ReplayStoreFull { .. } | Self::ReplayStoreUnavailable { .. } => return None,
            _ => "invalid_dpop_proof",
        })
    }

    /// The answer's status: 400 for `invalid_request`, 503 when the replay store failed,
    /// 401 otherwise (RFC 9449 §7.1, §9).
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingProof | Self::MultipleProofs => StatusCode::BAD_REQUEST,
            Self::ReplayStoreFull { .. } | Self::ReplayStoreUnavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// For a 503, how long the client should wait before it tries again: the answer's
    /// `Retry-After`. `None` for every error that is the client's.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use bearer_guard::dpop::DpopError;
    ///
    /// let full = DpopError::ReplayStoreFull { retry_after: Duration::from_secs(30) };
    /// assert_eq!((full.status().as_u16(), full.retry_after()), (503, Some(Duration::from_secs(30))));
    /// assert_eq!(DpopError::KeyOverQuota.retry_after(), None);
    /// ```
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::ReplayStoreFull { retry_after }
            | Self::ReplayStoreUnavailable { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// Whether the answer is `use_dpop_nonce` (RFC 9449 §9): it must carry a fresh nonce in a
    /// `DPoP-Nonce` header.
    #[must_use]
    pub fn wants_nonce(&self) -> bool {
        self.error_code() == Some("use_dpop_nonce")
    }

    /// The `error_description` sent with it: fixed text that never quotes the proof.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(bearer_guard::dpop::DpopError::Stale.description(), "The DPoP proof is too old");
    /// ```
    #[must_use]
    pub fn description(&self) -> &'static str {
        match self {
            Self::MissingClaim { .. } => "The DPoP proof lacks a required claim",
            Self::MissingProof => "The request has no DPoP proof",
            Self::MultipleProofs => "The request has more than one DPoP proof",
            Self::TooLarge => "The DPoP proof is too large",
            Self::Malformed => "The DPoP proof is malformed",
            Self::InvalidType => "The DPoP proof's typ is not dpop+jwt",
            Self::UnsupportedAlgorithm => "The DPoP proof's algorithm is not accepted",
            Self::CriticalHeader => "The DPoP proof has a critical header parameter",
            Self::MissingKey => "The DPoP proof has no public key",
            Self::PrivateKey => "The DPoP proof's key is not a public key",
            Self::UnusableKey => "The DPoP proof's key cannot verify it",
            Self::InvalidSignature => "The DPoP proof's signature is invalid",
            Self::MethodMismatch => "The DPoP proof is for another method",
            Self::UriMismatch => "The DPoP proof is for another URI",
            Self::Stale => "The DPoP proof is too old",
            Self::IssuedInFuture => "The DPoP proof is issued in the future",
            Self::MissingAccessTokenHash => "The DPoP proof has no access token hash",
            Self::AccessTokenHashMismatch => "The DPoP proof is for another access token",
            Self::UnboundToken => "The access token is not DPoP-bound",
            Self::BoundTokenAsBearer => "The access token is DPoP-bound and came without a proof",
            Self::KeyMismatch => "The access token is bound to another key",
            Self::NonceRequired => "The DPoP proof has no nonce",
            Self::StaleNonce => "The DPoP proof's nonce is not the current one",
            Self::ForeignNonce => "The DPoP proof's nonce was not issued by this server",
            Self::Replayed => "The DPoP proof was used before",
            Self::KeyOverQuota => "The DPoP proof's key has sent too many proofs",
            Self::ReplayStoreFull { .. } => "The DPoP replay store is full",
            Self::ReplayStoreUnavailable { .. } => "The DPoP replay store is unavailable",
        }
    }

    /// A short code for logs and metrics, as [`TokenErrorKind::reason`](crate::TokenErrorKind::reason).
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(bearer_guard::dpop::DpopError::Replayed.reason(), "dpop_replayed");
    /// ```
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingProof => "dpop_missing_proof",
            Self::MultipleProofs => "dpop_multiple_proofs",
            Self::TooLarge => "dpop_too_large",
            Self::Malformed => "dpop_malformed",
            Self::InvalidType => "dpop_invalid_type",
            Self::UnsupportedAlgorithm => "dpop_unsupported_algorithm",
            Self::CriticalHeader => "dpop_critical_header",
            Self::MissingKey => "dpop_missing_key",
            Self::PrivateKey => "dpop_private_key",
            Self::UnusableKey => "dpop_unusable_key",
            Self::InvalidSignature => "dpop_invalid_signature",
            Self::MissingClaim { .. } => "dpop_missing_claim",
            Self::MethodMismatch => "dpop_method_mismatch",
            Self::UriMismatch => "dpop_uri_mismatch",
            Self::Stale => "dpop_stale",
            Self::IssuedInFuture => "dpop_issued_in_future",
            Self::MissingAccessTokenHash => "dpop_missing_ath",
            Self::AccessTokenHashMismatch => "dpop_ath_mismatch",
            Self::UnboundToken => "dpop_unbound_token",
            Self::BoundTokenAsBearer => "dpop_bound_token_as_bearer",
            Self::KeyMismatch => "dpop_key_mismatch",
            Self::NonceRequired => "dpop_nonce_required",
            Self::StaleNonce => "dpop_stale_nonce",
            Self::ForeignNonce => "dpop_foreign_nonce",
            Self::Replayed => "dpop_replayed",
            Self::KeyOverQuota => "dpop_key_over_quota",
            Self::ReplayStoreFull { .. } => "dpop_replay_store_full",
            Self::ReplayStoreUnavailable { .. } => "dpop_replay_store_unavailable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_rfc_answer() {
        let proof = [
            DpopError::TooLarge,
            DpopError::Malformed,
            DpopError::InvalidType,
            DpopError::UnsupportedAlgorithm,
            DpopError::CriticalHeader,
            DpopError::MissingKey,
            DpopError::PrivateKey,
            DpopError::UnusableKey,
            DpopError::InvalidSignature,
            DpopError::MissingClaim { claim: "jti" },
            DpopError::MethodMismatch,
            DpopError::UriMismatch,
            DpopError::Stale,
            DpopError::IssuedInFuture,
            DpopError::MissingAccessTokenHash,
            DpopError::AccessTokenHashMismatch,
            DpopError::Replayed,
            DpopError::KeyOverQuota,
        ];
        for err in proof {
            assert_eq!(
                (err.error_code(), err.status()),
                (Some("invalid_dpop_proof"), StatusCode::UNAUTHORIZED),
                "{err:?}"
            );
        }
        for (err, code, status) in [
            (DpopError::MissingProof, Some("invalid_request"), 400),
            (DpopError::MultipleProofs, Some("invalid_request"), 400),
            (DpopError::UnboundToken, Some("invalid_token"), 401),
            (DpopError::KeyMismatch, Some("invalid_token"), 401),
            (DpopError::BoundTokenAsBearer, Some("invalid_token"), 401),
            (DpopError::NonceRequired, Some("use_dpop_nonce"), 401),
            (DpopError::StaleNonce, Some("use_dpop_nonce"), 401),
            (DpopError::ForeignNonce, Some("use_dpop_nonce"), 401),
            (
                DpopError::ReplayStoreFull {
                    retry_after: Duration::from_secs(9),
                },
                None,
                503,
            ),
            (
                DpopError::ReplayStoreUnavailable {
                    retry_after: Duration::from_secs(5),
                },
                None,
                503,
            ),
        ] {
            assert_eq!(
                (err.error_code(), err.status().as_u16()),
                (code, status),
                "{err:?}"
            );
            // Only a 503 says when to come back; only use_dpop_nonce wants a nonce.
            assert_eq!(err.retry_after().is_some(), status == 503, "{err:?}");
            assert_eq!(err.wants_nonce(), code == Some("use_dpop_nonce"), "{err:?}");
        }
    }

    #[test]
    fn messages_name_the_claim_and_never_a_value() {
        assert_eq!(
            DpopError::MissingClaim { claim: "htu" }.to_string(),
            "The DPoP proof has no htu claim"
        );
    }
}
