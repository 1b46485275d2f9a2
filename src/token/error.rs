//! Why a token failed: [`TokenError`] and its [`TokenErrorKind`].

use std::fmt;

/// Why a token was not accepted.
///
/// Opaque on purpose: match on [`TokenError::kind`], which can grow new variants.
///
/// # Example
///
/// ```
/// use bearer_guard::{BearerGuardLayer, ResourceServer, TokenErrorKind};
///
/// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
/// let layer = BearerGuardLayer::builder(api).build()?;
/// let err = layer.validator().validate("not.a.token").unwrap_err();
/// assert_eq!(err.kind(), TokenErrorKind::Malformed);
/// assert_eq!(err.to_string(), "The access token is malformed");
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenError {
    kind: TokenErrorKind,
}

impl TokenError {
    /// What went wrong.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5").with_scope("read:messages", "Read messages");
    /// # use bearer_guard::TokenErrorKind;
    /// let layer = BearerGuardLayer::builder(api).build()?;
    /// let err = layer.validator().validate("e30.e30.e30").unwrap_err();
    /// assert_eq!(err.kind(), TokenErrorKind::UnsupportedAlgorithm);
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[must_use]
    pub fn kind(&self) -> TokenErrorKind {
        self.kind
    }
}

impl From<TokenErrorKind> for TokenError {
    fn from(kind: TokenErrorKind) -> Self {
        Self { kind }
    }
}

impl fmt::Debug for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenError")
            .field("kind", &self.kind)
            .finish()
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.description())
    }
}

impl std::error::Error for TokenError {}

/// The reason a token failed, one per check. Every kind is answered `401 invalid_token`, but
/// `KeysUnavailable`, which is the server's fault (503).
///
/// # Example
///
/// ```
/// use bearer_guard::TokenErrorKind;
///
/// assert_eq!(TokenErrorKind::Expired.reason(), "expired");
/// assert_eq!(TokenErrorKind::Expired.description(), "The access token expired");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenErrorKind {
    /// Longer than the configured maximum; nothing was decoded.
    TooLarge,
    /// Not three base64url segments of JSON objects.
    Malformed,
    /// The header's `alg` is not the resource server's (`none`, HS384, RS256 for an HS256 API,
    /// HS256 for an RS256 one, …).
    UnsupportedAlgorithm,
    /// The header has a `crit` parameter; bearer-guard understands no extension.
    CriticalHeader,
    /// The HMAC does not match.
    InvalidSignature,
    /// A claim has the wrong type, or appears twice.
    InvalidClaim,
    /// No `exp` claim.
    MissingExpiry,
    /// `exp` plus leeway is not after now.
    Expired,
    /// `nbf` is after now plus leeway.
    NotYetValid,
    /// No `aud` claim.
    MissingAudience,
    /// `aud` does not contain the resource server's identifier.
    InvalidAudience,
    /// An issuer is configured and the token has no `iss` claim.
    MissingIssuer,
    /// `iss` is not the configured issuer.
    InvalidIssuer,
    /// The RFC 9068 profile is on and the header's `typ` is not `at+jwt`.
    InvalidType,
    /// A claim the RFC 9068 profile or the maximum token age needs (`sub`, `client_id`, `iat`,
    /// `jti`) is missing.
    MissingClaim,
    /// `iat` is after now plus leeway (checked with the RFC 9068 profile or a maximum age).
    IssuedInFuture,
    /// `iat` is older than the configured maximum token age.
    TooOld,
    /// `exp` is further from now than the resource server's `token_lifetime` (plus leeway):
    /// no token it issues lives that long.
    ExcessiveLifetime,
    /// The header's `kid` names none of the configured secrets (checked only when some secret
    /// is labelled with a key id).
    UnknownKeyId,
    /// The header's `cty` is `JWT`: the payload would be another, nested JWT (RFC 7519 §7.2),
    /// which an access token never is.
    NestedToken,
    /// The token names no `kid`, and more than one key of the JWK set could verify it.
    MissingKeyId,
    /// Not the token's fault: no key set has loaded yet, or the one loaded has been stale
    /// for too long (feature `jwks`). The layer answers 503 with `Retry-After`.
    KeysUnavailable,
    /// An encrypted token (JWE) whose protected header names a key management algorithm,
    /// a content encryption or a content type this API does not accept (`RSA1_5`, `dir`,
    /// `A128CBC-HS256`, …), or asks for compression (`zip`) (feature `jwks`).
    UnsupportedEncryption,
    /// An encrypted token (JWE) that passed the header checks and cannot be decrypted: its
    /// key does not unwrap, its tag does not verify, or what it holds is not a signed token.
    /// One kind and one description for all of them, so that no answer says which step
    /// failed (feature `jwks`).
    Undecryptable,
    /// A signed token (JWS) that is not encrypted, where the registration's
    /// `token_encryption` says every token is (feature `jwks`).
    NotEncrypted,
}

impl TokenErrorKind {
    /// A short, stable, machine-readable reason, used in `tracing` events.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(bearer_guard::TokenErrorKind::InvalidAudience.reason(), "wrong_aud");
    /// ```
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::UnsupportedAlgorithm => "unsupported_alg",
            Self::CriticalHeader => "crit_header",
            Self::InvalidSignature => "bad_signature",
            Self::InvalidClaim => "invalid_claim",
            Self::MissingExpiry => "missing_exp",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::MissingAudience => "missing_aud",
            Self::InvalidAudience => "wrong_aud",
            Self::MissingIssuer => "missing_iss",
            Self::InvalidIssuer => "wrong_iss",
            Self::InvalidType => "wrong_typ",
            Self::MissingClaim => "missing_claim",
            Self::IssuedInFuture => "iat_in_future",
            Self::TooOld => "too_old",
            Self::ExcessiveLifetime => "excessive_lifetime",
            Self::UnknownKeyId => "unknown_kid",
            Self::NestedToken => "nested_jwt",
            Self::MissingKeyId => "missing_kid",
            Self::KeysUnavailable => "keys_unavailable",
            Self::UnsupportedEncryption => "unsupported_enc",
            Self::Undecryptable => "undecryptable",
            Self::NotEncrypted => "not_encrypted",
        }
    }

    /// The generic text sent as `error_description`. It never quotes the token or its claims.
    ///
    /// # Example
    ///
    /// ```
    /// let text = bearer_guard::TokenErrorKind::NotYetValid.description();
    /// assert_eq!(text, "The access token is not valid yet");
    /// ```
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Self::TooLarge => "The access token is too large",
            Self::Malformed => "The access token is malformed",
            Self::UnsupportedAlgorithm => {
                "The access token is not signed with the algorithm this API accepts"
            }
            Self::CriticalHeader => "The access token requires an unsupported extension",
            Self::InvalidSignature => "The access token signature is invalid",
            Self::InvalidClaim => "The access token has an invalid claim",
            Self::MissingExpiry
            | Self::MissingAudience
            | Self::MissingIssuer
            | Self::MissingClaim => "The access token lacks a required claim",
            Self::Expired => "The access token expired",
            Self::NotYetValid => "The access token is not valid yet",
            Self::InvalidAudience => "The access token is not meant for this API",
            Self::InvalidIssuer => "The access token issuer is not trusted",
            Self::InvalidType => "The token is not typed as an access token (at+jwt)",
            Self::IssuedInFuture => "The access token was issued in the future",
            Self::TooOld => "The access token is too old",
            Self::ExcessiveLifetime => "The access token lives longer than this API allows",
            Self::UnknownKeyId => "The access token names an unknown key",
            Self::NestedToken => "The access token is a nested JWT",
            Self::MissingKeyId => "The access token names no key, and several could verify it",
            Self::KeysUnavailable => "The keys to verify access tokens are not available yet",
            Self::UnsupportedEncryption => {
                "The access token is not encrypted the way this API accepts"
            }
            Self::Undecryptable => "The access token cannot be decrypted",
            Self::NotEncrypted => "The access token is not encrypted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_error_shows_its_kind_and_says_what_is_wrong() {
        let err = TokenError::from(TokenErrorKind::Expired);
        assert_eq!(err.to_string(), TokenErrorKind::Expired.description());
        assert!(!err.to_string().is_empty());
        assert_eq!(format!("{err:?}"), "TokenError { kind: Expired }");
    }
}
