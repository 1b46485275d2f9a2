//! The verified-token cache's size and age, with their defaults and bounds.

use std::time::Duration;

use crate::config::ConfigError;

/// The default bound on the cache's memory: 8 MiB.
pub(crate) const DEFAULT_MAX_BYTES: u64 = 8 * 1024 * 1024;

/// The default longest time an entry is used: 5 minutes.
pub(crate) const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// The smallest bound accepted, 64 KiB: below that the cache holds too few tokens to help.
const MIN_MAX_BYTES: u64 = 64 * 1024;

/// The largest bound accepted, 4 GiB.
const MAX_MAX_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// The longest entry age accepted, 1 hour.
const LONGEST_MAX_AGE: Duration = Duration::from_secs(3600);

/// How the guard caches the tokens it has verified, so that a client repeating its token (as
/// every client does, for the token's whole lifetime) skips the signature and the claims
/// parsing. On by default; [`BearerGuardBuilder::token_cache`](crate::BearerGuardBuilder::token_cache)
/// sizes or disables it.
///
/// | setting | default | bounds |
/// |---|---|---|
/// | [`max_bytes`](Self::max_bytes) | 8 MiB: 20,000 Auth0 access tokens of 432 bytes (an entry costs the token's decoded claims plus about 140 bytes, not the token's text) | 64 KiB to 4 GiB |
/// | [`max_age`](Self::max_age) | 5 min: the longest an entry is used before the token is verified again | 1 s to 1 h |
///
/// What a hit still checks, on every request: `exp`, `nbf` and every other time rule
/// against the current clock (with the leeway), the audience and issuer, the layer's scope
/// requirements (and the scope layers behind it, which run as always); and that the key
/// which verified the token is still in the key set: any change to the JWK set makes every
/// entry verify again. Only tokens that passed every check are cached; rejections never are.
///
/// **The trade-off.** A token stays accepted, for at most [`max_age`](Self::max_age), after
/// its key is revoked at the provider but before the guard's key set refresh sees it: a
/// revoked key stops working within one key set refresh plus `max_age`. Without the cache it
/// stops within one refresh. Tokens themselves cannot be revoked by either: a JWT is valid
/// until its `exp`.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use bearer_guard::{BearerGuardLayer, ResourceServer};
/// use bearer_guard::cache::TokenCacheSettings;
///
/// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
/// let guard = BearerGuardLayer::builder(api.clone())
///     .token_cache(TokenCacheSettings::default().max_bytes(32 << 20).max_age(Duration::from_secs(60)))
///     .build()?;
/// assert_eq!(guard.token_cache_status().map(|status| status.max_bytes), Some(32 << 20));
///
/// let uncached = BearerGuardLayer::builder(api).token_cache(TokenCacheSettings::disabled()).build()?;
/// assert!(uncached.token_cache_status().is_none());
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct TokenCacheSettings {
    pub(crate) enabled: bool,
    pub(crate) max_bytes: u64,
    pub(crate) max_age: Duration,
}

impl Default for TokenCacheSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            max_bytes: DEFAULT_MAX_BYTES,
            max_age: DEFAULT_MAX_AGE,
        }
    }
}

impl TokenCacheSettings {
    /// No cache: every request verifies its token's signature and parses its claims.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// The most memory the cache's entries may take, in bytes (the tokens' decoded claims,
    /// their fingerprints and the cache's bookkeeping). Defaults to 8 MiB.
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// The longest an entry is used; after that the token is verified again. Defaults to
    /// 5 minutes.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Checks every bound.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if !self.enabled {
            return Ok(());
        }
        if !(MIN_MAX_BYTES..=MAX_MAX_BYTES).contains(&self.max_bytes) {
            return Err(ConfigError::TokenCacheSetting {
                setting: "max_bytes",
                problem: format!(
                    "{} is outside {MIN_MAX_BYTES} to {MAX_MAX_BYTES}",
                    self.max_bytes
                ),
            });
        }
        if !(Duration::from_secs(1)..=LONGEST_MAX_AGE).contains(&self.max_age) {
            return Err(ConfigError::TokenCacheSetting {
                setting: "max_age",
                problem: format!("{:?} is outside 1s to {LONGEST_MAX_AGE:?}", self.max_age),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds_are_the_documented_ones() {
        let defaults = TokenCacheSettings::default();
        assert!(defaults.enabled);
        assert_eq!(defaults.max_bytes, 8_388_608);
        assert_eq!(defaults.max_age, Duration::from_secs(300));
        assert_eq!(
            (MIN_MAX_BYTES, MAX_MAX_BYTES),
            (65_536, 4_294_967_296),
            "64 KiB to 4 GiB"
        );
    }

    #[test]
    fn bounds_are_checked_and_a_disabled_cache_has_none() {
        assert_eq!(TokenCacheSettings::default().check(), Ok(()));
        let bytes = |n| TokenCacheSettings::default().max_bytes(n).check();
        assert_eq!(bytes(MIN_MAX_BYTES), Ok(()));
        assert_eq!(bytes(MAX_MAX_BYTES), Ok(()));
        assert!(bytes(MIN_MAX_BYTES - 1).is_err());
        assert!(bytes(MAX_MAX_BYTES + 1).is_err());
        let age = |d| TokenCacheSettings::default().max_age(d).check();
        assert_eq!(age(Duration::from_secs(1)), Ok(()));
        assert_eq!(age(LONGEST_MAX_AGE), Ok(()));
        assert!(age(Duration::from_millis(999)).is_err());
        assert!(age(LONGEST_MAX_AGE + Duration::from_millis(1)).is_err());
        assert_eq!(TokenCacheSettings::disabled().max_bytes(0).check(), Ok(()));
    }
}
