//! Replay detection for DPoP proofs (RFC 9449 §11.1): each proof's `jti` is accepted once
//! within its window. [`ReplayStore`] is where seen proofs are remembered: in this process
//! ([`MemoryReplayStore`]) or shared by every instance of the API (`RedisReplayStore`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

/// A proof as a replay store keys it: SHA-256 over the thumbprint of the proof's key and its
/// `jti`, so a `jti` is scoped by the key that signed it (two clients may pick the same one),
/// and every key has the same 32 bytes whatever the `jti`'s length.
///
/// # Example
///
/// ```
/// use bearer_guard::dpop::ReplayKey;
///
/// let key = ReplayKey::new("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "e1j3V_bKic8-LAEB");
/// assert_ne!(key, ReplayKey::new("another-thumbprint", "e1j3V_bKic8-LAEB"));
/// assert_eq!(key.to_string().len(), 43); // base64url, for stores keyed by text
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplayKey([u8; 32]);

impl ReplayKey {
    /// The key of the proof with `jti`, signed by the key whose RFC 7638 thumbprint is
    /// `thumbprint`.
    #[must_use]
    pub fn new(thumbprint: &str, jti: &str) -> Self {
        // A thumbprint is base64url, so the first NUL ends it: no two pairs hash the same
        // bytes.
        let mut hasher = Sha256::new();
        hasher.update(thumbprint);
        hasher.update([0]);
        hasher.update(jti);
        Self(hasher.finalize().into())
    }

    /// Its 32 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Its base64url text.
impl fmt::Display for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplayKey({self})")
    }
}

/// What a replay store answers for a proof.
///
/// # Example
///
/// ```
/// use bearer_guard::dpop::Replay;
///
/// assert_ne!(Replay::First, Replay::Seen);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Replay {
    /// Not seen within its window: recorded now, and the proof may pass.
    First,
    /// Seen before, within its window: a replay, to be refused.
    Seen,
}

/// Why a replay store could not answer. The proof cannot be checked, so the request is
/// answered 503: a store that fails never lets a replay through.
///
/// # Example
///
/// ```
/// use bearer_guard::dpop::ReplayError;
///
/// let err = ReplayError::Full { capacity: 100_000 };
/// assert!(err.to_string().contains("100000"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A bounded store holds as many unexpired proofs as it may.
    #[error("the replay store holds {capacity} unexpired proofs, its most")]
    Full {
        /// The most it holds.
        capacity: usize,
    },
    /// The store's backend failed or did not answer in time.
    #[error("the replay store did not answer: {problem}")]
    Unavailable {
        /// What the backend said; never a proof or a token.
        problem: String,
    },
}

/// What [`ReplayStore::record`] returns: a boxed future, so that the trait can be used as
/// `dyn ReplayStore`.
pub type ReplayFuture<'a> = Pin<Box<dyn Future<Output = Result<Replay, ReplayError>> + Send + 'a>>;

/// Where seen DPoP proofs are remembered until their window closes.
///
/// [`MemoryReplayStore`] serves one process; an API behind a load balancer needs a store its
/// instances share (`RedisReplayStore`, feature `redis`), or a proof replayed to another
/// instance passes there.
///
/// # Example
///
/// A store of your own (this one remembers nothing for long: a sketch):
///
/// ```
/// use std::time::Duration;
/// use bearer_guard::dpop::{Replay, ReplayError, ReplayFuture, ReplayKey, ReplayStore};
///
/// #[derive(Debug, Default)]
/// struct Seen(std::sync::Mutex<std::collections::HashSet<ReplayKey>>);
///
/// impl ReplayStore for Seen {
///     fn record(&self, key: ReplayKey, _ttl: Duration) -> ReplayFuture<'_> {
///         let first = self.0.lock().map(|mut seen| seen.insert(key)).map_err(|_| ());
///         Box::pin(async move {
///             match first {
///                 Ok(true) => Ok(Replay::First),
///                 Ok(false) => Ok(Replay::Seen),
///                 Err(_) => Err(ReplayError::Unavailable { problem: "poisoned".into() }),
///             }
///         })
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store: &dyn ReplayStore = &Seen::default();
/// let key = ReplayKey::new("thumbprint", "jti-1");
/// assert_eq!(store.record(key, Duration::from_secs(120)).await, Ok(Replay::First));
/// assert_eq!(store.record(key, Duration::from_secs(120)).await, Ok(Replay::Seen));
/// # });
/// ```
pub trait ReplayStore: Send + Sync + fmt::Debug {
    /// Records the proof `key` for `ttl` from now, atomically: [`Replay::First`] if it was
    /// not already recorded (and unexpired), [`Replay::Seen`] if it was. An error when the
    /// store cannot tell: never `First` for a proof it cannot record.
    fn record(&self, key: ReplayKey, ttl: Duration) -> ReplayFuture<'_>;
}

/// The default capacity of a [`MemoryReplayStore`].
const DEFAULT_CAPACITY: usize = 100_000;

/// A replay store in this process's memory: bounded, each proof forgotten once its window
/// closes.
///
/// It holds at most `capacity` unexpired proofs (100,000 by default, at most about 11 MB:
/// 32 bytes of key and 8 of expiry, in a hash map and in a heap, each grown in powers of
/// two). When that many are unexpired, a new proof
/// is answered [`ReplayError::Full`] (503) rather than let an older one be forgotten early,
/// which would let its replay pass: a flood fills the store and fails requests, never
/// grows it, never opens it to replays. At the default 120 s window (60 s either side plus
/// 60 s leeway), 100,000 holds a steady 800 DPoP requests a second.
///
/// Only for an API that runs as one instance: behind a load balancer, use a shared store.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use bearer_guard::dpop::{MemoryReplayStore, Replay, ReplayKey, ReplayStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryReplayStore::with_capacity(10_000);
/// let key = ReplayKey::new("thumbprint", "jti-1");
/// assert_eq!(store.record(key, Duration::from_secs(120)).await, Ok(Replay::First));
/// assert_eq!(store.record(key, Duration::from_secs(120)).await, Ok(Replay::Seen));
/// assert_eq!(store.len(), 1);
/// # });
/// ```
pub struct MemoryReplayStore {
    capacity: usize,
    /// Times are milliseconds since this, on the monotonic clock.
    epoch: Instant,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Each proof recorded, with when it expires.
    seen: HashMap<ReplayKey, u64>,
    /// The same proofs, soonest expiry first, to forget them in order.
    expiries: BinaryHeap<Reverse<(u64, ReplayKey)>>,
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl MemoryReplayStore {
    /// A store of the default capacity, 100,000 proofs.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding at most `capacity` unexpired proofs (at least 1).
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            epoch: Instant::now(),
            state: Mutex::new(State::default()),
        }
    }

    /// How many proofs it holds now, expired ones not yet forgotten included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().seen.len()
    }

    /// Whether it holds no proof.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is consistent between statements: a panic elsewhere cannot leave it
        // half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// [`record`](ReplayStore::record) at `now`, milliseconds since the store's epoch.
    fn record_at(&self, key: ReplayKey, ttl: Duration, now: u64) -> Result<Replay, ReplayError> {
        let mut state = self.lock();
        let State { seen, expiries } = &mut *state;
        while let Some(Reverse((expiry, expired))) = expiries.peek().copied() {
            if expiry > now {
                break;
            }
            expiries.pop();
            if seen.get(&expired) == Some(&expiry) {
                seen.remove(&expired);
            }
        }
        if seen.contains_key(&key) {
            return Ok(Replay::Seen);
        }
        if seen.len() >= self.capacity {
            tracing::warn!(
                capacity = self.capacity,
                "the DPoP replay store is full; proofs are refused until some expire"
            );
            return Err(ReplayError::Full {
                capacity: self.capacity,
            });
        }
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let expiry = now.saturating_add(ttl);
        seen.insert(key, expiry);
        expiries.push(Reverse((expiry, key)));
        Ok(Replay::First)
    }
}

impl ReplayStore for MemoryReplayStore {
    fn record(&self, key: ReplayKey, ttl: Duration) -> ReplayFuture<'_> {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let answer = self.record_at(key, ttl, now);
        Box::pin(std::future::ready(answer))
    }
}

impl fmt::Debug for MemoryReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReplayStore")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(120);

    fn key(jti: &str) -> ReplayKey {
        ReplayKey::new("thumbprint", jti)
    }

    #[test]
    fn a_proof_is_first_once_then_seen_until_it_expires() {
        let store = MemoryReplayStore::new();
        assert_eq!(store.record_at(key("a"), TTL, 0), Ok(Replay::First));
        assert_eq!(store.record_at(key("a"), TTL, 1), Ok(Replay::Seen));
        assert_eq!(store.record_at(key("a"), TTL, 119_999), Ok(Replay::Seen));
        assert_eq!(store.record_at(key("b"), TTL, 2), Ok(Replay::First));
        // At its expiry it is forgotten, and recorded afresh.
        assert_eq!(store.record_at(key("a"), TTL, 120_000), Ok(Replay::First));
        assert_eq!(store.record_at(key("a"), TTL, 120_001), Ok(Replay::Seen));
    }

    #[test]
    fn a_jti_is_scoped_by_the_key_that_signed_it() {
        let store = MemoryReplayStore::new();
        let one = ReplayKey::new("key-one", "same-jti");
        let other = ReplayKey::new("key-two", "same-jti");
        assert_eq!(store.record_at(one, TTL, 0), Ok(Replay::First));
        assert_eq!(store.record_at(other, TTL, 0), Ok(Replay::First));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(ReplayKey::new("ab", "c"), ReplayKey::new("a", "bc"));
    }

    #[test]
    fn a_full_store_refuses_new_proofs_and_never_forgets_unexpired_ones() {
        let store = MemoryReplayStore::with_capacity(3);
        for (i, jti) in ["a", "b", "c"].into_iter().enumerate() {
            assert_eq!(store.record_at(key(jti), TTL, i as u64), Ok(Replay::First));
        }
        // A flood of new proofs: refused, and the store does not grow.
        for i in 0..100 {
            assert_eq!(
                store.record_at(key(&format!("flood-{i}")), TTL, 10),
                Err(ReplayError::Full { capacity: 3 })
            );
        }
        assert_eq!(store.len(), 3);
        // The proofs it holds are still replays.
        assert_eq!(store.record_at(key("a"), TTL, 11), Ok(Replay::Seen));
        // Once the oldest expires, there is room again.
        assert_eq!(store.record_at(key("d"), TTL, 120_000), Ok(Replay::First));
        assert_eq!(store.len(), 3);
        assert_eq!(store.record_at(key("b"), TTL, 120_000), Ok(Replay::Seen));
    }

    #[test]
    fn expired_proofs_are_forgotten_in_expiry_order_whatever_the_insertion_order() {
        let store = MemoryReplayStore::new();
        assert_eq!(
            store.record_at(key("long"), Duration::from_secs(200), 0),
            Ok(Replay::First)
        );
        assert_eq!(
            store.record_at(key("short"), Duration::from_secs(10), 0),
            Ok(Replay::First)
        );
        assert_eq!(store.record_at(key("x"), TTL, 10_000), Ok(Replay::First));
        assert_eq!(store.len(), 2);
        assert_eq!(store.record_at(key("long"), TTL, 10_000), Ok(Replay::Seen));
        assert_eq!(
            store.record_at(key("short"), TTL, 10_001),
            Ok(Replay::First)
        );
    }

    #[test]
    fn debug_shows_the_numbers_only() {
        let store = MemoryReplayStore::with_capacity(5);
        assert_eq!(
            store.record_at(key("secret-jti"), TTL, 0),
            Ok(Replay::First)
        );
        let debug = format!("{store:?}");
        assert_eq!(debug, "MemoryReplayStore { capacity: 5, len: 1 }");
    }
}
