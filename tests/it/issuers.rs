//! Several issuers for one API (Auth0's Multiple Custom Domains): each issuer's tokens
//! accepted with its own keys, found by its own discovery; a foreign `iss` refused before any
//! fetch; one issuer's outage answered 503 for its tokens only; an unknown `kid` refetching its
//! issuer's key set only; several issuers inside `MultiApiLayer`; the list's checks at build.
//!
//! The key caches run against an in-process fetcher on tokio's paused clock, which counts the
//! requests each issuer sees; one test runs the whole flow against two loopback issuers
//! through the built-in reqwest fetcher.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::keys::{jwk, jwks, signed_claims};
use crate::common::{AUDIENCE, SECRET, claims, get_with_token, send, status_and_reason, token};
use axum::{Json, Router, routing::get};
use bearer_guard::jwks::{FetchFuture, JwksFetcher};
use bearer_guard::{
    BearerGuardLayer, ConfigError, MultiApiLayer, RejectionKind, ResourceServer, TokenErrorKind,
    VerifiedToken,
};
use bytes::Bytes;
use http::StatusCode;
use jsonwebtoken::Algorithm::RS256;
use serde_json::{Value, json};

/// The tenant's canonical domain and a custom domain of it.
const CANONICAL: &str = "https://tenant.eu.auth0.com/";
const CUSTOM: &str = "https://login.brand.example/";
const FOREIGN: &str = "https://evil.example/";

/// How the fake answers a URL: a document, or a status.
#[derive(Clone)]
enum Answer {
    Json(Value),
    Status(StatusCode),
}

/// The answer to each URL, and every URL asked for, in order.
type Served = (HashMap<String, Answer>, Vec<String>);

/// Both issuers' discovery documents and key sets, with the requests each URL saw.
#[derive(Clone, Default)]
struct Issuers(Arc<Mutex<Served>>);

impl Issuers {
    /// Each issuer with its discovery document and a key set holding `kid`s of its own key
    /// (`rsa2048` for the canonical domain, `rsa2048_b` for the custom one).
    fn new() -> Self {
        let issuers = Self::default();
        for (issuer, key, kid) in [(CANONICAL, "rsa2048", "c1"), (CUSTOM, "rsa2048_b", "b1")] {
            let jwks_uri = format!("{issuer}.well-known/jwks.json");
            issuers.answer(
                &format!("{issuer}.well-known/openid-configuration"),
                Answer::Json(json!({"issuer": issuer, "jwks_uri": jwks_uri})),
            );
            issuers.keys(issuer, key, &[kid]);
        }
        issuers
    }

    fn answer(&self, url: &str, answer: Answer) {
        self.0.lock().unwrap().0.insert(url.to_owned(), answer);
    }

    /// `issuer`'s key set: `key` under each of `kids`.
    fn keys(&self, issuer: &str, key: &str, kids: &[&str]) {
        let keys: Vec<Value> = kids.iter().map(|kid| jwk(key, kid, &json!({}))).collect();
        let set = serde_json::from_str(&jwks(&keys)).unwrap();
        self.answer(&format!("{issuer}.well-known/jwks.json"), Answer::Json(set));
    }

    /// The requests made to `issuer`'s URLs so far.
    fn seen(&self, issuer: &str) -> usize {
        let seen = &self.0.lock().unwrap().1;
        seen.iter().filter(|url| url.starts_with(issuer)).count()
    }

    /// The requests made to `issuer`'s key set so far.
    fn key_fetches(&self, issuer: &str) -> usize {
        let url = format!("{issuer}.well-known/jwks.json");
        let seen = &self.0.lock().unwrap().1;
        seen.iter().filter(|seen| **seen == url).count()
    }
}

impl JwksFetcher for Issuers {
    fn get<'a>(&'a self, url: &'a str, _max_body: usize) -> FetchFuture<'a> {
        Box::pin(async move {
            let mut state = self.0.lock().unwrap();
            state.1.push(url.to_owned());
            let mut response = http::Response::new(Bytes::new());
            match state.0.get(url).cloned() {
                Some(Answer::Json(document)) => {
                    *response.body_mut() = Bytes::from(document.to_string());
                }
                Some(Answer::Status(status)) => *response.status_mut() = status,
                None => *response.status_mut() = StatusCode::NOT_FOUND,
            }
            Ok(response)
        })
    }
}

fn rs256_api() -> ResourceServer {
    ResourceServer::from_json(&format!(
        r#"{{"identifier": "{AUDIENCE}", "signing_alg": "RS256"}}"#
    ))
    .unwrap()
}

fn guard(issuers: &Issuers) -> BearerGuardLayer {
    BearerGuardLayer::builder(rs256_api())
        .issuers([CANONICAL, CUSTOM])
        .jwks_fetcher(issuers.clone())
        .build()
        .unwrap()
}

fn app(guard: BearerGuardLayer) -> Router {
    Router::new()
        .route(
            "/private",
            get(
                |token: VerifiedToken| async move { token.issuer().unwrap_or_default().to_owned() },
            ),
        )
        .layer(guard)
}

/// The app of [`guard`], once both issuers' keys have loaded.
async fn loaded_app(issuers: &Issuers) -> Router {
    let guard = guard(issuers);
    guard.wait_for_keys(Duration::from_secs(5)).await.unwrap();
    app(guard)
}

/// A token of `iss` signed with fixture key `key`, naming `kid`.
fn signed(iss: &str, key: &str, kid: &str) -> String {
    let claims = claims("read:messages", json!({"iss": iss}));
    signed_claims(RS256, key, Some(kid), &claims)
}

fn canonical_token() -> String {
    signed(CANONICAL, "rsa2048", "c1")
}

fn custom_token() -> String {
    signed(CUSTOM, "rsa2048_b", "b1")
}

const OK: (u16, Option<RejectionKind>) = (200, None);

fn refused(kind: TokenErrorKind) -> (u16, Option<RejectionKind>) {
    (401, Some(RejectionKind::InvalidToken(kind)))
}

#[tokio::test(start_paused = true)]
async fn each_issuer_is_accepted_with_the_keys_of_its_own_discovery() {
    let issuers = Issuers::new();
    let guard = guard(&issuers);
    guard.wait_for_keys(Duration::from_secs(5)).await.unwrap();
    let app = app(guard.clone());
    for (token, iss) in [(canonical_token(), CANONICAL), (custom_token(), CUSTOM)] {
        let answer = send(&app, get_with_token("/private", &token)).await;
        assert_eq!((answer.status, answer.body.as_str()), (200, iss));
    }
    // Each issuer's keys verify its own tokens only: the custom domain's key with the
    // canonical domain's `iss` is a key that issuer does not have.
    let crossed = signed(CANONICAL, "rsa2048_b", "b1");
    assert_eq!(status_and_reason("/private", &app, &crossed).await.0, 401);
    let statuses = guard.key_cache_statuses();
    let named: Vec<_> = statuses.iter().map(|s| s.issuer.as_deref()).collect();
    assert_eq!(named, [Some(CANONICAL), Some(CUSTOM)]);
    assert!(
        statuses
            .iter()
            .all(|status| status.loaded && status.keys == 1)
    );
    assert_eq!(
        guard.key_cache_status().unwrap().issuer.as_deref(),
        Some(CANONICAL)
    );
}

#[tokio::test(start_paused = true)]
async fn a_foreign_issuer_is_refused_without_any_fetch() {
    let issuers = Issuers::new();
    let app = loaded_app(&issuers).await;
    // Each issuer's discovery document and key set, once: the caches' first fetches.
    assert_eq!((issuers.seen(CANONICAL), issuers.seen(CUSTOM)), (2, 2));

    // Signed with a key of the tenant, naming a `kid` no set has: an unknown `kid` of a
    // known issuer would refetch, these never do, at any issuer.
    let foreign = signed(FOREIGN, "rsa2048", "unknown");
    let without_iss = {
        let mut claims = claims("read:messages", json!({}));
        claims.as_object_mut().unwrap().remove("iss");
        signed_claims(RS256, "rsa2048", Some("unknown"), &claims)
    };
    for _ in 0..5 {
        assert_eq!(
            status_and_reason("/private", &app, &foreign).await,
            refused(TokenErrorKind::InvalidIssuer)
        );
        assert_eq!(
            status_and_reason("/private", &app, &without_iss).await,
            refused(TokenErrorKind::MissingIssuer)
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!((issuers.seen(CANONICAL), issuers.seen(CUSTOM)), (2, 2));
    assert_eq!(
        status_and_reason("/private", &app, &custom_token()).await,
        OK
    );
}

#[tokio::test(start_paused = true)]
async fn one_issuer_down_answers_503_for_its_tokens_only() {
    let issuers = Issuers::new();
    issuers.answer(
        &format!("{CUSTOM}.well-known/jwks.json"),
        Answer::Status(StatusCode::SERVICE_UNAVAILABLE),
    );
    let guard = guard(&issuers);
    let err = guard
        .wait_for_keys(Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(err.0.issuer.as_deref(), Some(CUSTOM));
    assert!(err.to_string().contains(CUSTOM), "{err}");
    let app = app(guard.clone());

    assert_eq!(
        status_and_reason("/private", &app, &canonical_token()).await,
        OK
    );
    let answer = send(&app, get_with_token("/private", &custom_token())).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.kind(), Some(RejectionKind::KeysUnavailable));
    assert!(
        answer
            .response
            .headers()
            .contains_key(http::header::RETRY_AFTER)
    );

    let statuses = guard.key_cache_statuses();
    assert!(statuses[0].loaded && !statuses[1].loaded);
    assert!(statuses[1].last_error.is_some());
}

#[tokio::test(start_paused = true)]
async fn an_unknown_kid_refetches_only_its_issuers_key_set() {
    let issuers = Issuers::new();
    let app = loaded_app(&issuers).await;
    let before = (issuers.key_fetches(CANONICAL), issuers.key_fetches(CUSTOM));
    assert_eq!(before, (1, 1));

    // The custom domain rotates in a key the cache has not seen yet.
    issuers.keys(CUSTOM, "rsa2048_b", &["b1", "b2"]);
    let rotated = signed(CUSTOM, "rsa2048_b", "b2");
    assert_eq!(status_and_reason("/private", &app, &rotated).await, OK);
    assert_eq!(
        (issuers.key_fetches(CANONICAL), issuers.key_fetches(CUSTOM)),
        (1, 2)
    );

    // An unknown `kid` under the canonical domain's `iss` goes to its set, not the other.
    let unknown = signed(CANONICAL, "rsa2048", "nowhere");
    assert_eq!(
        status_and_reason("/private", &app, &unknown).await,
        refused(TokenErrorKind::UnknownKeyId)
    );
    assert_eq!(
        (issuers.key_fetches(CANONICAL), issuers.key_fetches(CUSTOM)),
        (2, 2)
    );
}

#[tokio::test(start_paused = true)]
async fn metadata_lists_every_issuer() {
    let api = ResourceServer::from_json(
        r#"{"identifier": "https://api.example.com", "signing_alg": "RS256"}"#,
    )
    .unwrap();
    let guard = BearerGuardLayer::builder(api)
        .issuers([CANONICAL, CUSTOM])
        .jwks_fetcher(Issuers::new())
        .resource_metadata()
        .build()
        .unwrap();
    let metadata = guard.resource_metadata().unwrap();
    assert_eq!(
        metadata.document()["authorization_servers"],
        json!([CANONICAL, CUSTOM])
    );
}

/// The HS256 secret signs for every issuer of the list; a token of another issuer is
/// refused with it all the same.
#[tokio::test]
async fn the_secret_of_an_hs256_api_applies_to_every_issuer() {
    let guard = BearerGuardLayer::builder(ResourceServer::new(AUDIENCE, SECRET))
        .issuers([CANONICAL, CUSTOM])
        .build()
        .unwrap();
    let app = app(guard);
    for iss in [CANONICAL, CUSTOM] {
        let token = token(&claims("", json!({"iss": iss})));
        assert_eq!(
            status_and_reason("/private", &app, &token).await,
            OK,
            "{iss}"
        );
    }
    let foreign = token(&claims("", json!({"iss": FOREIGN})));
    assert_eq!(
        status_and_reason("/private", &app, &foreign).await,
        refused(TokenErrorKind::InvalidIssuer)
    );
    // `iss` stays exact: no trailing-slash or case normalisation.
    let near = token(&claims("", json!({"iss": "https://login.brand.example"})));
    assert_eq!(
        status_and_reason("/private", &app, &near).await,
        refused(TokenErrorKind::InvalidIssuer)
    );
}

/// With `MultiApiLayer`, each of an API's issuers picks that API; another API's own issuer
/// picks the other.
#[tokio::test]
async fn several_issuers_take_part_in_choosing_the_api_of_a_multi_api_layer() {
    const OTHER: &str = "https://other-tenant.example/";
    const OTHER_SECRET: &str = "the-other-tenants-secret-32-byte";
    let branded = BearerGuardLayer::builder(ResourceServer::new(AUDIENCE, SECRET))
        .issuers([CANONICAL, CUSTOM])
        .build()
        .unwrap();
    let other = BearerGuardLayer::builder(ResourceServer::new(AUDIENCE, OTHER_SECRET))
        .issuer(OTHER)
        .build()
        .unwrap();
    let which = {
        let branded = branded.clone();
        move |token: VerifiedToken| async move {
            if branded.has_verified(&token) {
                "branded"
            } else {
                "other"
            }
        }
    };
    let app = Router::new()
        .route("/private", get(which))
        .layer(MultiApiLayer::new([branded.clone(), other.clone()]).unwrap());
    for (token, expected) in [
        (token(&claims("", json!({"iss": CANONICAL}))), "branded"),
        (token(&claims("", json!({"iss": CUSTOM}))), "branded"),
        (
            crate::common::token_with(OTHER_SECRET.as_bytes(), &claims("", json!({"iss": OTHER}))),
            "other",
        ),
    ] {
        let answer = send(&app, get_with_token("/private", &token)).await;
        assert_eq!((answer.status, answer.body.as_str()), (200, expected));
    }
    let foreign = token(&claims("", json!({"iss": FOREIGN})));
    assert_eq!(
        status_and_reason("/private", &app, &foreign).await,
        refused(TokenErrorKind::InvalidIssuer)
    );

    // An API that shares one of the issuers (and the identifier) cannot join the layer.
    let overlapping = BearerGuardLayer::builder(ResourceServer::new(AUDIENCE, OTHER_SECRET))
        .issuers([OTHER, CUSTOM])
        .build()
        .unwrap();
    assert!(matches!(
        MultiApiLayer::new([branded, overlapping]),
        Err(ConfigError::InvalidApiSet { .. })
    ));
}

#[test]
fn the_list_and_its_companions_are_checked_at_build() {
    let build =
        |configure: fn(bearer_guard::BearerGuardBuilder) -> bearer_guard::BearerGuardBuilder| {
            configure(BearerGuardLayer::builder(rs256_api()).jwks_fetcher(Issuers::new()))
                .build()
                .map(|_| ())
        };
    let invalid = |result: Result<(), ConfigError>| match result {
        Err(ConfigError::InvalidIssuers { problem }) => problem,
        other => panic!("{other:?}"),
    };
    let empty = invalid(build(|b| b.issuers(Vec::<String>::new())));
    assert!(empty.contains("empty"), "{empty}");
    let twice = invalid(build(|b| b.issuers([CANONICAL, CUSTOM, CANONICAL])));
    assert!(twice.contains(CANONICAL), "{twice}");
    let many = invalid(build(|b| {
        b.issuers((0..17).map(|n| format!("https://d{n}.example/")))
    }));
    assert!(many.contains("17 issuers"), "{many}");
    assert!(build(|b| b.issuers((0..16).map(|n| format!("https://d{n}.example/")))).is_ok());
    let both = invalid(build(|b| b.issuer(CANONICAL).issuers([CUSTOM])));
    assert!(both.contains("both"), "{both}");
    let one_set = invalid(build(|b| {
        b.issuers([CANONICAL, CUSTOM])
            .jwks_uri("https://tenant.eu.auth0.com/.well-known/jwks.json")
    }));
    assert!(one_set.contains("jwks_uri"), "{one_set}");
    // One issuer in the list is the one-issuer form, jwks_uri and all.
    assert!(build(|b| b.issuers([CANONICAL]).jwks_uri("https://x.example/jwks")).is_ok());
    // Each issuer is checked as `issuer` checks its one.
    assert!(matches!(
        build(|b| b.issuers([CUSTOM, "https://tenant.eu.auth0.com"])),
        Err(ConfigError::Auth0IssuerForm { .. })
    ));
    assert_eq!(
        build(|b| b.issuers([CUSTOM, ""])),
        Err(ConfigError::EmptyIssuer)
    );
}

/// The whole flow against two issuers on loopback, each serving its own discovery document
/// and key set, through the built-in reqwest fetcher.
#[tokio::test]
async fn two_loopback_issuers_each_found_by_its_own_discovery() {
    async fn provider(key: &'static str, kid: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let document =
            json!({"issuer": format!("{base}/"), "jwks_uri": format!("{base}/jwks.json")});
        let set: Value = serde_json::from_str(&jwks(&[jwk(key, kid, &json!({}))])).unwrap();
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { Json(document) }),
            )
            .route("/jwks.json", get(move || async move { Json(set) }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("{base}/")
    }
    let first = provider("rsa2048", "k1").await;
    let second = provider("rsa2048_b", "k2").await;
    let guard = BearerGuardLayer::builder(rs256_api())
        .issuers([first.clone(), second.clone()])
        .build()
        .unwrap();
    guard.wait_for_keys(Duration::from_secs(30)).await.unwrap();
    let app = app(guard);
    for (iss, key, kid) in [(&first, "rsa2048", "k1"), (&second, "rsa2048_b", "k2")] {
        let answer = send(&app, get_with_token("/private", &signed(iss, key, kid))).await;
        assert_eq!((answer.status, answer.body.as_str()), (200, iss.as_str()));
    }
    let crossed = signed(&first, "rsa2048_b", "k2");
    assert_eq!(
        status_and_reason("/private", &app, &crossed).await,
        refused(TokenErrorKind::UnknownKeyId)
    );
}
