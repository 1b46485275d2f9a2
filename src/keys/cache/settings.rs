//! The key cache's numbers, each with its default and its bounds.

use std::time::Duration;

use crate::config::ConfigError;

/// How the JWK set cache fetches and refreshes keys (feature `jwks`). Every number has a
/// safe default; each setter documents it, and [`build`](crate::BearerGuardBuilder::build)
/// refuses a value outside its bounds.
///
/// | setting | default | bounds |
/// |---|---|---|
/// | [`fetch_timeout`](Self::fetch_timeout) | 5 s | 10 ms to 60 s |
/// | [`connect_timeout`](Self::connect_timeout) | 2 s | 10 ms to the fetch timeout |
/// | [`default_max_age`](Self::default_max_age) | 10 min (no `Cache-Control: max-age`) | within the two below |
/// | [`min_max_age`](Self::min_max_age), [`max_max_age`](Self::max_max_age) | 5 min, 1 h: what `max-age` is clamped to (the first is the floor for tiny `max-age`s) | 10 ms to 24 h |
/// | [`refresh_window`](Self::refresh_window) | 50 % to 90 % of the set's life: when a refresh is drawn, uniformly | 1 % to 99 % |
/// | [`stale_for`](Self::stale_for) | 12 h: keys stay in use this long past their expiry while refreshes fail | 0 to 7 days |
/// | [`backoff`](Self::backoff) | 1 s doubling to 60 s, full jitter, on top of any `Retry-After`, between failed fetches | 10 ms to 1 h |
/// | [`unknown_kid_refetches`](Self::unknown_kid_refetches) | 2 per 30 s: refetches a token with an unknown `kid` may cause, pausing 1 to 32 windows while they find nothing new | 0 to 10 per 1 s to 1 h |
/// | [`jitter_seed`](Self::jitter_seed) | a seed of its own per cache | any |
/// | `shared` (feature `redis`) | none: each instance fetches for itself | a `RedisKeyStore` |
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use bearer_guard::jwks::KeyCacheSettings;
///
/// let settings = KeyCacheSettings::default()
///     .fetch_timeout(Duration::from_secs(3))
///     .stale_for(Duration::from_secs(6 * 3600));
/// assert_eq!(settings, KeyCacheSettings::default().fetch_timeout(Duration::from_secs(3)).stale_for(Duration::from_secs(21_600)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct KeyCacheSettings {
    pub(crate) fetch_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) default_max_age: Duration,
    pub(crate) min_max_age: Duration,
    pub(crate) max_max_age: Duration,
    pub(crate) stale_for: Duration,
    pub(crate) backoff_min: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) unknown_kid_refetches: u32,
    pub(crate) unknown_kid_window: Duration,
    /// When a refresh is drawn, in percent of the set's life.
    pub(crate) refresh_window: (u8, u8),
    pub(crate) jitter_seed: Option<u64>,
    /// Where a fleet shares its key set and its unknown-`kid` budget.
    #[cfg(feature = "redis")]
    pub(crate) shared: Option<super::RedisKeyStore>,
}

impl Default for KeyCacheSettings {
    fn default() -> Self {
        Self {
            fetch_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            default_max_age: Duration::from_secs(600),
            min_max_age: Duration::from_secs(300),
            max_max_age: Duration::from_secs(3600),
            stale_for: Duration::from_secs(12 * 3600),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            unknown_kid_refetches: 2,
            unknown_kid_window: Duration::from_secs(30),
            refresh_window: (50, 90),
            jitter_seed: None,
            #[cfg(feature = "redis")]
            shared: None,
        }
    }
}

const SHORTEST: Duration = Duration::from_millis(10);

impl KeyCacheSettings {
    /// The longest a whole fetch (discovery and key set each) may take. Defaults to 5 s.
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// The longest connecting may take, for the built-in HTTP client. Defaults to 2 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a key set lives when its answer has no `Cache-Control: max-age`. Defaults to
    /// 10 minutes.
    pub fn default_max_age(mut self, max_age: Duration) -> Self {
        self.default_max_age = max_age;
        self
    }

    /// The shortest life a key set gets, whatever its `max-age` says: the floor for tiny
    /// `max-age`s. Defaults to 5 minutes.
    ///
    /// The floor is what a fleet's steady load on the issuer comes to: each instance
    /// refreshes about once per 70 % of it, so 1,000 instances on the default ask about
    /// 1,000 / 210 s ≈ 4.8 fetches per second even if the issuer sends `max-age=15`. Lower
    /// it for a faster pickup of removed keys, at that cost; a rotation's new key never
    /// waits for it (an unknown `kid` refetches).
    pub fn min_max_age(mut self, max_age: Duration) -> Self {
        self.min_max_age = max_age;
        self
    }

    /// The longest life a key set gets, whatever its `max-age` says. Defaults to 1 hour.
    pub fn max_max_age(mut self, max_age: Duration) -> Self {
        self.max_max_age = max_age;
        self
    }

    /// How long past its expiry a key set stays in use while refreshes fail. Defaults to 12
    /// hours; beyond it, tokens are answered 503 until a fetch succeeds.
    pub fn stale_for(mut self, stale_for: Duration) -> Self {
        self.stale_for = stale_for;
        self
    }

    /// The wait after a failed fetch: a backoff of `min`, doubling with each failure in a row
    /// up to `max`, drawn uniformly between zero and it ("full jitter"). After an answer with
    /// `Retry-After`, the draw is added on top of it (never earlier than the issuer asked),
    /// over the backoff or the `Retry-After` (at most `max`), whichever is longer: a fleet
    /// turned away together comes back spread out. Defaults to 1 s and 60 s.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max;
        self
    }

    /// At most `count` refetches per `window` for tokens whose `kid` is unknown; beyond that,
    /// such tokens are refused at once. Defaults to 2 per 30 s.
    ///
    /// While such refetches find no new key, the budget pauses: one `window` after the first
    /// fruitless one, doubling with each up to 32 windows (each ±50 %); any fetch that brings
    /// a new key ends the pause. A token naming a `kid` that one of the last refreshes
    /// removed is refused at once and spends nothing.
    pub fn unknown_kid_refetches(mut self, count: u32, window: Duration) -> Self {
        self.unknown_kid_refetches = count;
        self.unknown_kid_window = window;
        self
    }

    /// When a scheduled refresh happens: at a point drawn uniformly between `from_percent`
    /// and `to_percent` of the set's life, so that instances which loaded together refresh
    /// apart. Defaults to 50 % to 90 %; both within 1 to 99, the first not above the second.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ConfigError, ResourceServer};
    /// use bearer_guard::jwks::KeyCacheSettings;
    ///
    /// let api = || ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "RS256"}"#);
    /// let build = |settings| BearerGuardLayer::builder(api()?).issuer("https://idp.example/").key_cache(settings).build();
    /// // A wider spread for a large fleet, with a seed that repeats the schedule (a simulation).
    /// assert!(build(KeyCacheSettings::default().refresh_window(40, 90).jitter_seed(7)).is_ok());
    /// // Checked at build: the window's start after its end.
    /// let err = build(KeyCacheSettings::default().refresh_window(90, 40)).unwrap_err();
    /// assert!(matches!(err, ConfigError::KeyCacheSetting { setting: "refresh_window", .. }));
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn refresh_window(mut self, from_percent: u8, to_percent: u8) -> Self {
        self.refresh_window = (from_percent, to_percent);
        self
    }

    /// Seeds the cache's jitter (refresh points, backoffs, budget pauses), for schedules that
    /// repeat exactly: tests and simulations. Defaults to a seed of its own for each cache,
    /// from std's `RandomState` (which the OS seeds); a fleet should keep that default.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Shares the key set through Redis with every instance of the fleet that shares `store`
    /// (feature `redis`): the fleet fetches it about once per refresh instead of once per
    /// instance, and spends one unknown-`kid` budget (the count per window given to
    /// [`unknown_kid_refetches`](Self::unknown_kid_refetches), and its pause) between all
    /// its instances instead of one each. Off by default.
    ///
    /// Each instance still keeps its own copy of the keys, read lock-free by every request:
    /// Redis is asked only by the background refresh and by the unknown-`kid` path, each
    /// command within the store's [`timeout`](super::RedisKeyStore::timeout). At a refresh,
    /// an instance takes the set from Redis while it has more than the last
    /// `100 − to` % of its life left (`to` of [`refresh_window`](Self::refresh_window), 10 %
    /// by default); past that, or when Redis has none, the one instance that takes a lease
    /// (`SET NX PX`) fetches it (conditionally, with the stored `ETag`) and stores it, the
    /// others read it; a failed fetch leaves the fleet's backoff (or the issuer's
    /// `Retry-After`) in the lease, so the whole fleet waits once. A document read from
    /// Redis is parsed and checked exactly like a fetched one, and a refused one never
    /// replaces keys in use. When Redis is down or slow, each instance fetches for itself,
    /// under its own rules, and keeps serving. The layout in Redis, and its bounds:
    /// [`RedisKeyStore`](super::RedisKeyStore).
    ///
    /// # Example
    ///
    /// ```no_run
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// use bearer_guard::jwks::{KeyCacheSettings, RedisKeyStore};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let api = ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "RS256"}"#)?;
    /// let store = RedisKeyStore::connect("redis://127.0.0.1:6379/").await?;
    /// let layer = BearerGuardLayer::builder(api)
    ///     .issuer("https://idp.example/")
    ///     .key_cache(KeyCacheSettings::default().shared(store))
    ///     .build()?;
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "redis")]
    pub fn shared(mut self, store: super::RedisKeyStore) -> Self {
        self.shared = Some(store);
        self
    }

    /// Checks every bound.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let within = |name: &'static str, value: Duration, min: Duration, max: Duration| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::KeyCacheSetting {
                    setting: name,
                    problem: format!("{value:?} is outside {min:?} to {max:?}"),
                })
            }
        };
        let day = Duration::from_secs(86_400);
        within(
            "fetch_timeout",
            self.fetch_timeout,
            SHORTEST,
            Duration::from_secs(60),
        )?;
        within(
            "connect_timeout",
            self.connect_timeout,
            SHORTEST,
            self.fetch_timeout,
        )?;
        within("min_max_age", self.min_max_age, SHORTEST, day)?;
        within("max_max_age", self.max_max_age, self.min_max_age, day)?;
        within(
            "default_max_age",
            self.default_max_age,
            self.min_max_age,
            self.max_max_age,
        )?;
        within("stale_for", self.stale_for, Duration::ZERO, 7 * day)?;
        within(
            "backoff min",
            self.backoff_min,
            SHORTEST,
            Duration::from_secs(3600),
        )?;
        within(
            "backoff max",
            self.backoff_max,
            self.backoff_min,
            Duration::from_secs(3600),
        )?;
        within(
            "unknown_kid_refetches window",
            self.unknown_kid_window,
            Duration::from_secs(1),
            Duration::from_secs(3600),
        )?;
        let (from, to) = self.refresh_window;
        if !(1..=99).contains(&from) || !(from..=99).contains(&to) {
            return Err(ConfigError::KeyCacheSetting {
                setting: "refresh_window",
                problem: format!(
                    "{from} % to {to} % is not a window within 1 % to 99 % of the key set's life"
                ),
            });
        }
        if self.unknown_kid_refetches > 10 {
            return Err(ConfigError::KeyCacheSetting {
                setting: "unknown_kid_refetches",
                problem: format!("{} is more than 10", self.unknown_kid_refetches),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones_and_pass_their_bounds() {
        let settings = KeyCacheSettings::default();
        assert_eq!(settings.fetch_timeout, Duration::from_secs(5));
        assert_eq!(settings.connect_timeout, Duration::from_secs(2));
        assert_eq!(settings.default_max_age, Duration::from_secs(600));
        assert_eq!(
            (settings.min_max_age, settings.max_max_age),
            (Duration::from_secs(300), Duration::from_secs(3600))
        );
        assert_eq!(
            (settings.refresh_window, settings.jitter_seed),
            ((50, 90), None)
        );
        assert_eq!(settings.stale_for, Duration::from_secs(43_200));
        assert_eq!(
            (settings.backoff_min, settings.backoff_max),
            (Duration::from_secs(1), Duration::from_secs(60))
        );
        assert_eq!(
            (settings.unknown_kid_refetches, settings.unknown_kid_window),
            (2, Duration::from_secs(30))
        );
        assert_eq!(settings.check(), Ok(()));
    }

    #[test]
    fn each_setter_sets_its_value() {
        let ms = Duration::from_millis;
        let settings = KeyCacheSettings::default()
            .fetch_timeout(ms(1))
            .connect_timeout(ms(2))
            .default_max_age(ms(3))
            .min_max_age(ms(4))
            .max_max_age(ms(5))
            .stale_for(ms(6))
            .backoff(ms(7), ms(8))
            .unknown_kid_refetches(9, ms(10))
            .refresh_window(11, 12)
            .jitter_seed(13);
        assert_eq!(
            [
                settings.fetch_timeout,
                settings.connect_timeout,
                settings.default_max_age,
                settings.min_max_age,
                settings.max_max_age,
                settings.stale_for,
                settings.backoff_min,
                settings.backoff_max,
                settings.unknown_kid_window,
            ],
            [
                ms(1),
                ms(2),
                ms(3),
                ms(4),
                ms(5),
                ms(6),
                ms(7),
                ms(8),
                ms(10)
            ]
        );
        assert_eq!(settings.unknown_kid_refetches, 9);
        assert_eq!(
            (settings.refresh_window, settings.jitter_seed),
            ((11, 12), Some(13))
        );
    }

    #[test]
    fn the_refresh_window_lies_within_the_life_and_in_order() {
        for (from, to) in [(50, 90), (1, 99), (80, 80)] {
            assert_eq!(
                KeyCacheSettings::default().refresh_window(from, to).check(),
                Ok(()),
                "{from} {to}"
            );
        }
        for (from, to) in [(0, 90), (50, 100), (90, 50), (0, 0), (100, 100)] {
            match KeyCacheSettings::default().refresh_window(from, to).check() {
                Err(ConfigError::KeyCacheSetting { setting, problem }) => {
                    assert_eq!(setting, "refresh_window");
                    assert!(
                        problem.contains(&format!("{from} % to {to} %")),
                        "{problem}"
                    );
                }
                other => panic!("{from} {to}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_floor_for_tiny_max_ages_is_checked() {
        match KeyCacheSettings::default()
            .min_max_age(Duration::from_millis(1))
            .check()
        {
            Err(ConfigError::KeyCacheSetting { setting, .. }) => assert_eq!(setting, "min_max_age"),
            other => panic!("{other:?}"),
        }
        // A floor above the default max-age needs the default raised too.
        assert!(
            KeyCacheSettings::default()
                .min_max_age(Duration::from_secs(900))
                .check()
                .is_err()
        );
    }

    #[test]
    fn ten_unknown_kid_refetches_is_the_most_allowed() {
        let window = Duration::from_secs(30);
        assert_eq!(
            KeyCacheSettings::default()
                .unknown_kid_refetches(10, window)
                .check(),
            Ok(())
        );
        assert!(
            KeyCacheSettings::default()
                .unknown_kid_refetches(11, window)
                .check()
                .is_err()
        );
    }

    #[test]
    fn values_out_of_bounds_are_refused_naming_the_setting() {
        let refused = |settings: KeyCacheSettings| match settings.check() {
            Err(ConfigError::KeyCacheSetting { setting, .. }) => setting,
            other => panic!("{other:?}"),
        };
        let ms = Duration::from_millis;
        assert_eq!(
            refused(KeyCacheSettings::default().fetch_timeout(ms(1))),
            "fetch_timeout"
        );
        assert_eq!(
            refused(KeyCacheSettings::default().connect_timeout(Duration::from_secs(6))),
            "connect_timeout"
        );
        assert_eq!(
            refused(KeyCacheSettings::default().max_max_age(ms(20))),
            "max_max_age"
        );
        assert_eq!(
            refused(KeyCacheSettings::default().default_max_age(ms(20))),
            "default_max_age"
        );
        assert_eq!(
            refused(KeyCacheSettings::default().backoff(ms(100), ms(50))),
            "backoff max"
        );
        assert_eq!(
            refused(KeyCacheSettings::default().unknown_kid_refetches(11, Duration::from_secs(30))),
            "unknown_kid_refetches"
        );
        // Short values, as tests use, are within bounds.
        let quick = KeyCacheSettings::default()
            .fetch_timeout(ms(200))
            .connect_timeout(ms(100))
            .min_max_age(ms(50))
            .default_max_age(ms(50))
            .backoff(ms(10), ms(40))
            .unknown_kid_refetches(2, Duration::from_secs(1));
        assert_eq!(quick.check(), Ok(()));
    }
}
