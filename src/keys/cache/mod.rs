//! The key cache (feature `jwks`): a JWK set found by discovery or at a URL, fetched in the
//! background and swapped in atomically, so that no request waits for a scheduled refresh
//! and the hot path takes no lock.
//!
//! - Startup does not wait: the first fetch runs in the background; until a set has loaded,
//!   tokens are answered 503 with `Retry-After`.
//! - A set lives for its `Cache-Control: max-age` (clamped: the floor keeps a fleet's load
//!   down), is refreshed at a point drawn over 50–90 % of its life, with a conditional GET
//!   (a 304 keeps it), and stays in use for [`stale_for`](KeyCacheSettings::stale_for) past its
//!   expiry while refreshes fail, which back off with full jitter on top of any
//!   `Retry-After` (`schedule.rs`).
//! - A token with an unknown `kid` may cause one refetch, shared by every request waiting on
//!   it and bounded by the fetch timeout, at most a few per window, fewer and fewer while
//!   they find nothing new; beyond that it is refused at once, and so is a `kid` a recent
//!   refresh removed (`budget.rs`).
//! - Discovery asks RFC 8414's address only when the OpenID one answers 404, 400 or 405.
//!
//! Times are tokio's (`tokio::time::Instant`), so that tests drive the whole schedule with
//! tokio's paused clock.

mod budget;
mod fetch;
mod location;
#[cfg(feature = "redis")]
mod redis_keys;
#[cfg(feature = "reqwest")]
mod reqwest_fetcher;
mod rng;
mod schedule;
mod settings;
#[cfg(feature = "redis")]
mod shared;
mod status;
mod wait;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use bytes::Bytes;
use serde::Deserialize;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::ConfigError;
use crate::keys::{Algorithms, JwkSet};

pub use fetch::{FetchError, FetchFuture, JwksFetcher};
#[cfg(feature = "redis")]
pub use redis_keys::RedisKeyStore;
#[cfg(feature = "reqwest")]
pub use reqwest_fetcher::ReqwestFetcher;
pub use settings::KeyCacheSettings;
pub use status::{KeyCacheStatus, KeysNotReady};
pub(crate) use wait::KeyWait;

use budget::UnknownKids;
use location::{discovery_urls, falls_back, is_fetchable};
use rng::Rng;

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
    /// Shared with the next `Loaded` when a refresh answers 304.
    pub(crate) set: Arc<JwkSet>,
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
    settings: KeyCacheSettings,
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
struct Control {
    jwks_uri: Option<Box<str>>,
    in_flight: bool,
    /// The unknown-`kid` budget and the `kid`s recent refreshes removed.
    unknown: UnknownKids,
    /// `If-None-Match` / `If-Modified-Since` for the next refresh, from the last set's answer.
    conditional: http::HeaderMap,
    rng: Rng,
    /// No fetch before this (a `Retry-After`, or the backoff after a failure).
    not_before: Option<Instant>,
    failures_in_a_row: u32,
    fetches: u64,
    failures: u64,
    last_success: Option<SystemTime>,
    last_error: Option<String>,
    /// What a cache shared through Redis keeps besides (`shared.rs`).
    #[cfg(feature = "redis")]
    shared: shared::SharedState,
}

impl Control {
    fn new(settings: &KeyCacheSettings) -> Self {
        Self {
            jwks_uri: None,
            in_flight: false,
            unknown: UnknownKids::default(),
            conditional: http::HeaderMap::new(),
            rng: settings
                .jitter_seed
                .map_or_else(Rng::from_os, Rng::from_seed),
            not_before: None,
            failures_in_a_row: 0,
            fetches: 0,
            failures: 0,
            last_success: None,
            last_error: None,
            #[cfg(feature = "redis")]
            shared: shared::SharedState::default(),
        }
    }
}

/// What one fetch came to.
struct Fetched {
    set: Arc<JwkSet>,
    max_age: Option<Duration>,
    /// A 304: the set in use, kept.
    not_modified: bool,
    /// The answer's `ETag` and `Last-Modified`, as the next refresh's conditions.
    conditional: http::HeaderMap,
    /// The document as received (not on a 304), for a cache shared through Redis.
    #[cfg(feature = "redis")]
    body: Option<Bytes>,
    /// Read from the fleet's Redis: the life the set has left there, taken as it is (the
    /// instance that fetched it clamped its `max-age`).
    #[cfg(feature = "redis")]
    life: Option<Duration>,
}

/// Why one fetch failed, and when to try again at the earliest.
struct Failure {
    reason: String,
    /// The status it answered, if it answered.
    status: Option<http::StatusCode>,
    retry_after: Option<Duration>,
}

impl Failure {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            status: None,
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
        settings: KeyCacheSettings,
    ) -> Result<Arc<Self>, ConfigError> {
        settings.check()?;
        match &location {
            Location::Discovery { issuer } => location::check("issuer (for discovery)", issuer)?,
            Location::JwksUri(url) => location::check("jwks_uri", url)?,
        }
        let control = Mutex::new(Control::new(&settings));
        let cache = Arc::new_cyclic(|me| Self {
            location,
            accepted,
            fetcher,
            settings,
            current: ArcSwapOption::empty(),
            control,
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

    /// Asks for a refetch because `token` named a `kid` the set lacks. Returns what to wait
    /// on, or `None` when its `kid` was removed by a recent refresh, the budget of such
    /// refetches is spent or paused, or a `Retry-After` holds: the token is then refused at
    /// once.
    pub(crate) fn refetch_for_unknown_kid(&self, token: &str) -> Option<KeyWait> {
        // Without the background task (no runtime yet) nothing would fetch: nothing to wait on.
        if !self.started.load(Ordering::Acquire) {
            return None;
        }
        let kid = budget::kid_of(token);
        let mut control = self.lock();
        // Before joining a running fetch: refetching cannot bring a removed key back.
        if control.unknown.was_removed(kid.as_deref()) {
            tracing::debug!("bearer-guard: a kid that a recent refresh removed; refused");
            return None;
        }
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
        if let Err(why) = control.unknown.ask(kid.as_deref(), now, &self.settings) {
            tracing::debug!(
                ?why,
                "bearer-guard: unknown kid; refetch refused by the budget"
            );
            return None;
        }
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
    pub(crate) fn status(&self) -> KeyCacheStatus {
        let control = self.lock();
        let loaded = self.current.load_full();
        let now = Instant::now();
        KeyCacheStatus {
            loaded: loaded.as_ref().is_some_and(|l| now < l.usable_until),
            stale: loaded.as_ref().is_some_and(|l| now >= l.fresh_until),
            keys: loaded.as_ref().map_or(0, |l| l.set.len()),
            loaded_at: loaded.as_ref().map(|l| l.at),
            last_success: control.last_success,
            last_error: control.last_error.clone(),
            fetches: control.fetches,
            failures: control.failures,
            issuer: None,
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

    /// One fetch (or, shared through Redis, what the fleet fetched): its outcome stored, its
    /// waiters woken. Returns the wait until the next.
    async fn fetch_and_schedule(&self) -> Duration {
        #[cfg(feature = "redis")]
        if let Some(store) = &self.settings.shared {
            return shared::refresh(self, store).await;
        }
        self.lock().in_flight = true;
        let outcome = self.fetch_within_timeout().await;
        self.settle(outcome)
    }

    /// [`fetch`](Self::fetch), bounded by the fetch timeout.
    async fn fetch_within_timeout(&self) -> Result<Fetched, Failure> {
        match tokio::time::timeout(self.settings.fetch_timeout, self.fetch()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Failure::new(format!(
                "no answer within the fetch timeout ({:?})",
                self.settings.fetch_timeout
            ))),
        }
    }

    /// Stores a fetch's outcome and wakes its waiters. Returns the wait until the next.
    fn settle(&self, outcome: Result<Fetched, Failure>) -> Duration {
        let next = {
            let mut guard = self.lock();
            let control = &mut *guard;
            control.in_flight = false;
            control.fetches += 1;
            match outcome {
                Ok(fetched) => self.loaded(control, fetched),
                Err(failure) => self.failed(control, failure),
            }
        };
        self.fetched.notify_waiters();
        next
    }

    /// Stores a fetched set (or keeps the one in use, on a 304). Returns when to refresh it.
    fn loaded(&self, control: &mut Control, fetched: Fetched) -> Duration {
        let max_age = self.life_of(fetched.max_age);
        #[cfg(feature = "redis")]
        let max_age = fetched.life.unwrap_or(max_age);
        #[cfg(feature = "redis")]
        if let Some(body) = &fetched.body {
            control.shared.document = Some(body.clone());
        }
        let now = Instant::now();
        let before = self.current.load_full();
        let set = fetched.set;
        let generation = match before.as_deref() {
            Some(before) if before.set.digest() == set.digest() => before.generation,
            Some(before) => before.generation.wrapping_add(1),
            None => 0,
        };
        let new_key = before
            .as_deref()
            .is_none_or(|before| set.kids().any(|kid| !before.set.has_kid(kid)));
        let removed = before
            .as_deref()
            .into_iter()
            .flat_map(|before| before.set.kids())
            .filter(|kid| !set.has_kid(kid));
        control.unknown.loaded(
            new_key,
            removed,
            |kid| set.has_kid(kid),
            now,
            &self.settings,
            &mut control.rng,
        );
        if fetched.not_modified {
            // RFC 9111 §4.3.4: a 304's validators replace the stored ones; absent ones stay.
            for (name, value) in &fetched.conditional {
                control.conditional.insert(name, value.clone());
            }
        } else {
            control.conditional = fetched.conditional;
        }
        let keys = set.len();
        self.current.store(Some(Arc::new(Loaded {
            set,
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
            not_modified = fetched.not_modified,
            "bearer-guard: key set fetched"
        );
        schedule::refresh_in(&self.settings, max_age, &mut control.rng)
    }

    /// The life of a set whose answer said `max_age`: clamped to the settings' bounds.
    fn life_of(&self, max_age: Option<Duration>) -> Duration {
        max_age
            .unwrap_or(self.settings.default_max_age)
            .clamp(self.settings.min_max_age, self.settings.max_max_age)
    }

    /// Notes a failed fetch. Returns the wait until the next attempt.
    fn failed(&self, control: &mut Control, failure: Failure) -> Duration {
        control.failures += 1;
        control.failures_in_a_row = control.failures_in_a_row.saturating_add(1);
        control.unknown.failed();
        let wait = schedule::failure_wait(
            &self.settings,
            control.failures_in_a_row,
            failure.retry_after,
            &mut control.rng,
        );
        let now = Instant::now();
        control.not_before = Some(now + wait);
        let stale = self
            .current
            .load()
            .as_ref()
            .is_some_and(|loaded| now >= loaded.fresh_until);
        tracing::warn!(reason = %failure.reason, retry_in_s = wait.as_secs_f64(), stale_keys_in_use = stale, "bearer-guard: key set fetch failed");
        control.last_error = Some(failure.reason);
        wait
    }

    /// Fetches the key set: its URL first, by discovery when needed. With a set in use, the
    /// request is conditional, and a 304 keeps that set.
    async fn fetch(&self) -> Result<Fetched, Failure> {
        let jwks_uri = self.jwks_uri().await?;
        let in_use = self.current.load_full();
        let conditional = match &in_use {
            Some(_) => self.lock().conditional.clone(),
            None => http::HeaderMap::new(),
        };
        let response = self.get(&jwks_uri, &conditional).await?;
        let max_age = max_age(response.headers());
        let answered = conditions(response.headers());
        if response.status() == http::StatusCode::NOT_MODIFIED {
            // `get` takes a 304 only to a conditional request, which needs a set in use.
            let Some(in_use) = in_use else {
                return Err(Failure::new(format!(
                    "{jwks_uri}: a 304 with no set to keep"
                )));
            };
            return Ok(Fetched {
                set: Arc::clone(&in_use.set),
                max_age,
                not_modified: true,
                conditional: answered,
                #[cfg(feature = "redis")]
                body: None,
                #[cfg(feature = "redis")]
                life: None,
            });
        }
        let set = JwkSet::parse(response.body(), self.accepted)
            .map_err(|err| Failure::new(format!("key set at {jwks_uri}: {err}")))?;
        Ok(Fetched {
            set: Arc::new(set),
            max_age,
            not_modified: false,
            conditional: answered,
            // Kept only where the fleet shares it.
            #[cfg(feature = "redis")]
            body: self
                .settings
                .shared
                .is_some()
                .then(|| response.body().clone()),
            #[cfg(feature = "redis")]
            life: None,
        })
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
        let unconditional = http::HeaderMap::new();
        let [openid, rfc8414] = discovery_urls(issuer);
        let (url, response) = match self.get(&openid, &unconditional).await {
            Ok(response) => (openid, response),
            // Only where the OpenID document is absent: a 429, a 5xx or no answer is retried
            // at the same address, after its Retry-After.
            Err(failure) if falls_back(failure.status) => {
                match self.get(&rfc8414, &unconditional).await {
                    Ok(response) => (rfc8414, response),
                    Err(mut second) => {
                        second.reason = format!("{} (after {})", second.reason, failure.reason);
                        return Err(second);
                    }
                }
            }
            Err(failure) => return Err(failure),
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
            // The commonest cause: the same issuer with or without its trailing slash (the
            // Auth0 habit applied to another provider). Still not trusted, but said plainly.
            if document.issuer.trim_end_matches('/') == issuer.trim_end_matches('/') {
                tracing::warn!(
                    configured = &**issuer,
                    discovered = &*document.issuer,
                    "bearer-guard: the discovery document names the issuer with a different trailing slash; tokens carry the document's spelling, so configure issuer({:?})",
                    &*document.issuer
                );
                return Err(Failure::new(format!(
                    "{url} names issuer {:?}, not the configured {issuer:?} (they differ only by a trailing slash: configure issuer({:?}))",
                    document.issuer, document.issuer
                )));
            }
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
        Ok(jwks_uri)
    }

    /// `GET url` through the fetcher, with `conditional` headers if any: only a 200 counts,
    /// or a 304 to a conditional request; a 429 or 503 says when to retry.
    async fn get(
        &self,
        url: &str,
        conditional: &http::HeaderMap,
    ) -> Result<http::Response<Bytes>, Failure> {
        let max_body = crate::keys::MAX_DOCUMENT_LEN;
        let answer = if conditional.is_empty() {
            self.fetcher.get(url, max_body)
        } else {
            self.fetcher.get_with_headers(url, max_body, conditional)
        };
        let response = answer
            .await
            .map_err(|err| Failure::new(format!("{url}: {err}")))?;
        let status = response.status();
        let not_modified = status == http::StatusCode::NOT_MODIFIED && !conditional.is_empty();
        if status != http::StatusCode::OK && !not_modified {
            let retry_after = (status == http::StatusCode::TOO_MANY_REQUESTS
                || status == http::StatusCode::SERVICE_UNAVAILABLE)
                .then(|| retry_after(response.headers()))
                .flatten();
            return Err(Failure {
                reason: format!("{url} answered {status}"),
                status: Some(status),
                retry_after,
            });
        }
        if response.body().len() > max_body {
            return Err(Failure::new(format!("{url}: a body over {max_body} bytes")));
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

/// The conditions for the next request from an answer's validators: `If-None-Match` from its
/// `ETag`, `If-Modified-Since` from its `Last-Modified` (RFC 9110 §13.1).
fn conditions(headers: &http::HeaderMap) -> http::HeaderMap {
    let mut conditions = http::HeaderMap::new();
    if let Some(etag) = headers.get(http::header::ETAG) {
        conditions.insert(http::header::IF_NONE_MATCH, etag.clone());
    }
    if let Some(modified) = headers.get(http::header::LAST_MODIFIED) {
        conditions.insert(http::header::IF_MODIFIED_SINCE, modified.clone());
    }
    conditions
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
    fn the_next_refresh_is_conditional_on_the_answers_validators() {
        let mut answer = http::HeaderMap::new();
        answer.insert(http::header::ETAG, http::HeaderValue::from_static("\"v1\""));
        answer.insert(
            http::header::LAST_MODIFIED,
            http::HeaderValue::from_static("Tue, 01 Dec 2026 10:00:00 GMT"),
        );
        let sent = conditions(&answer);
        assert_eq!(sent[http::header::IF_NONE_MATCH], "\"v1\"");
        assert_eq!(
            sent[http::header::IF_MODIFIED_SINCE],
            "Tue, 01 Dec 2026 10:00:00 GMT"
        );
        assert_eq!(sent.len(), 2);
        assert!(conditions(&http::HeaderMap::new()).is_empty());
    }
}
