//! Every signing algorithm (issue 20): each verifies a token from an independent signer
//! (jsonwebtoken, or python `cryptography` for ES512 and the `Ed25519` name, in
//! `tests/data/independent_tokens.json`) under its own registration, and is refused under
//! every other; the published vectors; the rules of each algorithm's keys and secrets.

#![cfg(feature = "jwks")]
#![allow(clippy::unwrap_used)]

use std::time::{Duration, UNIX_EPOCH};

use crate::common::keys::{jwk, jwks, pem};
use crate::common::{AUDIENCE, ISSUER, claims, status_and_reason};
use axum::{Router, routing::get};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bearer_guard::{
    Algorithm, BearerGuardBuilder, BearerGuardLayer, ConfigError, RejectionKind, ResourceServer,
    TokenErrorKind, TokenValidator,
};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use TokenErrorKind as T;

/// 64 bytes: long enough for HS512, so one secret serves every HMAC registration, and a
/// token of one HMAC algorithm is tried with the very secret of the others.
const SECRET64: &str = "a signing secret of sixty-four bytes, long enough for HS512 too!";

fn data(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The tokens python `cryptography` signed (`tests/data/sign_tokens.py`).
fn python_token(name: &str) -> String {
    data("independent_tokens.json")[name]
        .as_str()
        .unwrap()
        .to_owned()
}

fn api(alg: &str, secret: Option<&str>) -> ResourceServer {
    let secret = secret.map_or(String::new(), |secret| {
        format!(r#", "signing_secret": "{secret}""#)
    });
    ResourceServer::from_json(&format!(
        r#"{{"identifier": "{AUDIENCE}", "signing_alg": "{alg}"{secret},
            "scopes": [{{"value": "read:messages", "description": ""}}]}}"#
    ))
    .unwrap()
}

/// Every fixture public key, each as `k1`: a key set from which each registration takes the
/// keys its algorithm fits, and skips the others.
fn every_key() -> String {
    jwks(&["rsa2048", "p256", "p384", "p521", "ed25519"].map(|name| jwk(name, "k1", &json!({}))))
}

fn builder(alg: Algorithm) -> BearerGuardBuilder {
    if alg.is_asymmetric() {
        BearerGuardLayer::builder(api(alg.name(), None))
            .issuer(ISSUER)
            .static_jwks(every_key())
    } else {
        BearerGuardLayer::builder(api(alg.name(), Some(SECRET64))).issuer(ISSUER)
    }
}

fn validator(alg: Algorithm) -> TokenValidator {
    builder(alg).build_validator().unwrap()
}

/// A token for `alg`, from a signer that shares no code with bearer-guard: jsonwebtoken
/// where it has the algorithm, python `cryptography` where it has not.
fn independent_token(alg: Algorithm) -> String {
    use jsonwebtoken::Algorithm as J;
    let (jwt_alg, key) = match alg {
        Algorithm::Es512 | Algorithm::Ed25519 => return python_token(alg.name()),
        Algorithm::Hs256 => (J::HS256, EncodingKey::from_secret(SECRET64.as_bytes())),
        Algorithm::Hs384 => (J::HS384, EncodingKey::from_secret(SECRET64.as_bytes())),
        Algorithm::Hs512 => (J::HS512, EncodingKey::from_secret(SECRET64.as_bytes())),
        Algorithm::Es256 => (J::ES256, ec_key("p256")),
        Algorithm::Es384 => (J::ES384, ec_key("p384")),
        Algorithm::EdDsa => (
            J::EdDSA,
            EncodingKey::from_ed_pem(pem("ed25519").as_bytes()).unwrap(),
        ),
        rsa => (
            rsa.name().parse().unwrap(),
            EncodingKey::from_rsa_pem(pem("rsa2048").as_bytes()).unwrap(),
        ),
    };
    let header = Header {
        kid: Some("k1".into()),
        ..Header::new(jwt_alg)
    };
    jsonwebtoken::encode(&header, &claims("read:messages", json!({})), &key).unwrap()
}

fn ec_key(name: &str) -> EncodingKey {
    EncodingKey::from_ec_pem(pem(name).as_bytes()).unwrap()
}

fn header_alg(token: &str) -> String {
    let header = URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    serde_json::from_slice::<Value>(&header).unwrap()["alg"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `token` with its signature's first character changed.
fn flipped(token: &str) -> String {
    let (input, signature) = token.rsplit_once('.').unwrap();
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    format!("{input}.{first}{}", &signature[1..])
}

#[test]
fn each_algorithm_is_accepted_under_its_own_registration_and_refused_under_every_other() {
    let validators: Vec<_> = Algorithm::ALL
        .into_iter()
        .map(|alg| (alg, validator(alg)))
        .collect();
    for signed in Algorithm::ALL {
        let token = independent_token(signed);
        assert_eq!(header_alg(&token), signed.name());
        for (registered, validator) in &validators {
            let outcome = validator.validate(&token).map(|verified| {
                (
                    verified.subject().map(str::to_owned),
                    verified.scopes().contains("read:messages"),
                )
            });
            if signed == *registered {
                assert_eq!(
                    outcome.unwrap(),
                    (Some("client-1@clients".to_owned()), true),
                    "{signed} under {registered}"
                );
            } else {
                assert_eq!(
                    outcome.unwrap_err().kind(),
                    T::UnsupportedAlgorithm,
                    "{signed} under {registered}"
                );
            }
        }
        // Under its own registration, a changed signature fails: the acceptance above
        // rests on the signature, not on the header alone.
        let own = &validators.iter().find(|(alg, _)| *alg == signed).unwrap().1;
        assert_eq!(
            own.validate(&flipped(&token)).unwrap_err().kind(),
            T::InvalidSignature,
            "{signed}"
        );
    }
}

#[tokio::test]
async fn through_the_layer_each_algorithm_answers_200_or_401() {
    let route = |alg: Algorithm| -> Router {
        Router::new()
            .route("/private", get(|| async { "ok" }))
            .layer(builder(alg).build().unwrap())
    };
    let refused = (
        401,
        Some(RejectionKind::InvalidToken(T::UnsupportedAlgorithm)),
    );
    for (registered, signed) in [
        (Algorithm::Rs512, Algorithm::Rs512),
        (Algorithm::Rs512, Algorithm::Rs256),
        (Algorithm::Es512, Algorithm::Es512),
        (Algorithm::Es512, Algorithm::Es384),
        (Algorithm::Ed25519, Algorithm::Ed25519),
        (Algorithm::Ed25519, Algorithm::EdDsa),
        (Algorithm::EdDsa, Algorithm::Ed25519),
        (Algorithm::Hs512, Algorithm::Hs512),
        (Algorithm::Hs512, Algorithm::Hs384),
    ] {
        let expected = if registered == signed {
            (200, None)
        } else {
            refused
        };
        assert_eq!(
            status_and_reason("/private", &route(registered), &independent_token(signed)).await,
            expected,
            "{signed} under {registered}"
        );
    }
}

#[test]
fn eddsa_and_ed25519_are_accepted_together_only_when_asked() {
    let both = builder(Algorithm::EdDsa)
        .also_accept_algorithm(Algorithm::Ed25519)
        .build_validator()
        .unwrap();
    for alg in [Algorithm::EdDsa, Algorithm::Ed25519] {
        assert!(both.validate(&independent_token(alg)).is_ok(), "{alg}");
    }
    // The same key published with `alg: EdDSA` verifies only the EdDSA label.
    let named = jwks(&[jwk("ed25519", "k1", &json!({"alg": "EdDSA"}))]);
    let pinned_key = BearerGuardLayer::builder(api("EdDSA", None))
        .static_jwks(named)
        .also_accept_algorithm(Algorithm::Ed25519)
        .build_validator()
        .unwrap();
    assert!(
        pinned_key
            .validate(&independent_token(Algorithm::EdDsa))
            .is_ok()
    );
    assert_eq!(
        pinned_key
            .validate(&independent_token(Algorithm::Ed25519))
            .unwrap_err()
            .kind(),
        T::UnknownKeyId
    );
}

#[test]
fn published_vectors_verify_under_their_algorithm_only() {
    // Their payloads are not JWT claims ("Payload", "Example of Ed25519 signing"): a token
    // whose signature verifies fails as Malformed, after the signature, and the same token
    // with a changed signature fails as InvalidSignature.
    let rfc8037 = data("rfc8037_a4_ed25519.json");
    for (vector, token, alg) in [
        (data("rfc7515_a4_es512.json"), None, Algorithm::Es512),
        (rfc8037.clone(), None, Algorithm::EdDsa),
        (
            rfc8037,
            Some(python_token("rfc8037_a4_as_ed25519")),
            Algorithm::Ed25519,
        ),
    ] {
        let token = token.unwrap_or_else(|| vector["token"].as_str().unwrap().to_owned());
        let validator_for = |registered: Algorithm| {
            BearerGuardLayer::builder(api(registered.name(), None))
                .static_jwks(jwks(&[vector["jwk"].clone()]))
                .build_validator()
                .unwrap()
        };
        let own = validator_for(alg);
        assert_eq!(
            own.validate(&token).unwrap_err().kind(),
            T::Malformed,
            "{alg}"
        );
        assert_eq!(
            own.validate(&flipped(&token)).unwrap_err().kind(),
            T::InvalidSignature,
            "{alg}"
        );
        let other = match alg {
            Algorithm::Es512 => Algorithm::Es384,
            Algorithm::EdDsa => Algorithm::Ed25519,
            _ => Algorithm::EdDsa,
        };
        let other = BearerGuardLayer::builder(api(other.name(), None))
            .static_jwks(every_key())
            .build_validator()
            .unwrap();
        assert_eq!(
            other.validate(&token).unwrap_err().kind(),
            T::UnsupportedAlgorithm,
            "{alg}"
        );
    }
}

#[test]
fn rfc7515_appendix_a4_is_es512_with_a_p521_key() {
    // The vector's key, as an ES256 or ES384 key, is no key at all: the curve decides.
    let vector = data("rfc7515_a4_es512.json");
    for alg in ["ES256", "ES384"] {
        let err = BearerGuardLayer::builder(api(alg, None))
            .static_jwks(jwks(&[vector["jwk"].clone()]))
            .build()
            .map(|_| ())
            .unwrap_err();
        assert!(
            matches!(&err, ConfigError::InvalidJwks { problem } if problem.contains("none of its 1 keys")),
            "{alg}: {err}"
        );
    }
}

/// The DER form (`SEQUENCE { INTEGER r, INTEGER s }`) of a fixed-size ECDSA signature.
fn der_of(fixed: &[u8]) -> Vec<u8> {
    let integer = |half: &[u8]| {
        let trimmed: Vec<u8> = half.iter().copied().skip_while(|&b| b == 0).collect();
        let mut int = if trimmed.first().is_some_and(|&b| b >= 0x80) {
            vec![0]
        } else {
            Vec::new()
        };
        int.extend(trimmed);
        let mut out = vec![0x02, u8::try_from(int.len()).unwrap()];
        out.extend(int);
        out
    };
    let (r, s) = fixed.split_at(fixed.len() / 2);
    let body = [integer(r), integer(s)].concat();
    let mut der = vec![0x30];
    if body.len() >= 0x80 {
        der.push(0x81);
    }
    der.push(u8::try_from(body.len()).unwrap());
    der.extend(body);
    der
}

#[test]
fn ecdsa_signatures_other_than_fixed_size_r_and_s_are_refused() {
    for alg in [Algorithm::Es256, Algorithm::Es384, Algorithm::Es512] {
        let token = independent_token(alg);
        let validator = validator(alg);
        assert!(validator.validate(&token).is_ok(), "{alg}");
        let (input, signature) = token.rsplit_once('.').unwrap();
        let fixed = URL_SAFE_NO_PAD.decode(signature).unwrap();
        let der = der_of(&fixed);
        for (what, bytes) in [
            ("DER", der),
            ("one byte short", fixed[..fixed.len() - 1].to_vec()),
            ("one byte long", [&fixed[..], &[0]].concat()),
            ("zero R and S", vec![0; fixed.len()]),
        ] {
            let forged = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&bytes));
            assert_eq!(
                validator.validate(&forged).unwrap_err().kind(),
                T::InvalidSignature,
                "{alg} {what}"
            );
        }
    }
}

#[test]
fn hmac_secrets_must_be_at_least_the_hash_size() {
    let secret = |len: usize| "s".repeat(len);
    for (alg, min) in [("HS256", 32), ("HS384", 48), ("HS512", 64)] {
        let build = |len: usize| BearerGuardLayer::builder(api(alg, Some(&secret(len))));
        assert!(build(min).build().is_ok(), "{alg} {min}");
        let err = build(min - 1).build().map(|_| ()).unwrap_err();
        assert_eq!(
            err,
            ConfigError::SecretTooShort { len: min - 1, min },
            "{alg}"
        );
        assert!(
            err.to_string().contains(&format!("at least {min}")),
            "{err}"
        );
        // The existing escape hatch, for legacy secrets; an empty one is still refused.
        assert!(build(min - 1).allow_short_secret().build().is_ok(), "{alg}");
        assert_eq!(
            build(0)
                .allow_short_secret()
                .build()
                .map(|_| ())
                .unwrap_err(),
            ConfigError::EmptySecret
        );
        // A previous secret follows the same rule.
        let previous = build(min).previous_secret(secret(min - 1));
        assert_eq!(
            previous.build().map(|_| ()).unwrap_err(),
            ConfigError::SecretTooShort { len: min - 1, min },
            "{alg}"
        );
    }
}

#[test]
fn a_previous_hmac_secret_verifies_tokens_of_the_registered_hash() {
    let old = "an older signing secret, sixty-four bytes long, rotated out soon!";
    let validator = BearerGuardLayer::builder(api("HS384", Some(SECRET64)))
        .previous_secret(old)
        .build_validator()
        .unwrap();
    let sign = |alg: jsonwebtoken::Algorithm, secret: &str| {
        jsonwebtoken::encode(
            &Header::new(alg),
            &claims("", json!({})),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    for secret in [SECRET64, old] {
        assert!(
            validator
                .validate(&sign(jsonwebtoken::Algorithm::HS384, secret))
                .is_ok()
        );
        assert_eq!(
            validator
                .validate(&sign(jsonwebtoken::Algorithm::HS512, secret))
                .unwrap_err()
                .kind(),
            T::UnsupportedAlgorithm
        );
    }
}

#[test]
fn each_key_type_and_curve_serves_only_its_algorithms() {
    // An RSA modulus under 2048 bits, and each key under an algorithm of another type or
    // curve, is no key: the set has nothing for the registration.
    for (alg, key) in [
        ("RS512", "rsa1024"),
        ("PS384", "rsa1024"),
        ("RS384", "p384"),
        ("ES384", "p256"),
        ("ES384", "p521"),
        ("ES512", "p384"),
        ("ES512", "ed25519"),
        ("Ed25519", "p256"),
        ("EdDSA", "rsa2048"),
    ] {
        let err = BearerGuardLayer::builder(api(alg, None))
            .static_jwks(jwks(&[jwk(key, "k1", &json!({}))]))
            .build()
            .map(|_| ())
            .unwrap_err();
        assert!(
            matches!(err, ConfigError::InvalidJwks { .. }),
            "{alg} {key}: {err}"
        );
    }
}

#[test]
fn hmac_algorithms_never_verify_with_a_key_set_and_asymmetric_ones_never_with_a_secret() {
    for alg in ["HS384", "HS512"] {
        let err = BearerGuardLayer::builder(api(alg, Some(SECRET64)))
            .static_jwks(every_key())
            .build()
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::KeySetSettingForHs256 {
                setting: "static_jwks"
            }
        );
    }
    let err = builder(Algorithm::Rs512)
        .also_accept_algorithm(Algorithm::Hs512)
        .build()
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(err, ConfigError::UnsupportedAlgorithm { .. }),
        "{err}"
    );
    // An HS512 token keyed with the RSA public key (RFC 8725 §2.1) is refused by RS512.
    let public = jwk("rsa2048", "k1", &json!({})).to_string();
    let confused = jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS512),
        &claims("read:messages", json!({})),
        &EncodingKey::from_secret(public.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        validator(Algorithm::Rs512)
            .validate(&confused)
            .unwrap_err()
            .kind(),
        T::UnsupportedAlgorithm
    );
}

#[test]
fn an_unknown_signing_alg_is_refused_naming_every_supported_one() {
    for unknown in ["RS1024", "ES256K", "Ed448", "ed25519", "EDDSA", "none"] {
        let err = BearerGuardLayer::builder(api(unknown, Some(SECRET64)))
            .build()
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::UnsupportedAlgorithm {
                alg: unknown.into()
            }
        );
        let message = err.to_string();
        for alg in Algorithm::ALL {
            assert!(message.contains(alg.name()), "{alg}: {message}");
        }
    }
}

#[test]
fn tokens_of_every_algorithm_expire_as_any_other() {
    // The python tokens expire in 2100: after that, refused for their `exp`.
    let after = UNIX_EPOCH + Duration::from_secs(4_102_444_800 + 61);
    for alg in [Algorithm::Es512, Algorithm::Ed25519] {
        assert_eq!(
            validator(alg)
                .validate_at(&independent_token(alg), after)
                .unwrap_err()
                .kind(),
            T::Expired,
            "{alg}"
        );
    }
}
