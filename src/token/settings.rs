//! The token checks a builder collects ([`ValidatorSettings`], every default documented), and
//! the [`TokenValidator`] built from them with their range checks.

use std::sync::Arc;
use std::time::Duration;

use crate::config::ConfigError;
use crate::config::ResourceServer;
use crate::keys::{Algorithms, KeySource};
use crate::token::cache::{TokenCache, TokenCacheSettings};
use crate::token::claims::REGISTERED;
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
    pub(crate) scope_claim: String,
    pub(crate) rfc9068: bool,
    pub(crate) max_token_age: Option<Duration>,
    pub(crate) token_cache: TokenCacheSettings,
}

impl Default for ValidatorSettings {
    /// No issuer check, 60 s of leeway, 8 KiB tokens, scopes in `scope`, no RFC 9068 profile,
    /// no maximum age, the token cache on.
    fn default() -> Self {
        Self {
            issuer: None,
            leeway: DEFAULT_LEEWAY,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            scope_claim: "scope".to_owned(),
            rfc9068: false,
            max_token_age: None,
            token_cache: TokenCacheSettings::default(),
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
        if settings.scope_claim.is_empty() || REGISTERED.contains(&settings.scope_claim.as_str()) {
            return Err(ConfigError::InvalidScopeClaim {
                claim: settings.scope_claim.clone(),
            });
        }
        if settings.max_token_age == Some(Duration::ZERO) {
            return Err(ConfigError::ZeroMaxTokenAge);
        }
        if api.token_lifetime() == Some(0) {
            return Err(ConfigError::ZeroTokenLifetime);
        }
        Ok(Self {
            keys,
            accepted,
            audience: api.identifier().into(),
            issuer: settings.issuer.as_deref().map(Box::from),
            leeway: settings.leeway.as_secs_f64(),
            max_token_len: settings.max_token_len,
            scope_claim: settings.scope_claim.as_str().into(),
            rfc9068: settings.rfc9068,
            max_age: settings.max_token_age.map(|age| age.as_secs_f64()),
            #[allow(clippy::cast_precision_loss)] // Lifetimes are far below 2^53 seconds.
            max_lifetime: api.token_lifetime().map(|seconds| seconds as f64),
            cache: TokenCache::new(&settings.token_cache)?.map(Arc::new),
        })
    }
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
