//! What a fleet of key caches asks of its issuer: N guards (each its own key cache, built
//! with the public API) against one loopback issuer that counts requests and can rotate,
//! rate-limit and go down.
//!
//! Run with: `cargo bench --bench fleet` (`FLEET_N`, default 1000, at most 5000;
//! `FLEET_SCALE`, default 10; `FLEET_ONLY`, a comma-separated choice of `cold`, `steady`,
//! `flood`, `outage`, `shared`, the last needing a `redis-server` to start).
//!
//! Time is compressed by `FLEET_SCALE`: every duration of the cache's settings (fetch
//! timeout, floor and ceiling of `max-age`, backoff, unknown-`kid` window) and of the issuer
//! (`max-age`, `Retry-After`, the rate limit's second) is divided by it, so one real second
//! plays `FLEET_SCALE` seconds. Every figure printed is in played (uncompressed) time.
//! `Retry-After` is whole seconds, so the scale must divide 30.

#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

#[path = "../../tests/it/common/keys.rs"]
// The tests' key helpers, of which this bench needs only some.
#[allow(dead_code)]
mod keys;
mod provider;
#[path = "../../tests/it/common/redis.rs"]
mod redis_server;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::{Router, routing::get};
use base64::Engine as _;
use bearer_guard::jwks::{KeyCacheSettings, RedisKeyStore, ReqwestFetcher};
use bearer_guard::{BearerGuardLayer, ResourceServer};
use http::Request;
use provider::{Mode, Provider};
use serde_json::json;
use tower::ServiceExt as _;

const AUDIENCE: &str = "https://fleet-api";

struct Bench {
    n: usize,
    scale: u32,
}

impl Bench {
    /// The real duration of `played` seconds.
    fn played(&self, played: f64) -> Duration {
        Duration::from_secs_f64(played / f64::from(self.scale))
    }

    /// A played time in seconds, from a real duration.
    fn in_played(&self, real: Duration) -> f64 {
        real.as_secs_f64() * f64::from(self.scale)
    }

    /// The defaults, compressed.
    fn settings(&self) -> KeyCacheSettings {
        KeyCacheSettings::default()
            .fetch_timeout(self.played(5.0))
            .connect_timeout(self.played(2.0))
            .min_max_age(self.played(300.0))
            .default_max_age(self.played(600.0))
            .max_max_age(self.played(3600.0))
            .backoff(self.played(1.0), self.played(60.0))
            .unknown_kid_refetches(2, self.played(30.0))
    }

    /// Whole real seconds for `played` ones (`max-age`, `Retry-After`), at least 1.
    fn header_secs(&self, played: u64) -> u64 {
        (played / u64::from(self.scale)).max(1)
    }

    async fn provider(&self, mode: Mode, played_secs: usize) -> Arc<Provider> {
        Provider::start(mode, self.played(1.0), played_secs).await
    }

    /// The fleet: N guards against `provider`, sharing one HTTP client (its connection pool),
    /// each with its own key cache.
    fn fleet(&self, provider: &Provider) -> Vec<(BearerGuardLayer, Router)> {
        self.fleet_with(provider, &self.settings())
    }

    /// The fleet, each cache with `settings`.
    fn fleet_with(
        &self,
        provider: &Provider,
        settings: &KeyCacheSettings,
    ) -> Vec<(BearerGuardLayer, Router)> {
        let fetcher = ReqwestFetcher::new(settings).unwrap();
        let api = ResourceServer::from_json(&format!(
            r#"{{"identifier": "{AUDIENCE}", "signing_alg": "RS256"}}"#
        ))
        .unwrap();
        (0..self.n)
            .map(|_| {
                let layer = BearerGuardLayer::builder(api.clone())
                    .issuer(format!("{}/", provider.base))
                    .jwks_fetcher(fetcher.clone())
                    .key_cache(settings.clone())
                    .build()
                    .unwrap();
                let app = Router::new()
                    .route("/private", get(|| async { "ok" }))
                    .layer(layer.clone());
                (layer, app)
            })
            .collect()
    }

    /// Waits (in real time, polling once per played second) until every guard has keys, or
    /// `cap` played seconds. Returns the played second at which each got its keys (the
    /// fleet's median, 90th percentile and last), if all did in time.
    async fn all_keyed(
        &self,
        fleet: &[(BearerGuardLayer, Router)],
        cap: f64,
    ) -> Option<Percentiles> {
        let start = Instant::now();
        let mut keyed_at: Vec<Option<f64>> = vec![None; fleet.len()];
        loop {
            let now = self.in_played(start.elapsed());
            for (at, (layer, _)) in keyed_at.iter_mut().zip(fleet) {
                if at.is_none() && layer.key_cache_status().is_some_and(|s| s.loaded) {
                    *at = Some(now);
                }
            }
            if let Some(all) = keyed_at.iter().copied().collect::<Option<Vec<f64>>>() {
                return Some(Percentiles::of(all));
            }
            if now > cap {
                let keyed = keyed_at.iter().flatten().count();
                eprintln!("  {keyed} of {} keyed at the cap", fleet.len());
                return None;
            }
            tokio::time::sleep(self.played(1.0)).await;
        }
    }
}

/// When the instances got there: median, 90th percentile, last (played seconds).
struct Percentiles(f64, f64, f64);

impl Percentiles {
    fn of(mut times: Vec<f64>) -> Self {
        times.sort_by(f64::total_cmp);
        let at = |q: f64| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let i = ((times.len() - 1) as f64 * q).round() as usize;
            times[i]
        };
        Self(at(0.5), at(0.9), at(1.0))
    }
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} s (median {:.0} s, 90 % by {:.0} s)",
            self.2, self.0, self.1
        )
    }
}

/// Claims valid for an hour (`keys.rs`, shared with the tests, names this helper).
fn claims(scope: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut claims = json!({
        "aud": AUDIENCE, "sub": "fleet", "iat": now(), "exp": now() + 3600, "scope": scope,
    });
    for (name, value) in extra.as_object().unwrap() {
        claims[name] = value.clone();
    }
    claims
}

fn token(base: &str, kid: &str) -> String {
    let claims = claims("read", json!({"iss": format!("{base}/")}));
    keys::signed_claims(
        jsonwebtoken::Algorithm::RS256,
        "rsa2048",
        Some(kid),
        &claims,
    )
}

/// `signed` with its header naming `kid` instead: what a forger sends.
fn forged(signed: &str, kid: &str) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid}).to_string();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header);
    format!("{header}.{}", signed.split_once('.').unwrap().1)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Sends `GET /private` with `token` through `app`; returns the status.
async fn call(app: Router, token: String) -> u16 {
    let request = Request::get("/private")
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.oneshot(request).await.unwrap().status().as_u16()
}

fn mode(kids: Vec<&'static str>, max_age: u64) -> Mode {
    Mode {
        kids,
        max_age,
        limit: None,
        down: false,
    }
}

/// Cold start against the limit, then a rotation against it.
async fn cold_start_and_rotation(bench: &Bench) {
    let limit = Some((20, bench.header_secs(30)));
    let keyed_mode = Mode {
        limit,
        ..mode(vec!["k1"], bench.header_secs(600))
    };
    let provider = bench.provider(keyed_mode, 1200).await;
    let fleet = bench.fleet(&provider);
    let cold = bench.all_keyed(&fleet, 600.0).await;
    let at = provider.now();
    println!(
        "cold start, 20/s limit, 429 + Retry-After: 30: every instance keyed in {} (requests {}, of them 429 {})",
        cold.map_or("over 600 s".into(), |p| p.to_string()),
        provider.requests(0, at + 1).iter().sum::<u32>(),
        provider.limited()
    );
    // Rotation: the issuer publishes k2 and tokens signed with it reach every instance, one
    // per instance per played second, until each has accepted one.
    provider.set(Mode {
        limit,
        ..mode(vec!["k1", "k2"], bench.header_secs(600))
    });
    let signed = token(&provider.base, "k2");
    let accepted: Arc<Vec<std::sync::atomic::AtomicBool>> = Arc::new(
        (0..fleet.len())
            .map(|_| std::sync::atomic::AtomicBool::new(false))
            .collect(),
    );
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let from = provider.now();
    let mut rotated = None;
    let mut accepted_at: Vec<Option<f64>> = vec![None; fleet.len()];
    while bench.in_played(start.elapsed()) <= 300.0 {
        let now = bench.in_played(start.elapsed());
        for (at, flag) in accepted_at.iter_mut().zip(accepted.iter()) {
            if at.is_none() && flag.load(Ordering::Relaxed) {
                *at = Some(now);
            }
        }
        if done.load(Ordering::Relaxed) == fleet.len() {
            rotated = Some(Percentiles::of(
                accepted_at.iter().flatten().copied().collect(),
            ));
            break;
        }
        for (i, (_, app)) in fleet.iter().enumerate() {
            if accepted[i].load(Ordering::Relaxed) {
                continue;
            }
            let (app, token) = (app.clone(), signed.clone());
            let (accepted, done) = (Arc::clone(&accepted), Arc::clone(&done));
            tokio::spawn(async move {
                if call(app, token).await == 200 && !accepted[i].swap(true, Ordering::Relaxed) {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        tokio::time::sleep(bench.played(1.0)).await;
    }
    let to = provider.now();
    let requests = provider.requests(from, to);
    println!(
        "rotation against the limit: every instance accepts the new key in {} (peak {}/s asked, 429s included; {} requests)",
        rotated.map_or(
            format!(
                "over 300 s ({} of {})",
                done.load(Ordering::Relaxed),
                fleet.len()
            ),
            |p| p.to_string()
        ),
        requests.iter().max().unwrap_or(&0),
        requests.iter().sum::<u32>()
    );
}

/// Steady state with `max-age=15`, the fleet started together.
async fn steady_state(bench: &Bench) {
    let played = 900;
    let provider = bench
        .provider(mode(vec!["k1"], bench.header_secs(15)), played + 10)
        .await;
    let fleet = bench.fleet(&provider);
    bench.all_keyed(&fleet, 60.0).await;
    tokio::time::sleep(bench.played(f64::from(u32::try_from(played).unwrap()))).await;
    // From the end of the cold start (10 s) on.
    let requests = provider.requests(10, played);
    let total: u32 = requests.iter().sum();
    println!(
        "steady state, max-age=15 (floored to 300 s), seconds 10 to {played}: peak {}/s, mean {:.1}/s; 304s over the whole run: {}",
        requests.iter().max().unwrap_or(&0),
        f64::from(total) / (played - 10) as f64,
        provider.not_modified()
    );
    drop(fleet);
}

/// A forged-`kid` flood at every instance: one forged token per instance per played second.
async fn forged_flood(bench: &Bench) {
    let played = 900;
    let provider = bench
        .provider(mode(vec!["k1"], bench.header_secs(3600)), played + 70)
        .await;
    let fleet = bench.fleet(&provider);
    bench.all_keyed(&fleet, 60.0).await;
    let start = provider.now();
    let signed = token(&provider.base, "k1");
    let mut tick = 0u64;
    while provider.now() < start + played {
        for (i, (_, app)) in fleet.iter().enumerate() {
            let token = forged(&signed, &format!("forged-{tick}-{i}"));
            tokio::spawn(call(app.clone(), token));
        }
        tick += 1;
        tokio::time::sleep(bench.played(1.0)).await;
    }
    let first_minute: u32 = provider.requests(start, start + 60).iter().sum();
    let after = provider.requests(start + 60, start + played);
    let total: u32 = after.iter().sum();
    println!(
        "forged-kid flood at every instance: first minute {:.1}/s; seconds 60 to {played}: {:.2}/s (peak {}/s)",
        f64::from(first_minute) / 60.0,
        f64::from(total) / (played - 60) as f64,
        after.iter().max().unwrap_or(&0)
    );
}

/// The issuer down for 5 minutes (503, no `Retry-After`), from second 100 to 400.
async fn outage(bench: &Bench) {
    let played = 600;
    let provider = bench
        .provider(mode(vec!["k1"], bench.header_secs(15)), played + 10)
        .await;
    let fleet = bench.fleet(&provider);
    bench.all_keyed(&fleet, 60.0).await;
    let base = provider.now();
    tokio::time::sleep(bench.played(100.0)).await;
    provider.set(Mode {
        down: true,
        ..mode(vec!["k1"], bench.header_secs(15))
    });
    tokio::time::sleep(bench.played(300.0)).await;
    provider.set(mode(vec!["k1"], bench.header_secs(15)));
    tokio::time::sleep(bench.played(200.0)).await;
    let during = provider.requests(base + 100, base + 400);
    let after = provider.requests(base + 400, base + 600);
    let usable = fleet
        .iter()
        .filter(|(layer, _)| layer.key_cache_status().is_some_and(|s| s.loaded))
        .count();
    println!(
        "issuer down 5 min: during it peak {}/s, mean {:.1}/s; the minute after, peak {}/s; keys usable at its end at {usable} of {}",
        during.iter().max().unwrap_or(&0),
        f64::from(during.iter().sum::<u32>()) / 300.0,
        after[..60].iter().max().unwrap_or(&0),
        fleet.len()
    );
}

/// The fleet sharing its key set through one `redis-server` (`KeyCacheSettings::shared`):
/// cold start, steady state with `max-age=15` (floored to 300 s), then a forged-`kid` flood at
/// every instance. The guards share one `RedisKeyStore` (one connection): the counts are
/// the issuer's, which that does not change.
async fn shared(bench: &Bench) {
    let Some(server) = redis_server::RedisServer::start() else {
        println!("shared cache: skipped, no redis-server");
        return;
    };
    let store = RedisKeyStore::connect(&server.url()).await.unwrap();
    let (steady, flood) = (900, 300);
    let provider = bench
        .provider(mode(vec!["k1"], bench.header_secs(15)), steady + flood + 70)
        .await;
    let fleet = bench.fleet_with(&provider, &bench.settings().shared(store));
    let cold = bench.all_keyed(&fleet, 120.0).await;
    let keyed = provider.now();
    println!(
        "shared cache: cold start, every instance keyed in {}, {} requests to the issuer (discovery and key set)",
        cold.map_or("over 120 s".into(), |p| p.to_string()),
        provider.requests(0, keyed + 1).iter().sum::<u32>()
    );
    let start = provider.now() + 1;
    tokio::time::sleep(bench.played(f64::from(u32::try_from(steady).unwrap()))).await;
    let requests = provider.requests(start, start + steady);
    let total: u32 = requests.iter().sum();
    // One refresh of one instance: a draw over 50–90 % of the 300 s life, 210 s on average.
    #[allow(clippy::cast_precision_loss)]
    let refreshes = steady as f64 / 210.0;
    println!(
        "shared cache: steady state, max-age=15 (floored to 300 s), {steady} s: {total} fetches fleet-wide ({:.2} per refresh of one instance, {:.2} per 300 s life), peak {}/s",
        f64::from(total) / refreshes,
        f64::from(total) * 300.0 / steady as f64,
        requests.iter().max().unwrap_or(&0)
    );
    let start = provider.now();
    let signed = token(&provider.base, "k1");
    let mut tick = 0u64;
    while provider.now() < start + flood {
        for (i, (_, app)) in fleet.iter().enumerate() {
            let token = forged(&signed, &format!("forged-{tick}-{i}"));
            tokio::spawn(call(app.clone(), token));
        }
        tick += 1;
        tokio::time::sleep(bench.played(1.0)).await;
    }
    let during: u32 = provider.requests(start, start + flood).iter().sum();
    println!(
        "shared cache: forged-kid flood at every instance for {flood} s: {during} fetches fleet-wide ({:.3}/s)",
        f64::from(during) / flood as f64
    );
    drop(fleet);
}

fn main() {
    let n = std::env::var("FLEET_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000_usize)
        .clamp(1, 5000);
    let scale = std::env::var("FLEET_SCALE")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|scale| 30 % scale == 0)
        .unwrap_or(10_u32);
    let bench = Bench { n, scale };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("fleet: {n} instances, time compressed {scale}x; figures in played time");
    let only = std::env::var("FLEET_ONLY").unwrap_or_default();
    runtime.block_on(async {
        let run = |name: &str| only.is_empty() || only.split(',').any(|o| o == name);
        if run("cold") {
            cold_start_and_rotation(&bench).await;
        }
        if run("steady") {
            steady_state(&bench).await;
        }
        if run("flood") {
            forged_flood(&bench).await;
        }
        if run("outage") {
            outage(&bench).await;
        }
        if run("shared") {
            shared(&bench).await;
        }
    });
}
