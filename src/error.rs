//! Errors: [`ConfigError`] when the layer is built, [`TokenError`] when a token fails.
//!
//! # Example
//!
//! ```
//! use bearer_guard::{BearerGuardLayer, ConfigError, ResourceServer};
//!
//! let api = ResourceServer::new("https://my-api-urn", "too short");
//! let err = BearerGuardLayer::builder(api).build().unwrap_err();
//! assert!(matches!(err, ConfigError::SecretTooShort { len: 9 }));
//! ```

use std::fmt;

/// A configuration that bearer-guard refuses, found when the layer is built. See the
/// [module docs](self).
///
/// Messages name the problem and what to do; they never include the signing secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The resource-server JSON could not be read.
    #[error("resource server JSON, line {line} column {column}: {problem}")]
    Json {
        /// Line of the problem, from 1.
        line: usize,
        /// Column of the problem, from 1.
        column: usize,
        /// What is wrong: serde's message when it names only fields, a general one when it
        /// would quote a value (which could be the secret).
        problem: String,
    },
    /// The identifier (the tokens' audience) is empty.
    #[error(
        "the resource server's identifier is empty; it must be the API's audience, an absolute URI such as https://my-api"
    )]
    EmptyIdentifier,
    /// The identifier is not an absolute URI.
    #[error(
        "the resource server's identifier {identifier:?} is not an absolute URI (scheme:rest, no spaces, no fragment)"
    )]
    IdentifierNotAbsoluteUri {
        /// The identifier as configured.
        identifier: String,
    },
    /// The signing algorithm is not HS256.
    #[error("signing_alg {alg:?} is not supported: bearer-guard verifies HS256 tokens only")]
    UnsupportedAlgorithm {
        /// The algorithm as configured.
        alg: String,
    },
    /// There is no signing secret (an RS256 resource server has none).
    #[error(
        "the resource server has no signing_secret; HS256 APIs get one from the authorization server"
    )]
    MissingSecret,
    /// The HMAC implementation refused the secret.
    #[error("the HMAC-SHA256 implementation refused the signing secret")]
    UnusableSecret,
    /// The signing secret is empty.
    #[error("the signing secret is empty")]
    EmptySecret,
    /// The signing secret is shorter than the 32 bytes RFC 7518 §3.2 asks of HS256 keys.
    #[error(
        "the signing secret has {len} bytes; HS256 needs at least 32 (RFC 7518 §3.2). Rotate it, or call allow_short_secret() for a legacy secret"
    )]
    SecretTooShort {
        /// The secret's length in bytes.
        len: usize,
    },
    /// A base64url secret did not decode.
    #[error("the signing secret is not unpadded base64url")]
    SecretNotBase64Url,
    /// A required scope is not among the scopes the resource server declares.
    #[error(
        "scope {scope:?} is required but the resource server does not declare it: fix the name, or add the scope to the API's registration"
    )]
    UndeclaredScope {
        /// The scope as required.
        scope: String,
    },
    /// A required scope breaks the scope-token grammar of RFC 6749 §3.3.
    #[error("scope {scope:?} is not a valid scope token (printable ASCII, no space, '\"' or '\\')")]
    InvalidScope {
        /// The scope as required.
        scope: String,
    },
    /// A scope requirement lists no scope.
    #[error("a scope requirement must name at least one scope")]
    EmptyScopeRequirement,
    /// The expected issuer is empty.
    #[error("the expected issuer is empty; leave it unset to skip the issuer check")]
    EmptyIssuer,
    /// The realm cannot be sent in a `WWW-Authenticate` header.
    #[error("realm {realm:?} must be printable ASCII without '\"' or '\\'")]
    InvalidRealm {
        /// The realm as configured.
        realm: String,
    },
    /// The scope claim name is empty or names a registered claim.
    #[error(
        "scope claim {claim:?} must be a non-empty name other than a registered claim (exp, nbf, iat, aud, iss, sub, azp, client_id, jti)"
    )]
    InvalidScopeClaim {
        /// The claim name as configured.
        claim: String,
    },
    /// The leeway is larger than bearer-guard allows.
    #[error(
        "leeway of {seconds} s is over the {max} s maximum; clocks that far apart need fixing, not tolerating"
    )]
    LeewayTooLarge {
        /// The leeway as configured, in seconds.
        seconds: u64,
        /// The largest leeway allowed, in seconds.
        max: u64,
    },
    /// The resource server's `token_lifetime` is zero.
    #[error("token_lifetime is 0: no token could be valid")]
    ZeroTokenLifetime,
    /// The maximum token age is zero.
    #[error("max_token_age must be more than zero")]
    ZeroMaxTokenAge,
    /// More signing secrets than a validator tries (current plus previous ones).
    #[error(
        "{count} signing secrets configured; at most {max} are accepted at once. Drop secrets whose tokens have all expired"
    )]
    TooManySecrets {
        /// The number configured, the resource server's own included.
        count: usize,
        /// The most allowed.
        max: usize,
    },
    /// Two signing secrets are labelled with the same key id.
    #[error("key id {kid:?} labels more than one signing secret; give each secret its own key id")]
    DuplicateKeyId {
        /// The key id as configured.
        kid: String,
    },
    /// A signing secret is labelled with an empty key id.
    #[error(
        "a key id must not be empty; label the secret with a non-empty kid, or add it with previous_secret"
    )]
    EmptyKeyId,
    /// The maximum token size is outside the allowed range.
    #[error("max_token_len {len} is outside {min}..={max} bytes")]
    MaxTokenLenOutOfRange {
        /// The size as configured.
        len: usize,
        /// The smallest size allowed.
        min: usize,
        /// The largest size allowed.
        max: usize,
    },
}

/// Why a token was not accepted. See the [module docs](self).
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

/// The reason a token failed, one per check. Every kind is answered `401 invalid_token`.
///
/// # Example
///
/// ```
/// use bearer_guard::TokenErrorKind;
///
/// assert_eq!(TokenErrorKind::Expired.code(), "expired");
/// assert_eq!(TokenErrorKind::Expired.description(), "The access token expired");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenErrorKind {
    /// Longer than the configured maximum; nothing was decoded.
    TooLarge,
    /// Not three base64url segments of JSON objects.
    Malformed,
    /// The header's `alg` is not HS256 (`none`, HS384, RS256, …).
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
}

impl TokenErrorKind {
    /// A short, stable, machine-readable reason, used in `tracing` events.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(bearer_guard::TokenErrorKind::InvalidAudience.code(), "wrong_aud");
    /// ```
    #[must_use]
    pub fn code(self) -> &'static str {
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
            Self::UnsupportedAlgorithm => "The access token is not signed with HS256",
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
        }
    }
}

/// Why a request's credentials could not be read. Every kind is answered
/// `400 invalid_request` (RFC 6750 §3.1).
///
/// # Example
///
/// ```
/// use bearer_guard::RequestErrorKind;
///
/// assert_eq!(RequestErrorKind::MultipleHeaders.code(), "multiple_authorization_headers");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestErrorKind {
    /// `Authorization: Bearer` with no token after it.
    EmptyToken,
    /// The credentials break the `Bearer 1*SP b64token` grammar (RFC 6750 §2.1).
    MalformedCredentials,
    /// More than one `Authorization` header.
    MultipleHeaders,
    /// More than one `access_token` parameter in the query or the form body.
    MultipleTokenParameters,
    /// The token came by more than one method (header, query, form body).
    MultipleMethods,
    /// A form body was larger than `FormTokenLayer` (feature `form`) reads.
    BodyTooLarge,
    /// A form body could not be read.
    UnreadableBody,
}

impl RequestErrorKind {
    /// A short, stable, machine-readable reason, used in `tracing` events.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(bearer_guard::RequestErrorKind::EmptyToken.code(), "empty_token");
    /// ```
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::EmptyToken => "empty_token",
            Self::MalformedCredentials => "malformed_credentials",
            Self::MultipleHeaders => "multiple_authorization_headers",
            Self::MultipleTokenParameters => "multiple_token_parameters",
            Self::MultipleMethods => "multiple_methods",
            Self::BodyTooLarge => "body_too_large",
            Self::UnreadableBody => "unreadable_body",
        }
    }

    /// The generic text sent as `error_description`.
    ///
    /// # Example
    ///
    /// ```
    /// let text = bearer_guard::RequestErrorKind::MultipleHeaders.description();
    /// assert_eq!(text, "Only one Authorization header is allowed");
    /// ```
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Self::EmptyToken => "The bearer token is missing",
            Self::MalformedCredentials => "The bearer credentials are malformed",
            Self::MultipleHeaders => "Only one Authorization header is allowed",
            Self::MultipleTokenParameters => "Only one access_token parameter is allowed",
            Self::MultipleMethods => "The access token was sent by more than one method",
            Self::BodyTooLarge => "The form body is too large to read an access token from",
            Self::UnreadableBody => "The form body could not be read",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_error_codes_are_the_documented_ones() {
        let codes = [
            RequestErrorKind::EmptyToken,
            RequestErrorKind::MalformedCredentials,
            RequestErrorKind::MultipleHeaders,
            RequestErrorKind::MultipleTokenParameters,
            RequestErrorKind::MultipleMethods,
            RequestErrorKind::BodyTooLarge,
            RequestErrorKind::UnreadableBody,
        ]
        .map(RequestErrorKind::code);
        assert_eq!(
            codes,
            [
                "empty_token",
                "malformed_credentials",
                "multiple_authorization_headers",
                "multiple_token_parameters",
                "multiple_methods",
                "body_too_large",
                "unreadable_body",
            ]
        );
    }

    #[test]
    fn token_error_shows_its_kind_and_says_what_is_wrong() {
        let err = TokenError::from(TokenErrorKind::Expired);
        assert_eq!(err.to_string(), TokenErrorKind::Expired.description());
        assert!(!err.to_string().is_empty());
        assert_eq!(format!("{err:?}"), "TokenError { kind: Expired }");
    }
}
