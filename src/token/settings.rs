//! The token checks a builder collects ([`ValidatorSettings`], every default documented), and
//! the [`TokenValidator`] built from them with their range checks.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{ConfigError, ResourceServer, TokenDialect};
use crate::keys::{Algorithms, KeySource};
use crate::token::cache::{TokenCache, TokenCacheSettings};
use crate::token::claims::REGISTERED;
#[cfg(feature = "jwks")]
use crate::token::decryption::{Decryption, DecryptionSettings};
use crate::token::validator::TokenValidator;

/// Defaults to 60 s; at most [`MAX_LEEWAY`].
const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
pub(crate) const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// Defaults to 8 KiB; within [`MAX_TOKEN_LEN_RANGE`].
const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
const MAX_TOKEN_LEN_RANGE: (usize, usize) = (256, 64 * 1024);

/// What the validator checks besides the registration.
#[derive(Debug)]
pub(crate) struct ValidatorSettings {
    /// The expected `iss`; none: not checked.
    pub(crate) issuer: Option<String>,
    pub(crate) leeway: Duration,
    pub(crate) max_token_len: usize,
    /// Set by the builder; none: the registration's `token_dialect` decides.
    pub(crate) scope_claim: Option<String>,
    /// `Some(true)` once the builder asked for RFC 9068; none: the dialect decides.
    pub(crate) rfc9068: Option<bool>,
    pub(crate) max_token_age: Option<Duration>,
    pub(crate) token_cache: TokenCacheSettings,
    /// The private keys of an API whose tokens are encrypted (`token_encryption`).
    #[cfg(feature = "jwks")]
    pub(crate) decryption: DecryptionSettings,
}

impl Default for ValidatorSettings {
    /// No issuer check, 60 s of leeway, 8 KiB tokens, the scope claim and RFC 9068 profile
    /// of the registration's `token_dialect` (`scope`, no profile, without one), no maximum
    /// age, the token cache on.
    fn default() -> Self {
        Self {
            issuer: None,
            leeway: DEFAULT_LEEWAY,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            scope_claim: None,
            rfc9068: None,
            max_token_age: None,
            token_cache: TokenCacheSettings::default(),
            #[cfg(feature = "jwks")]
            decryption: DecryptionSettings::default(),
        }
    }
}

impl TokenValidator {
    /// The validator of `api`'s tokens, verified with `keys` for the `accepted` algorithms and
    /// checked as `settings` say; every setting is checked here.
    pub(crate) fn from_settings(
        api: &ResourceServer,
        settings: &ValidatorSettings,
        keys: KeySource,
        accepted: Algorithms,
    ) -> Result<Self, ConfigError> {
        if let Some(issuer) = &settings.issuer {
            check_issuer(issuer)?;
        }
        if settings.leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge {
                seconds: settings.leeway.as_secs(),
                max: MAX_LEEWAY.as_secs(),
            });
        }
        let (min, max) = MAX_TOKEN_LEN_RANGE;
        if !(min..=max).contains(&settings.max_token_len) {
            return Err(ConfigError::MaxTokenLenOutOfRange {
                len: settings.max_token_len,
                min,
                max,
            });
        }
        let (scope_claim, rfc9068) = with_dialect(api, settings)?;
        if scope_claim.is_empty() || REGISTERED.contains(&scope_claim) {
            return Err(ConfigError::InvalidScopeClaim {
                claim: scope_claim.to_owned(),
            });
        }
        if settings.max_token_age == Some(Duration::ZERO) {
            return Err(ConfigError::ZeroMaxTokenAge);
        }
        if api.token_lifetime() == Some(0) {
            return Err(ConfigError::ZeroTokenLifetime);
        }
        #[cfg(feature = "jwks")]
        let decryption = Decryption::from_settings(api, &settings.decryption)?;
        #[cfg(not(feature = "jwks"))]
        if let Some(registration) = api.token_encryption() {
            registration.check()?;
            return Err(ConfigError::TokenEncryptionNeedsJwksFeature);
        }
        Ok(Self {
            keys,
            accepted,
            audience: api.identifier().into(),
            issuer: settings.issuer.as_deref().map(Box::from),
            leeway: settings.leeway.as_secs_f64(),
            max_token_len: settings.max_token_len,
            scope_claim: scope_claim.into(),
            rfc9068,
            max_age: settings.max_token_age.map(|age| age.as_secs_f64()),
            #[allow(clippy::cast_precision_loss)] // Lifetimes are far below 2^53 seconds.
            max_lifetime: api.token_lifetime().map(|seconds| seconds as f64),
            cache: TokenCache::new(&settings.token_cache)?.map(Arc::new),
            #[cfg(feature = "jwks")]
            decryption,
        })
    }
}

/// The scope claim and whether RFC 9068 applies: the builder's settings where it has them, else
/// the registration's `token_dialect`. A setting the dialect contradicts (when the
/// registration names one) is refused, naming both.
fn with_dialect<'a>(
    api: &ResourceServer,
    settings: &'a ValidatorSettings,
) -> Result<(&'a str, bool), ConfigError> {
    let dialect = api.explicit_token_dialect()?;
    let conflict = |setting: String, dialect: TokenDialect, expected| {
        Err(ConfigError::TokenDialectConflict {
            setting,
            dialect,
            expected,
        })
    };
    let scope_claim = match (settings.scope_claim.as_deref(), dialect) {
        (Some(claim), Some(dialect)) if claim != dialect.scope_claim() => {
            let expected = if dialect.has_permissions() {
                "carry their permissions in `permissions`, which scope requirements are checked against"
            } else {
                "carry their scopes in `scope` and no `permissions`"
            };
            return conflict(format!("scope_claim({claim:?})"), dialect, expected);
        }
        (Some(claim), _) => claim,
        (None, dialect) => dialect.unwrap_or_default().scope_claim(),
    };
    let rfc9068 = match (settings.rfc9068, dialect) {
        (Some(true), Some(dialect)) if !dialect.is_rfc9068() => {
            return conflict(
                "rfc9068_profile()".to_owned(),
                dialect,
                "follow Auth0's profile (typ JWT, azp rather than client_id, no jti), which RFC 9068's refuses",
            );
        }
        (Some(profile), _) => profile,
        (None, dialect) => dialect.is_some_and(TokenDialect::is_rfc9068),
    };
    Ok((scope_claim, rfc9068))
}

/// Checks the expected issuer: not empty, and an Auth0 domain in the form its tokens carry.
fn check_issuer(issuer: &str) -> Result<(), ConfigError> {
    if issuer.is_empty() {
        return Err(ConfigError::EmptyIssuer);
    }
    let rest = issuer
        .strip_prefix("https://")
        .or_else(|| issuer.strip_prefix("http://"))
        .unwrap_or(issuer);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let is_auth0 = host
        .to_ascii_lowercase()
        .strip_suffix(".auth0.com")
        .is_some_and(|tenant| !tenant.is_empty());
    let expected = format!("https://{host}/");
    if is_auth0 && issuer != expected {
        return Err(ConfigError::Auth0IssuerForm {
            issuer: issuer.to_owned(),
            expected,
        });
    }
    Ok(())
}
