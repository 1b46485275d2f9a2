//! Encrypted access tokens (RFC 7516, feature `jwks`) through the public API: a registration
//! with `token_encryption`, the guard given its private key, JWEs made by jwcrypto
//! (`tests/data/jwe/fixtures.json`) and by `TokenEncryptionKey` around tokens signed by
//! jsonwebtoken; `BearerGuardLayer`, `MultiApiLayer` and `TokenValidator` alike.

use axum::{Router, routing::get};
use bearer_guard::issuer::TokenEncryptionKey;
use bearer_guard::registration::TokenEncryption;
use bearer_guard::{
    BearerGuardLayer, ConfigError, MultiApiLayer, RejectionKind, ResourceServer, TokenErrorKind,
    VerifiedToken,
};
use serde_json::{Value, json};

use crate::common::{AUDIENCE, ISSUER, SECRET, claims, send, status_and_reason, token_with};

const KID: &str = "enc-2026";
/// The issuer of the fixtures' inner token.
const FIXTURE_ISSUER: &str = "https://issuer.example/";

fn data(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/jwe/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn private_pem() -> String {
    data("rsa2048_enc.pem")
}

fn fixtures() -> Value {
    serde_json::from_str(&data("fixtures.json")).unwrap()
}

fn fixture(group: &str, name: &str) -> String {
    fixtures()[group][name].as_str().unwrap().to_owned()
}

/// The demo API, its tokens encrypted to the fixture key with `kid` `enc-2026`; the pem as
/// Auth0's Dashboard holds it, a CRLF certificate.
fn encrypted_api() -> ResourceServer {
    ResourceServer::new(AUDIENCE, SECRET)
        .with_scope("read:messages", "Read messages")
        .with_token_encryption(
            TokenEncryption::compact_nested_jwe("RSA-OAEP-256", data("rsa2048_enc.crt.pem"))
                .with_kid(KID),
        )
}

fn app(issuer: &str) -> Router {
    let layer = BearerGuardLayer::builder(encrypted_api())
        .issuer(issuer)
        .token_decryption_key(private_pem())
        .build()
        .unwrap();
    let handler =
        |token: VerifiedToken| async move { token.subject().unwrap_or_default().to_owned() };
    Router::new().route("/private", get(handler)).layer(layer)
}

/// A token for the demo API signed by jsonwebtoken and encrypted by `TokenEncryptionKey`.
fn encrypted(claims: &Value) -> String {
    let key = TokenEncryptionKey::from_pem(&data("rsa2048_enc.pub.pem"), Some(KID)).unwrap();
    key.encrypt(&token_with(SECRET.as_bytes(), claims)).unwrap()
}

fn refused(kind: TokenErrorKind) -> (u16, Option<RejectionKind>) {
    (401, Some(RejectionKind::InvalidToken(kind)))
}

#[tokio::test]
async fn the_guard_takes_jwes_made_by_jwcrypto_and_by_our_issuer() {
    let fixtures_app = app(FIXTURE_ISSUER);
    for name in [
        "oaep256_kid_cty",
        "oaep256_built_here",
        "oaep256_unknown_members",
    ] {
        let answer = send(
            &fixtures_app,
            crate::common::get_with_token("/private", &fixture("valid", name)),
        )
        .await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "client@clients"),
            "{name}"
        );
    }
    let size_capped = fixture("size_cap", "jwe_7_9_kb");
    assert_eq!(
        status_and_reason("/private", &fixtures_app, &size_capped).await,
        (200, None)
    );
    assert_eq!(
        status_and_reason(
            "/private",
            &fixtures_app,
            &fixture("size_cap", "jwe_over_8_kib")
        )
        .await,
        refused(TokenErrorKind::TooLarge)
    );

    let ours = app(ISSUER);
    let token = encrypted(&claims("read:messages", json!({})));
    assert_eq!(
        status_and_reason("/private", &ours, &token).await,
        (200, None)
    );
    // The JWS checks still run on what was decrypted.
    let expired = encrypted(&claims("read:messages", json!({"exp": 1_000_000_000})));
    assert_eq!(
        status_and_reason("/private", &ours, &expired).await,
        refused(TokenErrorKind::Expired)
    );
    let forged = TokenEncryptionKey::from_pem(&data("rsa2048_enc.pub.pem"), Some(KID))
        .unwrap()
        .encrypt(&token_with(
            b"another secret of thirty-two bytes!",
            &claims("read:messages", json!({})),
        ))
        .unwrap();
    assert_eq!(
        status_and_reason("/private", &ours, &forged).await,
        refused(TokenErrorKind::InvalidSignature)
    );
}

#[tokio::test]
async fn with_token_encryption_a_plain_jws_is_refused() {
    let plain = token_with(SECRET.as_bytes(), &claims("read:messages", json!({})));
    let answer = send(
        &app(ISSUER),
        crate::common::get_with_token("/private", &plain),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.kind(),
        Some(RejectionKind::InvalidToken(TokenErrorKind::NotEncrypted))
    );
    assert_eq!(
        answer.challenge.as_deref(),
        Some(crate::common::invalid_token("The access token is not encrypted").as_str())
    );
}

#[tokio::test]
async fn without_token_encryption_a_jwe_is_malformed_as_before() {
    let plain_api = BearerGuardLayer::builder(ResourceServer::new(AUDIENCE, SECRET))
        .issuer(FIXTURE_ISSUER)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/private", get(|| async { "ok" }))
        .layer(plain_api);
    assert_eq!(
        status_and_reason("/private", &app, &fixture("valid", "oaep256_kid_cty")).await,
        refused(TokenErrorKind::Malformed)
    );
}

#[tokio::test]
async fn every_failure_after_the_header_gives_the_client_one_answer() {
    // No padding or tag oracle: the key that does not unwrap, the tag that fails and the
    // plaintext that is no JWS (or another JWE) answer alike, to the byte.
    let app = app(FIXTURE_ISSUER);
    let mut answers = Vec::new();
    for (name, token) in fixtures()["undecryptable"].as_object().unwrap() {
        let answer = send(
            &app,
            crate::common::get_with_token("/private", token.as_str().unwrap()),
        )
        .await;
        assert_eq!(
            answer.kind(),
            Some(RejectionKind::InvalidToken(TokenErrorKind::Undecryptable)),
            "{name}"
        );
        answers.push((answer.status, answer.challenge, answer.body));
    }
    assert!(answers.len() >= 10);
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );
    assert_eq!(
        answers[0].1.as_deref(),
        Some(crate::common::invalid_token("The access token cannot be decrypted").as_str())
    );
}

#[tokio::test]
async fn of_several_apis_an_encrypted_token_goes_to_the_one_whose_keys_take_its_header() {
    const PLAIN: &str = "https://plain.example";
    const PLAIN_SECRET: &str = "a secret for the plain API, 32 b";
    let plain = BearerGuardLayer::builder(ResourceServer::new(PLAIN, PLAIN_SECRET))
        .issuer(ISSUER)
        .build()
        .unwrap();
    let encrypted_layer = BearerGuardLayer::builder(encrypted_api())
        .issuer(ISSUER)
        .token_decryption_key(private_pem())
        .build()
        .unwrap();
    let which = {
        let encrypted_layer = encrypted_layer.clone();
        move |token: VerifiedToken| async move {
            if encrypted_layer.has_verified(&token) {
                "encrypted"
            } else {
                "plain"
            }
        }
    };
    let app = Router::new()
        .route("/which", get(which))
        .layer(MultiApiLayer::new([plain, encrypted_layer]).unwrap());
    let jwe = encrypted(&claims("read:messages", json!({})));
    let answer = send(&app, crate::common::get_with_token("/which", &jwe)).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "encrypted"));
    let jws = token_with(
        PLAIN_SECRET.as_bytes(),
        &claims("", json!({ "aud": PLAIN })),
    );
    let answer = send(&app, crate::common::get_with_token("/which", &jws)).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "plain"));
    // A plain token for the encrypted API is refused by it.
    let plain_for_encrypted = token_with(SECRET.as_bytes(), &claims("", json!({})));
    assert_eq!(
        status_and_reason("/which", &app, &plain_for_encrypted).await,
        refused(TokenErrorKind::NotEncrypted)
    );
    // A JWE whose kid no API has goes to the primary one, which takes no JWE.
    let stranger = TokenEncryptionKey::from_pem(&data("rsa2048_enc.pub.pem"), Some("enc-1999"))
        .unwrap()
        .encrypt(&token_with(SECRET.as_bytes(), &claims("", json!({}))))
        .unwrap();
    assert_eq!(
        status_and_reason("/which", &app, &stranger).await,
        refused(TokenErrorKind::Malformed)
    );
}

#[test]
fn the_validator_alone_decrypts_and_caches_the_jwe() {
    let validator = BearerGuardLayer::builder(encrypted_api())
        .issuer(ISSUER)
        .token_decryption_key(private_pem())
        .build_validator()
        .unwrap();
    let token = encrypted(&claims("read:messages", json!({})));
    for _ in 0..3 {
        assert_eq!(
            validator.validate(&token).unwrap().subject(),
            Some("client-1@clients")
        );
    }
    let status = validator.token_cache_status().unwrap();
    assert_eq!((status.misses, status.hits), (1, 2));
}

#[test]
fn rotated_out_keys_decrypt_the_tokens_that_name_them() {
    let old_private = data("rsa2048_enc_previous.pem");
    let old_public = data("rsa2048_enc_previous.pub.pem");
    let validator = BearerGuardLayer::builder(
        ResourceServer::new(AUDIENCE, SECRET).with_token_encryption(
            TokenEncryption::compact_nested_jwe("RSA-OAEP-256", data("rsa2048_enc.pub.pem"))
                .with_kid("enc-2027"),
        ),
    )
    .issuer(ISSUER)
    .token_decryption_key(private_pem())
    .previous_token_decryption_key(KID, old_private)
    .build_validator()
    .unwrap();
    let signed = token_with(SECRET.as_bytes(), &claims("", json!({})));
    let current = TokenEncryptionKey::from_pem(&data("rsa2048_enc.pub.pem"), Some("enc-2027"))
        .unwrap()
        .encrypt(&signed)
        .unwrap();
    let old = TokenEncryptionKey::from_pem(&old_public, Some(KID))
        .unwrap()
        .encrypt(&signed)
        .unwrap();
    assert!(validator.validate(&current).is_ok());
    assert!(validator.validate(&old).is_ok());
    // The old key's tokens must name it: the current kid does not reach it.
    let old_under_new_kid = TokenEncryptionKey::from_pem(&old_public, Some("enc-2027"))
        .unwrap()
        .encrypt(&signed)
        .unwrap();
    assert_eq!(
        validator.validate(&old_under_new_kid).unwrap_err().kind(),
        TokenErrorKind::Undecryptable
    );
}

#[test]
fn startup_refuses_what_cannot_decrypt() {
    let err = BearerGuardLayer::builder(encrypted_api())
        .build()
        .unwrap_err();
    assert_eq!(err, ConfigError::MissingDecryptionKey);
    let err = BearerGuardLayer::builder(encrypted_api())
        .token_decryption_key(data("../keys/rsa2048.pem"))
        .build()
        .unwrap_err();
    assert_eq!(err, ConfigError::DecryptionKeyMismatch);
    let err = BearerGuardLayer::builder(ResourceServer::new(AUDIENCE, SECRET))
        .token_decryption_key(private_pem())
        .build()
        .unwrap_err();
    assert_eq!(err, ConfigError::DecryptionKeyWithoutTokenEncryption);
    // The registration as the Management API returns it, read from its JSON.
    let from_json = ResourceServer::from_json(&format!(
        r#"{{"identifier": "{AUDIENCE}", "signing_alg": "HS256", "signing_secret": "{SECRET}",
            "token_encryption": {{"format": "compact-nested-jwe",
                "encryption_key": {{"name": "k", "alg": "RSA-OAEP-256", "kid": "{KID}", "pem": {pem}}}}}}}"#,
        pem = serde_json::to_string(&data("rsa2048_enc.crt.pem")).unwrap()
    ))
    .unwrap();
    let validator = BearerGuardLayer::builder(from_json)
        .issuer(ISSUER)
        .token_decryption_key(private_pem())
        .build_validator()
        .unwrap();
    let token = encrypted(&claims("", json!({})));
    assert!(validator.validate(&token).is_ok());
}
