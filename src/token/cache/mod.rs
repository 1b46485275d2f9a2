//! The verified-token cache: a repeated token skips its signature and claims parsing.
//!
//! Keyed by a 256-bit fingerprint of the token's text and the guard that verified it
//! (`fingerprint.rs` says why a hit is still certain to be the same token, and why not a
//! cryptographic hash), so an entry holds no copy of the token: it is the fingerprint, the
//! verified token's one buffer (its claims packed in front of the decoded payload, shared
//! with every request that hits it: a hit is a reference count), and three numbers. Keyed by
//! its text, with the earlier layout of the claims, an Auth0 access token of 432 bytes took
//! 1,515 bytes (5,528 in the default 8 MiB); now 396, and the default holds 20,000
//! (`cargo bench --bench token_cache`, part 4; BENCHMARKS.md).
//!
//! Bounded in bytes, with quick_cache's eviction (CLOCK-Pro, in the S3-FIFO family: one-hit
//! tokens leave first, tokens seen again stay). Its shards each have their own lock, so
//! lookups on different cores rarely meet.
//!
//! **What an entry weighs.** Its buffer as allocated (with the reference counts), and its
//! share of quick_cache's own memory: its slot (the fingerprint, the entry, the eviction
//! state, the list links) and its share of the map's table, counted at [`SLOT_BYTES`]; and
//! the cache holds back, from its bound, the room of the ghosts (the fingerprints of recently
//! evicted entries that quick_cache keeps, one slot each, up to [`GHOSTS`] of the expected
//! entries). The `alloc` bench checks the count against the bytes the allocator hands out.

mod counter;
mod fingerprint;
mod settings;
mod status;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Lifecycle, OptionsBuilder, Weighter};

pub use settings::TokenCacheSettings;
pub use status::TokenCacheStatus;

use crate::config::ConfigError;
use crate::token::packed::Packed;
use crate::token::verified::{GuardId, VerifiedToken};
use counter::Counter;
use fingerprint::Fingerprint;

/// What one entry costs in quick_cache beyond its buffer: its slot in the slab (the 32-byte
/// fingerprint, the 32-byte [`Entry`], the eviction state and two list links, 80 bytes) and
/// its share of the map's table (a 4-byte index and a control byte, at most 7/8 full).
const SLOT_BYTES: u64 = 88;

/// The ghosts quick_cache may keep, as a share of the expected entries.
const GHOSTS: f64 = 0.05;

/// The size of an entry the table is sized for: an Auth0 access token's.
const EXPECTED_ENTRY: u64 = 400;

/// The verified tokens, by their fingerprints.
pub(crate) struct TokenCache {
    entries: Cache<Fingerprint, Entry, ByBytes, DefaultHashBuilder, CountEvictions>,
    /// The fingerprints' key.
    key: &'static [u64],
    /// Seconds an entry is used for.
    max_age: f64,
    max_bytes: u64,
    hits: Counter,
    misses: Counter,
    evictions: Arc<AtomicU64>,
}

/// One verified token (its claims and payload; the guard is in the fingerprint), with what
/// decides whether it may still be used.
#[derive(Clone)]
struct Entry {
    token: Packed,
    /// The key set generation that verified it.
    generation: u64,
    /// When it was verified, in whole seconds since the epoch.
    verified_at: u32,
    /// Which of the API's issuers it was verified for: its place in their list (0 for an
    /// API with one issuer), so that a hit needs no second look at its `iss`.
    issuer: u8,
}

/// Weighs an entry by the bytes it holds.
#[derive(Clone)]
struct ByBytes;

impl Weighter<Fingerprint, Entry> for ByBytes {
    fn weight(&self, _: &Fingerprint, entry: &Entry) -> u64 {
        entry.token.heap_size() as u64 + SLOT_BYTES
    }
}

/// Counts the entries dropped to stay within the bound.
#[derive(Clone)]
struct CountEvictions(Arc<AtomicU64>);

impl Lifecycle<Fingerprint, Entry> for CountEvictions {
    type RequestState = ();

    fn on_evict(&self, (): &mut Self::RequestState, _: Fingerprint, _: Entry) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A guard as the fingerprint takes it: guard ids start at 1.
fn guard_word(guard: Option<GuardId>) -> u64 {
    guard.map_or(0, |id| id.0)
}

/// `now`, in whole seconds since the epoch, rounded down: an entry's age is never read
/// short, so none is used past its maximum age (at most a second before it).
fn seconds_rounded_down(now: f64) -> u32 {
    // Saturating: a clock before 1970 reads as 0, one past 2106 as `u32::MAX`.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let seconds = now.floor() as u32;
    seconds
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
        let expected = settings.max_bytes / EXPECTED_ENTRY;
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let ghosts = (expected as f64 * GHOSTS) as u64;
        let options = OptionsBuilder::new()
            .estimated_items_capacity(usize::try_from(expected.max(16)).unwrap_or(usize::MAX))
            .ghost_allocation(GHOSTS)
            .weight_capacity(settings.max_bytes.saturating_sub(ghosts * SLOT_BYTES))
            .build()
            .map_err(|error| ConfigError::TokenCacheSetting {
                setting: "max_bytes",
                problem: error.to_string(),
            })?;
        let entries = Cache::with_options(
            options,
            ByBytes,
            DefaultHashBuilder::default(),
            CountEvictions(evictions.clone()),
        );
        // The slab and the table sized once for the expected entries and their ghosts, so
        // that they cost what the weigher counts; grown by doubling they would take up to
        // twice as much. Only address space until entries come: the pages are touched as the
        // slots fill.
        entries.reserve(usize::try_from(expected).unwrap_or(usize::MAX));
        Ok(Some(Self {
            entries,
            key: fingerprint::key(),
            max_age: settings.max_age.as_secs_f64(),
            max_bytes: settings.max_bytes,
            hits: Counter::default(),
            misses: Counter::default(),
            evictions,
        }))
    }

    fn fingerprint(&self, token: &str, guard: Option<GuardId>) -> Option<Fingerprint> {
        Fingerprint::of(self.key, guard_word(guard), token.as_bytes())
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
        let usable = self
            .fingerprint(token, guard)
            .and_then(|fingerprint| self.entries.get(&fingerprint))
            .filter(|entry| {
                let age = now - f64::from(entry.verified_at);
                (0.0..self.max_age).contains(&age)
                    && generation(usize::from(entry.issuer)) == Some(entry.generation)
            });
        match usable {
            Some(entry) => {
                self.hits.bump();
                let issuer = usize::from(entry.issuer);
                Some((VerifiedToken::of_packed(entry.token, guard), issuer))
            }
            None => {
                self.misses.bump();
                None
            }
        }
    }

    /// Keeps `verified`, which passed every check at `now` for the issuer at `issuer` in the
    /// API's list, with the key set generation `generation`, for the guard that verified it.
    pub(crate) fn insert(
        &self,
        token: &str,
        verified: &VerifiedToken,
        (issuer, generation): (usize, u64),
        now: f64,
    ) {
        let Some(fingerprint) = self.fingerprint(token, verified.guard()) else {
            return;
        };
        let entry = Entry {
            token: verified.packed().clone(),
            generation,
            verified_at: seconds_rounded_down(now),
            // The list is bounded far below 256 at build (`MAX_ISSUERS`).
            issuer: u8::try_from(issuer).unwrap_or(u8::MAX),
        };
        self.entries.insert(fingerprint, entry);
    }

    /// Drops `token`'s entry for `guard`: it has expired.
    pub(crate) fn remove(&self, token: &str, guard: Option<GuardId>) {
        if let Some(fingerprint) = self.fingerprint(token, guard) {
            self.entries.remove(&fingerprint);
        }
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

    use super::SLOT_BYTES;
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
    fn an_entry_weighs_its_buffer_and_the_bookkeeping() {
        let validator = cached(TokenCacheSettings::default());
        let token = mint(&claims_json(&[]));
        let verified = validator.verify(&token, NOW, None).unwrap();
        let status = validator.token_cache_status().unwrap();
        let expected = verified.packed().heap_size() + SLOT_BYTES as usize;
        assert_eq!(status.bytes, expected as u64);
        // The buffer holds the decoded claims, and not the token's text.
        let buffer = verified.packed().heap_size();
        assert!(
            buffer > verified.claims_json().len() && buffer < token.len(),
            "{buffer}"
        );
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

    /// An Auth0 client-credentials token, as the benches mint it (with a `jti`).
    fn auth0_token(jti: &str) -> String {
        let client = "Hk3AiVbjR5bx4BG2ZYjbnQ3xBOpS5Q8t";
        mint(&claims_json(&[
            ("sub", &format!("\"{client}@clients\"")),
            ("scope", "\"read:messages\""),
            ("gty", "\"client-credentials\""),
            ("azp", &format!("\"{client}\"")),
            ("jti", &format!("\"{jti}\"")),
        ]))
    }

    #[test]
    fn twenty_thousand_auth0_tokens_fit_the_default_bound_by_the_weighers_count() {
        let validator = cached(TokenCacheSettings::default());
        let token = auth0_token("flood12345");
        assert!(token.len() >= 400, "{}", token.len());
        validator.verify(&token, NOW, None).unwrap();
        let cache = validator.cache.as_deref().unwrap();
        let weight = cache.status().bytes;
        // The bound less the ghosts' room, as quick_cache holds it.
        let capacity = cache.entries.capacity();
        assert!(capacity < 8 << 20 && capacity > 8_100_000, "{capacity}");
        assert!(20_000 * weight <= capacity, "{weight} bytes an entry");
    }

    #[test]
    fn a_hit_returns_exactly_the_verified_claims() {
        let validator = cached(TokenCacheSettings::default());
        let uncached = crate::test_support::validator();
        let token = mint(&claims_json(&[
            ("azp", "\"a\\/zp\""),
            ("client_id", "\"c\""),
            ("jti", "\"j\""),
            ("nbf", &(NOW - 1.5).to_string()),
            ("acr", "\"urn:mfa\""),
            ("auth_time", &(NOW - 30.0).to_string()),
            (
                "cnf",
                r#"{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I","x5t#S256":"x5t"}"#,
            ),
            ("scope", "[\"read:messages\",\"op\\u0065nid\"]"),
        ]));
        let full = uncached.verify(&token, NOW, Some(GuardId(3))).unwrap();
        let miss = validator.verify(&token, NOW, Some(GuardId(3))).unwrap();
        let hit = validator.verify(&token, NOW, Some(GuardId(3))).unwrap();
        assert_eq!(counts(&validator), (1, 1, 1));
        for verified in [&miss, &hit] {
            assert_eq!(verified.claims_json(), full.claims_json());
            assert_eq!(verified.subject(), Some("client@clients"));
            assert_eq!(verified.issuer(), full.issuer());
            assert_eq!(verified.authorized_party(), Some("a/zp"));
            assert_eq!(verified.client_id(), Some("c"));
            assert_eq!(verified.jwt_id(), Some("j"));
            assert_eq!(verified.authentication_context_class(), Some("urn:mfa"));
            assert_eq!(verified.authenticated_at(), full.authenticated_at());
            assert!(verified.authenticated_at().is_some());
            assert_eq!(
                verified.confirmation_thumbprint(),
                full.confirmation_thumbprint()
            );
            assert_eq!(verified.certificate_thumbprint(), Some("x5t"));
            assert_eq!(verified.expires_at(), full.expires_at());
            assert_eq!(verified.not_before(), full.not_before());
            assert_eq!(verified.issued_at(), full.issued_at());
            assert_eq!(
                verified.scopes().iter().collect::<Vec<_>>(),
                ["read:messages", "openid"]
            );
            assert_eq!(verified.guard(), Some(GuardId(3)));
        }
    }

    #[test]
    fn two_different_tokens_never_share_an_entry() {
        let validator = cached(TokenCacheSettings::default());
        let tokens: Vec<String> = (0..500).map(|i| auth0_token(&format!("t{i}"))).collect();
        for _ in 0..2 {
            for (i, token) in tokens.iter().enumerate() {
                let verified = validator.verify(token, NOW, None).unwrap();
                assert_eq!(verified.jwt_id(), Some(format!("t{i}").as_str()));
            }
        }
        assert_eq!(counts(&validator), (500, 500, 500));
        // One token under two guards: two entries, each its guard's.
        let token = &tokens[0];
        validator.verify(token, NOW, Some(GuardId(9))).unwrap();
        let hit = validator.verify(token, NOW, Some(GuardId(9))).unwrap();
        assert_eq!(hit.guard(), Some(GuardId(9)));
        assert_eq!(counts(&validator), (501, 501, 501));
    }

    #[test]
    fn eviction_keeps_the_count_within_the_bound_and_the_bound_nearly_full() {
        let max_bytes = 64 * 1024;
        let validator = cached(TokenCacheSettings::default().max_bytes(max_bytes));
        for i in 0..1000 {
            validator
                .verify(&auth0_token(&format!("e{i}")), NOW, None)
                .unwrap();
        }
        let cache = validator.cache.as_deref().unwrap();
        let status = cache.status();
        let capacity = cache.entries.capacity();
        assert!(status.bytes <= capacity, "{status:?}");
        assert!(status.evictions > 0 && status.entries < 1000, "{status:?}");
        // Evicted by weight, not by count: the bound is at least 90 % used.
        assert!(
            status.bytes * 10 >= capacity * 9,
            "{status:?} of {capacity}"
        );
    }
}
