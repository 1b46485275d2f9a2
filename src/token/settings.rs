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
use crate::token::issuer_keys::{self, IssuerKeys};
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
    /// The claims step-up requirements read; none: `acr` and `auth_time`.
    pub(crate) acr_claim: Option<String>,
    pub(crate) auth_time_claim: Option<String>,
    /// The issuers of [`issuers`](crate::BearerGuardBuilder::issuers); none: `issuer` alone.
    pub(crate) issuers: Option<Vec<String>>,
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
            acr_claim: None,
            auth_time_claim: None,
            issuers: None,
            #[cfg(feature = "jwks")]
            decryption: DecryptionSettings::default(),
        }
    }
}

impl ValidatorSettings {
    /// Every issuer the API takes, checked, the first first: the one of `issuer`, or the list
    /// of `issuers`; empty when `iss` is not checked.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidIssuers`] for a list that is empty, names an issuer twice, is
    /// over the bound or comes with `issuer` too; the errors of one issuer for each.
    pub(crate) fn issuer_list(&self) -> Result<Vec<&str>, ConfigError> {
        let list: Vec<&str> = match (&self.issuer, &self.issuers) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::InvalidIssuers {
                    problem: "issuer(…) and issuers([…]) are both set; give every issuer to issuers([…]), the one to issuer(…) alone".to_owned(),
                });
            }
            (Some(issuer), None) => vec![issuer],
            (None, Some(list)) => {
                issuer_keys::check_list(list)?;
                list.iter().map(String::as_str).collect()
            }
            (None, None) => Vec::new(),
        };
        for issuer in &list {
            check_issuer(issuer)?;
        }
        Ok(list)
    }
}

impl TokenValidator {
    /// The validator of `api`'s tokens, verified with `keys` for the `accepted` algorithms and
    /// checked as `settings` say; every setting is checked here. `more_issuers`: the issuers
    /// after the first (of [`ValidatorSettings::issuer_list`]) with their keys.
    pub(crate) fn from_settings(
        api: &ResourceServer,
        settings: &ValidatorSettings,
        keys: KeySource,
        accepted: Algorithms,
        more_issuers: Vec<IssuerKeys>,
    ) -> Result<Self, ConfigError> {
        let issuer = settings
            .issuer_list()?
            .first()
            .map(|first| Box::from(*first));
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
        let (acr_claim, auth_time_claim) = step_up_claims(settings, scope_claim)?;
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
            issuer,
            leeway: settings.leeway.as_secs_f64(),
            max_token_len: settings.max_token_len,
            scope_claim: scope_claim.into(),
            acr_claim: acr_claim.into(),
            auth_time_claim: auth_time_claim.into(),
            rfc9068,
            max_age: settings.max_token_age.map(|age| age.as_secs_f64()),
            #[allow(clippy::cast_precision_loss)] // Lifetimes are far below 2^53 seconds.
            max_lifetime: api.token_lifetime().map(|seconds| seconds as f64),
            cache: TokenCache::new(&settings.token_cache)?.map(Arc::new),
            more_issuers: more_issuers.into(),
            #[cfg(feature = "jwks")]
            decryption,
        })
    }
}

/// The claims step-up requirements read `acr` and `auth_time` from: the builder's names or
/// the registered ones. A name of its own must be non-empty, neither a registered claim nor the
/// scope claim, and the two must differ: each claim is read once, for one purpose.
fn step_up_claims<'a>(
    settings: &'a ValidatorSettings,
    scope_claim: &str,
) -> Result<(&'a str, &'a str), ConfigError> {
    let acr = settings.acr_claim.as_deref().unwrap_or("acr");
    let auth_time = settings.auth_time_claim.as_deref().unwrap_or("auth_time");
    for (claim, registered) in [(acr, "acr"), (auth_time, "auth_time")] {
        let taken = claim != registered && REGISTERED.contains(&claim);
        if claim.is_empty() || taken || claim == scope_claim || acr == auth_time {
            return Err(ConfigError::InvalidStepUpClaim {
                claim: claim.to_owned(),
            });
        }
    }
    Ok((acr, auth_time))
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
