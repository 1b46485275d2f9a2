//! What the verified-token cache reports.

/// A snapshot of the verified-token cache, from
/// [`BearerGuardLayer::token_cache_status`](crate::BearerGuardLayer::token_cache_status) or
/// [`TokenValidator::token_cache_status`](crate::TokenValidator::token_cache_status): for a
/// metrics endpoint. The counters run from the guard's start.
///
/// # Example
///
/// ```
/// use bearer_guard::{BearerGuardLayer, ResourceServer};
/// use bearer_guard::issuer::TokenIssuer;
///
/// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
/// let validator = BearerGuardLayer::builder(api.clone()).build_validator()?;
/// let token = TokenIssuer::new(&api, "https://tenant.example/")?.token("alice").sign()?;
/// for _ in 0..3 {
///     validator.validate(&token)?;
/// }
/// let status = validator.token_cache_status().unwrap_or_default();
/// assert_eq!((status.misses, status.hits, status.entries), (1, 2, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenCacheStatus {
    /// Requests whose token was found in the cache, still fit to use.
    pub hits: u64,
    /// Requests whose token was not (or no longer: too old, verified by a key set since
    /// changed) and was verified in full.
    pub misses: u64,
    /// Entries the cache dropped to stay within its bound.
    pub evictions: u64,
    /// Tokens held now.
    pub entries: usize,
    /// Bytes the entries take now, as the bound counts them.
    pub bytes: u64,
    /// The bound on `bytes`.
    pub max_bytes: u64,
}
