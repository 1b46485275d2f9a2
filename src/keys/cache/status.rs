//! What the key cache reports: for a health endpoint, and for a startup that waits.

use std::fmt;
use std::time::SystemTime;

/// A snapshot of the JWK set cache (feature `jwks`), from
/// [`BearerGuardLayer::key_cache_status`](crate::BearerGuardLayer::key_cache_status): what a
/// health endpoint can show. It holds no key material.
///
/// # Example
///
/// ```
/// let status = bearer_guard::jwks::KeyCacheStatus::default();
/// assert!(!status.loaded);
/// assert_eq!(status.keys, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyCacheStatus {
    /// Whether tokens can be verified now (a set has loaded and is fresh, or stale within
    /// its allowance).
    pub loaded: bool,
    /// Whether the set in use is past its `max-age` (refreshes are failing).
    pub stale: bool,
    /// How many verifying keys the set in use holds.
    pub keys: usize,
    /// When the set in use was fetched.
    pub loaded_at: Option<SystemTime>,
    /// When a fetch last succeeded.
    pub last_success: Option<SystemTime>,
    /// Why the last fetch failed, if it did.
    pub last_error: Option<String>,
    /// Fetches so far.
    pub fetches: u64,
    /// Failed fetches so far.
    pub failures: u64,
    /// The issuer whose tokens these keys verify, when the API has one: of an API with
    /// several ([`issuers`](crate::BearerGuardBuilder::issuers)), which one this is.
    pub issuer: Option<String>,
}

/// No key set loaded in time: from
/// [`BearerGuardLayer::wait_for_keys`](crate::BearerGuardLayer::wait_for_keys), with the
/// cache's status (its last error says why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysNotReady(pub KeyCacheStatus);

impl fmt::Display for KeysNotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no key set loaded yet")?;
        if let Some(issuer) = &self.0.issuer {
            write!(f, " for the issuer {issuer:?}")?;
        }
        match &self.0.last_error {
            Some(error) => write!(f, ": {error}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for KeysNotReady {}
