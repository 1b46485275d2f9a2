//! The key cache (feature `jwks`): a JWK set found by discovery or at a URL, fetched in the
//! background and swapped in atomically, so that no request waits for a scheduled refresh
//! and the hot path takes no lock.
//!
//! - Startup does not wait: the first fetch runs in the background; until a set has loaded,
//!   tokens are answered 503 with `Retry-After`.
//! - A set lives for its `Cache-Control: max-age` (clamped), is refreshed before it expires
//!   (jittered ±10 %), and stays in use for [`stale_for`](JwksSettings::stale_for) past its
//!   expiry while refreshes fail, which back off (jittered) and honour `Retry-After`.
//! - A token with an unknown `kid` may cause one refetch, shared by every request waiting on
//!   it and bounded by the fetch timeout, at most a few per window; beyond that it is refused
//!   at once.

mod fetch;
mod location;
#[cfg(feature = "reqwest")]
mod reqwest_fetcher;
mod settings;
mod status;
mod wait;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwapOption;
use bytes::Bytes;
use serde::Deserialize;
use tokio::sync::Notify;

use crate::error::ConfigError;
use crate::keys::{Algorithms, JwkSet};

pub use fetch::{FetchError, FetchFuture, JwksFetcher};
#[cfg(feature = "reqwest")]
pub use reqwest_fetcher::ReqwestFetcher;
pub use settings::JwksSettings;
pub use status::{KeySetStatus, KeysNotReady};
pub(crate) use wait::KeyWait;

use location::{discovery_urls, is_fetchable};

/// Where the key set is found.
#[derive(Debug, Clone)]
pub(crate) enum Location {
    /// By discovery from the issuer: its `jwks_uri`.
    Discovery { issuer: Box<str> },
    /// At this URL.
    JwksUri(Box<str>),
}

/// The key set in use, as read on the hot path.
pub(crate) type Current = arc_swap::Guard<Option<Arc<Loaded>>>;

/// A key set as loaded, with its times.
pub(crate) struct Loaded {
    pub(crate) set: JwkSet,
    /// Counts the changes of the key set: the same document fetched again keeps it, any
    /// other document moves it on. Tokens verified under one generation are verified again
    /// under the next (the verified-token cache checks it).
    pub(crate) generation: u64,
    /// When it was fetched.
    at: SystemTime,
    /// Until when it is fresh (its `max-age`).
    fresh_until: Instant,
    /// Until when it may be used: fresh, then stale while refreshes fail.
    usable_until: Instant,
}

/// The cache: shared by the validator (reads) and its background task (writes).
pub(crate) struct KeyCache {
    location: Location,
    accepted: Algorithms,
    fetcher: Arc<dyn JwksFetcher>,
    settings: JwksSettings,
    current: ArcSwapOption<Loaded>,
    control: Mutex<Control>,
    /// Notified when a fetch ends, for requests waiting on an unknown-`kid` refetch.
    fetched: Arc<Notify>,
    /// Wakes the background task: a refetch was asked for, or the cache is gone.
    kick: Arc<Notify>,
    started: AtomicBool,
    /// Itself, for the background task, which must not keep it alive.
    me: Weak<Self>,
}

/// What the background task and the unknown-`kid` path share; never touched by the hot path.
#[derive(Default)]
struct Control {
    jwks_uri: Option<Box<str>>,
    in_flight: bool,
    /// Refetches asked for by unknown `kid`s, within the window.
    unknown_kid: VecDeque<Instant>,
    /// No fetch before this (a `Retry-After`, or the backoff after a failure).
    not_before: Option<Instant>,
    failures_in_a_row: u32,
    fetches: u64,
    failures: u64,
    last_success: Option<SystemTime>,
    last_error: Option<String>,
}

/// What one fetch came to.
struct Fetched {
    set: JwkSet,
    max_age: Option<Duration>,
}

/// Why one fetch failed, and when to try again at the earliest.
struct Failure {
    reason: String,
    retry_after: Option<Duration>,
}

impl Failure {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            retry_after: None,
        }
    }
}

#[derive(Deserialize)]
struct DiscoveryDocument<'a> {
    #[serde(borrow)]
    issuer: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    jwks_uri: std::borrow::Cow<'a, str>,
}

impl KeyCache {
    pub(crate) fn new(
        location: Location,
        accepted: Algorithms,
        fetcher: Arc<dyn JwksFetcher>,
        settings: JwksSettings,
    ) -> Result<Arc<Self>, ConfigError> {
        settings.check()?;
        match &location {
            Location::Discovery { issuer } => location::check("issuer (for discovery)", issuer)?,
            Location::JwksUri(url) => location::check("jwks_uri", url)?,
        }
        let cache = Arc::new_cyclic(|me| Self {
            location,
            accepted,
            fetcher,
            settings,
            current: ArcSwapOption::empty(),
            control: Mutex::new(Control::default()),
            fetched: Arc::new(Notify::new()),
            kick: Arc::new(Notify::new()),
            started: AtomicBool::new(false),
            me: me.clone(),
        });
        // Where a runtime already runs, the first fetch starts now; else on first use.
        cache.start();
        Ok(cache)
    }

    /// The key set to verify with now: `None` before one has loaded, or once it has been
    /// stale for longer than allowed. Lock-free, and without touching a reference count that
    /// every core would share: arc-swap's `load`.
    pub(crate) fn current(&self) -> Option<Current> {
        if !self.started.load(Ordering::Relaxed) {
            self.start();
        }
        let current = self.current.load();
        // Fresh, or stale while refreshes fail: usable either way, until `stale_for` runs out.
        let usable = current
            .as_ref()
            .is_some_and(|loaded| Instant::now() < loaded.usable_until);
        usable.then_some(current)
    }

    /// Starts the background task on the current tokio runtime, once. Without a runtime,
    /// nothing happens: the next use tries again.
    fn start(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        runtime.spawn(run(self.me.clone(), Arc::clone(&self.kick)));
    }

    /// Asks for a refetch because a token named a `kid` the set lacks. Returns what to wait
    /// on, or `None` when the budget of such refetches is spent or a `Retry-After` holds:
    /// the token is then refused at once.
    pub(crate) fn refetch_for_unknown_kid(&self) -> Option<KeyWait> {
        // Without the background task (no runtime yet) nothing would fetch: nothing to wait on.
        if !self.started.load(Ordering::Acquire) {
            return None;
        }
        let mut control = self.lock();
        let wait = KeyWait::new(Arc::clone(&self.fetched), self.settings.fetch_timeout);
        if control.in_flight {
            return Some(wait);
        }
        let now = Instant::now();
        if control
            .not_before
            .is_some_and(|not_before| now < not_before)
        {
            tracing::debug!(
                "bearer-guard: unknown kid; refetch refused while a Retry-After or backoff holds"
            );
            return None;
        }
        let window = self.settings.unknown_kid_window;
        while control
            .unknown_kid
            .front()
            .is_some_and(|at| now.duration_since(*at) >= window)
        {
            control.unknown_kid.pop_front();
        }
        if control.unknown_kid.len() >= self.settings.unknown_kid_refetches as usize {
            tracing::debug!("bearer-guard: unknown kid; refetch refused by the budget");
            return None;
        }
        control.unknown_kid.push_back(now);
        // Marked now, so that every request until the fetch ends joins this one.
        control.in_flight = true;
        drop(control);
        tracing::info!("bearer-guard: unknown kid; refetching the key set");
        self.kick.notify_one();
        Some(wait)
    }

    /// How long a client should wait before trying again while no keys are usable: until the
    /// next fetch attempt, at least a second, at most a minute.
    pub(crate) fn retry_after(&self) -> Duration {
        let next = self.lock().not_before.map_or(Duration::ZERO, |at| {
            at.saturating_duration_since(Instant::now())
        });
        next.clamp(Duration::from_secs(1), Duration::from_secs(60))
    }

    /// A snapshot of the cache, for a health endpoint.
    pub(crate) fn status(&self) -> KeySetStatus {
        let control = self.lock();
        let loaded = self.current.load_full();
        let now = Instant::now();
        KeySetStatus {
            loaded: loaded.as_ref().is_some_and(|l| now < l.usable_until),
            stale: loaded.as_ref().is_some_and(|l| now >= l.fresh_until),
            keys: loaded.as_ref().map_or(0, |l| l.set.len()),
            loaded_at: loaded.as_ref().map(|l| l.at),
            last_success: control.last_success,
            last_error: control.last_error.clone(),
            fetches: control.fetches,
            failures: control.failures,
        }
    }

    /// Waits until a key set is usable, or `timeout` passes.
    pub(crate) async fn wait_for_keys(&self, timeout: Duration) -> Result<(), KeysNotReady> {
        self.start();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = Arc::clone(&self.fetched).notified_owned();
            if self.current().is_some() {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return match self.current() {
                    Some(_) => Ok(()),
                    None => Err(KeysNotReady(self.status())),
                };
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Control> {
        // The control state holds no invariant a panic could break halfway.
        self.control
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One fetch: its outcome stored, its waiters woken. Returns the wait until the next.
    async fn fetch_and_schedule(&self) -> Duration {
        self.lock().in_flight = true;
        let outcome = match tokio::time::timeout(self.settings.fetch_timeout, self.fetch()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Failure::new(format!(
                "no answer within the fetch timeout ({:?})",
                self.settings.fetch_timeout
            ))),
        };
        let next = {
            let mut control = self.lock();
            control.in_flight = false;
            control.fetches += 1;
            match outcome {
                Ok(fetched) => {
                    let max_age = fetched
                        .max_age
                        .unwrap_or(self.settings.default_max_age)
                        .clamp(self.settings.min_max_age, self.settings.max_max_age);
                    let now = Instant::now();
                    let keys = fetched.set.len();
                    let generation = match self.current.load().as_deref() {
                        Some(before) if before.set.digest() == fetched.set.digest() => {
                            before.generation
                        }
                        Some(before) => before.generation.wrapping_add(1),
                        None => 0,
                    };
                    self.current.store(Some(Arc::new(Loaded {
                        set: fetched.set,
                        generation,
                        at: SystemTime::now(),
                        fresh_until: now + max_age,
                        usable_until: now + max_age + self.settings.stale_for,
                    })));
                    control.failures_in_a_row = 0;
                    control.not_before = None;
                    control.last_success = Some(SystemTime::now());
                    control.last_error = None;
                    tracing::info!(
                        keys,
                        max_age_s = max_age.as_secs_f64(),
                        "bearer-guard: key set fetched"
                    );
                    // Refreshed before it expires: at 90 % of its life, ±10 %.
                    jitter(max_age.mul_f64(0.9))
                }
                Err(failure) => {
                    control.failures += 1;
                    control.failures_in_a_row = control.failures_in_a_row.saturating_add(1);
                    let backoff = jitter(backoff(&self.settings, control.failures_in_a_row));
                    let wait = failure
                        .retry_after
                        .map_or(backoff, |after| after.max(backoff));
                    control.not_before = Some(Instant::now() + wait);
                    let stale = self
                        .current
                        .load()
                        .as_ref()
                        .is_some_and(|loaded| Instant::now() >= loaded.fresh_until);
                    tracing::warn!(reason = %failure.reason, retry_in_s = wait.as_secs_f64(), stale_keys_in_use = stale, "bearer-guard: key set fetch failed");
                    control.last_error = Some(failure.reason);
                    wait
                }
            }
        };
        self.fetched.notify_waiters();
        next
    }

    /// Fetches the key set: its URL first, by discovery when needed.
    async fn fetch(&self) -> Result<Fetched, Failure> {
        let jwks_uri = self.jwks_uri().await?;
        let response = self.get(&jwks_uri).await?;
        let max_age = max_age(response.headers());
        let set = JwkSet::parse(response.body(), self.accepted)
            .map_err(|err| Failure::new(format!("key set at {jwks_uri}: {err}")))?;
        Ok(Fetched { set, max_age })
    }

    /// The key set's URL: configured, or found once by discovery.
    async fn jwks_uri(&self) -> Result<Box<str>, Failure> {
        let issuer = match &self.location {
            Location::JwksUri(url) => return Ok(url.clone()),
            Location::Discovery { issuer } => issuer,
        };
        if let Some(known) = self.lock().jwks_uri.clone() {
            return Ok(known);
        }
        let mut last = Failure::new("discovery found no document");
        for url in discovery_urls(issuer) {
            let response = match self.get(&url).await {
                Ok(response) => response,
                Err(failure) => {
                    last = failure;
                    continue;
                }
            };
            let document: DiscoveryDocument<'_> =
                serde_json::from_slice(response.body()).map_err(|_| {
                    Failure::new(format!(
                        "{url}: not a discovery document with issuer and jwks_uri"
                    ))
                })?;
            // OpenID Connect Discovery §4.3: the issuer must be exactly the one configured, or
            // its keys are not to be trusted.
            if *document.issuer != **issuer {
                return Err(Failure::new(format!(
                    "{url} names issuer {:?}, not the configured {issuer:?}",
                    document.issuer
                )));
            }
            if !is_fetchable(&document.jwks_uri) {
                return Err(Failure::new(format!(
                    "{url}: jwks_uri {:?} is neither https nor loopback http",
                    document.jwks_uri
                )));
            }
            let jwks_uri: Box<str> = document.jwks_uri.into();
            self.lock().jwks_uri = Some(jwks_uri.clone());
            return Ok(jwks_uri);
        }
        Err(last)
    }

    /// `GET url` through the fetcher: only a 200 counts; a 429 or 503 says when to retry.
    async fn get(&self, url: &str) -> Result<http::Response<Bytes>, Failure> {
        let response = self
            .fetcher
            .get(url, crate::keys::MAX_DOCUMENT_LEN)
            .await
            .map_err(|err| Failure::new(format!("{url}: {err}")))?;
        let status = response.status();
        if status != http::StatusCode::OK {
            let retry_after = (status == http::StatusCode::TOO_MANY_REQUESTS
                || status == http::StatusCode::SERVICE_UNAVAILABLE)
                .then(|| retry_after(response.headers()))
                .flatten();
            return Err(Failure {
                reason: format!("{url} answered {status}"),
                retry_after,
            });
        }
        if response.body().len() > crate::keys::MAX_DOCUMENT_LEN {
            return Err(Failure::new(format!(
                "{url}: a body over {} bytes",
                crate::keys::MAX_DOCUMENT_LEN
            )));
        }
        Ok(response)
    }
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("location", &self.location)
            .field("accepted", &self.accepted)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Drop for KeyCache {
    fn drop(&mut self) {
        // Wakes the background task, which then finds the cache gone and ends.
        self.kick.notify_one();
    }
}

/// The background task: fetch, wait (or be kicked), fetch again, until the cache is gone.
async fn run(cache: Weak<KeyCache>, kick: Arc<Notify>) {
    loop {
        let Some(strong) = cache.upgrade() else {
            return;
        };
        let wait = strong.fetch_and_schedule().await;
        drop(strong);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = kick.notified() => {}
        }
    }
}

/// The wait after the `failures`-th failure in a row: doubling from the minimum, capped.
fn backoff(settings: &JwksSettings, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    settings
        .backoff_min
        .saturating_mul(1 << doublings)
        .min(settings.backoff_max)
}

/// `duration` ±10 %, so that a fleet started together does not fetch in step.
fn jitter(duration: Duration) -> Duration {
    use std::hash::{BuildHasher as _, Hasher as _};
    // std's RandomState is seeded from the OS: random enough for a schedule, no dependency.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    #[allow(clippy::cast_precision_loss)] // 53 bits of the 64 are plenty.
    let unit = (random >> 11) as f64 / (1u64 << 53) as f64;
    duration.mul_f64(0.9 + unit * 0.2)
}

/// `Cache-Control: max-age`, when the answer has one.
fn max_age(headers: &http::HeaderMap) -> Option<Duration> {
    headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|directive| {
            let (name, seconds) = directive.trim().split_once('=')?;
            name.eq_ignore_ascii_case("max-age")
                .then(|| seconds.trim().parse::<u64>().ok())
                .flatten()
                .map(Duration::from_secs)
        })
}

/// `Retry-After` in seconds (its HTTP-date form is not read: the backoff applies instead),
/// capped at an hour.
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(seconds.min(3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: http::header::HeaderName, value: &'static str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(name, http::HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        let cc = http::header::CACHE_CONTROL;
        assert_eq!(
            max_age(&headers(cc.clone(), "public, max-age=600")),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            max_age(&headers(cc.clone(), "Max-Age = 15 , no-transform")),
            None
        );
        assert_eq!(
            max_age(&headers(cc.clone(), "MAX-AGE=15")),
            Some(Duration::from_secs(15))
        );
        assert_eq!(max_age(&headers(cc.clone(), "no-cache")), None);
        assert_eq!(max_age(&headers(cc, "max-age=-1")), None);
        assert_eq!(max_age(&http::HeaderMap::new()), None);
    }

    #[test]
    fn retry_after_is_seconds_capped_at_an_hour() {
        let ra = http::header::RETRY_AFTER;
        assert_eq!(
            retry_after(&headers(ra.clone(), "30")),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(&headers(ra.clone(), "86400")),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            retry_after(&headers(ra, "Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
    }

    #[test]
    fn backoff_doubles_from_its_minimum_up_to_its_maximum() {
        let settings = JwksSettings::default();
        let waits: Vec<u64> = (1..=8).map(|n| backoff(&settings, n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(&settings, u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_varies() {
        let base = Duration::from_secs(100);
        let draws: Vec<Duration> = (0..200).map(|_| jitter(base)).collect();
        assert!(
            draws
                .iter()
                .all(|d| (Duration::from_secs(90)..=Duration::from_secs(110)).contains(d))
        );
        assert!(draws.iter().any(|d| *d != draws[0]), "all {:?}", draws[0]);
    }
}
