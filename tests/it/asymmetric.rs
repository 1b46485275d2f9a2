//! RS256, PS256, ES256 and EdDSA through the layer (feature `jwks`), with a static JWK set:
//! tokens signed by jsonwebtoken with the fixture keys of `tests/data/keys`, the published
//! vectors, and the key-confusion attacks of RFC 8725 §2.1.

use std::time::{Duration, UNIX_EPOCH};

use crate::common::keys::{jwk, jwks, pem, signed};
use crate::common::{AUDIENCE, ISSUER, claims, status_and_reason};
use axum::{Router, routing::get};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bearer_guard::{
    Algorithm, BearerGuardBuilder, BearerGuardLayer, ConfigError, RejectionKind, ResourceServer,
    TokenErrorKind, VerifiedToken,
};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use TokenErrorKind as T;

fn api(alg: &str) -> ResourceServer {
    ResourceServer::from_json(&format!(
        r#"{{"identifier": "{AUDIENCE}", "signing_alg": "{alg}",
            "scopes": [{{"value": "read:messages", "description": ""}}]}}"#
    ))
    .unwrap()
}

fn builder(alg: &str, keys: &[Value]) -> BearerGuardBuilder {
    BearerGuardLayer::builder(api(alg))
        .issuer(ISSUER)
        .static_jwks(jwks(keys))
}

fn app(alg: &str, keys: &[Value]) -> Router {
    let handler =
        |token: VerifiedToken| async move { token.subject().unwrap_or_default().to_owned() };
    Router::new()
        .route("/private", get(handler))
        .layer(builder(alg, keys).build().unwrap())
}

fn refused(kind: TokenErrorKind) -> (u16, Option<RejectionKind>) {
    (401, Some(RejectionKind::InvalidToken(kind)))
}

const OK: (u16, Option<RejectionKind>) = (200, None);

#[tokio::test]
async fn each_algorithm_verifies_tokens_signed_by_an_independent_library() {
    use jsonwebtoken::Algorithm as J;
    for (alg, key, name) in [
        ("RS256", "rsa2048", J::RS256),
        ("RS256", "rsa4096", J::RS256),
        // The largest modulus accepted: its signature, 1366 characters, is the longest read.
        ("RS256", "rsa8192", J::RS256),
        ("PS256", "rsa2048", J::PS256),
        ("ES256", "p256", J::ES256),
        ("EdDSA", "ed25519", J::EdDSA),
    ] {
        let app = app(alg, &[jwk(key, "k1", &json!({}))]);
        let token = signed(name, key, Some("k1"));
        assert_eq!(
            status_and_reason("/private", &app, &token).await,
            OK,
            "{alg} {key}"
        );
        // The payload changed after signing.
        let (head, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(claims("admin", json!({})).to_string());
        let tampered = format!("{head}.{forged}.{signature}");
        assert_eq!(
            status_and_reason("/private", &app, &tampered).await,
            refused(T::InvalidSignature),
            "{alg}"
        );
        // Signed with another key of the same type, under the configured key's kid.
        let other = match key {
            "rsa2048" | "rsa4096" | "rsa8192" => Some("rsa2048_b"),
            _ => None,
        };
        if let Some(other) = other {
            let wrong = signed(name, other, Some("k1"));
            assert_eq!(
                status_and_reason("/private", &app, &wrong).await,
                refused(T::InvalidSignature),
                "{alg}"
            );
        }
    }
}

#[tokio::test]
async fn the_algorithm_is_pinned_whatever_key_the_kid_names() {
    use jsonwebtoken::Algorithm as J;
    // The RSA key has no `alg`: it could verify PS256, but the API is pinned to RS256.
    let app = app(
        "RS256",
        &[
            jwk("rsa2048", "rsa", &json!({})),
            jwk("p256", "ec", &json!({})),
        ],
    );
    assert_eq!(
        status_and_reason("/private", &app, &signed(J::RS256, "rsa2048", Some("rsa"))).await,
        OK
    );
    for token in [
        signed(J::PS256, "rsa2048", Some("rsa")),
        signed(J::ES256, "p256", Some("ec")),
        signed(J::EdDSA, "ed25519", Some("rsa")),
    ] {
        assert_eq!(
            status_and_reason("/private", &app, &token).await,
            refused(T::UnsupportedAlgorithm)
        );
    }
    // A kid naming a key of another type finds nothing for RS256.
    let confused = signed(J::RS256, "rsa2048", Some("ec"));
    assert_eq!(
        status_and_reason("/private", &app, &confused).await,
        refused(T::UnknownKeyId)
    );
}

#[tokio::test]
async fn hs256_keyed_with_the_public_key_is_refused() {
    // RFC 8725 §2.1: an HS256 token whose "secret" is the RSA public key, in each form an
    // attacker might guess (PEM text, the JWK's raw modulus, the JWK JSON).
    let app = app("RS256", &[jwk("rsa2048", "k1", &json!({}))]);
    let public = jwk("rsa2048", "k1", &json!({}));
    let n = URL_SAFE_NO_PAD
        .decode(public["n"].as_str().unwrap())
        .unwrap();
    let pem = pem("rsa2048");
    for secret in [pem.as_bytes(), &n, public.to_string().as_bytes()] {
        let header = Header {
            kid: Some("k1".into()),
            ..Header::new(jsonwebtoken::Algorithm::HS256)
        };
        let token = jsonwebtoken::encode(
            &header,
            &claims("read:messages", json!({})),
            &EncodingKey::from_secret(secret),
        )
        .unwrap();
        assert_eq!(
            status_and_reason("/private", &app, &token).await,
            refused(T::UnsupportedAlgorithm)
        );
    }
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#),
        URL_SAFE_NO_PAD.encode(claims("", json!({})).to_string())
    );
    assert_eq!(
        status_and_reason("/private", &app, &none).await,
        refused(T::UnsupportedAlgorithm)
    );
}

#[tokio::test]
async fn key_parameters_in_the_header_never_supply_the_key() {
    use jsonwebtoken::Algorithm as J;
    // Signed with the attacker's own key, whose JWK (and URLs) ride in the header.
    let app = app("RS256", &[jwk("rsa2048", "k1", &json!({}))]);
    let token = signed(J::RS256, "rsa2048_b", Some("k1"));
    let (_, rest) = token.split_once('.').unwrap();
    // A small key fits in the header and is ignored; an RSA JWK makes the header longer
    // than headers are read (512 characters), refused before it is decoded.
    let small = jwk("ed25519", "k1", &json!({}));
    let big = jwk("rsa2048_b", "k1", &json!({}));
    let header = json!({"alg": "RS256", "kid": "k1", "jwk": big});
    let too_long = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()));
    assert_eq!(
        status_and_reason("/private", &app, &too_long).await,
        refused(T::Malformed)
    );
    for extra in [
        json!({"jwk": small}),
        json!({"jku": "http://127.0.0.1:1/jwks.json"}),
        json!({"x5u": "http://127.0.0.1:1/cert.pem"}),
        json!({"x5c": ["MIIB"]}),
    ] {
        let mut header = json!({"alg": "RS256", "typ": "JWT", "kid": "k1"});
        for (name, value) in extra.as_object().unwrap() {
            header[name] = value.clone();
        }
        let forged = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()));
        assert_eq!(
            status_and_reason("/private", &app, &forged).await,
            refused(T::InvalidSignature),
            "{extra}"
        );
    }
}

#[tokio::test]
async fn keys_the_set_may_not_use_verify_nothing() {
    use jsonwebtoken::Algorithm as J;
    let app = app(
        "RS256",
        &[
            jwk("rsa2048", "good", &json!({})),
            jwk("rsa1024", "small", &json!({})),
            jwk("rsa2048_b", "enc", &json!({"use": "enc"})),
            jwk("rsa2048_b", "pss", &json!({"alg": "PS256"})),
        ],
    );
    assert_eq!(
        status_and_reason("/private", &app, &signed(J::RS256, "rsa2048", Some("good"))).await,
        OK
    );
    for (key, kid) in [
        ("rsa1024", "small"),
        ("rsa2048_b", "enc"),
        ("rsa2048_b", "pss"),
    ] {
        let token = signed(J::RS256, key, Some(kid));
        assert_eq!(
            status_and_reason("/private", &app, &token).await,
            refused(T::UnknownKeyId),
            "{kid}"
        );
    }
}

#[tokio::test]
async fn without_a_kid_only_a_single_candidate_verifies() {
    use jsonwebtoken::Algorithm as J;
    let one = app("ES256", &[jwk("p256", "only", &json!({}))]);
    assert_eq!(
        status_and_reason("/private", &one, &signed(J::ES256, "p256", None)).await,
        OK
    );
    let two = app(
        "RS256",
        &[
            jwk("rsa2048", "a", &json!({})),
            jwk("rsa2048_b", "b", &json!({})),
        ],
    );
    let token = signed(J::RS256, "rsa2048", None);
    assert_eq!(
        status_and_reason("/private", &two, &token).await,
        refused(T::MissingKeyId)
    );
}

#[tokio::test]
async fn widening_to_another_algorithm_is_explicit() {
    use jsonwebtoken::Algorithm as J;
    let keys = [
        jwk("rsa2048", "rsa", &json!({})),
        jwk("ed25519", "ed", &json!({})),
    ];
    let widened = Router::new()
        .route("/private", get(|| async { "ok" }))
        .layer(
            builder("RS256", &keys)
                .also_accept_algorithm(Algorithm::EdDsa)
                .build()
                .unwrap(),
        );
    assert_eq!(
        status_and_reason(
            "/private",
            &widened,
            &signed(J::RS256, "rsa2048", Some("rsa"))
        )
        .await,
        OK
    );
    assert_eq!(
        status_and_reason(
            "/private",
            &widened,
            &signed(J::EdDSA, "ed25519", Some("ed"))
        )
        .await,
        OK
    );
    let pinned = app("RS256", &keys);
    assert_eq!(
        status_and_reason(
            "/private",
            &pinned,
            &signed(J::EdDSA, "ed25519", Some("ed"))
        )
        .await,
        refused(T::UnsupportedAlgorithm)
    );
}

#[test]
fn configuration_mistakes_fail_at_startup() {
    let keys = [jwk("rsa2048", "k1", &json!({}))];
    let err = |builder: BearerGuardBuilder| builder.build().map(|_| ()).unwrap_err();
    assert_eq!(
        err(BearerGuardLayer::builder(api("RS256"))),
        ConfigError::NoKeySource {
            alg: "RS256".into()
        }
    );
    assert!(matches!(
        err(builder("RS256", &keys).previous_secret("a-previous-secret-of-32-bytes!!!")),
        ConfigError::SecretSettingWithoutHs256 { .. }
    ));
    assert!(matches!(
        err(builder("RS256", &keys).also_accept_algorithm(Algorithm::Hs256)),
        ConfigError::UnsupportedAlgorithm { .. }
    ));
    let hs256 = ResourceServer::new(AUDIENCE, crate::common::SECRET);
    assert_eq!(
        err(BearerGuardLayer::builder(hs256).static_jwks(jwks(&keys))),
        ConfigError::KeySetSettingForHs256 {
            setting: "static_jwks"
        }
    );
    let unusable = [jwk("rsa1024", "small", &json!({}))];
    let invalid = err(builder("RS256", &unusable));
    assert!(
        matches!(&invalid, ConfigError::InvalidJwks { problem } if problem.contains("none of its 1 keys")),
        "{invalid}"
    );
    assert!(matches!(
        err(BearerGuardLayer::builder(api("RS256")).static_jwks("not json")),
        ConfigError::InvalidJwks { .. }
    ));
    assert!(matches!(
        err(BearerGuardLayer::builder(api("RS1024")).static_jwks(jwks(&keys))),
        ConfigError::UnsupportedAlgorithm { .. }
    ));
}

#[test]
fn rfc7515_appendix_a2_through_the_validator() {
    let vector: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/tests/data/rfc7515_a2_rs256.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let validator = BearerGuardLayer::builder(api("RS256"))
        .static_jwks(jwks(&[vector["jwk"].clone()]))
        .leeway(Duration::ZERO)
        .build_validator()
        .unwrap();
    let token = vector["token"].as_str().unwrap();
    // Just before its `exp`, every check passes but the audience; today it has expired.
    let before = UNIX_EPOCH + Duration::from_secs(1_300_819_379);
    assert_eq!(
        validator.validate_at(token, before).unwrap_err().kind(),
        T::MissingAudience
    );
    assert_eq!(validator.validate(token).unwrap_err().kind(), T::Expired);
}
