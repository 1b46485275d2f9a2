//! Where a fleet's key caches meet (feature `redis`): [`RedisKeyStore`], the Redis commands
//! of the shared key-set cache. What they mean for a cache is `shared.rs`'s.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redis::aio::ConnectionManager;
use sha2::{Digest as _, Sha256};

use super::FetchError;

/// The prefix of the keys a [`RedisKeyStore`] sets, unless another is given.
const DEFAULT_PREFIX: &str = "bearer-guard:jwks:";

/// The longest a store waits for one Redis answer, unless told otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// The set and its remaining life in one round trip (`PTTL` on Redis's clock).
const READ: &str = r"
return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}
";

/// Takes the lease if it is free: `{1, 0, 0}`; else `{0, its remaining ms, 1 if it is the
/// fleet's wait after a failure (its value `wait`) or 0 while an instance fetches}`.
const ACQUIRE: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, 0, 0}
end
local held = redis.call('GET', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if held == 'wait' then
  return {0, left, 1}
end
return {0, left, 0}
";

/// Ends the lease its holder (`ARGV[1]`) took: deleted (`ARGV[2]` = 0), or turned into the
/// fleet's wait of `ARGV[2]` ms after a failed fetch. Another holder's lease is left alone.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if tonumber(ARGV[2]) == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], 'wait', 'PX', ARGV[2])
end
return 1
";

/// The fleet's unknown-`kid` budget: `2` while it pauses, else the window's count
/// incremented (the window starts with its first refetch), `1` within `ARGV[1]`, `0` beyond.
const ASK: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 2
end
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if n > tonumber(ARGV[1]) then
  return 0
end
return 1
";

/// A fleet's meeting point in Redis for a key cache shared by every instance of an API
/// (feature `redis`): given to [`KeyCacheSettings::shared`](super::KeyCacheSettings::shared),
/// it makes the fleet fetch the JWK set about once per refresh, whatever its size, and spend
/// one unknown-`kid` budget between them.
///
/// For each key set (the key is derived from its discovery issuer or `jwks_uri`: a SHA-256,
/// so one Redis serves many APIs and issuers) it keeps, under `<prefix>{<hash>}:` (the prefix
/// is `bearer-guard:jwks:` unless [`key_prefix`](Self::key_prefix) says otherwise; the braces
/// keep one set's keys in one slot of a Redis Cluster):
///
/// | key | what | lives |
/// |---|---|---|
/// | `set` | the document as last fetched, with its validators, life and location | its life (`max-age`, clamped) |
/// | `lease` | who fetches now, or the fleet's wait after a failed fetch | twice the fetch timeout, or that wait |
/// | `unknown`, `pause`, `fruitless` | the unknown-`kid` budget's window, pause and count of fruitless refetches | a window, a pause, 64 windows |
///
/// so Redis holds a few kilobytes per key set, each key with a TTL. Only the cache's
/// background task and its unknown-`kid` path talk to Redis, each command bounded by
/// [`timeout`](Self::timeout) (500 ms by default): requests never wait on it, and a Redis
/// that is down or slow makes each instance fetch for itself, under its own rules.
///
/// Whoever can write to this Redis can hand the fleet its keys, as whoever can answer for the
/// issuer can: a document read from Redis is parsed and checked exactly like a fetched one
/// (its location must be this cache's), but its keys are not verified against the issuer.
/// Protect it as you protect the issuer's connection: a Redis of your own, with ACLs and TLS.
///
/// # Example
///
/// ```no_run
/// use bearer_guard::jwks::{KeyCacheSettings, RedisKeyStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisKeyStore::connect("redis://127.0.0.1:6379/").await?.key_prefix("my-api:jwks:");
/// let settings = KeyCacheSettings::default().shared(store);
/// # let _ = settings;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisKeyStore {
    connection: ConnectionManager,
    prefix: Box<str>,
    timeout: Duration,
    /// Which connection this is, for equality: clones are equal, stores connected apart are
    /// not.
    identity: Arc<()>,
}

impl RedisKeyStore {
    /// Connects to the Redis at `url` (`redis://[user:password@]host:port/db`), with the
    /// connection manager's defaults.
    ///
    /// # Errors
    ///
    /// A [`FetchError`] when the URL is not one, or Redis cannot be reached (after the
    /// connection manager's attempts, about 10 s).
    pub async fn connect(url: &str) -> Result<Self, FetchError> {
        let client = redis::Client::open(url).map_err(FetchError::new)?;
        let connection = ConnectionManager::new(client)
            .await
            .map_err(FetchError::new)?;
        Ok(Self::from_connection(connection))
    }

    /// A store on a connection manager you set up (your timeouts, TLS, credentials).
    #[must_use]
    pub fn from_connection(connection: ConnectionManager) -> Self {
        Self {
            connection,
            prefix: DEFAULT_PREFIX.into(),
            timeout: DEFAULT_TIMEOUT,
            identity: Arc::new(()),
        }
    }

    /// Sets the prefix of its keys: to keep apart fleets (or tests) that share one Redis and
    /// the same issuer but should not share keys. Defaults to `bearer-guard:jwks:`.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into().into_boxed_str();
        self
    }

    /// Sets the longest wait for one Redis answer, past which the cache goes on without
    /// Redis (it fetches for itself). Defaults to 500 ms.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The keys of the set found at `location` (its issuer or URL, as the cache names it).
    pub(crate) fn keys(&self, location: &str) -> Keys {
        Keys::of(&self.prefix, location)
    }

    /// The stored record and its remaining life, if there is one.
    pub(crate) async fn read(&self, keys: &Keys) -> Result<Option<Stored>, String> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(READ).arg(1).arg(&keys.set);
        let (record, left): (Option<Vec<u8>>, i64) = self.query(&cmd).await?;
        Ok(record.map(|record| Stored {
            record,
            remaining: millis_to_duration(left),
        }))
    }

    /// Stores `record` for `life`.
    pub(crate) async fn write(
        &self,
        keys: &Keys,
        record: &[u8],
        life: Duration,
    ) -> Result<(), String> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(&keys.set)
            .arg(record)
            .arg("PX")
            .arg(duration_to_millis(life));
        let _: () = self.query(&cmd).await?;
        Ok(())
    }

    /// Takes the lease for `holder`, for `hold`, if it is free.
    pub(crate) async fn acquire(
        &self,
        keys: &Keys,
        holder: &str,
        hold: Duration,
    ) -> Result<Lease, String> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(ACQUIRE)
            .arg(1)
            .arg(&keys.lease)
            .arg(holder)
            .arg(duration_to_millis(hold));
        let (taken, left, waiting): (i64, i64, i64) = self.query(&cmd).await?;
        let left = millis_to_duration(left);
        Ok(match (taken, waiting) {
            (1, _) => Lease::Acquired,
            (_, 1) => Lease::Waiting(left),
            _ => Lease::Fetching(left),
        })
    }

    /// Ends `holder`'s lease: freed, or (`wait`) kept as the fleet's wait after a failure.
    pub(crate) async fn release(
        &self,
        keys: &Keys,
        holder: &str,
        wait: Option<Duration>,
    ) -> Result<(), String> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(RELEASE)
            .arg(1)
            .arg(&keys.lease)
            .arg(holder)
            .arg(wait.map_or(0, duration_to_millis));
        let _: i64 = self.query(&cmd).await?;
        Ok(())
    }

    /// Asks the fleet's unknown-`kid` budget for one refetch: `count` per `window`.
    pub(crate) async fn ask(
        &self,
        keys: &Keys,
        count: u32,
        window: Duration,
    ) -> Result<Budget, String> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(ASK)
            .arg(2)
            .arg(&keys.unknown)
            .arg(&keys.pause)
            .arg(count)
            .arg(duration_to_millis(window));
        let answer: i64 = self.query(&cmd).await?;
        Ok(match answer {
            1 => Budget::Allowed,
            2 => Budget::Paused,
            _ => Budget::Spent,
        })
    }

    /// Counts a fruitless unknown-`kid` refetch (the count lives 64 `window`s); answers how
    /// many in a row.
    pub(crate) async fn fruitless(&self, keys: &Keys, window: Duration) -> Result<u32, String> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg("local n = redis.call('INCR', KEYS[1]) redis.call('PEXPIRE', KEYS[1], ARGV[1]) return n")
            .arg(1)
            .arg(&keys.fruitless)
            .arg(duration_to_millis(window.saturating_mul(64)));
        let count: i64 = self.query(&cmd).await?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// Pauses the fleet's unknown-`kid` budget for `pause`.
    pub(crate) async fn pause(&self, keys: &Keys, pause: Duration) -> Result<(), String> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(&keys.pause)
            .arg(1)
            .arg("PX")
            .arg(duration_to_millis(pause));
        let _: () = self.query(&cmd).await?;
        Ok(())
    }

    /// Ends the budget's pause and its count of fruitless refetches: a new key came.
    pub(crate) async fn reset_budget(&self, keys: &Keys) -> Result<(), String> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(&keys.pause).arg(&keys.fruitless);
        let _: i64 = self.query(&cmd).await?;
        Ok(())
    }

    /// One command, bounded by the store's timeout.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, String> {
        let mut connection = self.connection.clone();
        match tokio::time::timeout(self.timeout, cmd.query_async(&mut connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(format!("Redis: {err}")),
            Err(_) => Err(format!("Redis: no answer within {:?}", self.timeout)),
        }
    }
}

/// The names of one key set's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Keys {
    pub(crate) set: String,
    pub(crate) lease: String,
    pub(crate) unknown: String,
    pub(crate) pause: String,
    pub(crate) fruitless: String,
}

impl Keys {
    /// `<prefix>{<SHA-256 of location, base64url>}:<name>`: one Cluster slot per key set.
    fn of(prefix: &str, location: &str) -> Self {
        let hash = URL_SAFE_NO_PAD.encode(Sha256::digest(location.as_bytes()));
        let base = format!("{prefix}{{{hash}}}:");
        Self {
            set: format!("{base}set"),
            lease: format!("{base}lease"),
            unknown: format!("{base}unknown"),
            pause: format!("{base}pause"),
            fruitless: format!("{base}fruitless"),
        }
    }
}

/// A record as stored, and how long it has left.
pub(crate) struct Stored {
    pub(crate) record: Vec<u8>,
    pub(crate) remaining: Duration,
}

/// Who fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lease {
    /// This instance: it fetches, then writes the set or the fleet's wait.
    Acquired,
    /// Another instance fetches; its lease ends within this.
    Fetching(Duration),
    /// The last fetch failed: nobody fetches for this long.
    Waiting(Duration),
}

/// What the fleet's unknown-`kid` budget answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget {
    Allowed,
    Spent,
    Paused,
}

fn duration_to_millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// A `PTTL` answer: negative (no key, or no expiry) is none left.
fn millis_to_duration(millis: i64) -> Duration {
    Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

/// Equal when they are clones of one store, with the same prefix and timeout.
impl PartialEq for RedisKeyStore {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.identity, &other.identity)
            && self.prefix == other.prefix
            && self.timeout == other.timeout
    }
}

impl Eq for RedisKeyStore {}

/// The connection's address and credentials stay out of logs.
impl fmt::Debug for RedisKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisKeyStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_set_has_keys_of_its_own_in_one_cluster_slot() {
        let one = Keys::of("p:", "issuer https://a.example/");
        let two = Keys::of("p:", "issuer https://b.example/");
        assert_ne!(one.set, two.set);
        assert!(
            one.set.starts_with("p:{") && one.set.ends_with("}:set"),
            "{}",
            one.set
        );
        // The hash tag is the same for all five keys of a set.
        let tag = |key: &str| key[key.find('{').unwrap()..=key.find('}').unwrap()].to_owned();
        for key in [&one.lease, &one.unknown, &one.pause, &one.fruitless] {
            assert_eq!(tag(key), tag(&one.set));
        }
        // No location text in Redis: only its hash.
        assert!(!one.set.contains("a.example"));
        assert_eq!(
            Keys::of("q:", "issuer https://a.example/").set[2..],
            one.set[2..]
        );
    }

    #[test]
    fn remaining_lives_are_never_negative_and_ttls_never_zero() {
        assert_eq!(millis_to_duration(-2), Duration::ZERO);
        assert_eq!(millis_to_duration(-1), Duration::ZERO);
        assert_eq!(millis_to_duration(1500), Duration::from_millis(1500));
        assert_eq!(duration_to_millis(Duration::ZERO), 1);
        assert_eq!(duration_to_millis(Duration::from_secs(2)), 2000);
        assert_eq!(duration_to_millis(Duration::MAX), u64::MAX);
    }
}
