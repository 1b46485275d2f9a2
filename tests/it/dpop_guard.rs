//! Black-box tests: DPoP (RFC 9449) through the guard, its server nonces (§8, §9), and RFC
//! 9728's metadata: proofs made by jsonwebtoken, DPoP-bound tokens minted by `TokenIssuer`, an
//! axum `Router`, and (when `redis-server` is installed, as `.ci/run` does) two instances
//! sharing one Redis.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::keys::{dpop_proof, public_jwk};
use crate::common::*;
use axum::body::Body;
use axum::{Router, routing::get};
use bearer_guard::dpop::{
    DpopError, DpopMode, DpopNonces, DpopProof, MemoryReplayStore, NonceMode, NonceSettings,
    ReplayError, ReplayFuture, ReplayKey, ReplayLimits, ReplayStore, jwk_thumbprint,
};
use bearer_guard::issuer::TokenIssuer;
use bearer_guard::registration::SigningSecret;
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
    answer.kind()
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

/// The nonce slot of these tests: the longest taken, so that a test runs within one slot
/// (and [`same_slot`] says when it did not).
const SLOT: u64 = 300;

fn nonce_settings(mode: NonceMode, secret: u8) -> NonceSettings {
    NonceSettings::default()
        .mode(mode)
        .slot(std::time::Duration::from_secs(SLOT))
        .secret(SigningSecret::from_bytes([secret; 32]))
}

/// The nonces of an instance with `secret`, to make nonces as it would, `ago` seconds ago.
fn nonce_made(secret: u8, ago: u64) -> String {
    DpopNonces::new(nonce_settings(NonceMode::Required, secret))
        .unwrap()
        .issue(UNIX_EPOCH + std::time::Duration::from_secs(now() - ago))
        .unwrap()
}

/// Whether the clock is still in the nonce slot it was in at `since` (seconds since the
/// epoch): a test that crossed a slot boundary saw its nonces age by a slot, and runs again.
fn same_slot(since: u64) -> bool {
    now() / SLOT == since / SLOT
}

fn dpop_nonce(answer: &Answer) -> Option<&str> {
    answer
        .response
        .headers()
        .get("dpop-nonce")
        .map(|value| value.to_str().unwrap())
}

fn nonced(mode: DpopMode, nonces: NonceMode) -> Router {
    app(builder(mode)
        .dpop_nonces(nonce_settings(nonces, 1))
        .build()
        .unwrap())
}

/// A fresh proof by `p256` for `GET /orders` with `access_token` and server nonce `nonce`.
fn get_with_nonce(access_token: &str, nonce: &str) -> String {
    proof(
        "p256",
        "GET",
        &format!("{API_URL}/orders"),
        access_token,
        json!({ "nonce": nonce }),
    )
}

/// RFC 9449 §9: a proof without a nonce, where one is required, is answered 401
/// `use_dpop_nonce` on the DPoP challenge with a fresh nonce in `DPoP-Nonce`; the client signs
/// a new proof with it, and passes.
#[tokio::test]
async fn a_required_nonce_is_sent_with_use_dpop_nonce_and_taken_on_the_retry() {
    let app = nonced(DpopMode::Allowed, NonceMode::Required);
    let token = token(Some("p256"));
    loop {
        let started = now();
        let first = send(&app, request("GET", "DPoP", &token, &[&fresh_get(&token)])).await;
        assert_eq!(
            (first.status, kind(&first)),
            (401, Some(RejectionKind::Dpop(DpopError::NonceRequired)))
        );
        assert_eq!(
            first.challenge.as_deref(),
            Some(
                format!(
                    r#"Bearer realm="https://my-api-urn", DPoP realm="https://my-api-urn", error="use_dpop_nonce", error_description="The DPoP proof has no nonce", {ALGS}"#
                )
                .as_str()
            )
        );
        assert!(first.body.contains("use_dpop_nonce"), "{}", first.body);
        let nonce = dpop_nonce(&first).expect("a DPoP-Nonce header").to_owned();
        // The nonce the rejection carries is the one sent.
        let rejection = first.response.extensions().get::<Rejection>().unwrap();
        assert_eq!(rejection.dpop_nonce(), Some(nonce.as_str()));

        let retry = send(
            &app,
            request("GET", "DPoP", &token, &[&get_with_nonce(&token, &nonce)]),
        )
        .await;
        if !same_slot(started) {
            continue;
        }
        assert_eq!((retry.status, retry.body.as_str()), (200, "orders"));
        // Its nonce is of the current slot: no new one yet.
        assert_eq!(dpop_nonce(&retry), None);
        // Bearer requests never see a nonce.
        let bearer = send(&app, request("GET", "Bearer", &self::token(None), &[])).await;
        assert_eq!((bearer.status, dpop_nonce(&bearer)), (200, None));
        break;
    }
}

/// A nonce older than two slots, or one made with another secret (another fleet's, or one
/// rotated out, or made up), is refused `use_dpop_nonce` with a fresh nonce of our own, in
/// both modes that issue nonces.
#[tokio::test]
async fn stale_and_foreign_nonces_are_refused_with_a_fresh_nonce() {
    let token = token(Some("p256"));
    let ours = DpopNonces::new(nonce_settings(NonceMode::Required, 1)).unwrap();
    for mode in [NonceMode::Required, NonceMode::On] {
        let app = nonced(DpopMode::Required, mode);
        for (name, nonce, error) in [
            ("stale", nonce_made(1, 3 * SLOT), DpopError::StaleNonce),
            ("another secret", nonce_made(2, 0), DpopError::ForeignNonce),
            ("made up", "not-a-nonce".to_owned(), DpopError::ForeignNonce),
        ] {
            let answer = send(
                &app,
                request("GET", "DPoP", &token, &[&get_with_nonce(&token, &nonce)]),
            )
            .await;
            assert_eq!(
                (answer.status, kind(&answer)),
                (401, Some(RejectionKind::Dpop(error))),
                "{mode:?} {name}"
            );
            let challenge = answer.challenge.as_deref().unwrap();
            assert!(
                challenge.starts_with(r#"DPoP realm="https://my-api-urn", error="use_dpop_nonce""#),
                "{mode:?} {name}: {challenge}"
            );
            let fresh = dpop_nonce(&answer).expect("a DPoP-Nonce header");
            assert_ne!(fresh, nonce, "{mode:?} {name}");
            assert!(
                matches!(
                    ours.check(Some(fresh), SystemTime::now()),
                    bearer_guard::dpop::NonceCheck::Fresh { .. }
                ),
                "{mode:?} {name}: the new nonce is one of ours"
            );
        }
    }
}

/// RFC 9449 §8.2: a proof whose nonce is from the slot before passes, and the answer carries
/// a new nonce; with nonces on (not required), a proof without one passes and is sent one;
/// other refusals carry none.
#[tokio::test]
async fn an_aged_nonce_passes_and_the_answer_carries_a_new_one() {
    let token = token(Some("p256"));
    let app = nonced(DpopMode::Allowed, NonceMode::Required);
    loop {
        let started = now();
        let aged = nonce_made(1, SLOT);
        let answer = send(
            &app,
            request("GET", "DPoP", &token, &[&get_with_nonce(&token, &aged)]),
        )
        .await;
        let current = nonce_made(1, 0);
        if !same_slot(started) {
            continue;
        }
        assert_eq!((answer.status, answer.body.as_str()), (200, "orders"));
        assert_eq!(dpop_nonce(&answer), Some(current.as_str()));
        break;
    }

    let on = nonced(DpopMode::Allowed, NonceMode::On);
    let answer = send(&on, request("GET", "DPoP", &token, &[&fresh_get(&token)])).await;
    assert_eq!(answer.status, 200);
    let sent = dpop_nonce(&answer).expect("a DPoP-Nonce header").to_owned();
    let with_it = send(
        &on,
        request("GET", "DPoP", &token, &[&get_with_nonce(&token, &sent)]),
    )
    .await;
    assert_eq!(with_it.status, 200);

    // A refusal for anything but the nonce carries none.
    let wrong_key = proof(
        "ed25519",
        "GET",
        &format!("{API_URL}/orders"),
        &token,
        json!({ "nonce": sent }),
    );
    let answer = send(&on, request("GET", "DPoP", &token, &[&wrong_key])).await;
    assert_eq!(
        (answer.status, kind(&answer), dpop_nonce(&answer)),
        (401, Some(RejectionKind::Dpop(DpopError::KeyMismatch)), None)
    );
}

/// A rejection hook of your own that leaves `DPoP-Nonce` out still answers with it: without
/// it, a client told `use_dpop_nonce` could never get in.
#[tokio::test]
async fn a_custom_rejection_still_carries_the_nonce() {
    let layer = builder(DpopMode::Required)
        .dpop_nonces(nonce_settings(NonceMode::Required, 1))
        .on_rejection(|rejection: &Rejection| {
            let mut response = http::Response::new(Body::from(rejection.reason()));
            *response.status_mut() = rejection.status();
            response
        })
        .build()
        .unwrap();
    let app = Router::new()
        .route("/orders", get(|| async { "orders" }))
        .route_layer(layer);
    let token = token(Some("p256"));
    let answer = send(&app, request("GET", "DPoP", &token, &[&fresh_get(&token)])).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (401, "dpop_nonce_required")
    );
    let nonce = dpop_nonce(&answer).expect("a DPoP-Nonce header");
    let retry = send(
        &app,
        request("GET", "DPoP", &token, &[&get_with_nonce(&token, nonce)]),
    )
    .await;
    assert_eq!(retry.status, 200);
}

/// RFC 9449 §7.1, §7.2: where Bearer and DPoP are both taken, a DPoP request refused for its
/// scopes gets `insufficient_scope` and the scope on its DPoP challenge, the Bearer request on
/// its Bearer challenge; per route and for every request alike.
#[tokio::test]
async fn a_dpop_request_refused_for_scope_gets_the_error_on_its_dpop_challenge() {
    let realm = r#"realm="https://my-api-urn""#;
    let scoped = r#"error="insufficient_scope", error_description="The access token lacks a required scope", scope="write:orders""#;
    let orders_api = || api().with_scope("write:orders", "Write orders");
    let per_route = {
        let guard = BearerGuardLayer::builder(orders_api())
            .issuer(ISSUER)
            .dpop(DpopMode::Allowed)
            .external_url(API_URL)
            .build()
            .unwrap();
        let write = guard.require_all(["write:orders"]).unwrap();
        Router::new()
            .route("/orders", get(|| async { "orders" }).route_layer(write))
            .route_layer(guard)
    };
    let every_request = app(BearerGuardLayer::builder(orders_api())
        .issuer(ISSUER)
        .dpop(DpopMode::Allowed)
        .external_url(API_URL)
        .require_scopes_for_every_request(bearer_guard::ScopeRequirement::all(["write:orders"]))
        .build()
        .unwrap());
    let bound = token(Some("p256"));
    let plain = token(None);
    for (name, app) in [("per route", per_route), ("every request", every_request)] {
        let dpop = send(&app, request("GET", "DPoP", &bound, &[&fresh_get(&bound)])).await;
        assert_eq!(dpop.status, 403, "{name}");
        assert_eq!(
            dpop.challenge.as_deref(),
            Some(format!("Bearer {realm}, DPoP {realm}, {scoped}, {ALGS}").as_str()),
            "{name}"
        );
        let bearer = send(&app, request("GET", "Bearer", &plain, &[])).await;
        assert_eq!(bearer.status, 403, "{name}");
        assert_eq!(
            bearer.challenge.as_deref(),
            Some(format!("Bearer {realm}, {scoped}, DPoP {realm}, {ALGS}").as_str()),
            "{name}"
        );
    }
}

#[tokio::test]
async fn without_external_url_the_htu_base_is_the_identifiers_origin_even_for_a_short_host() {
    // The origin ends at the first `/` after `://`: a host of 4 characters leaves no room
    // for an off-by-some start to skip it.
    let api = ResourceServer::new("https://a.io/api", SECRET).with_scope("read:messages", "");
    let layer = BearerGuardLayer::builder(api.clone())
        .issuer(ISSUER)
        .dpop(DpopMode::Allowed)
        .build()
        .unwrap();
    let app = app(layer);
    let jkt = jwk_thumbprint(&public_jwk("p256").to_string()).unwrap();
    let token = TokenIssuer::new(&api, ISSUER)
        .unwrap()
        .client_token("client-1")
        .scope("read:messages")
        .claim("cnf", json!({ "jkt": jkt }))
        .sign()
        .unwrap();
    let at_origin = proof("p256", "GET", "https://a.io/orders", &token, json!({}));
    let answer = send(&app, request("GET", "DPoP", &token, &[&at_origin])).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "orders"));
    let under_the_path = proof("p256", "GET", "https://a.io/api/orders", &token, json!({}));
    let answer = send(&app, request("GET", "DPoP", &token, &[&under_the_path])).await;
    assert_eq!(
        (answer.status, kind(&answer)),
        (401, Some(RejectionKind::Dpop(DpopError::UriMismatch)))
    );
}
