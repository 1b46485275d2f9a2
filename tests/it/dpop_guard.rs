//! Black-box tests: DPoP (RFC 9449) through the guard, and RFC 9728's metadata: proofs made by
//! jsonwebtoken, DPoP-bound tokens minted by `TokenIssuer`, an axum `Router`, and (when
//! `redis-server` is installed, as `.ci/run` does) two instances sharing one Redis.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::keys::{dpop_proof, public_jwk};
use crate::common::*;
use axum::body::Body;
use axum::{Router, routing::get};
use bearer_guard::dpop::{
    DpopError, DpopMode, DpopProof, MemoryReplayStore, ReplayError, ReplayFuture, ReplayKey,
    ReplayLimits, ReplayStore, jwk_thumbprint,
};
use bearer_guard::issuer::TokenIssuer;
use bearer_guard::{BearerGuardLayer, Rejection, RejectionKind, ResourceServer};
use http::Request;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

const API_URL: &str = "https://api.example.com";

fn api() -> ResourceServer {
    ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "Read messages")
}

fn builder(mode: DpopMode) -> bearer_guard::BearerGuardBuilder {
    BearerGuardLayer::builder(api())
        .issuer(ISSUER)
        .dpop(mode)
        .external_url(API_URL)
}

fn app(layer: BearerGuardLayer) -> Router {
    Router::new()
        .route(
            "/orders",
            get(|| async { "orders" }).post(|| async { "made" }),
        )
        .route_layer(layer)
}

/// A token for the API, bound to fixture key `key` (`cnf.jkt`), or a plain bearer token.
fn token(bound_to: Option<&str>) -> String {
    let issuer = TokenIssuer::new(&api(), ISSUER).unwrap();
    let mut token = issuer.client_token("client-1").scope("read:messages");
    if let Some(key) = bound_to {
        let jkt = jwk_thumbprint(&public_jwk(key).to_string()).unwrap();
        token = token.claim("cnf", json!({ "jkt": jkt }));
    }
    token.sign().unwrap()
}

fn unique_jti() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("jti-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A fresh proof by fixture key `key` for `method` `htu` and `access_token`, with `extra`
/// claims merged in (a `null` removes one).
fn proof(key: &str, method: &str, htu: &str, access_token: &str, extra: Value) -> String {
    let mut claims = json!({
        "jti": unique_jti(),
        "htm": method,
        "htu": htu,
        "iat": now(),
        "ath": DpopProof::access_token_hash(access_token),
    });
    merge(&mut claims, &extra);
    let alg = if key == "p256" {
        Algorithm::ES256
    } else {
        Algorithm::EdDSA
    };
    dpop_proof(alg, key, &claims)
}

/// A fresh proof by `p256` for `GET /orders` with `access_token`.
fn fresh_get(access_token: &str) -> String {
    proof(
        "p256",
        "GET",
        &format!("{API_URL}/orders"),
        access_token,
        json!({}),
    )
}

/// `method /orders` with `Authorization: {scheme} {token}` and these `DPoP` headers.
fn request(method: &str, scheme: &str, token: &str, proofs: &[&str]) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri("/orders?page=2")
        .header("authorization", format!("{scheme} {token}"));
    for proof in proofs {
        request = request.header("dpop", *proof);
    }
    request.body(Body::empty()).unwrap()
}

fn kind(answer: &Answer) -> Option<RejectionKind> {
    answer
        .response
        .extensions()
        .get::<Rejection>()
        .map(Rejection::kind)
}

const ALGS: &str = r#"algs="RS256 PS256 ES256 EdDSA""#;

#[tokio::test]
async fn a_bound_token_with_a_fresh_proof_passes_once() {
    let app = app(builder(DpopMode::Allowed).build().unwrap());
    let token = token(Some("p256"));
    let htu = format!("{API_URL}/orders");
    let fresh = proof("p256", "GET", &htu, &token, json!({}));
    let answer = send(&app, request("GET", "DPoP", &token, &[&fresh])).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "orders"));

    // The same proof again: a replay.
    let again = send(&app, request("GET", "DPoP", &token, &[&fresh])).await;
    assert_eq!(again.status, 401);
    assert_eq!(kind(&again), Some(RejectionKind::Dpop(DpopError::Replayed)));
    let challenge = again.challenge.unwrap();
    assert!(
        challenge.starts_with(r#"Bearer realm="https://my-api-urn", DPoP realm="https://my-api-urn", error="invalid_dpop_proof", error_description="The DPoP proof was used before""#),
        "{challenge}"
    );
    assert!(challenge.ends_with(ALGS), "{challenge}");

    // The token is now in the verified-token cache: a request without a proof is still
    // refused, and a fresh proof still passes.
    let bare = send(&app, request("GET", "DPoP", &token, &[])).await;
    assert_eq!(
        (bare.status, kind(&bare)),
        (400, Some(RejectionKind::Dpop(DpopError::MissingProof)))
    );
    let next = proof("p256", "GET", &htu, &token, json!({}));
    assert_eq!(
        send(&app, request("GET", "DPoP", &token, &[&next]))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn each_proof_check_refuses_through_the_guard() {
    let app = app(builder(DpopMode::Allowed).build().unwrap());
    let token = &token(Some("p256"));
    let htu = format!("{API_URL}/orders");
    let cases = [
        (
            "wrong htm",
            proof("p256", "POST", &htu, token, json!({})),
            DpopError::MethodMismatch,
        ),
        (
            "htu of another path",
            proof("p256", "GET", &format!("{API_URL}/other"), token, json!({})),
            DpopError::UriMismatch,
        ),
        (
            "htu of another host",
            proof(
                "p256",
                "GET",
                "https://evil.example/orders",
                token,
                json!({}),
            ),
            DpopError::UriMismatch,
        ),
        (
            "htu with a query",
            proof("p256", "GET", &format!("{htu}?page=2"), token, json!({})),
            DpopError::UriMismatch,
        ),
        (
            "stale iat",
            proof("p256", "GET", &htu, token, json!({ "iat": now() - 600 })),
            DpopError::Stale,
        ),
        (
            "no ath",
            proof("p256", "GET", &htu, token, json!({ "ath": null })),
            DpopError::MissingAccessTokenHash,
        ),
        (
            "ath of another token",
            proof(
                "p256",
                "GET",
                &htu,
                token,
                json!({ "ath": DpopProof::access_token_hash("another") }),
            ),
            DpopError::AccessTokenHashMismatch,
        ),
        (
            "another key",
            proof("ed25519", "GET", &htu, token, json!({})),
            DpopError::KeyMismatch,
        ),
    ];
    for (name, proof, error) in cases {
        let answer = send(&app, request("GET", "DPoP", token, &[&proof])).await;
        assert_eq!(
            (answer.status, kind(&answer)),
            (error.status().as_u16(), Some(RejectionKind::Dpop(error))),
            "{name}"
        );
        assert!(answer.body.contains(error.error_code().unwrap()), "{name}");
    }
    // Two proofs.
    let one = proof("p256", "GET", &htu, token, json!({}));
    let two = proof("p256", "GET", &htu, token, json!({}));
    let answer = send(&app, request("GET", "DPoP", token, &[&one, &two])).await;
    assert_eq!(
        kind(&answer),
        Some(RejectionKind::Dpop(DpopError::MultipleProofs))
    );
    // An unbound token with a proof is not a DPoP token.
    let plain = self::token(None);
    let fresh = proof("p256", "GET", &htu, &plain, json!({}));
    let answer = send(&app, request("GET", "DPoP", &plain, &[&fresh])).await;
    assert_eq!(
        kind(&answer),
        Some(RejectionKind::Dpop(DpopError::UnboundToken))
    );
}

#[tokio::test]
async fn a_bound_token_sent_as_bearer_is_refused_and_plain_bearer_still_works() {
    let app = app(builder(DpopMode::Allowed).build().unwrap());
    let bound = send(&app, request("GET", "Bearer", &token(Some("p256")), &[])).await;
    assert_eq!(
        (bound.status, kind(&bound)),
        (
            401,
            Some(RejectionKind::Dpop(DpopError::BoundTokenAsBearer))
        )
    );
    let challenge = bound.challenge.unwrap();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    let plain = send(&app, request("GET", "Bearer", &token(None), &[])).await;
    assert_eq!(plain.status, 200);
    // No credentials: both challenges, neither with an error (RFC 9449 §7.1).
    let none = send(&app, Request::get("/orders").body(Body::empty()).unwrap()).await;
    assert_eq!(
        none.challenge.as_deref(),
        Some(
            format!(
                r#"Bearer realm="https://my-api-urn", DPoP realm="https://my-api-urn", {ALGS}"#
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn where_dpop_is_required_bearer_is_no_credentials() {
    let app = app(builder(DpopMode::Required).build().unwrap());
    let answer = send(&app, request("GET", "Bearer", &token(None), &[])).await;
    // No credentials of a scheme it takes, so no `error`; the reason and the text say why.
    assert_eq!(
        (answer.status, kind(&answer)),
        (401, Some(RejectionKind::DpopRequired))
    );
    assert!(
        answer.body.contains("This API requires DPoP-bound tokens"),
        "{}",
        answer.body
    );
    assert_eq!(
        answer.challenge.as_deref(),
        Some(format!(r#"DPoP realm="https://my-api-urn", {ALGS}"#).as_str())
    );
    let token = token(Some("ed25519"));
    let fresh = proof(
        "ed25519",
        "POST",
        &format!("{API_URL}/orders"),
        &token,
        json!({}),
    );
    let answer = send(&app, request("POST", "DPoP", &token, &[&fresh])).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "made"));
}

#[tokio::test]
async fn the_registrations_proof_of_possession_sets_the_mode_and_without_it_bearer_alone() {
    let json = |pop: &str| {
        format!(
            r#"{{"identifier": "{API_URL}/", "signing_alg": "HS256", "signing_secret": "{SECRET}"{pop}}}"#
        )
    };
    let required = ResourceServer::from_json(&json(
        r#", "proof_of_possession": {"mechanism": "dpop", "required": true}"#,
    ))
    .unwrap();
    let layer = BearerGuardLayer::builder(required).build().unwrap();
    let answer = send(&app(layer), request("GET", "Bearer", &token(None), &[])).await;
    assert_eq!(kind(&answer), Some(RejectionKind::DpopRequired));
    assert!(answer.challenge.unwrap().starts_with("DPoP "));

    // Nothing said, nothing configured: the guard does not know the URL clients call, so it
    // takes Bearer alone (and a DPoP scheme is another scheme).
    let silent = ResourceServer::from_json(&json("")).unwrap();
    let layer = BearerGuardLayer::builder(silent).build().unwrap();
    let answer = send(&app(layer), request("GET", "DPoP", &token(None), &[])).await;
    assert_eq!(
        (answer.status, answer.challenge.as_deref()),
        (401, Some(r#"Bearer realm="https://api.example.com/""#))
    );
}

/// A replay store that cannot answer.
#[derive(Debug)]
struct DownStore;

impl ReplayStore for DownStore {
    fn record(&self, _: ReplayKey, _: std::time::Duration) -> ReplayFuture<'_> {
        Box::pin(async {
            Err(ReplayError::Unavailable {
                problem: "connection refused".into(),
            })
        })
    }
}

#[tokio::test]
async fn a_replay_store_that_cannot_answer_is_a_503_never_an_accept() {
    let app = app(builder(DpopMode::Allowed)
        .dpop_replay_store(DownStore)
        .build()
        .unwrap());
    let token = token(Some("p256"));
    let fresh = fresh_get(&token);
    let answer = send(&app, request("GET", "DPoP", &token, &[&fresh])).await;
    assert_eq!(
        (answer.status, answer.challenge.clone(), kind(&answer)),
        (
            503,
            None,
            Some(RejectionKind::Dpop(DpopError::ReplayStoreUnavailable {
                retry_after: std::time::Duration::from_secs(5)
            }))
        )
    );
    assert_eq!(retry_after(&answer), Some("5"));
    assert!(!answer.body.contains("connection refused"));
}

fn retry_after(answer: &Answer) -> Option<&str> {
    answer
        .response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
}

#[tokio::test]
async fn a_key_over_its_quota_is_refused_alone_and_a_full_store_says_when_to_retry() {
    // Room for 4 proofs, 2 per key.
    let store =
        MemoryReplayStore::with_limits(ReplayLimits::default().capacity(4).per_key(2)).unwrap();
    let app = app(builder(DpopMode::Allowed)
        .dpop_replay_store(store)
        .build()
        .unwrap());
    let (flooder, honest) = (token(Some("p256")), token(Some("ed25519")));
    let honest_get = |token: &str| {
        proof(
            "ed25519",
            "GET",
            &format!("{API_URL}/orders"),
            token,
            json!({}),
        )
    };
    for _ in 0..2 {
        let answer = send(
            &app,
            request("GET", "DPoP", &flooder, &[&fresh_get(&flooder)]),
        )
        .await;
        assert_eq!(answer.status, 200);
    }
    // The flooding key's next proofs: its own 401, no Retry-After.
    for _ in 0..5 {
        let answer = send(
            &app,
            request("GET", "DPoP", &flooder, &[&fresh_get(&flooder)]),
        )
        .await;
        assert_eq!(
            (answer.status, kind(&answer), retry_after(&answer)),
            (
                401,
                Some(RejectionKind::Dpop(DpopError::KeyOverQuota)),
                None
            )
        );
        assert!(
            answer
                .challenge
                .unwrap()
                .contains(r#"error="invalid_dpop_proof""#)
        );
    }
    // Another key is served all along.
    for _ in 0..2 {
        let answer = send(
            &app,
            request("GET", "DPoP", &honest, &[&honest_get(&honest)]),
        )
        .await;
        assert_eq!(answer.status, 200);
    }
    // Now the store is full (two keys at their quota): a third key gets a 503 that says
    // when the soonest proof expires, about 120 s from now.
    let third = token(Some("rsa2048"));
    let rsa_get = dpop_proof(
        Algorithm::RS256,
        "rsa2048",
        &json!({
            "jti": unique_jti(), "htm": "GET", "htu": format!("{API_URL}/orders"),
            "iat": now(), "ath": DpopProof::access_token_hash(&third),
        }),
    );
    let answer = send(&app, request("GET", "DPoP", &third, &[&rsa_get])).await;
    assert_eq!((answer.status, answer.challenge.as_deref()), (503, None));
    assert!(
        matches!(
            kind(&answer),
            Some(RejectionKind::Dpop(DpopError::ReplayStoreFull { .. }))
        ),
        "{:?}",
        kind(&answer)
    );
    let wait: u64 = retry_after(&answer).unwrap().parse().unwrap();
    assert!((110..=120).contains(&wait), "{wait}");
}

#[tokio::test]
async fn an_mcp_style_client_finds_the_authorization_server_from_a_401() {
    let api = ResourceServer::new("https://api.example.com/mcp", SECRET)
        .with_name("Orders MCP server")
        .with_scope("tools:call", "Call tools");
    let guard = BearerGuardLayer::builder(api)
        .issuer(ISSUER)
        .resource_metadata()
        .build()
        .unwrap();
    let metadata = guard.resource_metadata().unwrap();
    let path = metadata.path().to_owned();
    let app = Router::new()
        .route("/mcp", get(|| async { "tools" }).route_layer(guard))
        .route_service(&path, metadata);

    // 1. The client calls the server without a token.
    let answer = send(&app, Request::get("/mcp").body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, 401);
    let challenge = answer.challenge.unwrap();
    let url = challenge
        .split("resource_metadata=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    assert_eq!(
        url,
        "https://api.example.com/.well-known/oauth-protected-resource/mcp"
    );
    // 2. It fetches the metadata at that URL's path, here on the same server.
    let path = url.strip_prefix("https://api.example.com").unwrap();
    let answer = send(&app, Request::get(path).body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.response.headers()["content-type"],
        "application/json"
    );
    let document = answer.json();
    assert_eq!(document["resource"], "https://api.example.com/mcp");
    assert_eq!(document["authorization_servers"], json!([ISSUER]));
    assert_eq!(document["scopes_supported"], json!(["tools:call"]));
    assert_eq!(document["resource_name"], "Orders MCP server");
    assert_eq!(document["bearer_methods_supported"], json!(["header"]));
    // Nothing asked for DPoP, so neither the metadata nor the challenge mentions it.
    assert!(document.get("dpop_bound_access_tokens_required").is_none());
    assert!(document.get("dpop_signing_alg_values_supported").is_none());
    assert!(!challenge.contains("DPoP"), "{challenge}");
}

#[cfg(feature = "redis")]
mod redis {
    use bearer_guard::dpop::RedisReplayStore;

    use super::*;
    use crate::common::redis::RedisServer;

    #[tokio::test]
    async fn a_proof_replayed_to_a_second_instance_sharing_redis_is_refused() {
        let Some(server) = RedisServer::start() else {
            return;
        };
        let instance = |store| {
            app(builder(DpopMode::Allowed)
                .dpop_replay_store(store)
                .build()
                .unwrap())
        };
        let one = instance(RedisReplayStore::connect(&server.url()).await.unwrap());
        let two = instance(RedisReplayStore::connect(&server.url()).await.unwrap());
        let token = token(Some("p256"));
        let fresh = fresh_get(&token);
        assert_eq!(
            send(&one, request("GET", "DPoP", &token, &[&fresh]))
                .await
                .status,
            200
        );
        let replayed = send(&two, request("GET", "DPoP", &token, &[&fresh])).await;
        assert_eq!(
            (replayed.status, kind(&replayed)),
            (401, Some(RejectionKind::Dpop(DpopError::Replayed)))
        );
    }
}

/// RFC 9449 §7.1: the `error` goes on the challenge of the scheme the request used (a DPoP
/// error always on DPoP's), and the other challenge carries none.
#[tokio::test]
async fn the_error_goes_on_the_challenge_of_the_scheme_used() {
    let realm = r#"realm="https://my-api-urn""#;
    let expired = r#"error="invalid_token", error_description="The access token expired""#;
    let issuer = TokenIssuer::new(&api(), ISSUER).unwrap();
    let old = UNIX_EPOCH + std::time::Duration::from_secs(now() - 7200);
    let stale = issuer
        .client_token("client-1")
        .issued_at(old)
        .expires_in(std::time::Duration::from_secs(60))
        .sign()
        .unwrap();
    let challenge = |app: &Router, scheme: &str, token: &str| {
        let (app, scheme, token) = (app.clone(), scheme.to_owned(), token.to_owned());
        async move {
            send(&app, request("GET", &scheme, &token, &[]))
                .await
                .challenge
                .unwrap()
        }
    };
    let allowed = app(builder(DpopMode::Allowed).build().unwrap());
    assert_eq!(
        challenge(&allowed, "Bearer", &stale).await,
        format!("Bearer {realm}, {expired}, DPoP {realm}, {ALGS}")
    );
    assert_eq!(
        challenge(&allowed, "DPoP", &stale).await,
        format!("Bearer {realm}, DPoP {realm}, {expired}, {ALGS}")
    );
    let bound = challenge(&allowed, "Bearer", &token(Some("p256"))).await;
    assert_eq!(
        bound,
        format!(
            r#"Bearer {realm}, DPoP {realm}, error="invalid_token", error_description="The access token is DPoP-bound and came without a proof", {ALGS}"#
        )
    );
    let required = app(builder(DpopMode::Required).build().unwrap());
    assert_eq!(
        challenge(&required, "DPoP", &stale).await,
        format!("DPoP {realm}, {expired}, {ALGS}")
    );
    let bearer_only = app(builder(DpopMode::Disabled).build().unwrap());
    assert_eq!(
        challenge(&bearer_only, "Bearer", &stale).await,
        format!("Bearer {realm}, {expired}")
    );
}
