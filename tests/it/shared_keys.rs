//! The key cache shared through Redis (feature `redis`), black-box through the layer, on a
//! real `redis-server` of the test's own and an in-process issuer that counts requests:
//! a fleet fetches once where each instance would, spends one unknown-`kid` budget between
//! them, fetches for itself when Redis is down, and refuses a corrupt or foreign document in
//! Redis. Redis answers in real time, so tokio's clock is not paused: every bound below is
//! counted in fetches, or derived from the time that really passed, never a deadline.

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::keys::{jwk, jwks, signed_claims};
use crate::common::redis::RedisServer;
use crate::common::{AUDIENCE, claims, status_and_reason};
use axum::{Router, routing::get};
use bearer_guard::jwks::{FetchFuture, JwksFetcher, KeyCacheSettings, RedisKeyStore};
use bearer_guard::{BearerGuardLayer, ResourceServer};
use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use jsonwebtoken::Algorithm::RS256;
use serde_json::json;

const ISSUER: &str = "https://issuer.example/";
const OPENID: &str = "https://issuer.example/.well-known/openid-configuration";
const JWKS: &str = "https://issuer.example/jwks.json";

/// The issuer: discovery and a key set (with an `ETag`, answered 304 when it matches),
/// counting each; `max-age=0`, so the settings' floor is the set's life.
#[derive(Default)]
struct State {
    kids: Vec<&'static str>,
    discoveries: usize,
    key_sets: usize,
}

#[derive(Clone, Default)]
struct Issuer(Arc<Mutex<State>>);

impl Issuer {
    fn serving(kids: &[&'static str]) -> Self {
        let issuer = Self::default();
        issuer.0.lock().unwrap().kids = kids.to_vec();
        issuer
    }

    fn key_sets(&self) -> usize {
        self.0.lock().unwrap().key_sets
    }

    fn discoveries(&self) -> usize {
        self.0.lock().unwrap().discoveries
    }

    fn publish(&self, kids: &[&'static str]) {
        self.0.lock().unwrap().kids = kids.to_vec();
    }
}

impl JwksFetcher for Issuer {
    fn get<'a>(&'a self, url: &'a str, max_body: usize) -> FetchFuture<'a> {
        static NONE: std::sync::LazyLock<HeaderMap> = std::sync::LazyLock::new(HeaderMap::new);
        self.get_with_headers(url, max_body, &NONE)
    }

    fn get_with_headers<'a>(
        &'a self,
        url: &'a str,
        _max_body: usize,
        headers: &'a HeaderMap,
    ) -> FetchFuture<'a> {
        Box::pin(async move {
            let mut state = self.0.lock().unwrap();
            let mut response = http::Response::new(Bytes::new());
            if url == OPENID {
                state.discoveries += 1;
                *response.body_mut() =
                    Bytes::from(json!({"issuer": ISSUER, "jwks_uri": JWKS}).to_string());
            } else if url == JWKS {
                state.key_sets += 1;
                let etag = format!("\"{}\"", state.kids.join("+"));
                let answer = response.headers_mut();
                answer.insert(header::CACHE_CONTROL, "max-age=0".parse().unwrap());
                answer.insert(header::ETAG, etag.parse().unwrap());
                if headers
                    .get(header::IF_NONE_MATCH)
                    .is_some_and(|sent| *sent == *etag)
                {
                    *response.status_mut() = StatusCode::NOT_MODIFIED;
                } else {
                    let keys: Vec<_> = state
                        .kids
                        .iter()
                        .map(|kid| jwk("rsa2048", kid, &json!({})))
                        .collect();
                    *response.body_mut() = Bytes::from(jwks(&keys));
                }
            } else {
                *response.status_mut() = StatusCode::NOT_FOUND;
            }
            Ok(response)
        })
    }
}

/// The set's life: the floor, 300 ms, since the issuer sends `max-age=0`.
const LIFE: Duration = Duration::from_millis(300);

fn settings() -> KeyCacheSettings {
    KeyCacheSettings::default()
        .fetch_timeout(Duration::from_secs(2))
        .connect_timeout(Duration::from_millis(100))
        .min_max_age(LIFE)
        .default_max_age(LIFE)
        .backoff(Duration::from_millis(10), Duration::from_millis(100))
        // A window longer than any test: the budget's count is what is measured.
        .unknown_kid_refetches(2, Duration::from_secs(600))
}

/// A life longer than any test: no scheduled refresh during it.
fn long_lived() -> KeyCacheSettings {
    let long = Duration::from_secs(600);
    settings()
        .min_max_age(long)
        .default_max_age(long)
        .max_max_age(long)
}

fn api() -> ResourceServer {
    ResourceServer::from_json(&format!(
        r#"{{"identifier": "{AUDIENCE}", "signing_alg": "RS256"}}"#
    ))
    .unwrap()
}

/// `n` instances of the API, each its own key cache with `settings`, against `issuer`.
fn fleet(
    n: usize,
    issuer: &Issuer,
    settings: &KeyCacheSettings,
) -> Vec<(BearerGuardLayer, Router)> {
    (0..n)
        .map(|_| {
            let layer = BearerGuardLayer::builder(api())
                .issuer(ISSUER)
                .jwks_fetcher(issuer.clone())
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

async fn keyed(fleet: &[(BearerGuardLayer, Router)]) {
    for (layer, _) in fleet {
        // A bound for a broken cache, not a measure.
        layer.wait_for_keys(Duration::from_secs(30)).await.unwrap();
    }
}

fn token(kid: &str) -> String {
    let claims = claims("read:messages", json!({"iss": ISSUER}));
    signed_claims(RS256, "rsa2048", Some(kid), &claims)
}

/// A token naming `kid` with another token's payload and signature.
fn forged(signed: &str, kid: &str) -> String {
    use base64::Engine as _;
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid}).to_string();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header);
    format!("{header}.{}", signed.split_once('.').unwrap().1)
}

async fn status(app: &Router, token: &str) -> u16 {
    status_and_reason("/private", app, token).await.0
}

/// A store of its own on `server`, with a prefix of the test's own.
async fn store(server: &RedisServer, prefix: &str) -> RedisKeyStore {
    RedisKeyStore::connect(&server.url())
        .await
        .unwrap()
        .key_prefix(prefix)
}

async fn connection(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_sharing_redis_fetches_once_at_start_and_once_per_life_after() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let issuer = Issuer::serving(&["k1"]);
    let fleet = fleet(
        6,
        &issuer,
        &settings().shared(store(&server, "once:").await),
    );
    keyed(&fleet).await;
    // One instance took the lease and fetched (discovery too); the others read Redis.
    assert_eq!((issuer.discoveries(), issuer.key_sets()), (1, 1));

    let start = Instant::now();
    tokio::time::sleep(LIFE * 8).await;
    let elapsed = start.elapsed();
    let refreshes = issuer.key_sets() - 1;
    // Each fetch renews the record for a whole life, and the next is due only in its last
    // tenth: at most one per 0.9 of a life passed (+1 for the one under way). Six instances
    // refreshing alone would fetch at least once per 0.9 life each.
    let most = (elapsed.as_secs_f64() / (LIFE.as_secs_f64() * 0.9)).floor() as usize + 1;
    assert!(
        (1..=most).contains(&refreshes),
        "{refreshes} refreshes in {elapsed:?}, at most {most}"
    );
    // Whoever held the lease later took the key set's URL from the record.
    assert_eq!(issuer.discoveries(), 1);
    for (_, app) in &fleet {
        assert_eq!(status(app, &token("k1")).await, 200);
    }
    // Every key it wrote lives no longer than its bound.
    let mut redis = connection(&server).await;
    let names: Vec<String> = redis::cmd("KEYS")
        .arg("once:*")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(names.iter().any(|name| name.ends_with(":set")), "{names:?}");
    for name in names {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&name)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!(ttl > 0 || ttl == -2, "{name}: {ttl}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_kid_flood_at_every_instance_spends_one_shared_budget() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let issuer = Issuer::serving(&["k1"]);
    let store = store(&server, "flood:").await;
    let fleet = fleet(6, &issuer, &long_lived().shared(store));
    keyed(&fleet).await;
    assert_eq!(issuer.key_sets(), 1);
    let signed = token("k1");
    for round in 0..5 {
        for (i, (_, app)) in fleet.iter().enumerate() {
            let forged = forged(&signed, &format!("forged-{round}-{i}"));
            assert_eq!(status(app, &forged).await, 401);
        }
    }
    // Alone, each instance's budget would allow 2 refetches: 12. Shared: 2 for the fleet,
    // and the pause after the first fruitless one may hold the second back.
    let flood = issuer.key_sets() - 1;
    assert!((1..=2).contains(&flood), "{flood} fetches for the flood");
    for (_, app) in &fleet {
        assert_eq!(status(app, &signed).await, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_key_one_instance_fetched_reaches_the_others_through_redis() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let issuer = Issuer::serving(&["k1"]);
    let store = store(&server, "rotate:").await;
    let fleet = fleet(4, &issuer, &long_lived().shared(store));
    keyed(&fleet).await;
    issuer.publish(&["k1", "k2"]);
    let rotated = token("k2");
    for (_, app) in &fleet {
        assert_eq!(status(app, &rotated).await, 200);
    }
    // The first instance fetched it; the others found it in Redis.
    assert_eq!(issuer.key_sets(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_each_instance_fetches_for_itself_and_keeps_serving() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let issuer = Issuer::serving(&["k1"]);
    let shared = settings().shared(store(&server, "down:").await);
    let running = fleet(3, &issuer, &shared);
    keyed(&running).await;
    assert_eq!(issuer.key_sets(), 1);
    drop(server);

    // Instances already running refresh on their own; instances started now load on their
    // own.
    let started = fleet(3, &issuer, &shared);
    keyed(&started).await;
    let before = issuer.key_sets();
    assert!(
        before >= 4,
        "{before}: each new instance fetched for itself"
    );
    let start = Instant::now();
    while issuer.key_sets() < before + 6 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "refreshes on their own stopped"
        );
        tokio::time::sleep(LIFE).await;
    }
    for (layer, app) in running.iter().chain(&started) {
        assert_eq!(status(app, &token("k1")).await, 200);
        assert!(layer.key_cache_status().unwrap().loaded);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_or_foreign_document_in_redis_is_refused_and_keeps_the_good_keys() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let issuer = Issuer::serving(&["k1"]);
    let shared = long_lived().shared(store(&server, "forged:").await);
    let first = fleet(1, &issuer, &shared);
    keyed(&first).await;
    let mut redis = connection(&server).await;
    let names: Vec<String> = redis::cmd("KEYS")
        .arg("forged:*:set")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(names.len(), 1, "{names:?}");
    let set = &names[0];
    let evil = jwks(&[jwk("rsa2048", "evil", &json!({}))]);
    let record = |location: &str, keys: &str| {
        json!({
            "v": 1, "location": location, "life_ms": 600_000, "if_none_match": null,
            "if_modified_since": null, "by": "someone else", "keys": keys,
        })
        .to_string()
    };
    for planted in [
        "not json at all".to_owned(),
        record("issuer https://other.example/", &evil),
        record(&format!("issuer {ISSUER}"), "{\"keys\": \"none\"}"),
        json!({"v": 2, "location": format!("issuer {ISSUER}"), "keys": evil}).to_string(),
    ] {
        let _: () = redis::cmd("SET")
            .arg(set)
            .arg(&planted)
            .arg("PX")
            .arg(600_000)
            .query_async(&mut redis)
            .await
            .unwrap();
        let fetched = issuer.key_sets();
        // The running instance, asked for a kid it lacks, reads Redis: it refuses what is
        // there (it may fetch the issuer's set over it) and keeps its keys.
        let (_, app) = &first[0];
        assert_ne!(status(app, &token("evil")).await, 200, "{planted}");
        assert_eq!(status(app, &token("k1")).await, 200, "{planted}");
        // A new instance refuses it too, and fetches for itself where it is still there.
        let later = fleet(1, &issuer, &shared);
        keyed(&later).await;
        let fetches = issuer.key_sets() - fetched;
        assert!((1..=2).contains(&fetches), "{planted}: {fetches}");
        for (_, app) in first.iter().chain(&later) {
            assert_eq!(status(app, &token("k1")).await, 200, "{planted}");
            assert_ne!(status(app, &token("evil")).await, 200, "{planted}");
        }
        // The instance that fetched stored the issuer's set over it.
        let stored: String = redis::cmd("GET")
            .arg(set)
            .query_async(&mut redis)
            .await
            .unwrap();
        let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
        assert!(
            stored["keys"].as_str().unwrap().contains(r#""kid":"k1""#),
            "{stored}"
        );
    }
}

#[tokio::test]
async fn a_store_equals_only_its_clones_of_the_same_prefix_and_timeout_and_hides_its_url() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let one = store(&server, "eq:").await;
    let apart = store(&server, "eq:").await;
    assert_eq!(one, one.clone());
    // Connected apart: another connection, whatever its settings.
    assert_ne!(one, apart);
    assert_ne!(one, one.clone().key_prefix("other:"));
    assert_ne!(one, one.clone().timeout(Duration::from_millis(100)));
    let debug = format!("{:?}", one.timeout(Duration::from_millis(250)));
    assert_eq!(
        debug,
        r#"RedisKeyStore { prefix: "eq:", timeout: 250ms, .. }"#
    );
    assert!(!debug.contains(&server.url()), "{debug}");
}

/// The name of the one key matching `pattern`, once there is one (a bound for a broken
/// cache, not a measure: the refresh writes the budget's keys after the request's answer).
async fn the_key(redis: &mut redis::aio::MultiplexedConnection, pattern: &str) -> String {
    for _ in 0..400 {
        let names: Vec<String> = redis::cmd("KEYS")
            .arg(pattern)
            .query_async(redis)
            .await
            .unwrap();
        if let [name] = &names[..] {
            return name.clone();
        }
        assert!(names.is_empty(), "{names:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no key {pattern}");
}

async fn pttl(redis: &mut redis::aio::MultiplexedConnection, name: &str) -> i64 {
    redis::cmd("PTTL")
        .arg(name)
        .query_async(redis)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fruitless_refetches_pause_the_fleets_budget_longer_each_time_and_a_new_key_ends_it() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let issuer = Issuer::serving(&["k1"]);
    // Four instances, so that each refetch below is the first of an instance's own budget.
    let fleet = fleet(
        4,
        &issuer,
        &long_lived().shared(store(&server, "pause:").await),
    );
    keyed(&fleet).await;
    let mut redis = connection(&server).await;
    let signed = token("k1");
    let window_ms = 600_000;
    // Three fruitless refetches in a row, by three instances: after each, the fleet's budget
    // pauses for 1, 2, then 4 windows (±50 %). Between them the pause and the window's count
    // are deleted, as if their time had come (no waiting in tests).
    for (round, windows) in [1, 2, 4].into_iter().enumerate() {
        let (_, app) = &fleet[round];
        assert_eq!(
            status(app, &forged(&signed, &format!("forged-{round}"))).await,
            401
        );
        let pause = the_key(&mut redis, "pause:*:pause").await;
        let left = pttl(&mut redis, &pause).await;
        assert!(
            (window_ms * windows / 2 - 5_000..=window_ms * windows * 3 / 2).contains(&left),
            "{round}: {left} ms"
        );
        let fruitless: i64 = redis::cmd("GET")
            .arg(the_key(&mut redis, "pause:*:fruitless").await)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(fruitless, i64::try_from(round).unwrap() + 1);
        let unknown = the_key(&mut redis, "pause:*:unknown").await;
        let _: i64 = redis::cmd("DEL")
            .arg(&pause)
            .arg(&unknown)
            .query_async(&mut redis)
            .await
            .unwrap();
    }
    assert_eq!(issuer.key_sets(), 1 + 3);
    // A rotation: the refetch for the new key finds it, and the fleet's count of fruitless
    // refetches is gone.
    issuer.publish(&["k1", "k2"]);
    let (_, app) = &fleet[3];
    assert_eq!(status(app, &token("k2")).await, 200);
    for _ in 0..400 {
        let names: Vec<String> = redis::cmd("KEYS")
            .arg("pause:*:fruitless")
            .query_async(&mut redis)
            .await
            .unwrap();
        if names.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the count of fruitless refetches outlived the new key");
}
