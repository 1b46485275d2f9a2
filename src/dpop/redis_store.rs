//! A DPoP replay store on Redis, shared by every instance of an API (feature `redis`).

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redis::aio::ConnectionManager;

use crate::config::ConfigError;
use crate::dpop::{Replay, ReplayError, ReplayFuture, ReplayKey, ReplayStore};

/// The prefix of the keys a [`RedisReplayStore`] sets, unless another is given.
const DEFAULT_PREFIX: &str = "bearer-guard:dpop:";

/// The default quota of one key, as [`ReplayLimits`](crate::dpop::ReplayLimits)'.
const DEFAULT_PER_KEY: u32 = 2_000;
/// The largest quota taken.
const MAX_PER_KEY: u32 = 1_000_000;

/// Records a proof in its signer's sorted set, atomically (a script runs alone): expired
/// members dropped, then `0` if the proof is there (seen), `2` if the signer holds its
/// quota, else the proof added with its expiry as score and `1`. The set expires with its
/// last member. The time is Redis's own, one clock for the whole fleet.
///
/// `KEYS[1]`: the signer's set; `ARGV`: the proof's 32 bytes, its ttl in ms, the quota.
const RECORD: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 2
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
";

/// A replay store on Redis, shared by every instance of an API, so that a proof replayed to
/// another instance behind the load balancer is refused there too (feature `redis`), with a
/// quota per key as [`MemoryReplayStore`](crate::dpop::MemoryReplayStore) keeps (see
/// [`ReplayStore`] for why).
///
/// Each key that signs proofs has one sorted set, `<prefix><signer>` (the prefix is
/// `bearer-guard:dpop:` unless [`key_prefix`](Self::key_prefix) says otherwise, the signer
/// the 43 characters of [`ReplayKey::signer`]): its members are its unexpired proofs (the 32
/// bytes of [`ReplayKey::as_bytes`]), each scored by its expiry on Redis's clock. Recording a
/// proof is one Lua script, atomic: expired members dropped, the proof looked up, the
/// quota checked ([`per_key`](Self::per_key), 2,000 by default), the proof added. Two
/// instances racing on the same proof cannot both see it first, a key over its quota gets
/// [`Replay::OverQuota`] on every instance, and each set expires with its last proof. No
/// proof, token, `jti` or thumbprint text is stored. One key per call: it works on a Redis
/// Cluster too.
///
/// Memory: at most `per_key` members per key that holds a valid token, about 135 bytes each
/// once a set outgrows Redis's compact encoding (measured on Redis 7.0, `BENCHMARKS.md`), so
/// one key costs at most about 270 KB at the default quota, whatever it sends. The bound on all keys together is
/// Redis's: set `maxmemory` with the `noeviction` policy, so that a full Redis refuses writes
/// (answered 503 with `Retry-After`) rather than evict proofs, whose replays would then pass.
///
/// It runs on tokio, through the redis crate's [`ConnectionManager`]: one multiplexed
/// connection, re-established when it drops, each command timed out (500 ms by default).
/// Any failure (unreachable, timed out, an error reply, out of memory) is a
/// [`ReplayError::Unavailable`], which the request gets as a 503 with `Retry-After`: never a
/// silent accept.
///
/// # Example
///
/// ```no_run
/// use std::time::Duration;
/// use bearer_guard::dpop::{RedisReplayStore, Replay, ReplayKey, ReplayStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisReplayStore::connect("redis://127.0.0.1:6379/").await?.per_key(5_000)?;
/// let key = ReplayKey::new("thumbprint", "jti-1");
/// assert_eq!(store.record(key, Duration::from_secs(120)).await?, Replay::First);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisReplayStore {
    connection: ConnectionManager,
    prefix: Box<str>,
    per_key: u32,
}

impl RedisReplayStore {
    /// Connects to the Redis at `url` (`redis://[user:password@]host:port/db`, or
    /// `rediss://` with TLS, if your build of the redis crate has it), with the connection
    /// manager's defaults: 1 s to connect, 500 ms per command, six reconnection attempts.
    ///
    /// # Errors
    ///
    /// [`ReplayError::Unavailable`] when the URL is not one, or Redis cannot be reached: the
    /// latter after six attempts with exponential backoff, about 10 s.
    pub async fn connect(url: &str) -> Result<Self, ReplayError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let connection = ConnectionManager::new(client).await.map_err(unavailable)?;
        Ok(Self::from_connection(connection))
    }

    /// A store on a connection manager you set up (your timeouts, TLS, credentials).
    #[must_use]
    pub fn from_connection(connection: ConnectionManager) -> Self {
        Self {
            connection,
            prefix: DEFAULT_PREFIX.into(),
            per_key: DEFAULT_PER_KEY,
        }
    }

    /// Sets the prefix of its keys: to keep the proofs of several APIs (or of tests) apart on
    /// one Redis. Defaults to `bearer-guard:dpop:`.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into().into_boxed_str();
        self
    }

    /// Sets how many unexpired proofs one key may hold. Defaults to 2,000: a client sending 16
    /// requests a second with one key, at the default window. Every instance sharing the
    /// Redis should use the same.
    ///
    /// # Errors
    ///
    /// [`ConfigError::DpopSetting`] for a quota outside 1 to 1,000,000.
    pub fn per_key(mut self, per_key: u32) -> Result<Self, ConfigError> {
        if !(1..=MAX_PER_KEY).contains(&per_key) {
            return Err(ConfigError::DpopSetting {
                setting: "replay per_key",
                problem: format!("{per_key} is outside 1 to {MAX_PER_KEY}"),
            });
        }
        self.per_key = per_key;
        Ok(self)
    }
}

fn unavailable(err: redis::RedisError) -> ReplayError {
    ReplayError::Unavailable {
        problem: err.to_string(),
    }
}

impl ReplayStore for RedisReplayStore {
    fn record(&self, key: ReplayKey, ttl: Duration) -> ReplayFuture<'_> {
        let mut connection = self.connection.clone();
        let name = format!("{}{}", self.prefix, URL_SAFE_NO_PAD.encode(key.signer()));
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let per_key = self.per_key;
        Box::pin(async move {
            let answer: i64 = redis::cmd("EVAL")
                .arg(RECORD)
                .arg(1)
                .arg(&name)
                .arg(key.as_bytes().as_slice())
                .arg(millis)
                .arg(per_key)
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            match answer {
                1 => Ok(Replay::First),
                0 => Ok(Replay::Seen),
                2 => Ok(Replay::OverQuota),
                _ => Err(ReplayError::Unavailable {
                    problem: format!("the replay script answered {answer}"),
                }),
            }
        })
    }
}

/// The connection's address and credentials stay out of logs.
impl fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisReplayStore")
            .field("prefix", &self.prefix)
            .field("per_key", &self.per_key)
            .finish_non_exhaustive()
    }
}
