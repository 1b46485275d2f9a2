//! The verified-token cache: a repeated token skips its signature and claims parsing.
//!
//! Keyed by the token's exact text: the lookup hashes it with a keyed hash (foldhash, seeded
//! per process) and then compares it in full, so no collision can return another token's
//! claims. Bounded in bytes, with quick_cache's eviction (CLOCK-Pro, in the S3-FIFO family:
//! one-hit tokens leave first, tokens seen again stay). Its shards each have their own lock,
//! so lookups on different cores rarely meet.

mod counter;
mod settings;
mod status;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Lifecycle, OptionsBuilder, Weighter};

pub use settings::TokenCacheSettings;
pub use status::TokenCacheStatus;

use crate::config::ConfigError;
use crate::token::verified::{GuardId, VerifiedToken};
use counter::Counter;

/// What one entry costs beyond its token's text and its verified token: quick_cache's slot
/// and map entry, and the box's header, rounded up.
const ENTRY_OVERHEAD: u64 = 96;

/// The verified tokens, by their text.
pub(crate) struct TokenCache {
    entries: Cache<Box<str>, Entry, ByBytes, DefaultHashBuilder, CountEvictions>,
    /// Seconds an entry is used for.
    max_age: f64,
    max_bytes: u64,
    hits: Counter,
    misses: Counter,
    evictions: Arc<AtomicU64>,
}

/// One verified token, with what decides whether it may still be used.
#[derive(Clone)]
struct Entry {
    token: VerifiedToken,
    /// The key set generation that verified it.
    generation: u64,
    /// Which of the API's issuers it was verified for: its place in their list (0 for an
    /// API with one issuer), so that a hit needs no second look at its `iss`.
    issuer: u8,
    /// When it was verified, in seconds since the epoch.
    verified_at: f64,
}

/// Weighs an entry by the bytes it holds.
#[derive(Clone)]
struct ByBytes;

impl Weighter<Box<str>, Entry> for ByBytes {
    fn weight(&self, key: &Box<str>, entry: &Entry) -> u64 {
        key.len() as u64 + entry.token.heap_size() as u64 + ENTRY_OVERHEAD
    }
}

/// Counts the entries dropped to stay within the bound.
#[derive(Clone)]
struct CountEvictions(Arc<AtomicU64>);

impl Lifecycle<Box<str>, Entry> for CountEvictions {
    type RequestState = ();

    fn on_evict(&self, (): &mut Self::RequestState, _: Box<str>, _: Entry) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl TokenCache {
    /// A cache as `settings` say, or none when they disable it.
    ///
    /// # Errors
    ///
    /// A setting out of its bounds.
    pub(crate) fn new(settings: &TokenCacheSettings) -> Result<Option<Self>, ConfigError> {
        settings.check()?;
        if !settings.enabled {
            return Ok(None);
        }
        let evictions = Arc::new(AtomicU64::new(0));
        // quick_cache sizes its table from the expected count: tokens of about 1 KiB.
        let expected = usize::try_from(settings.max_bytes / 2048).unwrap_or(usize::MAX);
        let options = OptionsBuilder::new()
            .estimated_items_capacity(expected.max(16))
            .weight_capacity(settings.max_bytes)
            .build()
            .map_err(|error| ConfigError::TokenCacheSetting {
                setting: "max_bytes",
                problem: error.to_string(),
            })?;
        Ok(Some(Self {
            entries: Cache::with_options(
                options,
                ByBytes,
                DefaultHashBuilder::default(),
                CountEvictions(evictions.clone()),
            ),
            max_age: settings.max_age.as_secs_f64(),
            max_bytes: settings.max_bytes,
            hits: Counter::default(),
            misses: Counter::default(),
            evictions,
        }))
    }

    /// The verified token for `token` and the place of the issuer it was verified for, if it
    /// is cached and may still be used: verified for the same guard, with the key set
    /// generation `generation` gives for that issuer (the current one; `None` when no key set
    /// is usable), less than the maximum age before `now`. Its claims are not checked against
    /// `now` here: the validator does that on every hit.
    pub(crate) fn get(
        &self,
        token: &str,
        now: f64,
        guard: Option<GuardId>,
        generation: impl FnOnce(usize) -> Option<u64>,
    ) -> Option<(VerifiedToken, usize)> {
        let usable = self.entries.get(token).filter(|entry| {
            let age = now - entry.verified_at;
            (0.0..self.max_age).contains(&age)
                && entry.token.guard() == guard
                && generation(usize::from(entry.issuer)) == Some(entry.generation)
        });
        match usable {
            Some(entry) => {
                self.hits.bump();
                Some((entry.token, usize::from(entry.issuer)))
            }
            None => {
                self.misses.bump();
                None
            }
        }
    }

    /// Keeps `verified`, which passed every check at `now` for the issuer at `issuer` in the
    /// API's list, with the key set generation `generation`.
    pub(crate) fn insert(
        &self,
        token: &str,
        verified: VerifiedToken,
        (issuer, generation): (usize, u64),
        now: f64,
    ) {
        let entry = Entry {
            token: verified,
            generation,
            // The list is bounded far below 256 at build (`MAX_ISSUERS`).
            issuer: u8::try_from(issuer).unwrap_or(u8::MAX),
            verified_at: now,
        };
        self.entries.insert(token.into(), entry);
    }

    /// Drops `token`'s entry: it has expired.
    pub(crate) fn remove(&self, token: &str) {
        self.entries.remove(token);
    }

    /// Its counters and size now.
    pub(crate) fn status(&self) -> TokenCacheStatus {
        TokenCacheStatus {
            hits: self.hits.sum(),
            misses: self.misses.sum(),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries: self.entries.len(),
            bytes: self.entries.weight(),
            max_bytes: self.max_bytes,
        }
    }
}

impl std::fmt::Debug for TokenCache {
    /// The counters only: the tokens are credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("status", &self.status())
            .field("max_age_s", &self.max_age)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::ENTRY_OVERHEAD;
    use crate::test_support::{NOW, claims_json, mint, validator};
    use crate::token::verified::GuardId;
    use crate::token::{TokenCache, TokenCacheSettings, TokenErrorKind, TokenValidator};

    fn cached(settings: TokenCacheSettings) -> TokenValidator {
        TokenValidator {
            cache: TokenCache::new(&settings).unwrap().map(Arc::new),
            ..validator()
        }
    }

    /// (misses, hits, entries).
    fn counts(validator: &TokenValidator) -> (u64, u64, usize) {
        let status = validator.token_cache_status().unwrap();
        (status.misses, status.hits, status.entries)
    }

    fn check(validator: &TokenValidator, token: &str, now: f64) -> Result<(), TokenErrorKind> {
        validator.verify(token, now, None).map(|_| ())
    }

    #[test]
    fn a_hit_checks_the_clock_and_an_expired_entry_goes() {
        let validator = cached(TokenCacheSettings::default());
        let exp = NOW + 100.0;
        let nbf = NOW - 5.0;
        let token = mint(&claims_json(&[
            ("exp", &exp.to_string()),
            ("nbf", &nbf.to_string()),
        ]));
        assert_eq!(check(&validator, &token, NOW), Ok(()));
        assert_eq!(check(&validator, &token, NOW + 50.0), Ok(()));
        assert_eq!(counts(&validator), (1, 1, 1));
        // Before `nbf` (with the 60 s leeway), a time before the entry was made: verified in
        // full, and refused.
        assert_eq!(
            check(&validator, &token, nbf - 61.0),
            Err(TokenErrorKind::NotYetValid)
        );
        // Within the leeway after `exp`: still good; past it: refused, and dropped.
        assert_eq!(check(&validator, &token, exp + 59.0), Ok(()));
        assert_eq!(
            check(&validator, &token, exp + 60.0),
            Err(TokenErrorKind::Expired)
        );
        assert_eq!(counts(&validator), (2, 3, 0));
    }

    #[test]
    fn an_entry_is_used_for_at_most_its_max_age() {
        let settings = TokenCacheSettings::default().max_age(Duration::from_secs(2));
        let validator = cached(settings);
        let token = mint(&claims_json(&[]));
        assert_eq!(check(&validator, &token, NOW), Ok(()));
        assert_eq!(check(&validator, &token, NOW + 1.9), Ok(()));
        assert_eq!(counts(&validator), (1, 1, 1));
        // Two seconds on: verified again in full, and kept anew.
        assert_eq!(check(&validator, &token, NOW + 2.0), Ok(()));
        assert_eq!(check(&validator, &token, NOW + 3.9), Ok(()));
        // A clock that went back is no reason to trust an entry either.
        assert_eq!(check(&validator, &token, NOW), Ok(()));
        assert_eq!(counts(&validator), (3, 2, 1));
    }

    #[test]
    fn only_the_exact_text_hits_and_refusals_are_never_kept() {
        let validator = cached(TokenCacheSettings::default());
        let token = mint(&claims_json(&[]));
        assert_eq!(check(&validator, &token, NOW), Ok(()));
        // Another signature over the same header and claims; a text one byte longer.
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
        let forged = format!("{signed}.{flipped}{}", &signature[1..]);
        for _ in 0..2 {
            assert_eq!(
                check(&validator, &forged, NOW),
                Err(TokenErrorKind::InvalidSignature)
            );
            assert_eq!(
                check(&validator, &format!("{token}A"), NOW),
                Err(TokenErrorKind::InvalidSignature)
            );
        }
        assert_eq!(counts(&validator), (5, 0, 1));
    }

    #[test]
    fn a_token_verified_for_one_guard_is_not_another_guards_hit() {
        let validator = cached(TokenCacheSettings::default());
        let token = mint(&claims_json(&[]));
        let guard_of = |result: Result<crate::VerifiedToken, _>| {
            result
                .ok()
                .and_then(|verified| verified.guard().map(|id| id.0))
        };
        assert_eq!(
            guard_of(validator.verify(&token, NOW, Some(GuardId(1)))),
            Some(1)
        );
        assert_eq!(
            guard_of(validator.verify(&token, NOW, Some(GuardId(2)))),
            Some(2)
        );
        assert_eq!(guard_of(validator.verify(&token, NOW, None)), None);
        assert_eq!(guard_of(validator.verify(&token, NOW, None)), None);
        assert_eq!(counts(&validator).1, 1);
    }

    #[test]
    fn an_entry_weighs_its_text_its_verified_token_and_the_bookkeeping() {
        let validator = cached(TokenCacheSettings::default());
        let token = mint(&claims_json(&[]));
        let verified = validator.verify(&token, NOW, None).unwrap();
        let status = validator.token_cache_status().unwrap();
        let expected = token.len() + verified.heap_size() + ENTRY_OVERHEAD as usize;
        assert_eq!(status.bytes, expected as u64);
        // The verified token holds at least the decoded claims.
        assert!(verified.heap_size() > verified.claims_json().len());
    }

    #[test]
    fn debug_shows_the_counters_and_never_a_token() {
        let validator = cached(TokenCacheSettings::default());
        let token = mint(&claims_json(&[]));
        validator.verify(&token, NOW, None).unwrap();
        let debug = format!("{:?}", validator.cache.as_deref().unwrap());
        assert!(
            debug.contains("entries: 1") && debug.contains("max_age_s: 300"),
            "{debug}"
        );
        let signature = token.rsplit('.').next().unwrap();
        assert!(!debug.contains(signature) && !debug.contains("client@clients"));
    }

    #[test]
    fn a_flood_of_distinct_tokens_stays_within_the_bound_and_hot_tokens_stay() {
        let max_bytes = 256 * 1024;
        let validator = cached(TokenCacheSettings::default().max_bytes(max_bytes));
        let hot = mint(&claims_json(&[("jti", "\"hot\"")]));
        let mut hot_hits = 0;
        for i in 0..3000 {
            let jti = format!("\"flood-{i}\"");
            let token = mint(&claims_json(&[("jti", &jti)]));
            assert_eq!(check(&validator, &token, NOW), Ok(()));
            if i % 10 == 0 {
                let before = counts(&validator).1;
                assert_eq!(check(&validator, &hot, NOW), Ok(()));
                hot_hits += counts(&validator).1 - before;
            }
        }
        let status = validator.token_cache_status().unwrap();
        assert!(status.bytes <= max_bytes, "{status:?}");
        assert!(status.entries < 3000 && status.evictions > 0, "{status:?}");
        // Of 300 uses of the hot token, the first is a miss; it must stay through the flood.
        assert!(hot_hits >= 290, "{hot_hits} hits of 300: {status:?}");
    }
}
