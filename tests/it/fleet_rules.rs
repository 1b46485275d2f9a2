//! The key cache's fleet-scale rules, black-box through the layer, on tokio's paused clock
//! with an in-process fetcher that answers at once: refresh points within their window, a
//! `Retry-After` never undercut, discovery's fallback only after a 404/400/405, the
//! unknown-`kid` budget backing off and resetting, removed `kid`s refused without a fetch,
//! and conditional refreshes answered 304. No test waits in real time.

#![cfg(feature = "jwks")]
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::keys::{jwk, jwks, signed_claims};
use crate::common::{AUDIENCE, claims, status_and_reason};
use axum::{Router, routing::get};
use bearer_guard::jwks::{FetchFuture, JwksFetcher, KeyCacheSettings};
use bearer_guard::{BearerGuardLayer, RejectionKind, ResourceServer, TokenErrorKind};
use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use jsonwebtoken::Algorithm::RS256;
use serde_json::json;
use tokio::time::Instant;

const ISSUER: &str = "https://issuer.example/";
const OPENID: &str = "https://issuer.example/.well-known/openid-configuration";
const RFC8414: &str = "https://issuer.example/.well-known/oauth-authorization-server";
const JWKS: &str = "https://issuer.example/jwks.json";

/// How the fake issuer answers a URL.
#[derive(Clone)]
enum Answer {
    /// The discovery document.
    Discovery,
    /// A key set with these `kid`s, `max-age` and `ETag`; a request naming that `ETag` in
    /// `If-None-Match` is answered 304.
    Keys(Vec<&'static str>, u64, Option<&'static str>),
    Status(StatusCode, Option<u64>),
    /// No answer: longer than any fetch timeout.
    Hang,
}

/// One request the issuer saw.
#[derive(Debug, Clone)]
struct Seen {
    url: String,
    at: Instant,
    if_none_match: Option<String>,
    status: u16,
}

#[derive(Default)]
struct Issuer {
    answers: Vec<(&'static str, Answer)>,
    seen: Vec<Seen>,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<Issuer>>);

impl Fake {
    fn new(answers: &[(&'static str, Answer)]) -> Self {
        let fake = Self::default();
        fake.0.lock().unwrap().answers = answers.to_vec();
        fake
    }

    fn answer(&self, url: &'static str, answer: Answer) {
        let mut issuer = self.0.lock().unwrap();
        issuer.answers.retain(|(at, _)| *at != url);
        issuer.answers.push((url, answer));
    }

    fn seen(&self, url: &str) -> Vec<Seen> {
        let issuer = self.0.lock().unwrap();
        issuer
            .seen
            .iter()
            .filter(|s| s.url == url)
            .cloned()
            .collect()
    }

    fn respond(&self, url: &str, headers: &HeaderMap) -> Option<http::Response<Bytes>> {
        let answer = {
            let issuer = self.0.lock().unwrap();
            issuer
                .answers
                .iter()
                .find(|(at, _)| *at == url)
                .map(|(_, answer)| answer.clone())
        };
        let mut response = http::Response::new(Bytes::new());
        match answer {
            None => *response.status_mut() = StatusCode::NOT_FOUND,
            Some(Answer::Hang) => return None,
            Some(Answer::Discovery) => {
                *response.body_mut() =
                    Bytes::from(json!({"issuer": ISSUER, "jwks_uri": JWKS}).to_string());
            }
            Some(Answer::Keys(kids, max_age, etag)) => {
                let cache_control = format!("max-age={max_age}").parse().unwrap();
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, cache_control);
                if let Some(etag) = etag {
                    response
                        .headers_mut()
                        .insert(header::ETAG, etag.parse().unwrap());
                }
                let matches = etag.is_some_and(|etag| {
                    headers
                        .get(header::IF_NONE_MATCH)
                        .is_some_and(|v| v == etag)
                });
                if matches {
                    *response.status_mut() = StatusCode::NOT_MODIFIED;
                } else {
                    let keys: Vec<_> = kids
                        .iter()
                        .map(|kid| jwk("rsa2048", kid, &json!({})))
                        .collect();
                    *response.body_mut() = Bytes::from(jwks(&keys));
                }
            }
            Some(Answer::Status(status, retry_after)) => {
                *response.status_mut() = status;
                if let Some(seconds) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, seconds.into());
                }
            }
        }
        Some(response)
    }
}

impl JwksFetcher for Fake {
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
            let response = self.respond(url, headers);
            self.0.lock().unwrap().seen.push(Seen {
                url: url.to_owned(),
                at: Instant::now(),
                if_none_match: headers
                    .get(header::IF_NONE_MATCH)
                    .map(|v| v.to_str().unwrap().to_owned()),
                status: response.as_ref().map_or(0, |r| r.status().as_u16()),
            });
            match response {
                Some(response) => Ok(response),
                None => std::future::pending().await,
            }
        })
    }
}

fn api() -> ResourceServer {
    ResourceServer::from_json(&format!(
        r#"{{"identifier": "{AUDIENCE}", "signing_alg": "RS256"}}"#
    ))
    .unwrap()
}

fn layer(fake: &Fake, settings: KeyCacheSettings) -> BearerGuardLayer {
    BearerGuardLayer::builder(api())
        .issuer(ISSUER)
        .jwks_fetcher(fake.clone())
        .key_cache(settings.jitter_seed(42))
        .build()
        .unwrap()
}

fn app(layer: BearerGuardLayer) -> Router {
    Router::new()
        .route("/private", get(|| async { "ok" }))
        .layer(layer)
}

fn token(kid: &str) -> String {
    let claims = claims("read:messages", json!({"iss": ISSUER}));
    signed_claims(RS256, "rsa2048", Some(kid), &claims)
}

/// A token naming `kid` with another token's payload and signature: what a forger sends, and
/// cheap to make (signing in a debug build is not).
fn forged(signed: &str, kid: &str) -> String {
    use base64::Engine as _;
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid}).to_string();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header);
    let rest = signed.split_once('.').unwrap().1;
    format!("{header}.{rest}")
}

const OK: (u16, Option<RejectionKind>) = (200, None);
const UNKNOWN_KID: (u16, Option<RejectionKind>) = (
    401,
    Some(RejectionKind::InvalidToken(TokenErrorKind::UnknownKeyId)),
);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Fetches of the key set the issuer saw.
fn key_fetches(fake: &Fake) -> usize {
    fake.seen(JWKS).len()
}

#[tokio::test(start_paused = true)]
async fn a_refresh_falls_within_fifty_to_ninety_percent_of_the_floored_life() {
    // max-age=15 is floored to the default 5 minutes: the refresh comes 150 s to 270 s on.
    let mut gaps = Vec::new();
    for seed in 0..8 {
        let fake = Fake::new(&[
            (OPENID, Answer::Discovery),
            (JWKS, Answer::Keys(vec!["k1"], 15, None)),
        ]);
        let layer = BearerGuardLayer::builder(api())
            .issuer(ISSUER)
            .jwks_fetcher(fake.clone())
            .key_cache(KeyCacheSettings::default().jitter_seed(seed))
            .build()
            .unwrap();
        layer.wait_for_keys(secs(5)).await.unwrap();
        tokio::time::sleep(secs(600)).await;
        let seen = fake.seen(JWKS);
        let gap = seen[1].at.duration_since(seen[0].at);
        assert!((secs(150)..=secs(270)).contains(&gap), "{seed}: {gap:?}");
        assert!(layer.key_cache_status().unwrap().loaded);
        gaps.push(gap);
    }
    // Spread over the window, not at one point of it.
    gaps.sort();
    assert!(gaps[7] - gaps[0] > secs(30), "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn a_429_is_retried_after_its_retry_after_never_before_and_discovery_stays_put() {
    let mut gaps = Vec::new();
    for seed in 0..8 {
        let fake = Fake::new(&[
            (
                OPENID,
                Answer::Status(StatusCode::TOO_MANY_REQUESTS, Some(30)),
            ),
            (RFC8414, Answer::Discovery),
            (JWKS, Answer::Keys(vec!["k1"], 600, None)),
        ]);
        let layer = BearerGuardLayer::builder(api())
            .issuer(ISSUER)
            .jwks_fetcher(fake.clone())
            .key_cache(KeyCacheSettings::default().jitter_seed(seed))
            .build()
            .unwrap();
        assert!(layer.wait_for_keys(secs(29)).await.is_err());
        let seen = fake.seen(OPENID);
        assert_eq!(seen.len(), 1, "nothing before the Retry-After");
        assert!(
            fake.seen(RFC8414).is_empty(),
            "a 429 is no reason to ask RFC 8414's address"
        );
        fake.answer(OPENID, Answer::Discovery);
        layer.wait_for_keys(secs(60)).await.unwrap();
        let seen = fake.seen(OPENID);
        let gap = seen[1].at.duration_since(seen[0].at);
        // 30 s, plus full jitter over the Retry-After (30 s here).
        assert!((secs(30)..=secs(60)).contains(&gap), "{seed}: {gap:?}");
        gaps.push(gap);
    }
    gaps.sort();
    assert!(
        gaps[gaps.len() - 1] - gaps[0] > secs(5),
        "a fleet does not come back in step: {gaps:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn discovery_falls_back_to_rfc_8414_only_after_404_400_or_405() {
    for (openid, falls_back) in [
        (Answer::Status(StatusCode::NOT_FOUND, None), true),
        (Answer::Status(StatusCode::BAD_REQUEST, None), true),
        (Answer::Status(StatusCode::METHOD_NOT_ALLOWED, None), true),
        (Answer::Status(StatusCode::TOO_MANY_REQUESTS, None), false),
        (
            Answer::Status(StatusCode::INTERNAL_SERVER_ERROR, None),
            false,
        ),
        (
            Answer::Status(StatusCode::SERVICE_UNAVAILABLE, Some(10)),
            false,
        ),
        (Answer::Hang, false),
    ] {
        let fake = Fake::new(&[
            (OPENID, openid),
            (RFC8414, Answer::Discovery),
            (JWKS, Answer::Keys(vec!["k1"], 600, None)),
        ]);
        let layer = layer(&fake, KeyCacheSettings::default());
        let loaded = layer.wait_for_keys(secs(6)).await.is_ok();
        assert_eq!(loaded, falls_back, "{:?}", fake.seen(OPENID));
        assert_eq!(fake.seen(RFC8414).len(), usize::from(falls_back));
    }
}

#[tokio::test(start_paused = true)]
async fn a_forged_kid_flood_costs_fewer_and_fewer_fetches_and_a_new_key_resets_it() {
    let fake = Fake::new(&[
        (OPENID, Answer::Discovery),
        (JWKS, Answer::Keys(vec!["k1"], 3600, None)),
    ]);
    let layer = layer(&fake, KeyCacheSettings::default());
    layer.wait_for_keys(secs(5)).await.unwrap();
    let app = app(layer);
    // A forged kid every second for 30 minutes (the set lives an hour: no scheduled refresh).
    let signed = token("k1");
    let mut per_ten_minutes = [0usize; 3];
    for second in 0..1800 {
        let before = key_fetches(&fake);
        let forged = forged(&signed, &format!("forged-{second}"));
        assert_eq!(
            status_and_reason("/private", &app, &forged).await,
            UNKNOWN_KID
        );
        per_ten_minutes[second / 600] += key_fetches(&fake) - before;
        tokio::time::sleep(secs(1)).await;
    }
    // On the old rule (2 per 30 s): 40 in each ten minutes. Pausing 30, 60, 120, … s: far
    // fewer, and fewer each period.
    assert!(per_ten_minutes[0] <= 8, "{per_ten_minutes:?}");
    assert!(per_ten_minutes[2] <= 2, "{per_ten_minutes:?}");
    assert!(
        per_ten_minutes[2] <= per_ten_minutes[0],
        "{per_ten_minutes:?}"
    );
    // A rotation, picked up by the scheduled refresh at 50–90 % of the hour: the new key
    // ends the pause, and the next new kid refetches at once.
    fake.answer(JWKS, Answer::Keys(vec!["k1", "k2"], 3600, None));
    tokio::time::sleep(secs(3600)).await;
    assert_eq!(status_and_reason("/private", &app, &token("k2")).await, OK);
    fake.answer(JWKS, Answer::Keys(vec!["k1", "k2", "k3"], 3600, None));
    let before = key_fetches(&fake);
    assert_eq!(status_and_reason("/private", &app, &token("k3")).await, OK);
    assert_eq!(key_fetches(&fake), before + 1);
}

#[tokio::test(start_paused = true)]
async fn tokens_of_removed_kids_are_refused_without_a_fetch_and_a_new_key_still_gets_one() {
    let fake = Fake::new(&[
        (OPENID, Answer::Discovery),
        (JWKS, Answer::Keys(vec!["old", "current"], 600, None)),
    ]);
    let layer = layer(&fake, KeyCacheSettings::default());
    layer.wait_for_keys(secs(5)).await.unwrap();
    let app = app(layer);
    assert_eq!(status_and_reason("/private", &app, &token("old")).await, OK);
    // Revocation: the scheduled refresh drops "old".
    fake.answer(JWKS, Answer::Keys(vec!["current"], 600, None));
    tokio::time::sleep(secs(600)).await;
    let before = key_fetches(&fake);
    for _ in 0..5 {
        assert_eq!(
            status_and_reason("/private", &app, &token("old")).await,
            UNKNOWN_KID
        );
    }
    assert_eq!(key_fetches(&fake), before, "no fetch for a removed kid");
    // A rotation right after: its first token refetches (the budget is whole) and passes.
    fake.answer(JWKS, Answer::Keys(vec!["current", "next"], 600, None));
    assert_eq!(
        status_and_reason("/private", &app, &token("next")).await,
        OK
    );
    assert_eq!(key_fetches(&fake), before + 1);
}

#[tokio::test(start_paused = true)]
async fn a_conditional_refresh_answered_304_keeps_the_set_fresh() {
    let fake = Fake::new(&[
        (OPENID, Answer::Discovery),
        (JWKS, Answer::Keys(vec!["k1"], 300, Some("\"v1\""))),
    ]);
    let layer = layer(&fake, KeyCacheSettings::default());
    layer.wait_for_keys(secs(5)).await.unwrap();
    let app = app(layer.clone());
    // Three refresh periods: every refresh after the first fetch is conditional and a 304.
    tokio::time::sleep(secs(3 * 300)).await;
    let seen = fake.seen(JWKS);
    assert!(seen.len() >= 4, "{seen:?}");
    assert_eq!(seen[0].if_none_match, None);
    for refresh in &seen[1..] {
        assert_eq!(refresh.if_none_match.as_deref(), Some("\"v1\""));
        assert_eq!(refresh.status, 304);
    }
    let status = layer.key_cache_status().unwrap();
    assert!(status.loaded && !status.stale, "{status:?}");
    assert_eq!((status.failures, status.keys), (0, 1));
    assert_eq!(status_and_reason("/private", &app, &token("k1")).await, OK);
    // A new version is fetched whole, and its ETag is the next condition.
    fake.answer(JWKS, Answer::Keys(vec!["k1", "k2"], 300, Some("\"v2\"")));
    assert_eq!(status_and_reason("/private", &app, &token("k2")).await, OK);
    tokio::time::sleep(secs(300)).await;
    let last = fake.seen(JWKS).pop().unwrap();
    assert_eq!(
        (last.if_none_match.as_deref(), last.status),
        (Some("\"v2\""), 304)
    );
}

/// A fetcher that implements only `get`, as one written before conditional GETs: it still
/// works, with full fetches.
struct Plain(Fake);

impl JwksFetcher for Plain {
    fn get<'a>(&'a self, url: &'a str, max_body: usize) -> FetchFuture<'a> {
        self.0.get(url, max_body)
    }
}

#[tokio::test(start_paused = true)]
async fn a_fetcher_without_conditional_gets_still_refreshes() {
    let fake = Fake::new(&[
        (OPENID, Answer::Discovery),
        (JWKS, Answer::Keys(vec!["k1"], 300, Some("\"v1\""))),
    ]);
    let layer = BearerGuardLayer::builder(api())
        .issuer(ISSUER)
        .jwks_fetcher(Plain(fake.clone()))
        .build()
        .unwrap();
    layer.wait_for_keys(secs(5)).await.unwrap();
    tokio::time::sleep(secs(600)).await;
    let seen = fake.seen(JWKS);
    assert!(seen.len() >= 2);
    assert!(
        seen.iter()
            .all(|s| s.status == 200 && s.if_none_match.is_none())
    );
    assert_eq!(layer.key_cache_status().unwrap().failures, 0);
}
