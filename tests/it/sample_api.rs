//! The sample API of `examples/sample_api.rs`, driven in-process: the routes a newcomer tries
//! answer 200, 401 and 403 as the README promises.

use crate::common::*;
use crate::examples::sample_api;
use bearer_guard::ResourceServer;
use serde_json::json;

fn demo_app(issuer: Option<&str>) -> axum::Router {
    let api = ResourceServer::from_json(sample_api::DEMO_RESOURCE_SERVER).unwrap();
    sample_api::app(api, issuer.map(str::to_owned), None).unwrap()
}

#[tokio::test]
async fn public_route_answers_without_a_token() {
    let answer = send(&demo_app(None), request("/api/public", &[])).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn private_routes_answer_401_without_a_token() {
    for uri in ["/api/private", "/api/private-scoped"] {
        let answer = send(&demo_app(None), request(uri, &[])).await;
        assert_eq!(answer.status, 401, "{uri}");
        assert_eq!(
            answer.challenge.as_deref(),
            Some(r#"Bearer realm="https://my-api-urn""#)
        );
    }
}

#[tokio::test]
async fn unknown_paths_are_404_with_or_without_a_token() {
    // The guard is a route layer: it never turns a missing route into a 401.
    for authorization in [&[][..], &["Bearer not-a-token"][..]] {
        let answer = send(&demo_app(None), request("/api/nope", authorization)).await;
        assert_eq!((answer.status, answer.challenge), (404, None));
    }
}

#[tokio::test]
async fn demo_tokens_answer_200_and_403_as_printed() {
    let plain = sample_api::demo_token(sample_api::DEMO_ISSUER, "sample-scope").unwrap();
    let reader =
        sample_api::demo_token(sample_api::DEMO_ISSUER, "read:messages sample-scope").unwrap();
    let app = demo_app(None);

    let answer = send(&app, get_with_token("/api/private", &plain)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["sub"], "demo-client@clients");
    assert_eq!(
        send(&app, get_with_token("/api/private-scoped", &plain))
            .await
            .status,
        403
    );
    assert_eq!(
        send(&app, get_with_token("/api/private-scoped", &reader))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn token_issuer_is_enforced_when_set() {
    let app = demo_app(Some(ISSUER));
    let wrong = sample_api::demo_token(sample_api::DEMO_ISSUER, "read:messages").unwrap();
    let right = sample_api::demo_token(ISSUER, "read:messages").unwrap();
    let answer = send(&app, get_with_token("/api/private", &wrong)).await;
    // With an issuer, the sample names its RFC 9728 metadata; its registration does not ask
    // for DPoP, so its challenge offers Bearer alone.
    let metadata = r#"resource_metadata="https://my-api-urn/.well-known/oauth-protected-resource""#;
    assert_eq!(
        answer.challenge.as_deref(),
        Some(
            format!(
                r#"{}, {metadata}"#,
                invalid_token("The access token issuer is not trusted")
            )
            .as_str()
        )
    );
    assert_eq!(
        send(&app, get_with_token("/api/private-scoped", &right))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn with_an_issuer_the_metadata_names_it() {
    let app = demo_app(Some(ISSUER));
    let answer = send(&app, request("/.well-known/oauth-protected-resource", &[])).await;
    assert_eq!(answer.status, 200);
    let document = answer.json();
    assert_eq!(document["resource"], "https://my-api-urn");
    assert_eq!(document["authorization_servers"], json!([ISSUER]));
    assert_eq!(
        document["scopes_supported"],
        json!(["sample-scope", "read:messages"])
    );
    // Without one there is nothing to name.
    let answer = send(
        &demo_app(None),
        request("/.well-known/oauth-protected-resource", &[]),
    )
    .await;
    assert_eq!(answer.status, 404);
}

#[tokio::test]
async fn saved_management_api_response_configures_the_api() {
    let json = json!({
        "id": "6580a1b2c3d4e5f6a7b8c9d0", "name": "Orders API", "identifier": "https://orders.example.com/",
        "scopes": [{ "value": "read:messages", "description": "Read" }],
        "signing_alg": "HS256", "signing_secret": "a-very-long-signing-secret-of-48-characters-abcd",
        "token_lifetime": 7200, "allow_offline_access": false
    });
    let api = ResourceServer::from_json(&json.to_string()).unwrap();
    let app = sample_api::app(api, None, None).unwrap();
    let claims = claims(
        "read:messages",
        json!({ "aud": "https://orders.example.com/" }),
    );
    let token = token_with(b"a-very-long-signing-secret-of-48-characters-abcd", &claims);
    assert_eq!(
        send(&app, get_with_token("/api/private-scoped", &token))
            .await
            .status,
        200
    );
    let demo = sample_api::demo_token(sample_api::DEMO_ISSUER, "read:messages").unwrap();
    assert_eq!(
        send(&app, get_with_token("/api/private", &demo))
            .await
            .status,
        401
    );
}

#[test]
fn resource_server_without_read_messages_fails_at_startup() {
    let api = ResourceServer::new("https://my-api-urn", SECRET);
    let err = sample_api::app(api, None, None).unwrap_err();
    assert!(err.to_string().contains("read:messages"), "{err}");
}

/// A minimal issuer on loopback: a discovery document and the JWK set of fixture key
/// `rsa2048` under kid `k1`. Returns its base URL.
async fn rs256_issuer() -> String {
    use axum::{Json, routing::get};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let jwks = crate::common::keys::jwks(&[crate::common::keys::jwk("rsa2048", "k1", &json!({}))]);
    let discovery = json!({"issuer": format!("{base}/"), "jwks_uri": format!("{base}/jwks")});
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(discovery) }),
        )
        .route("/jwks", get(move || async move { jwks }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn rs256_api() -> ResourceServer {
    ResourceServer::from_json(
        r#"{"identifier": "https://my-api-urn", "signing_alg": "RS256",
            "scopes": [{"value": "read:messages", "description": "Read messages"}]}"#,
    )
    .unwrap()
}

#[tokio::test]
async fn an_rs256_registration_takes_its_keys_from_the_issuers_discovery() {
    let base = rs256_issuer().await;
    let issuer = format!("{base}/");
    for jwks_uri in [None, Some(format!("{base}/jwks"))] {
        let app = sample_api::app(rs256_api(), Some(issuer.clone()), jwks_uri.clone()).unwrap();
        let claims = |scope: &str| claims(scope, json!({"iss": issuer}));
        let reader = crate::common::keys::signed_claims(
            jsonwebtoken::Algorithm::RS256,
            "rsa2048",
            Some("k1"),
            &claims("read:messages"),
        );
        let plain = crate::common::keys::signed_claims(
            jsonwebtoken::Algorithm::RS256,
            "rsa2048",
            Some("k1"),
            &claims("sample-scope"),
        );
        // The keys load in the background; until then a token gets 503.
        let mut status = 0;
        for _ in 0..100 {
            status = send(&app, get_with_token("/api/private", &reader))
                .await
                .status;
            if status != 503 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(status, 200, "{jwks_uri:?}");
        let scoped = |token: &str| send(&app, get_with_token("/api/private-scoped", token));
        assert_eq!(scoped(&reader).await.status, 200);
        assert_eq!(scoped(&plain).await.status, 403);
    }
}

#[tokio::test]
async fn an_rs256_api_listens_while_its_issuer_is_unreachable() {
    // Port 1 on loopback: nothing listens there.
    let app = sample_api::app(rs256_api(), Some("http://127.0.0.1:1/".into()), None).unwrap();
    assert_eq!(send(&app, request("/api/public", &[])).await.status, 200);
    assert_eq!(send(&app, request("/api/private", &[])).await.status, 401);
    let token = crate::common::keys::signed(jsonwebtoken::Algorithm::RS256, "rsa2048", Some("k1"));
    let answer = send(&app, get_with_token("/api/private", &token)).await;
    assert_eq!(answer.status, 503);
    assert!(answer.response.headers().contains_key("retry-after"));
}
