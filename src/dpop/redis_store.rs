//! A DPoP replay store on Redis, shared by every instance of an API (feature `redis`).

use std::fmt;
use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::dpop::{Replay, ReplayError, ReplayFuture, ReplayKey, ReplayStore};

/// The prefix of the keys a [`RedisReplayStore`] sets, unless another is given.
const DEFAULT_PREFIX: &str = "bearer-guard:dpop:";

/// A replay store on Redis, shared by every instance of an API, so that a proof replayed to
/// another instance behind the load balancer is refused there too (feature `redis`).
///
/// Each proof is one `SET <prefix><key> 1 NX PX <ttl>`: atomic, so two instances racing on
/// the same proof cannot both see it first, and Redis forgets it when its window closes.
/// Keys are the prefix (`bearer-guard:dpop:` unless [`key_prefix`](Self::key_prefix) says
/// otherwise) and the 43 characters of the [`ReplayKey`]: no proof, token or `jti` text is
/// stored.
///
/// It runs on tokio, through the redis crate's [`ConnectionManager`]: one multiplexed
/// connection, re-established when it drops, each command timed out (500 ms by default).
/// Any failure (unreachable, timed out, an error reply) is a [`ReplayError::Unavailable`],
/// which the request gets as a 503: never a silent accept.
///
/// # Example
///
/// ```no_run
/// use std::time::Duration;
/// use bearer_guard::dpop::{RedisReplayStore, Replay, ReplayKey, ReplayStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisReplayStore::connect("redis://127.0.0.1:6379/").await?;
/// let key = ReplayKey::new("thumbprint", "jti-1");
/// assert_eq!(store.record(key, Duration::from_secs(120)).await?, Replay::First);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisReplayStore {
    connection: ConnectionManager,
    prefix: Box<str>,
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
        }
    }

    /// Sets the prefix of its keys: to keep the proofs of several APIs (or of tests) apart on
    /// one Redis. Defaults to `bearer-guard:dpop:`.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into().into_boxed_str();
        self
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
        let name = format!("{}{key}", self.prefix);
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        Box::pin(async move {
            // `OK` when set, nil when the key was there: Redis answers both atomically.
            let set: Option<String> = redis::cmd("SET")
                .arg(&name)
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(millis)
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            match set.as_deref() {
                Some("OK") => Ok(Replay::First),
                None => Ok(Replay::Seen),
                Some(_) => Err(ReplayError::Unavailable {
                    problem: "SET NX answered something other than OK or nil".to_owned(),
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
            .finish_non_exhaustive()
    }
}
