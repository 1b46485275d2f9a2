//! A key cache shared through Redis (feature `redis`): what one refresh of the background
//! task does when [`KeyCacheSettings::shared`](super::KeyCacheSettings::shared) is set.
//!
//! 1. Read the fleet's record. A document there is parsed and checked exactly like a
//!    fetched one (and must name this cache's location); a refused one is logged and taken
//!    as absent, never as keys. It is taken when it differs from the set in use, or while it
//!    has more than the last `100 − to` % of its life left (and no unknown `kid` asked).
//! 2. An unknown `kid` that Redis cannot answer asks the fleet's budget: refused, nothing is
//!    fetched and the set in use stays.
//! 3. Otherwise the lease decides: its holder fetches (conditionally, with the record's
//!    validators) and writes the record, or, after a failure, leaves its wait (backoff or
//!    `Retry-After`) in the lease for the whole fleet; the others read Redis until the
//!    holder's record lands (or its lease lapses), or wait out the fleet's wait.
//!
//! Any Redis failure (down, slow past the store's timeout, an error reply) at 1–3 makes the
//! instance fetch for itself, as an unshared cache does. Requests never touch Redis: they
//! read the set in use, as ever.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::location::is_fetchable;
use super::redis_keys::{Budget, Keys, Lease, RedisKeyStore, Stored};
use super::schedule;
use super::{Fetched, KeyCache, Location};
use crate::keys::{JwkSet, MAX_DOCUMENT_LEN};

/// What a shared cache keeps besides its set.
#[derive(Debug, Default)]
pub(super) struct SharedState {
    /// The document of the set in use, as fetched: stored again after a 304.
    pub(super) document: Option<Bytes>,
    /// When the refresh after this one was planned, for a refresh that changes nothing.
    next_refresh: Option<Instant>,
}

/// The record's format; a record of another version is refused.
const VERSION: u8 = 1;

/// The record of a key set in Redis.
#[derive(Serialize, Deserialize)]
struct Record {
    v: u8,
    /// The location it was fetched from ([`name_of`]): a record of another is refused.
    location: String,
    /// Its life when stored, in ms.
    life_ms: u64,
    /// The key set's URL, as discovery found it: a later holder of the lease needs no
    /// discovery of its own.
    jwks_uri: Option<String>,
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
    /// Who stored it (its lease's holder): tells one write from the next.
    by: String,
    /// The JWK set document, as the issuer served it.
    keys: String,
}

/// A record read from Redis and accepted.
struct Accepted {
    set: Arc<JwkSet>,
    body: Bytes,
    conditional: http::HeaderMap,
    remaining: Duration,
    /// In the last part of its life: due to be fetched again.
    due: bool,
    jwks_uri: Option<String>,
}

/// One refresh of a shared cache. Returns the wait until the next.
pub(super) async fn refresh(cache: &KeyCache, store: &RedisKeyStore) -> Duration {
    let keys = store.keys(&name_of(&cache.location));
    let asked = {
        let mut control = cache.lock();
        control.in_flight = true;
        control.unknown.is_asked()
    };
    let wait = step(cache, store, &keys, asked).await;
    cache.lock().shared.next_refresh = Some(Instant::now() + wait);
    wait
}

async fn step(cache: &KeyCache, store: &RedisKeyStore, keys: &Keys, asked: bool) -> Duration {
    let stored = match store.read(keys).await {
        Ok(stored) => stored,
        Err(reason) => return on_its_own(cache, &reason).await,
    };
    let seen = stored.as_ref().and_then(by_of);
    if let Some(accepted) = stored.and_then(|stored| accept(cache, &stored)) {
        let in_use = cache.current.load_full();
        let changed = in_use
            .as_deref()
            .is_none_or(|in_use| in_use.set.digest() != accepted.set.digest());
        if changed || (!accepted.due && !asked) {
            return cache.settle(Ok(accepted.into_fetched(cache)));
        }
    }
    if asked {
        match store
            .ask(
                keys,
                cache.settings.unknown_kid_refetches,
                cache.settings.unknown_kid_window,
            )
            .await
        {
            Ok(Budget::Allowed) => {}
            Ok(refused) => {
                tracing::debug!(
                    ?refused,
                    "bearer-guard: unknown kid; refetch refused by the fleet's budget"
                );
                return unchanged(cache, None);
            }
            Err(reason) => return on_its_own(cache, &reason).await,
        }
    }
    let holder = holder_token(cache);
    let hold = cache.settings.fetch_timeout.saturating_mul(2);
    match store.acquire(keys, &holder, hold).await {
        Ok(Lease::Acquired) => {
            // Another holder may have stored a set between the read above and the lease.
            match store.read(keys).await {
                Ok(Some(stored)) if by_of(&stored) != seen => {
                    if let Some(accepted) = accept(cache, &stored) {
                        if let Err(reason) = store.release(keys, &holder, None).await {
                            tracing::warn!(
                                reason,
                                "bearer-guard: the key set lease could not be freed"
                            );
                        }
                        return cache.settle(Ok(accepted.into_fetched(cache)));
                    }
                }
                Ok(_) => {}
                Err(reason) => return on_its_own(cache, &reason).await,
            }
            fetch_for_the_fleet(cache, store, keys, &holder, asked).await
        }
        Ok(Lease::Waiting(left)) => {
            tracing::debug!(
                wait_s = left.as_secs_f64(),
                "bearer-guard: the fleet waits after a failed fetch of the key set"
            );
            unchanged(cache, Some(left))
        }
        Ok(Lease::Fetching(left)) => wait_for_the_fleet(cache, store, keys, seen, left).await,
        Err(reason) => on_its_own(cache, &reason).await,
    }
}

/// Without Redis: a fetch of its own, as an unshared cache does.
async fn on_its_own(cache: &KeyCache, reason: &str) -> Duration {
    tracing::warn!(
        reason,
        "bearer-guard: the shared key cache cannot be reached; fetching the key set on its own"
    );
    let outcome = cache.fetch_within_timeout().await;
    cache.settle(outcome)
}

/// The lease's holder: fetches, stores the set (or the fleet's wait), and counts an
/// unknown-`kid` refetch against the fleet's budget.
async fn fetch_for_the_fleet(
    cache: &KeyCache,
    store: &RedisKeyStore,
    keys: &Keys,
    holder: &str,
    asked: bool,
) -> Duration {
    let before = cache.current.load_full();
    let outcome = cache.fetch_within_timeout().await;
    let fetched = outcome.as_ref().ok().map(|fetched| {
        let new_key = before
            .as_deref()
            .is_none_or(|before| fetched.set.kids().any(|kid| !before.set.has_kid(kid)));
        (cache.life_of(fetched.max_age), new_key)
    });
    let wait = cache.settle(outcome);
    let written = match fetched {
        Some((life, new_key)) => {
            let record = record_of(cache, holder, life);
            let stored = match record {
                Some(record) => store.write(keys, &record, life).await,
                None => Ok(()),
            };
            let released = store.release(keys, holder, None).await;
            let budget = if new_key {
                store.reset_budget(keys).await
            } else if asked {
                fruitless(cache, store, keys).await
            } else {
                Ok(())
            };
            stored.and(released).and(budget)
        }
        None => store.release(keys, holder, Some(wait)).await,
    };
    if let Err(reason) = written {
        tracing::warn!(
            reason,
            "bearer-guard: the fetched key set could not be shared through Redis"
        );
    }
    wait
}

/// A fruitless unknown-`kid` refetch: the fleet's budget pauses, longer each time in a row.
async fn fruitless(cache: &KeyCache, store: &RedisKeyStore, keys: &Keys) -> Result<(), String> {
    let in_a_row = store
        .fruitless(keys, cache.settings.unknown_kid_window)
        .await?;
    let pause = schedule::unknown_kid_pause(&cache.settings, in_a_row, &mut cache.lock().rng);
    store.pause(keys, pause).await
}

/// Another instance holds the lease: reads Redis until its record lands, its lease lapses,
/// or twice the fetch timeout passes.
async fn wait_for_the_fleet(
    cache: &KeyCache,
    store: &RedisKeyStore,
    keys: &Keys,
    seen: Option<String>,
    left: Duration,
) -> Duration {
    let timeout = cache.settings.fetch_timeout;
    let deadline = Instant::now() + left.min(timeout.saturating_mul(2));
    loop {
        let poll = cache.lock().rng.between(timeout / 20, timeout / 10);
        tokio::time::sleep(poll).await;
        let stored = match store.read(keys).await {
            Ok(stored) => stored,
            Err(reason) => return on_its_own(cache, &reason).await,
        };
        let landed = stored
            .filter(|stored| by_of(stored) != seen)
            .and_then(|stored| accept(cache, &stored));
        if let Some(accepted) = landed {
            return cache.settle(Ok(accepted.into_fetched(cache)));
        }
        if Instant::now() >= deadline {
            // The holder is slow or gone: its lease lapses soon, and the next refresh may
            // take it.
            let again = cache.lock().rng.between(timeout / 10, timeout / 5);
            return unchanged(cache, Some(again));
        }
    }
}

/// A refresh that fetched nothing and read nothing new: the set in use stays, its waiters
/// are woken. `hold` is the fleet's wait, if there is one (no fetch before it); without,
/// the next refresh stays where it was planned.
fn unchanged(cache: &KeyCache, hold: Option<Duration>) -> Duration {
    let wait = {
        let mut control = cache.lock();
        control.in_flight = false;
        // Not fruitless for this instance's own budget: it fetched nothing.
        control.unknown.failed();
        let now = Instant::now();
        match hold {
            Some(hold) => {
                control.not_before = Some(now + hold);
                // Spread over a quarter more: reads of Redis, not fetches (the lease
                // lets one instance through).
                hold + control.rng.between(Duration::ZERO, hold / 4)
            }
            None => match control.shared.next_refresh {
                Some(at) if at > now => at - now,
                _ => {
                    let life = cache.settings.min_max_age;
                    schedule::refresh_in(&cache.settings, life, &mut control.rng)
                }
            },
        }
    };
    cache.fetched.notify_waiters();
    wait.max(Duration::from_millis(10))
}

/// The record to store for the set just loaded, with its document and validators; `None`
/// when its document is not at hand (a 304 before any full answer) or not UTF-8.
fn record_of(cache: &KeyCache, holder: &str, life: Duration) -> Option<Vec<u8>> {
    let control = cache.lock();
    let keys = std::str::from_utf8(control.shared.document.as_deref()?).ok()?;
    let header = |name: http::header::HeaderName| {
        control
            .conditional
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let record = Record {
        v: VERSION,
        location: name_of(&cache.location),
        life_ms: u64::try_from(life.as_millis()).unwrap_or(u64::MAX),
        jwks_uri: control.jwks_uri.as_deref().map(str::to_owned),
        if_none_match: header(http::header::IF_NONE_MATCH),
        if_modified_since: header(http::header::IF_MODIFIED_SINCE),
        by: holder.to_owned(),
        keys: keys.to_owned(),
    };
    serde_json::to_vec(&record).ok()
}

/// The record's writer, when it can be read at all.
fn by_of(stored: &Stored) -> Option<String> {
    #[derive(Deserialize)]
    struct By {
        by: String,
    }
    serde_json::from_slice::<By>(&stored.record)
        .ok()
        .map(|by| by.by)
}

/// A stored record checked as a fetched document is: this location's, of a known version,
/// within the size bound, a JWK set this cache accepts. `None` (logged) otherwise.
fn accept(cache: &KeyCache, stored: &Stored) -> Option<Accepted> {
    match check(cache, stored) {
        Ok(accepted) => Some(accepted),
        Err(problem) => {
            tracing::warn!(
                problem,
                "bearer-guard: the key set in Redis is refused; the keys in use stay"
            );
            None
        }
    }
}

fn check(cache: &KeyCache, stored: &Stored) -> Result<Accepted, String> {
    if stored.record.len() > 2 * MAX_DOCUMENT_LEN {
        return Err(format!("a record of {} bytes", stored.record.len()));
    }
    let record: Record = serde_json::from_slice(&stored.record)
        .map_err(|_| "not a record of a key set".to_owned())?;
    if record.v != VERSION {
        return Err(format!("a record of version {}", record.v));
    }
    if record.location != name_of(&cache.location) {
        return Err("a record of another key set's location".to_owned());
    }
    if record.keys.len() > MAX_DOCUMENT_LEN {
        return Err(format!("a document over {MAX_DOCUMENT_LEN} bytes"));
    }
    let set = JwkSet::parse(record.keys.as_bytes(), cache.accepted)
        .map_err(|err| format!("its key set: {err}"))?;
    let life = Duration::from_millis(record.life_ms);
    // Never longer than this cache would keep a fetched set.
    let remaining = stored.remaining.min(life).min(cache.settings.max_max_age);
    let last_part = 100 - u32::from(cache.settings.refresh_window.1);
    let mut conditional = http::HeaderMap::new();
    for (name, value) in [
        (http::header::IF_NONE_MATCH, &record.if_none_match),
        (http::header::IF_MODIFIED_SINCE, &record.if_modified_since),
    ] {
        if let Some(value) = value.as_deref().and_then(|v| v.parse().ok()) {
            conditional.insert(name, value);
        }
    }
    Ok(Accepted {
        set: Arc::new(set),
        body: Bytes::from(record.keys),
        conditional,
        remaining,
        due: remaining <= life * last_part / 100,
        // Checked as a discovered one is.
        jwks_uri: record.jwks_uri.filter(|url| is_fetchable(url)),
    })
}

impl Accepted {
    /// As a fetch's outcome, for `cache`, which learns the set's URL from it if it had none.
    fn into_fetched(self, cache: &KeyCache) -> Fetched {
        if let (Location::Discovery { .. }, Some(url)) = (&cache.location, self.jwks_uri) {
            cache.lock().jwks_uri.get_or_insert_with(|| url.into());
        }
        Fetched {
            set: self.set,
            max_age: None,
            not_modified: false,
            conditional: self.conditional,
            body: Some(self.body),
            life: Some(self.remaining),
        }
    }
}

/// What names a key set in Redis: its discovery issuer, or its URL.
fn name_of(location: &Location) -> String {
    match location {
        Location::Discovery { issuer } => format!("issuer {issuer}"),
        Location::JwksUri(url) => format!("jwks_uri {url}"),
    }
}

/// A lease holder's name: unique to this fetch across the fleet (a seeded jitter repeats
/// across instances; the process and a counter do not).
fn holder_token(cache: &KeyCache) -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let draw = cache.lock().rng.next_u64();
    format!(
        "{:x}-{:x}-{draw:016x}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_set_is_named_by_its_location_kind_and_text() {
        let issuer = Location::Discovery {
            issuer: "https://idp.example/".into(),
        };
        let url = Location::JwksUri("https://idp.example/".into());
        assert_eq!(name_of(&issuer), "issuer https://idp.example/");
        assert_ne!(name_of(&issuer), name_of(&url));
    }
}
