//! The sample API of `examples/sample_api.rs`, driven in-process: the routes a newcomer tries
//! answer 200, 401 and 403 as the README promises.

use crate::common::*;
use crate::examples::sample_api;
use bearer_guard::ResourceServer;
use serde_json::{Value, json};

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

/// The status of `GET uri` with `token` once the keys have loaded: they load in the
/// background, and until then a token gets 503.
async fn status_once_keys_load(app: &axum::Router, uri: &str, token: &str) -> u16 {
    let mut status = 0;
    for _ in 0..100 {
        status = send(app, get_with_token(uri, token)).await.status;
        if status != 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    status
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
        let status = status_once_keys_load(&app, "/api/private", &reader).await;
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

/// The fleet variables (`REDIS_URL`, `DPOP_NONCE`, `DPOP_NONCE_SECRET`): what each setting
/// gives, and the startup failures that say what to set, never quoting the secret.
#[test]
fn fleet_variables_are_checked_at_startup() {
    let secret = "a-fleet-secret-of-at-least-32-bytes!";
    let read = |takes_dpop, vars: &[(&str, &str)]| {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        sample_api::fleet_settings(takes_dpop, |name| {
            vars.iter()
                .find(|(var, _)| var == name)
                .map(|(_, value)| value.clone())
        })
    };
    let (redis, nonces) = read(true, &[]).unwrap();
    assert!(redis.is_none() && nonces.is_none());
    let (redis, nonces) = read(
        true,
        &[
            ("REDIS_URL", "redis://127.0.0.1:6379/"),
            ("DPOP_NONCE", "required"),
            ("DPOP_NONCE_SECRET", secret),
        ],
    )
    .unwrap();
    assert_eq!(redis.as_deref(), Some("redis://127.0.0.1:6379/"));
    let nonces = bearer_guard::dpop::DpopNonces::new(nonces.unwrap()).unwrap();
    assert_eq!(nonces.mode(), bearer_guard::dpop::NonceMode::Required);

    for (name, takes_dpop, vars, says) in [
        (
            "no secret",
            true,
            &[("DPOP_NONCE", "required")][..],
            "DPOP_NONCE=required needs DPOP_NONCE_SECRET",
        ),
        (
            "a short secret",
            true,
            &[
                ("DPOP_NONCE", "required"),
                ("DPOP_NONCE_SECRET", "short-but-secret"),
            ],
            "DPOP_NONCE_SECRET has 16 bytes; at least 32",
        ),
        (
            "another value",
            true,
            &[("DPOP_NONCE", "on"), ("DPOP_NONCE_SECRET", secret)],
            "DPOP_NONCE=\"on\" is not taken: the accepted values are `required`",
        ),
        (
            "a secret alone",
            true,
            &[("DPOP_NONCE_SECRET", secret)],
            "set DPOP_NONCE=required",
        ),
        (
            "Redis without DPoP",
            false,
            &[("REDIS_URL", "redis://127.0.0.1:6379/")],
            "REDIS_URL is for DPoP, and this API takes no DPoP",
        ),
        (
            "nonces without DPoP",
            false,
            &[("DPOP_NONCE", "required"), ("DPOP_NONCE_SECRET", secret)],
            "DPOP_NONCE is for DPoP, and this API takes no DPoP",
        ),
    ] {
        let err = read(takes_dpop, vars).unwrap_err();
        assert!(err.contains(says), "{name}: {err}");
        assert!(
            !err.contains("short-but-secret") && !err.contains(secret),
            "{name}: {err}"
        );
    }
}

/// Two instances of the sample API behind one load balancer, as `REDIS_URL` and
/// `DPOP_NONCE=required` with a shared `DPOP_NONCE_SECRET` set them up, and a third with
/// another secret: a proof replayed to the second is refused, a nonce from the first is taken
/// by the second, and one from the third is refused with a fresh nonce.
#[cfg(feature = "redis")]
#[tokio::test]
async fn two_instances_share_their_replay_store_and_their_nonces() {
    use crate::common::keys::{dpop_proof, public_jwk};
    use crate::common::redis::RedisServer;
    use bearer_guard::RejectionKind;
    use bearer_guard::dpop::{DpopError, DpopProof, RedisReplayStore, jwk_thumbprint};
    use bearer_guard::issuer::TokenIssuer;

    let Some(server) = RedisServer::start() else {
        return;
    };
    const EXTERNAL_URL: &str = "http://127.0.0.1:3000";
    let registration = || {
        ResourceServer::from_json(&format!(
            r#"{{"identifier": "https://my-api-urn", "signing_alg": "HS256", "signing_secret": "{SECRET}",
                "scopes": [{{"value": "read:messages", "description": "Read messages"}}],
                "proof_of_possession": {{"mechanism": "dpop", "required": true}}}}"#
        ))
        .unwrap()
    };
    let instance = |secret: &'static str| {
        let url = server.url();
        async move {
            let (redis_url, nonces) = sample_api::fleet_settings(true, |name| match name {
                "REDIS_URL" => Some(url.clone()),
                "DPOP_NONCE" => Some("required".to_owned()),
                "DPOP_NONCE_SECRET" => Some(secret.to_owned()),
                _ => None,
            })
            .unwrap();
            let fleet = sample_api::Fleet {
                replay_store: Some(
                    RedisReplayStore::connect(&redis_url.unwrap())
                        .await
                        .unwrap(),
                ),
                nonces,
                ..sample_api::Fleet::default()
            };
            sample_api::app_in_fleet(
                registration(),
                Some(ISSUER.to_owned()),
                None,
                Some(EXTERNAL_URL.to_owned()),
                fleet,
            )
            .unwrap()
        }
    };
    let fleet_secret = "the-fleet-secret-of-32-bytes-or-more";
    let one = instance(fleet_secret).await;
    let two = instance(fleet_secret).await;
    let elsewhere = instance("another-fleets-secret-of-32-bytes-or-more").await;

    let jkt = jwk_thumbprint(&public_jwk("p256").to_string()).unwrap();
    let token = TokenIssuer::new(&registration(), ISSUER)
        .unwrap()
        .client_token("client-1")
        .scope("read:messages")
        .claim("cnf", json!({ "jkt": jkt }))
        .sign()
        .unwrap();
    let jti = std::sync::atomic::AtomicU64::new(0);
    let proof = |nonce: Option<&str>| {
        let mut claims = json!({
            "jti": format!("fleet-{}", jti.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
            "htm": "GET",
            "htu": format!("{EXTERNAL_URL}/api/private"),
            "iat": now(),
            "ath": DpopProof::access_token_hash(&token),
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        dpop_proof(jsonwebtoken::Algorithm::ES256, "p256", &claims)
    };
    let call = |proof: &str| {
        http::Request::get("/api/private")
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let kind = |answer: &Answer| answer.kind();
    let nonce_of = |answer: &Answer| {
        answer
            .response
            .headers()
            .get("dpop-nonce")
            .map(|value| value.to_str().unwrap().to_owned())
    };

    // The first instance asks for a nonce, and takes its own.
    let asked = send(&one, call(&proof(None))).await;
    assert_eq!(
        (asked.status, kind(&asked)),
        (401, Some(RejectionKind::Dpop(DpopError::NonceRequired)))
    );
    assert!(
        asked
            .challenge
            .as_deref()
            .unwrap()
            .contains(r#"error="use_dpop_nonce""#)
    );
    let nonce = nonce_of(&asked).expect("a DPoP-Nonce header");
    let with_nonce = proof(Some(&nonce));
    let answer = send(&one, call(&with_nonce)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["sub"], "client-1@clients");

    // Replayed to the second instance: refused there, by the shared store.
    let replayed = send(&two, call(&with_nonce)).await;
    assert_eq!(
        (replayed.status, kind(&replayed)),
        (401, Some(RejectionKind::Dpop(DpopError::Replayed)))
    );
    // A new proof with the first instance's nonce: taken by the second.
    assert_eq!(send(&two, call(&proof(Some(&nonce)))).await.status, 200);

    // A nonce of an instance with another secret: refused, with one of this fleet's.
    let theirs = nonce_of(&send(&elsewhere, call(&proof(None))).await).unwrap();
    let refused = send(&one, call(&proof(Some(&theirs)))).await;
    assert_eq!(
        (refused.status, kind(&refused)),
        (401, Some(RejectionKind::Dpop(DpopError::ForeignNonce)))
    );
    let fresh = nonce_of(&refused).expect("a DPoP-Nonce header");
    assert_ne!(fresh, theirs);
    assert_eq!(send(&two, call(&proof(Some(&fresh)))).await.status, 200);
}

#[tokio::test]
async fn a_whole_management_api_answer_configures_the_sample_api() {
    // Every field Auth0's Management API returns for a resource server, from tests/data.
    let api = ResourceServer::from_file("tests/data/auth0_resource_server.json").unwrap();
    let app = sample_api::app(api, Some(ISSUER.to_owned()), None).unwrap();
    let secret = b"kq3Yp0w8Vn2Lr7Tz5Xc1Bm9Hd4Gs6Jf0Qa8We2Ry7Ui3Op";
    let audience = json!({ "aud": "https://payments.example.com/" });
    // Its token_dialect is access_token_authz: scope requirements are met by `permissions`.
    let mut with_permission = claims("", audience.clone());
    merge(
        &mut with_permission,
        &json!({ "permissions": ["read:messages"] }),
    );
    let scope_only = claims("read:messages", audience);
    for (claims, status) in [(with_permission, 200), (scope_only, 403)] {
        let token = token_with(secret, &claims);
        let answer = send(&app, get_with_token("/api/private-scoped", &token)).await;
        assert_eq!(answer.status, status, "{claims}");
    }
}

/// `TOKEN_ISSUER` with several issuers separated by spaces (custom domains): each one's
/// tokens are taken, each issuer's keys from its own discovery, and the metadata names all.
#[tokio::test]
async fn token_issuer_may_name_several_issuers_each_found_by_its_discovery() {
    let (first, second) = (
        format!("{}/", rs256_issuer().await),
        format!("{}/", rs256_issuer().await),
    );
    let api = ResourceServer::from_json(
        r#"{"identifier": "http://127.0.0.1:1/api", "signing_alg": "RS256",
            "scopes": [{"value": "read:messages", "description": "Read messages"}]}"#,
    )
    .unwrap();
    let app = sample_api::app(api, Some(format!("{first} {second}")), None).unwrap();
    for issuer in [&first, &second] {
        let claims = claims(
            "read:messages",
            json!({"iss": issuer, "aud": "http://127.0.0.1:1/api"}),
        );
        let token = crate::common::keys::signed_claims(
            jsonwebtoken::Algorithm::RS256,
            "rsa2048",
            Some("k1"),
            &claims,
        );
        let status = status_once_keys_load(&app, "/api/private-scoped", &token).await;
        assert_eq!(status, 200, "{issuer}");
    }
    let foreign = claims(
        "",
        json!({"iss": "https://evil.example/", "aud": "http://127.0.0.1:1/api"}),
    );
    let foreign = crate::common::keys::signed_claims(
        jsonwebtoken::Algorithm::RS256,
        "rsa2048",
        Some("k1"),
        &foreign,
    );
    assert_eq!(
        send(&app, get_with_token("/api/private", &foreign))
            .await
            .status,
        401
    );
    let answer = send(
        &app,
        request("/.well-known/oauth-protected-resource/api", &[]),
    )
    .await;
    assert_eq!(
        answer.json()["authorization_servers"],
        json!([first, second])
    );
}

/// A file of `tests/data/jwe`.
fn jwe_data(name: &str) -> String {
    format!("{}/tests/data/jwe/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The demo registration with `token_encryption` to the JWE fixture key.
fn encrypted_registration() -> ResourceServer {
    let mut json: serde_json::Value =
        serde_json::from_str(sample_api::DEMO_RESOURCE_SERVER).unwrap();
    json["token_encryption"] = json!({
        "format": "compact-nested-jwe",
        "encryption_key": {
            "name": "enc-2026", "alg": "RSA-OAEP-256", "kid": "enc-2026",
            "pem": std::fs::read_to_string(jwe_data("rsa2048_enc.crt.pem")).unwrap(),
        }
    });
    ResourceServer::from_json(&json.to_string()).unwrap()
}

#[test]
fn token_decryption_key_is_required_with_token_encryption_and_refused_without() {
    let none = |_: &str| None;
    let err = sample_api::decryption_key(&encrypted_registration(), none).unwrap_err();
    assert!(err.contains("TOKEN_DECRYPTION_KEY"), "{err}");
    let path = jwe_data("rsa2048_enc.pem");
    let set = |name: &str| (name == "TOKEN_DECRYPTION_KEY").then(|| path.clone());
    let plain = ResourceServer::from_json(sample_api::DEMO_RESOURCE_SERVER).unwrap();
    let err = sample_api::decryption_key(&plain, set).unwrap_err();
    assert!(err.contains("TOKEN_DECRYPTION_KEY"), "{err}");
    assert!(sample_api::decryption_key(&plain, none).unwrap().is_none());
    let missing =
        |name: &str| (name == "TOKEN_DECRYPTION_KEY").then(|| "no/such/key.pem".to_owned());
    let err = sample_api::decryption_key(&encrypted_registration(), missing).unwrap_err();
    assert!(
        err.contains("TOKEN_DECRYPTION_KEY") && err.contains("no/such/key.pem"),
        "{err}"
    );
    // A key that is not the registration's fails at startup too, as the layer is built.
    let other = format!(
        "{}/tests/data/jwe/rsa2048_enc_previous.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    let key =
        sample_api::decryption_key(&encrypted_registration(), |_| Some(other.clone())).unwrap();
    let fleet = sample_api::Fleet {
        decryption_key: key,
        ..sample_api::Fleet::default()
    };
    let err =
        sample_api::app_in_fleet(encrypted_registration(), None, None, None, fleet).unwrap_err();
    assert_eq!(err, bearer_guard::ConfigError::DecryptionKeyMismatch);
}

#[tokio::test]
async fn with_token_decryption_key_the_api_takes_encrypted_tokens_only() {
    let path = jwe_data("rsa2048_enc.pem");
    let key = sample_api::decryption_key(&encrypted_registration(), |name| {
        (name == "TOKEN_DECRYPTION_KEY").then(|| path.clone())
    })
    .unwrap();
    let fleet = sample_api::Fleet {
        decryption_key: key,
        ..sample_api::Fleet::default()
    };
    let app = sample_api::app_in_fleet(
        encrypted_registration(),
        Some(ISSUER.to_owned()),
        None,
        None,
        fleet,
    )
    .unwrap();
    let signed = token(&claims("read:messages", json!({})));
    let encrypted = bearer_guard::issuer::TokenEncryptionKey::from_pem(
        &std::fs::read_to_string(jwe_data("rsa2048_enc.pub.pem")).unwrap(),
        Some("enc-2026"),
    )
    .unwrap()
    .encrypt(&signed)
    .unwrap();
    let scoped = send(&app, get_with_token("/api/private-scoped", &encrypted)).await;
    assert_eq!(scoped.status, 200, "{}", scoped.body);
    let plain = send(&app, get_with_token("/api/private-scoped", &signed)).await;
    assert_eq!(plain.status, 401);
    assert_eq!(
        plain.kind(),
        Some(bearer_guard::RejectionKind::InvalidToken(
            bearer_guard::TokenErrorKind::NotEncrypted
        ))
    );
}

#[test]
fn client_cert_header_is_needed_with_mtls_and_refused_without() {
    use bearer_guard::mtls::MtlsMode;
    fn with(value: Option<&'static str>) -> impl Fn(&str) -> Option<String> {
        move |name| {
            value
                .filter(|_| name == "CLIENT_CERT_HEADER")
                .map(str::to_owned)
        }
    }
    assert_eq!(
        sample_api::client_cert_header(MtlsMode::Required, with(Some("Client-Cert"))),
        Ok(Some("Client-Cert".to_owned()))
    );
    assert_eq!(
        sample_api::client_cert_header(MtlsMode::Disabled, with(None)),
        Ok(None)
    );
    for (mode, value) in [
        (MtlsMode::Required, None),
        (MtlsMode::Allowed, None),
        (MtlsMode::Disabled, Some("Client-Cert")),
    ] {
        let err = sample_api::client_cert_header(mode, with(value)).unwrap_err();
        assert!(err.contains("CLIENT_CERT_HEADER"), "{mode:?}: {err}");
    }
}

#[tokio::test]
async fn an_mtls_registration_reads_the_certificate_from_client_cert_header() {
    use base64::Engine as _;
    use bearer_guard::issuer::TokenIssuer;
    use bearer_guard::mtls::ClientCertificate;
    let api = ResourceServer::from_json(&format!(
        r#"{{"identifier": "https://my-api-urn", "signing_alg": "HS256", "signing_secret": "{SECRET}",
            "scopes": [{{"value": "read:messages"}}],
            "proof_of_possession": {{"mechanism": "mtls", "required": true}}}}"#
    ))
    .unwrap();
    let fleet = sample_api::Fleet {
        client_cert_header: Some("Client-Cert".to_owned()),
        ..sample_api::Fleet::default()
    };
    let app = sample_api::app_in_fleet(api.clone(), None, None, None, fleet).unwrap();
    let der = b"\x30\x03\x02\x01\x07".as_slice();
    let token = TokenIssuer::new(&api, ISSUER)
        .unwrap()
        .client_token("client-1")
        .bound_to_certificate(&ClientCertificate::from_der(der))
        .sign()
        .unwrap();
    let with_header = |der: &[u8]| {
        let mut request = get_with_token("/api/private", &token);
        let value = format!(
            ":{}:",
            base64::engine::general_purpose::STANDARD.encode(der)
        );
        request
            .headers_mut()
            .insert("client-cert", value.parse().unwrap());
        request
    };
    assert_eq!(send(&app, with_header(der)).await.status, 200);
    assert_eq!(send(&app, with_header(b"\x30\x00")).await.status, 401);
    assert_eq!(
        send(&app, get_with_token("/api/private", &token))
            .await
            .status,
        401
    );
    // Without CLIENT_CERT_HEADER the registration cannot be served.
    assert!(sample_api::app(api, None, None).is_err());
}

#[tokio::test]
async fn private_mfa_needs_the_acr_of_auth0s_mfa_policy() {
    let app = demo_app(None);
    let mfa = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
    assert_eq!(sample_api::MFA_POLICY, mfa);
    let with_acr = |acr: Value| token(&claims("", json!({ "acr": acr })));
    let answer = send(
        &app,
        get_with_token("/api/private-mfa", &with_acr(mfa.into())),
    )
    .await;
    assert_eq!(answer.status, 200);
    let challenge = format!(
        r#"Bearer realm="https://my-api-urn", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="{mfa}""#
    );
    for refused in [with_acr("urn:acr:pwd".into()), with_acr(Value::Null)] {
        let answer = send(&app, get_with_token("/api/private-mfa", &refused)).await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.challenge.as_deref(), Some(challenge.as_str()));
        assert_eq!(answer.json()["acr_values"], mfa);
    }
    let none = send(&app, request("/api/private-mfa", &[])).await;
    assert_eq!(none.status, 401);
    // The demo's printed MFA token passes; its plain one does not.
    let demo = sample_api::demo_mfa_token(sample_api::DEMO_ISSUER).unwrap();
    let answer = send(&app, get_with_token("/api/private-mfa", &demo)).await;
    assert_eq!(
        (answer.status, answer.json()["sub"].clone()),
        (200, json!("auth0|demo-user"))
    );
    let plain = sample_api::demo_token(sample_api::DEMO_ISSUER, "read:messages").unwrap();
    assert_eq!(
        send(&app, get_with_token("/api/private-mfa", &plain))
            .await
            .status,
        401
    );
}
