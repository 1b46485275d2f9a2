//! The issuers after the first of an API with several ([`IssuerKeys`]), and the checks on the
//! list ([`check_list`]); how a token picks one is in `issuers.rs`.

use crate::config::ConfigError;
use crate::keys::KeySource;

/// At most this many issuers for one API. Each issuer of an API signed with public keys is a
/// key cache with its own discovery, fetches and background refresh (at the issuer, N of them
/// per instance of the API), and a token's `iss` is compared to each in turn on a cache
/// miss: 16 covers a canonical domain and a brand's worth of custom ones while keeping both
/// costs small and bounded. More is a sign of one API standing in for several, which
/// [`MultiApiLayer`](crate::MultiApiLayer) does better.
pub(crate) const MAX_ISSUERS: usize = 16;

/// An issuer after the first, and the keys its tokens are verified with.
#[derive(Debug, Clone)]
pub(crate) struct IssuerKeys {
    pub(crate) issuer: Box<str>,
    /// Its own keys (a key cache found by its own discovery); `None`: the first issuer's,
    /// which every issuer shares (the HMAC secret, or a static JWK set).
    pub(crate) keys: Option<KeySource>,
}

/// Checks a list of issuers: not empty, no issuer twice, at most [`MAX_ISSUERS`].
pub(crate) fn check_list(issuers: &[String]) -> Result<(), ConfigError> {
    let invalid = |problem: String| Err(ConfigError::InvalidIssuers { problem });
    if issuers.is_empty() {
        return invalid("the list is empty; give at least one issuer, or leave both issuer(…) and issuers(…) unset to skip the issuer check".to_owned());
    }
    if issuers.len() > MAX_ISSUERS {
        return invalid(format!(
            "{} issuers, more than the {MAX_ISSUERS} one API takes; an API whose tokens come from that many authorization servers is several APIs (MultiApiLayer)",
            issuers.len()
        ));
    }
    for (at, issuer) in issuers.iter().enumerate() {
        if issuers[..at].contains(issuer) {
            return invalid(format!("{issuer:?} is given twice"));
        }
    }
    Ok(())
}
