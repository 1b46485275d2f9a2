//! Replay detection for DPoP proofs (RFC 9449 §11.1): each proof's `jti` is accepted once
//! within its window. [`ReplayStore`] is where seen proofs are remembered: in this process
//! ([`MemoryReplayStore`]) or shared by every instance of the API (`RedisReplayStore`).
//! Why no client can fill a store for the others, and what that bounds, is on
//! [`ReplayStore`].

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

use crate::config::ConfigError;

/// A proof as a replay store keys it: SHA-256 over the thumbprint of the proof's key and its
/// `jti`, so a `jti` is scoped by the key that signed it (two clients may pick the same one),
/// and every key has the same 32 bytes whatever the `jti`'s length; with the SHA-256 of the
/// thumbprint alone ([`signer`](Self::signer)), which per-key quotas count by.
///
/// # Example
///
/// ```
/// use bearer_guard::dpop::ReplayKey;
///
/// let key = ReplayKey::new("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "e1j3V_bKic8-LAEB");
/// assert_ne!(key, ReplayKey::new("another-thumbprint", "e1j3V_bKic8-LAEB"));
/// assert_eq!(key.to_string().len(), 43); // base64url, for stores keyed by text
/// // Two proofs of one key have one signer.
/// let other = ReplayKey::new("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "another-jti");
/// assert_eq!(key.signer(), other.signer());
/// assert_ne!(key.as_bytes(), other.as_bytes());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplayKey {
    proof: [u8; 32],
    signer: [u8; 32],
}

impl ReplayKey {
    /// The key of the proof with `jti`, signed by the key whose RFC 7638 thumbprint is
    /// `thumbprint`.
    #[must_use]
    pub fn new(thumbprint: &str, jti: &str) -> Self {
        // A thumbprint is base64url, so the first NUL ends it: no two pairs hash the same
        // bytes.
        let mut hasher = Sha256::new();
        hasher.update(thumbprint);
        let signer = hasher.clone().finalize().into();
        hasher.update([0]);
        hasher.update(jti);
        Self {
            proof: hasher.finalize().into(),
            signer,
        }
    }

    /// Its 32 bytes, which name the proof.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.proof
    }

    /// The SHA-256 of the signing key's thumbprint: the same for every proof of one key, what
    /// a per-key quota counts by.
    #[must_use]
    pub fn signer(&self) -> &[u8; 32] {
        &self.signer
    }
}

/// Its base64url text (of [`as_bytes`](ReplayKey::as_bytes)).
impl fmt::Display for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.proof))
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
#[non_exhaustive]
pub enum Replay {
    /// Not seen within its window: recorded now, and the proof may pass.
    First,
    /// Seen before, within its window: a replay, to be refused.
    Seen,
    /// Not seen, but the key that signed it holds as many unexpired proofs as the store keeps
    /// for one key: not recorded, and refused, so that one key cannot fill the store for the
    /// others ([`DpopError::KeyOverQuota`](crate::dpop::DpopError::KeyOverQuota)).
    OverQuota,
}

/// How long a client is told to wait when the store's backend failed: long enough for a
/// reconnection, short enough that a blip costs little.
const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Why a replay store could not answer. The proof cannot be checked, so the request is
/// answered 503 with `Retry-After` ([`retry_after`](Self::retry_after)): a store that fails
/// never lets a replay through.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use bearer_guard::dpop::ReplayError;
///
/// let err = ReplayError::Full { capacity: 100_000, retry_after: Duration::from_secs(3) };
/// assert!(err.to_string().contains("100000"));
/// assert_eq!(err.retry_after(), Duration::from_secs(3));
/// assert_eq!(err.reason(), "replay_store_full");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A bounded store holds as many unexpired proofs as it may.
    #[error("the replay store holds {capacity} unexpired proofs, its most")]
    Full {
        /// The most it holds.
        capacity: usize,
        /// When its soonest entry expires, making room: whole seconds, rounded up, at least 1.
        retry_after: Duration,
    },
    /// The store's backend failed or did not answer in time.
    #[error("the replay store did not answer: {problem}")]
    Unavailable {
        /// What the backend said; never a proof or a token.
        problem: String,
    },
}

impl ReplayError {
    /// How long the client should wait before it tries again, for the 503's `Retry-After`:
    /// until room is made in a full store; 5 s for a backend that failed.
    #[must_use]
    pub fn retry_after(&self) -> Duration {
        match self {
            Self::Full { retry_after, .. } => *retry_after,
            Self::Unavailable { .. } => UNAVAILABLE_RETRY_AFTER,
        }
    }

    /// A short code for logs and metrics: `replay_store_full` or `replay_store_unavailable`.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Full { .. } => "replay_store_full",
            Self::Unavailable { .. } => "replay_store_unavailable",
        }
    }
}

/// What [`ReplayStore::record`] returns: a boxed future, so that the trait can be used as
/// `dyn ReplayStore`.
pub type ReplayFuture<'a> = Pin<Box<dyn Future<Output = Result<Replay, ReplayError>> + Send + 'a>>;

/// Where seen DPoP proofs are remembered until their window closes.
///
/// [`MemoryReplayStore`] serves one process; an API behind a load balancer needs a store its
/// instances share (`RedisReplayStore`, feature `redis`), or a proof replayed to another
/// instance passes there. Both keep a quota per key; a store of your own should too,
/// counting by [`ReplayKey::signer`].
///
/// # No client fills the store for the others
///
/// A replay store must refuse what it cannot remember (forgetting an unexpired proof early
/// lets its replay pass), so a store with a bound can be filled, and a full store fails every
/// DPoP request. Measured before this design: one client with one valid DPoP-bound token sent
/// 115,000 fresh EdDSA proofs in 3.8 s; the store (100,000 proofs) was full after 3.3 s, and
/// every other client got 503 for the next 226 s; 420 proofs a second kept it full.
///
/// The stores here bound what each client can hold, not only what all hold:
///
/// - **A quota per key.** Every proof is counted against the key that signed it (its RFC 7638
///   thumbprint, [`ReplayKey::signer`]). A key holding [`ReplayLimits::per_key`] unexpired
///   proofs (2,000 by default) gets [`Replay::OverQuota`] for its next one: its own request
///   is refused ([`DpopError::KeyOverQuota`](crate::dpop::DpopError::KeyOverQuota), 401
///   `invalid_dpop_proof`), nobody else's. A key is as costly to an attacker as a token bound
///   to it: the guard records a proof only after the access token verified and its `cnf.jkt`
///   named the proof's key, so keys without a token never reach the store. Filling the
///   default store takes 50 keys, each with its own token, each sending at the quota. (Where
///   proofs come without a token, at an authorization server's token endpoint, a key costs
///   nothing: there the quota bounds one key, not one client; limit requests per client.)
/// - **Short lives.** An entry lives until its `iat` would be refused as stale. `iat` may be
///   [`iat_window`](crate::dpop::DpopSettings::iat_window) plus leeway in the past (120 s by
///   default) but only [`max_future_iat`](crate::dpop::DpopSettings::max_future_iat) in the future
///   (10 s), so no entry lives longer than 130 s (it was 240 s), and a fresh proof lives
///   120 s. With server nonces required ([`NonceMode::Required`](crate::dpop::NonceMode::Required))
///   an entry lives only as long as its nonce (at most two slots, 60 s by default): the same
///   quota then stands for twice the request rate.
/// - **A store that cannot answer never accepts.** Full (too many keys at their quota at
///   once) or its backend down, it answers an error that carries how long to wait
///   ([`ReplayError::retry_after`]); the request is answered 503 with `Retry-After`, and a
///   warning names the reason and the store's size.
///
/// Sizing: a key that sends `r` proofs a second holds about `r × 120 s` of them (`r × 60 s`
/// with nonces required), so the default quota serves a client sending up to 16 requests a
/// second with one key; raise it for busier clients, and keep the capacity at least
/// `per_key ×` the number of keys you expect to be that busy at once.
///
/// # Example
///
/// A store of your own (this one remembers nothing for long, and keeps no quota: a sketch):
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
    /// not already recorded (and unexpired), [`Replay::Seen`] if it was,
    /// [`Replay::OverQuota`] (not recorded) if its signer holds its quota. An error when the
    /// store cannot tell: never `First` for a proof it cannot record.
    fn record(&self, key: ReplayKey, ttl: Duration) -> ReplayFuture<'_>;
}

/// How much a [`MemoryReplayStore`] holds: in all, and per key. Checked when the store is
/// made ([`MemoryReplayStore::with_limits`]).
///
/// | limit | default | bounds |
/// |---|---|---|
/// | [`capacity`](Self::capacity) | 100,000 proofs | 2 to 10,000,000 |
/// | [`per_key`](Self::per_key) | 2,000 proofs | 1 to half the capacity |
///
/// # Example
///
/// ```
/// use bearer_guard::dpop::{MemoryReplayStore, ReplayLimits};
///
/// let store = MemoryReplayStore::with_limits(ReplayLimits::default().capacity(20_000).per_key(500))?;
/// assert_eq!(store.limits(), ReplayLimits::default().capacity(20_000).per_key(500));
/// // One key may never hold the whole store.
/// assert!(MemoryReplayStore::with_limits(ReplayLimits::default().capacity(1_000).per_key(1_000)).is_err());
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct ReplayLimits {
    capacity: usize,
    per_key: usize,
}

/// The default capacity of a [`MemoryReplayStore`].
const DEFAULT_CAPACITY: usize = 100_000;
/// The default quota of one key.
const DEFAULT_PER_KEY: usize = 2_000;
/// The largest capacity taken: about 2 GB of memory at the bound.
const MAX_CAPACITY: usize = 10_000_000;

impl Default for ReplayLimits {
    fn default() -> Self {
        Self {
            capacity: DEFAULT_CAPACITY,
            per_key: DEFAULT_PER_KEY,
        }
    }
}

impl ReplayLimits {
    /// The most unexpired proofs held in all. Defaults to 100,000.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// The most unexpired proofs held for one key. Defaults to 2,000: a client sending 16
    /// requests a second with one key, at the default window.
    pub fn per_key(mut self, per_key: usize) -> Self {
        self.per_key = per_key;
        self
    }

    /// Checks the bounds.
    fn check(self) -> Result<Self, ConfigError> {
        let refuse = |setting: &'static str, problem: String| {
            Err(ConfigError::DpopSetting { setting, problem })
        };
        if !(2..=MAX_CAPACITY).contains(&self.capacity) {
            return refuse(
                "replay capacity",
                format!("{} is outside 2 to {MAX_CAPACITY}", self.capacity),
            );
        }
        if self.per_key == 0 || self.per_key > self.capacity / 2 {
            return refuse(
                "replay per_key",
                format!(
                    "{} is outside 1 to half the capacity ({}): one key must not be able to fill the store for the others; lower per_key or raise capacity",
                    self.per_key,
                    self.capacity / 2
                ),
            );
        }
        Ok(self)
    }
}

/// A replay store in this process's memory: bounded in all and per key, each proof forgotten
/// once its window closes.
///
/// It holds at most [`capacity`](ReplayLimits::capacity) unexpired proofs (100,000 by
/// default), at most [`per_key`](ReplayLimits::per_key) of them (2,000) signed by one key:
/// a key at its quota gets [`Replay::OverQuota`] for a new proof, and when the whole store is
/// full a new proof gets [`ReplayError::Full`] (503, with the time until the soonest entry
/// expires), rather than let an older one be forgotten early, which would let its replay
/// pass. A flood from one key fills its quota and fails its own requests; only as many keys
/// as `capacity / per_key` (50), each with its own token, each at its quota, can fill the
/// store. See [`ReplayStore`] for why.
///
/// Memory is bounded by the capacity: per proof 40 bytes in a hash map (key and expiry) and
/// 72 in a heap (expiry and both hashes), per key 36 in another map, each grown in powers of
/// two. Measured at the default capacity (`BENCHMARKS.md`): 14.8 MB full with 50 keys at
/// their quota, 19.7 MB full with one proof per key, the most it can hold; 0.5 MB after one
/// key's flood of 120,000 proofs.
///
/// Only for an API that runs as one instance: behind a load balancer, use a shared store.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use bearer_guard::dpop::{MemoryReplayStore, Replay, ReplayKey, ReplayLimits, ReplayStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryReplayStore::with_limits(ReplayLimits::default().capacity(10_000).per_key(2)).unwrap();
/// let key = ReplayKey::new("thumbprint", "jti-1");
/// let ttl = Duration::from_secs(120);
/// assert_eq!(store.record(key, ttl).await, Ok(Replay::First));
/// assert_eq!(store.record(key, ttl).await, Ok(Replay::Seen));
/// assert_eq!(store.record(ReplayKey::new("thumbprint", "jti-2"), ttl).await, Ok(Replay::First));
/// // The key holds its quota: its next proof is refused, another key's is not.
/// assert_eq!(store.record(ReplayKey::new("thumbprint", "jti-3"), ttl).await, Ok(Replay::OverQuota));
/// assert_eq!(store.record(ReplayKey::new("another", "jti-3"), ttl).await, Ok(Replay::First));
/// assert_eq!((store.len(), store.keys()), (3, 2));
/// # });
/// ```
pub struct MemoryReplayStore {
    limits: ReplayLimits,
    /// Times are milliseconds since this, on the monotonic clock.
    epoch: Instant,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Each proof recorded ([`ReplayKey::as_bytes`]), with when it expires.
    seen: HashMap<[u8; 32], u64>,
    /// The same proofs, soonest expiry first, to forget them in order.
    expiries: BinaryHeap<Reverse<(u64, ReplayKey)>>,
    /// How many of them each signer holds; no entry for a signer that holds none.
    per_signer: HashMap<[u8; 32], u32>,
}

impl State {
    /// Forgets every proof expired at `now`.
    fn forget_expired(&mut self, now: u64) {
        while let Some(Reverse((expiry, expired))) = self.expiries.peek().copied() {
            if expiry > now {
                break;
            }
            self.expiries.pop();
            // Each proof is in the heap once: pushed when recorded, popped here when it
            // expires, before it can be recorded again.
            self.seen.remove(expired.as_bytes());
            if let Some(held) = self.per_signer.get_mut(expired.signer()) {
                *held -= 1;
                if *held == 0 {
                    self.per_signer.remove(expired.signer());
                }
            }
        }
    }
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        Self::from_checked(ReplayLimits::default())
    }
}

impl MemoryReplayStore {
    /// A store of the default limits: 100,000 proofs, 2,000 per key.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding at most `capacity` unexpired proofs (at least 2), the default quota
    /// per key or half the capacity, whichever is smaller. [`with_limits`](Self::with_limits)
    /// checks both instead.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.clamp(2, MAX_CAPACITY);
        Self::from_checked(
            ReplayLimits::default()
                .capacity(capacity)
                .per_key(DEFAULT_PER_KEY.min(capacity / 2)),
        )
    }

    /// A store of `limits`, once their bounds are checked.
    ///
    /// # Errors
    ///
    /// [`ConfigError::DpopSetting`] naming the limit out of its bounds: a capacity outside 2
    /// to 10,000,000, a quota of 0 or over half the capacity.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::dpop::{MemoryReplayStore, ReplayLimits};
    ///
    /// // Busier clients: 10,000 live proofs a key, a million in all.
    /// let store = MemoryReplayStore::with_limits(ReplayLimits::default().capacity(1_000_000).per_key(10_000))?;
    /// // A quota over half the capacity would let two keys fill it: refused.
    /// assert!(MemoryReplayStore::with_limits(ReplayLimits::default().capacity(10).per_key(6)).is_err());
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn with_limits(limits: ReplayLimits) -> Result<Self, ConfigError> {
        limits.check().map(Self::from_checked)
    }

    fn from_checked(limits: ReplayLimits) -> Self {
        Self {
            limits,
            epoch: Instant::now(),
            state: Mutex::new(State::default()),
        }
    }

    /// Its limits.
    pub fn limits(&self) -> ReplayLimits {
        self.limits
    }

    /// How many proofs it holds now, expired ones not yet forgotten included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().seen.len()
    }

    /// How many keys its proofs were signed by (expired ones not yet forgotten included).
    #[must_use]
    pub fn keys(&self) -> usize {
        self.lock().per_signer.len()
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
        state.forget_expired(now);
        if state.seen.contains_key(key.as_bytes()) {
            return Ok(Replay::Seen);
        }
        // The key's quota first: a key at its quota is refused even when the store is full,
        // so that its own requests fail with its own error.
        let held = state.per_signer.get(key.signer()).copied().unwrap_or(0);
        if usize::try_from(held).unwrap_or(usize::MAX) >= self.limits.per_key {
            return Ok(Replay::OverQuota);
        }
        if state.seen.len() >= self.limits.capacity {
            let soonest = state
                .expiries
                .peek()
                .map_or(now, |Reverse((expiry, _))| *expiry);
            // In whole seconds, rounded up, as `Retry-After` says it.
            let wait = soonest.saturating_sub(now).div_ceil(1_000).max(1);
            return Err(ReplayError::Full {
                capacity: self.limits.capacity,
                retry_after: Duration::from_secs(wait),
            });
        }
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let expiry = now.saturating_add(ttl);
        state.seen.insert(*key.as_bytes(), expiry);
        state.expiries.push(Reverse((expiry, key)));
        *state.per_signer.entry(*key.signer()).or_insert(0) += 1;
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
        let state = self.lock();
        f.debug_struct("MemoryReplayStore")
            .field("capacity", &self.limits.capacity)
            .field("per_key", &self.limits.per_key)
            .field("len", &state.seen.len())
            .field("keys", &state.per_signer.len())
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

    fn store(capacity: usize, per_key: usize) -> MemoryReplayStore {
        MemoryReplayStore::with_limits(ReplayLimits::default().capacity(capacity).per_key(per_key))
            .unwrap()
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
        assert_ne!(
            ReplayKey::new("ab", "c").signer(),
            ReplayKey::new("a", "bc").signer()
        );
    }

    #[test]
    fn a_key_at_its_quota_is_refused_and_others_are_not() {
        let store = store(100, 3);
        for jti in ["a", "b", "c"] {
            assert_eq!(
                store.record_at(key(jti), TTL, 0),
                Ok(Replay::First),
                "{jti}"
            );
        }
        // Its fourth proof is refused, not recorded, and refused again.
        assert_eq!(store.record_at(key("d"), TTL, 1), Ok(Replay::OverQuota));
        assert_eq!(store.record_at(key("d"), TTL, 2), Ok(Replay::OverQuota));
        // Its replays are still replays.
        assert_eq!(store.record_at(key("a"), TTL, 3), Ok(Replay::Seen));
        // Another key is untouched by it.
        let other = |jti| ReplayKey::new("other", jti);
        assert_eq!(store.record_at(other("d"), TTL, 4), Ok(Replay::First));
        assert_eq!((store.len(), store.keys()), (4, 2));
    }

    #[test]
    fn the_quota_frees_as_the_keys_proofs_expire() {
        let store = store(100, 2);
        assert_eq!(store.record_at(key("a"), TTL, 0), Ok(Replay::First));
        assert_eq!(store.record_at(key("b"), TTL, 10), Ok(Replay::First));
        assert_eq!(
            store.record_at(key("c"), TTL, 119_999),
            Ok(Replay::OverQuota)
        );
        // "a" expires at 120 000: one place again, and "b" still holds the other.
        assert_eq!(store.record_at(key("c"), TTL, 120_000), Ok(Replay::First));
        assert_eq!(
            store.record_at(key("d"), TTL, 120_000),
            Ok(Replay::OverQuota)
        );
        assert_eq!(store.record_at(key("d"), TTL, 120_010), Ok(Replay::First));
        // Expired keys are forgotten whole.
        assert_eq!(
            store.record_at(ReplayKey::new("x", "y"), TTL, 500_000),
            Ok(Replay::First)
        );
        assert_eq!((store.len(), store.keys()), (1, 1));
    }

    #[test]
    fn a_flood_from_one_key_never_refuses_another() {
        // The measured attack, scaled down: one key sends far more proofs than the store
        // holds, without pause, while another key's proofs arrive among them.
        let store = store(1_000, 100);
        let mut refused = 0;
        for i in 0..50_000_u64 {
            let now = i / 10; // 10,000 proofs a second
            match store.record_at(key(&format!("flood-{i}")), TTL, now) {
                Ok(Replay::OverQuota) => refused += 1,
                Ok(Replay::First) => {}
                other => panic!("{other:?}"),
            }
            if i % 1_000 == 0 {
                let honest = ReplayKey::new("honest", &format!("h-{i}"));
                assert_eq!(store.record_at(honest, TTL, now), Ok(Replay::First), "{i}");
            }
        }
        assert_eq!(refused, 50_000 - 100);
        assert_eq!((store.len(), store.keys()), (100 + 50, 2));
    }

    #[test]
    fn a_full_store_refuses_new_proofs_never_forgets_unexpired_ones_and_says_when_to_retry() {
        let store = store(4, 2);
        let of = |signer: &str, jti: &str| ReplayKey::new(signer, jti);
        assert_eq!(store.record_at(of("k1", "a"), TTL, 0), Ok(Replay::First));
        assert_eq!(
            store.record_at(of("k1", "b"), TTL, 1_000),
            Ok(Replay::First)
        );
        assert_eq!(
            store.record_at(of("k2", "a"), TTL, 2_000),
            Ok(Replay::First)
        );
        assert_eq!(
            store.record_at(of("k2", "b"), TTL, 3_000),
            Ok(Replay::First)
        );
        // Keys under their quota, the store full: an error that says when room is made.
        for i in 0..100 {
            assert_eq!(
                store.record_at(of(&format!("k-{i}"), "x"), TTL, 10_000),
                Err(ReplayError::Full {
                    capacity: 4,
                    retry_after: Duration::from_secs(110)
                })
            );
        }
        // A key at its quota still gets its own answer.
        assert_eq!(
            store.record_at(of("k1", "c"), TTL, 10_000),
            Ok(Replay::OverQuota)
        );
        assert_eq!(store.len(), 4);
        // The proofs it holds are still replays.
        assert_eq!(
            store.record_at(of("k1", "a"), TTL, 11_000),
            Ok(Replay::Seen)
        );
        // Once the oldest expires, there is room again; at least a second is asked for.
        assert_eq!(
            store.record_at(of("k3", "a"), TTL, 120_000),
            Ok(Replay::First)
        );
        assert_eq!(
            store.record_at(of("k1", "b"), TTL, 120_000),
            Ok(Replay::Seen)
        );
        assert_eq!(
            store
                .record_at(of("k4", "a"), TTL, 120_999)
                .unwrap_err()
                .retry_after(),
            Duration::from_secs(1)
        );
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
    fn limits_out_of_bounds_are_refused_naming_the_limit() {
        let refused = |limits: ReplayLimits| match MemoryReplayStore::with_limits(limits) {
            Err(ConfigError::DpopSetting { setting, .. }) => setting,
            other => panic!("{other:?}"),
        };
        let limits = ReplayLimits::default();
        assert_eq!(refused(limits.capacity(0)), "replay capacity");
        assert_eq!(refused(limits.capacity(1)), "replay capacity");
        assert_eq!(refused(limits.capacity(10_000_001)), "replay capacity");
        assert_eq!(refused(limits.per_key(0)), "replay per_key");
        assert_eq!(refused(limits.per_key(50_001)), "replay per_key");
        assert_eq!(refused(limits.capacity(3_999)), "replay per_key");
        for edge in [
            limits.capacity(2).per_key(1),
            limits.per_key(50_000),
            limits.capacity(10_000_000),
            limits.capacity(4_000),
        ] {
            assert!(MemoryReplayStore::with_limits(edge).is_ok(), "{edge:?}");
        }
        // The unchecked constructor clamps instead.
        assert_eq!(
            MemoryReplayStore::with_capacity(0).limits(),
            limits.capacity(2).per_key(1)
        );
        assert_eq!(
            MemoryReplayStore::with_capacity(1_000).limits(),
            limits.capacity(1_000).per_key(500)
        );
        assert_eq!(
            MemoryReplayStore::new().limits(),
            limits.capacity(100_000).per_key(2_000)
        );
    }

    #[test]
    fn errors_carry_when_to_retry_and_why() {
        let full = ReplayError::Full {
            capacity: 9,
            retry_after: Duration::from_secs(7),
        };
        assert_eq!(
            (full.retry_after(), full.reason()),
            (Duration::from_secs(7), "replay_store_full")
        );
        let down = ReplayError::Unavailable {
            problem: "connection refused".into(),
        };
        assert_eq!(
            (down.retry_after(), down.reason()),
            (Duration::from_secs(5), "replay_store_unavailable")
        );
    }

    #[test]
    fn debug_shows_the_numbers_only() {
        let store = store(5, 2);
        assert_eq!(
            store.record_at(key("secret-jti"), TTL, 0),
            Ok(Replay::First)
        );
        let debug = format!("{store:?}");
        assert_eq!(
            debug,
            "MemoryReplayStore { capacity: 5, per_key: 2, len: 1, keys: 1 }"
        );
    }

    #[test]
    fn a_key_shows_as_the_base64url_of_its_proofs_bytes() {
        let key = key("a");
        let text = key.to_string();
        assert_eq!(text, URL_SAFE_NO_PAD.encode(key.as_bytes()));
        assert_eq!(text.len(), 43);
        assert_eq!(format!("{key:?}"), format!("ReplayKey({text})"));
    }

    #[test]
    fn a_store_is_empty_until_it_records_a_proof() {
        let store = MemoryReplayStore::new();
        assert!(store.is_empty());
        assert_eq!(store.record_at(key("a"), TTL, 0), Ok(Replay::First));
        assert!(!store.is_empty());
        assert_eq!(store.len(), 1);
    }
}
