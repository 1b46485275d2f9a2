//! The key cache against an in-process issuer on loopback, through the layer and the built-in
//! reqwest fetcher: discovery, rotation, revocation, outages, faults and a storm of forged
//! `kid`s. Time is driven by short configured intervals; no test waits for a default one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::keys::{jwk, jwks, signed_claims};
use crate::common::{AUDIENCE, claims, get_with_token, request, send, status_and_reason};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use bearer_guard::jwks::KeyCacheSettings;
use bearer_guard::{
    BearerGuardBuilder, BearerGuardLayer, RejectionKind, ResourceServer, TokenErrorKind,
};
use jsonwebtoken::Algorithm::RS256;
use serde_json::{Value, json};

/// What the issuer's JWK set endpoint does.
#[derive(Clone)]
enum Mode {
    /// Serves these keys with this `max-age`.
    Keys(Vec<Value>, u64),
    Status(StatusCode),
    TooManyRequests {
        retry_after: u64,
    },
    Hang,
    Oversized,
    Redirect,
    NotJson,
}

struct Issuer {
    mode: Mode,
    /// Whether the OpenID discovery document is served (else only RFC 8414's).
    openid: bool,
    /// The `issuer` its discovery document names.
    names: Option<String>,
    discovery_hits: usize,
    jwks_hits: usize,
    /// The `ETag` its key sets carry; a request naming it in `If-None-Match` gets a 304.
    etag: Option<&'static str>,
    not_modified: usize,
}

type Shared = Arc<Mutex<Issuer>>;

async fn discovery(State(issuer): State<(Shared, String)>) -> Response {
    if !issuer.0.lock().unwrap().openid {
        return StatusCode::NOT_FOUND.into_response();
    }
    metadata(State(issuer)).await.into_response()
}

async fn metadata(State(issuer): State<(Shared, String)>) -> Json<Value> {
    let (state, base) = issuer;
    let mut state = state.lock().unwrap();
    state.discovery_hits += 1;
    let names = state.names.clone().unwrap_or_else(|| format!("{base}/"));
    Json(json!({"issuer": names, "jwks_uri": format!("{base}/.well-known/jwks.json")}))
}

async fn key_set(State(issuer): State<(Shared, String)>, request: HeaderMap) -> Response {
    let (mode, etag) = {
        let mut state = issuer.0.lock().unwrap();
        state.jwks_hits += 1;
        (state.mode.clone(), state.etag)
    };
    match mode {
        Mode::Keys(keys, max_age) => {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CACHE_CONTROL,
                format!("public, max-age={max_age}").parse().unwrap(),
            );
            if let Some(etag) = etag {
                headers.insert(header::ETAG, etag.parse().unwrap());
                if request
                    .get(header::IF_NONE_MATCH)
                    .is_some_and(|sent| sent == etag)
                {
                    issuer.0.lock().unwrap().not_modified += 1;
                    return (StatusCode::NOT_MODIFIED, headers).into_response();
                }
            }
            (headers, jwks(&keys)).into_response()
        }
        Mode::Status(status) => status.into_response(),
        Mode::TooManyRequests { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry_after.to_string())],
        )
            .into_response(),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::OK.into_response()
        }
        Mode::Oversized => {
            let keys = vec![jwk("rsa2048", "k1", &json!({"pad": "x".repeat(70_000)}))];
            jwks(&keys).into_response()
        }
        Mode::Redirect => (
            StatusCode::FOUND,
            [(header::LOCATION, "/.well-known/jwks2.json")],
        )
            .into_response(),
        Mode::NotJson => "<html>maintenance</html>".into_response(),
    }
}

/// An issuer on an ephemeral loopback port; returns its state and its base URL.
async fn issuer(mode: Mode) -> (Shared, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = Arc::new(Mutex::new(Issuer {
        mode,
        openid: true,
        names: None,
        discovery_hits: 0,
        jwks_hits: 0,
        etag: None,
        not_modified: 0,
    }));
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/.well-known/jwks.json", get(key_set))
        .with_state((Arc::clone(&state), base.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (state, base)
}

fn set_mode(state: &Shared, mode: Mode) {
    state.lock().unwrap().mode = mode;
}

/// Rotation at the issuer: it publishes a key `new` beside `old`.
fn publish_new_key(state: &Shared) {
    let keys = vec![
        jwk("rsa2048", "old", &json!({})),
        jwk("rsa2048", "new", &json!({})),
    ];
    set_mode(state, Mode::Keys(keys, 3600));
}

fn hits(state: &Shared) -> usize {
    state.lock().unwrap().jwks_hits
}

/// Settings scaled down so that the tests run in well under a second each.
fn quick() -> KeyCacheSettings {
    KeyCacheSettings::default()
        .fetch_timeout(Duration::from_millis(400))
        .connect_timeout(Duration::from_millis(200))
        .min_max_age(Duration::from_millis(50))
        .default_max_age(Duration::from_millis(200))
        .backoff(Duration::from_millis(20), Duration::from_millis(80))
        .unknown_kid_refetches(2, Duration::from_secs(30))
}

/// A layer whose keys, once loaded, stay fresh for the whole test (no scheduled refresh), so
/// that every fetch the issuer sees is a refetch.
async fn loaded_layer(base: &str) -> BearerGuardLayer {
    let settings = quick()
        .max_max_age(Duration::from_secs(3600))
        .min_max_age(Duration::from_secs(60))
        .default_max_age(Duration::from_secs(60));
    let layer = builder(base, settings).build().unwrap();
    layer.wait_for_keys(Duration::from_secs(5)).await.unwrap();
    layer
}

fn api() -> ResourceServer {
    ResourceServer::from_json(&format!(
        r#"{{"identifier": "{AUDIENCE}", "signing_alg": "RS256"}}"#
    ))
    .unwrap()
}

fn builder(base: &str, settings: KeyCacheSettings) -> BearerGuardBuilder {
    BearerGuardLayer::builder(api())
        .issuer(format!("{base}/"))
        .key_cache(settings)
}

fn app(layer: BearerGuardLayer) -> Router {
    Router::new()
        .route("/private", get(|| async { "ok" }))
        .layer(layer)
}

/// A token from the issuer at `base`, naming `kid`.
fn token_from(base: &str, kid: &str) -> String {
    let claims = claims("read:messages", json!({"iss": format!("{base}/")}));
    signed_claims(RS256, "rsa2048", Some(kid), &claims)
}

const OK: (u16, Option<RejectionKind>) = (200, None);

fn refused(kind: TokenErrorKind) -> (u16, Option<RejectionKind>) {
    (401, Some(RejectionKind::InvalidToken(kind)))
}

#[tokio::test]
async fn keys_found_by_discovery_verify_tokens() {
    let (state, base) = issuer(Mode::Keys(vec![jwk("rsa2048", "k1", &json!({}))], 60)).await;
    let layer = builder(&base, quick()).build().unwrap();
    layer.wait_for_keys(Duration::from_secs(5)).await.unwrap();
    let status = layer.key_cache_status().unwrap();
    assert!(status.loaded && !status.stale, "{status:?}");
    assert_eq!((status.keys, status.last_error), (1, None));
    assert_eq!(state.lock().unwrap().discovery_hits, 1);
    let app = app(layer);
    assert_eq!(
        status_and_reason("/private", &app, &token_from(&base, "k1")).await,
        OK
    );
}

#[tokio::test]
async fn an_issuer_down_at_startup_means_503_then_200_without_a_restart() {
    let (state, base) = issuer(Mode::Status(StatusCode::INTERNAL_SERVER_ERROR)).await;
    let layer = builder(&base, quick()).build().unwrap();
    let app = app(layer.clone());
    let answer_503 = send(&app, get_with_token("/private", &token_from(&base, "k1"))).await;
    assert_eq!(answer_503.status, 503);
    assert_eq!(answer_503.kind(), Some(RejectionKind::KeysUnavailable));
    let retry_after: u64 = answer_503.response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(answer_503.challenge.is_none());
    // Without credentials it is still the 401 challenge: the client's part is missing.
    assert_eq!(send(&app, request("/private", &[])).await.status, 401);
    assert!(
        layer
            .wait_for_keys(Duration::from_millis(100))
            .await
            .is_err()
    );
    // The first fetch may still be on its way on a loaded machine: wait for its failure.
    let mut status = layer.key_cache_status().unwrap();
    for _ in 0..100 {
        if status.failures >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        status = layer.key_cache_status().unwrap();
    }
    assert!(!status.loaded && status.failures >= 1, "{status:?}");
    assert!(status.last_error.unwrap().contains("500"));

    set_mode(
        &state,
        Mode::Keys(vec![jwk("rsa2048", "k1", &json!({}))], 60),
    );
    layer.wait_for_keys(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        status_and_reason("/private", &app, &token_from(&base, "k1")).await,
        OK
    );
}

#[tokio::test]
async fn a_new_kid_is_accepted_at_once_and_a_revoked_one_goes_with_its_refresh() {
    let (state, base) = issuer(Mode::Keys(vec![jwk("rsa2048", "old", &json!({}))], 3600)).await;
    let layer = builder(
        &base,
        quick()
            .min_max_age(Duration::from_millis(50))
            .default_max_age(Duration::from_millis(100))
            .max_max_age(Duration::from_millis(150)),
    )
    .build()
    .unwrap();
    layer.wait_for_keys(Duration::from_secs(5)).await.unwrap();
    let app = app(layer.clone());
    // One token, used again and again, as clients do: the second use is a cache hit.
    let old = token_from(&base, "old");
    for _ in 0..2 {
        assert_eq!(status_and_reason("/private", &app, &old).await, OK);
    }
    let cached = layer.token_cache_status().unwrap();
    assert_eq!((cached.misses, cached.hits, cached.entries), (1, 1, 1));
    // Rotation: the issuer publishes a new key; the first token naming it waits for one
    // refetch and passes.
    publish_new_key(&state);
    assert_eq!(
        status_and_reason("/private", &app, &token_from(&base, "new")).await,
        OK
    );
    // Revocation: the old key leaves the set; once the set is refreshed (its max-age is
    // clamped to 150 ms here), tokens naming it are refused, the cached one too.
    set_mode(
        &state,
        Mode::Keys(vec![jwk("rsa2048", "new", &json!({}))], 3600),
    );
    let before = hits(&state);
    for _ in 0..100 {
        if hits(&state) > before + 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        hits(&state) > before,
        "the set was refreshed in the background"
    );
    assert_eq!(
        status_and_reason("/private", &app, &old).await,
        refused(TokenErrorKind::UnknownKeyId)
    );
    assert_eq!(
        status_and_reason("/private", &app, &token_from(&base, "new")).await,
        OK
    );
}

#[tokio::test]
async fn a_storm_of_forged_kids_costs_at_most_the_budget_and_never_slows_known_ones() {
    let (state, base) = issuer(Mode::Keys(vec![jwk("rsa2048", "k1", &json!({}))], 3600)).await;
    let layer = loaded_layer(&base).await;
    let app = app(layer);
    let before = hits(&state);
    let mut forged = Vec::new();
    for i in 0..50 {
        forged.push(
            status_and_reason("/private", &app, &token_from(&base, &format!("forged-{i}"))).await,
        );
        // A valid token between forged ones answers at once.
        assert_eq!(
            status_and_reason("/private", &app, &token_from(&base, "k1")).await,
            OK
        );
    }
    assert!(
        forged
            .iter()
            .all(|a| *a == refused(TokenErrorKind::UnknownKeyId))
    );
    let refetches = hits(&state) - before;
    assert!(refetches <= 2, "{refetches} refetches for 50 forged kids");
    assert!(refetches >= 1);
}

/// Another API's token naming a `kid` this API lacks is refused for its audience, and spends
/// none of the unknown-`kid` budget: no refetch at all.
#[tokio::test]
async fn an_unknown_kid_on_another_apis_token_is_refused_for_its_audience_without_a_refetch() {
    let (state, base) = issuer(Mode::Keys(vec![jwk("rsa2048", "k1", &json!({}))], 3600)).await;
    let layer = loaded_layer(&base).await;
    let app = app(layer);
    let before = hits(&state);
    let claims = claims(
        "read:messages",
        json!({"iss": format!("{base}/"), "aud": "https://another-api.example"}),
    );
    for i in 0..5 {
        let token = signed_claims(RS256, "rsa2048", Some(&format!("other-{i}")), &claims);
        assert_eq!(
            status_and_reason("/private", &app, &token).await,
            refused(TokenErrorKind::InvalidAudience)
        );
    }
    assert_eq!(hits(&state) - before, 0);
    // This API's own token with an unknown kid still asks for one.
    assert_eq!(
        status_and_reason("/private", &app, &token_from(&base, "new-kid")).await,
        refused(TokenErrorKind::UnknownKeyId)
    );
    assert_eq!(hits(&state) - before, 1);
}

#[tokio::test]
async fn every_fault_is_a_failed_fetch_that_keeps_the_last_good_keys() {
    let good = Mode::Keys(vec![jwk("rsa2048", "k1", &json!({}))], 0);
    for fault in [
        Mode::Status(StatusCode::INTERNAL_SERVER_ERROR),
        Mode::Status(StatusCode::NOT_FOUND),
        Mode::Hang,
        Mode::Oversized,
        Mode::Redirect,
        Mode::NotJson,
        Mode::Keys(
            vec![
                jwk("rsa1024", "small", &json!({})),
                jwk("p256", "ec", &json!({})),
            ],
            0,
        ),
    ] {
        let (state, base) = issuer(good.clone()).await;
        // max-age 0 is clamped to 50 ms: the set is soon stale, and refreshes keep failing.
        let layer = builder(&base, quick()).build().unwrap();
        layer.wait_for_keys(Duration::from_secs(5)).await.unwrap();
        set_mode(&state, fault);
        let failures = |layer: &BearerGuardLayer| layer.key_cache_status().unwrap().failures;
        for _ in 0..200 {
            if failures(&layer) >= 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let status = layer.key_cache_status().unwrap();
        assert!(
            status.failures >= 1 && status.last_error.is_some(),
            "{status:?}"
        );
        // Stale, but within `stale_for`: the last good keys still verify.
        assert!(status.loaded, "{status:?}");
        assert_eq!(
            status_and_reason("/private", &app(layer), &token_from(&base, "k1")).await,
            OK
        );
    }
}

#[tokio::test]
async fn keys_stale_past_their_allowance_stop_and_then_503() {
    let (state, base) = issuer(Mode::Keys(vec![jwk("rsa2048", "k1", &json!({}))], 0)).await;
    let layer = builder(&base, quick().stale_for(Duration::from_millis(100)))
        .build()
        .unwrap();
    layer.wait_for_keys(Duration::from_secs(5)).await.unwrap();
    set_mode(&state, Mode::Status(StatusCode::SERVICE_UNAVAILABLE));
    let app = app(layer.clone());
    let mut last = OK;
    for _ in 0..200 {
        last = status_and_reason("/private", &app, &token_from(&base, "k1")).await;
        if last.0 == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(last, (503, Some(RejectionKind::KeysUnavailable)));
}

#[tokio::test]
async fn a_retry_after_from_the_issuer_is_honoured() {
    let (state, base) = issuer(Mode::TooManyRequests { retry_after: 30 }).await;
    let layer = builder(&base, quick()).build().unwrap();
    assert!(
        layer
            .wait_for_keys(Duration::from_millis(300))
            .await
            .is_err()
    );
    // One fetch answered 429 "retry in 30 s": nothing more within the next 300 ms, whatever
    // the backoff (20 to 80 ms) and unknown kids would ask.
    let after_first = hits(&state);
    assert_eq!(after_first, 1);
    set_mode(
        &state,
        Mode::Keys(vec![jwk("rsa2048", "k1", &json!({}))], 60),
    );
    let app = app(layer);
    for _ in 0..5 {
        assert_eq!(
            status_and_reason("/private", &app, &token_from(&base, "k1"))
                .await
                .0,
            503
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hits(&state), after_first);
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_not_trusted() {
    let (state, base) = issuer(Mode::Keys(vec![jwk("rsa2048", "k1", &json!({}))], 60)).await;
    state.lock().unwrap().names = Some("https://evil.example/".into());
    let layer = builder(&base, quick()).build().unwrap();
    let err = layer
        .wait_for_keys(Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("evil.example"), "{err}");
    assert_eq!(
        hits(&state),
        0,
        "the key set of an untrusted document is never fetched"
    );
    assert_eq!(
        status_and_reason("/private", &app(layer), &token_from(&base, "k1"))
            .await
            .0,
        503
    );
}

#[tokio::test]
async fn an_issuer_that_differs_by_a_trailing_slash_is_named_with_the_fix() {
    let (state, base) = issuer(Mode::Keys(vec![jwk("rsa2048", "k1", &json!({}))], 60)).await;
    // Configured as `{base}/`; the document names `{base}`.
    state.lock().unwrap().names = Some(base.clone());
    let layer = builder(&base, quick()).build().unwrap();
    let err = layer
        .wait_for_keys(Duration::from_millis(300))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("trailing slash"), "{message}");
    assert!(
        message.contains(&format!("configure issuer({base:?})")),
        "{message}"
    );
    assert_eq!(hits(&state), 0, "still not trusted: no key set is fetched");
}

#[tokio::test]
async fn an_explicit_jwks_uri_needs_no_discovery_and_keys_without_alg_work() {
    let (state, base) = issuer(Mode::Keys(vec![jwk("rsa2048", "k1", &json!({}))], 60)).await;
    let layer = BearerGuardLayer::builder(api())
        .jwks_uri(format!("{base}/.well-known/jwks.json"))
        .key_cache(quick())
        .build()
        .unwrap();
    layer.wait_for_keys(Duration::from_secs(5)).await.unwrap();
    assert_eq!(state.lock().unwrap().discovery_hits, 0);
    assert_eq!(
        status_and_reason("/private", &app(layer), &token_from(&base, "k1")).await,
        OK
    );
}

#[test]
fn building_needs_no_runtime_and_refuses_what_cannot_be_fetched() {
    // No tokio runtime here: build() neither panics nor fetches.
    let layer = BearerGuardLayer::builder(api())
        .issuer("https://tenant.example.com/")
        .build()
        .unwrap();
    assert_eq!(layer.key_cache_status().unwrap().fetches, 0);
    for (builder, setting) in [
        (
            BearerGuardLayer::builder(api()).issuer("http://tenant.example.com/"),
            "issuer (for discovery)",
        ),
        (
            BearerGuardLayer::builder(api()).jwks_uri("http://10.0.0.1/jwks.json"),
            "jwks_uri",
        ),
    ] {
        match builder.build().map(|_| ()).unwrap_err() {
            bearer_guard::ConfigError::NotFetchable { setting: got, .. } => {
                assert_eq!(got, setting)
            }
            other => panic!("{other}"),
        }
    }
    let err = BearerGuardLayer::builder(api())
        .issuer("https://tenant.example.com/")
        .key_cache(KeyCacheSettings::default().fetch_timeout(Duration::from_secs(120)))
        .build()
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(
            err,
            bearer_guard::ConfigError::KeyCacheSetting {
                setting: "fetch_timeout",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn discovery_falls_back_to_rfc_8414_metadata() {
    let (state, base) = issuer(Mode::Keys(vec![jwk("rsa2048", "k1", &json!({}))], 60)).await;
    state.lock().unwrap().openid = false;
    let layer = builder(&base, quick()).build().unwrap();
    layer.wait_for_keys(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        status_and_reason("/private", &app(layer), &token_from(&base, "k1")).await,
        OK
    );
}

#[tokio::test]
async fn requests_naming_a_new_kid_at_once_share_one_refetch() {
    let (state, base) = issuer(Mode::Keys(vec![jwk("rsa2048", "old", &json!({}))], 3600)).await;
    let layer = loaded_layer(&base).await;
    publish_new_key(&state);
    let before = hits(&state);
    let app = app(layer);
    let token = token_from(&base, "new");
    let requests: Vec<_> = (0..10)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move { status_and_reason("/private", &app, &token).await })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), OK);
    }
    assert_eq!(hits(&state) - before, 1, "one refetch for ten requests");
}

#[tokio::test]
async fn the_built_in_fetcher_sends_the_conditions_and_answers_a_304_as_received() {
    use bearer_guard::jwks::{JwksFetcher as _, ReqwestFetcher};
    let (state, base) = issuer(Mode::Keys(vec![jwk("rsa2048", "k1", &json!({}))], 60)).await;
    state.lock().unwrap().etag = Some("\"v1\"");
    let fetcher = ReqwestFetcher::new(&KeyCacheSettings::default()).unwrap();
    let url = format!("{base}/.well-known/jwks.json");
    let first = fetcher.get(&url, 65_536).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()[header::ETAG], "\"v1\"");
    let mut conditions = HeaderMap::new();
    conditions.insert(header::IF_NONE_MATCH, "\"v1\"".parse().unwrap());
    let again = fetcher
        .get_with_headers(&url, 65_536, &conditions)
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.body().is_empty());
    conditions.insert(header::IF_NONE_MATCH, "\"v0\"".parse().unwrap());
    let changed = fetcher
        .get_with_headers(&url, 65_536, &conditions)
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(state.lock().unwrap().not_modified, 1);
}
