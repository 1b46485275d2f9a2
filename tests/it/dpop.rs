//! DPoP (RFC 9449) over the public API, without HTTP: proofs made by an independent
//! implementation (jsonwebtoken, with the fixture keys of `tests/data/keys`), every check of
//! §4.3 with a failing case, the RFC vectors, and replays caught by the in-memory store and,
//! with the `redis` feature, across two stores sharing a real `redis-server`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::keys::{dpop_proof, public_jwk, signed_raw};
use crate::common::{AUDIENCE, SECRET};
use bearer_guard::dpop::{
    DpopError, DpopNonces, DpopProof, DpopRequest, DpopSettings, DpopVerifier, MemoryReplayStore,
    NonceMode, NonceSettings, ReplayLimits, jwk_thumbprint,
};
use bearer_guard::issuer::TokenIssuer;
use bearer_guard::registration::SigningSecret;
use bearer_guard::{Algorithm as Alg, BearerGuardLayer, ConfigError, ResourceServer};
use http::HeaderValue;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

const URI: &str = "https://api.example.com/orders";
/// An access token's text, as the proof's `ath` covers it (its form does not matter here).
const ACCESS_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJjbmYiOnt9fQ.c2lnbmF0dXJl";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A new `jti` for each proof.
fn jti() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("jti-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The claims of a proof for `GET URI` with [`ACCESS_TOKEN`], issued now, with `extra`
/// merged in (a `null` removes the claim).
fn claims(extra: Value) -> Value {
    let mut claims = json!({
        "jti": jti(),
        "htm": "GET",
        "htu": URI,
        "iat": now(),
        "ath": DpopProof::access_token_hash(ACCESS_TOKEN),
    });
    crate::common::merge(&mut claims, &extra);
    claims
}

/// The RFC 7638 thumbprint of fixture key `name`.
fn jkt(name: &str) -> String {
    jwk_thumbprint(&public_jwk(name).to_string()).unwrap()
}

fn verifier() -> DpopVerifier {
    DpopVerifier::new(DpopSettings::default()).unwrap()
}

/// Verifies `proof` for `GET URI` now, with [`ACCESS_TOKEN`] bound to `bound_to`.
fn verify(proof: &str, bound_to: &str) -> Result<DpopProof, DpopError> {
    verify_jkt(proof, &jkt(bound_to))
}

/// Verifies `proof` for `GET URI` now, with [`ACCESS_TOKEN`] bound to the key `jkt`.
fn verify_jkt(proof: &str, jkt: &str) -> Result<DpopProof, DpopError> {
    let request =
        DpopRequest::new("GET", URI, SystemTime::now()).access_token(ACCESS_TOKEN, Some(jkt));
    verifier().verify([&HeaderValue::from_str(proof).unwrap()], &request)
}

/// A proof header for fixture key `name`, with `extra` merged in (a `null` removes).
fn header(alg: &str, name: &str, extra: Value) -> Value {
    let mut header = json!({ "typ": "dpop+jwt", "alg": alg, "jwk": public_jwk(name) });
    let map = header.as_object_mut().unwrap();
    for (member, value) in extra.as_object().unwrap() {
        if value.is_null() {
            map.remove(member);
        } else {
            map.insert(member.clone(), value.clone());
        }
    }
    header
}

#[test]
fn proofs_made_by_jsonwebtoken_verify_for_each_algorithm() {
    for (alg, name) in [
        (Algorithm::ES256, "p256"),
        (Algorithm::RS256, "rsa2048"),
        (Algorithm::PS256, "rsa2048"),
        (Algorithm::EdDSA, "ed25519"),
        (Algorithm::RS256, "rsa4096"),
    ] {
        let proof = dpop_proof(alg, name, &claims(json!({})));
        let verified = verify(&proof, name).unwrap_or_else(|err| panic!("{alg:?} {name}: {err:?}"));
        assert_eq!(verified.thumbprint(), jkt(name), "{alg:?} {name}");
    }
}

#[test]
fn rfc7638_thumbprint_vector() {
    let jwk = r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#;
    assert_eq!(
        jwk_thumbprint(jwk).unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn thumbprints_of_the_fixture_keys_are_stable_and_distinct() {
    // RSA, EC P-256 and P-384, OKP Ed25519: each has one, and no two are alike.
    let prints: Vec<String> = ["rsa2048", "p256", "p384", "ed25519"]
        .into_iter()
        .map(jkt)
        .collect();
    for (i, print) in prints.iter().enumerate() {
        assert_eq!(print.len(), 43, "{print}");
        assert!(!prints[i + 1..].contains(print));
    }
    // Members beyond the required ones do not count (RFC 7638 §3.2).
    let mut with_kid = public_jwk("p256");
    with_kid["kid"] = "k1".into();
    with_kid["use"] = "sig".into();
    assert_eq!(jwk_thumbprint(&with_kid.to_string()).unwrap(), jkt("p256"));
}

/// RFC 9449 §4.1's example proof header and claims (Figure 3), its key the one of §6.1's
/// `cnf.jkt`, and the encoded proof of §5 (Figure 6), which verifies at its own time and URI.
#[test]
fn rfc9449_example_proof_and_cnf() {
    let proof = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
    let decode = |segment: &str| -> Value {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(segment)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let segments: Vec<&str> = proof.split('.').collect();
    let header = decode(segments[0]);
    assert_eq!(
        header,
        json!({
            "typ": "dpop+jwt", "alg": "ES256",
            "jwk": {"kty": "EC", "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
                    "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA", "crv": "P-256"}
        })
    );
    assert_eq!(
        decode(segments[1]),
        json!({"jti": "-BwC3ESc6acc2lTc", "htm": "POST", "htu": "https://server.example.com/token", "iat": 1_562_262_616})
    );
    // §6.1: a token bound to this key carries this `jkt`.
    let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    assert_eq!(jwk_thumbprint(&header["jwk"].to_string()).unwrap(), jkt);

    let at = UNIX_EPOCH + Duration::from_secs(1_562_262_616 + 5);
    let request = DpopRequest::new("POST", "https://server.example.com/token", at);
    let verified = verifier()
        .verify([&HeaderValue::from_static(proof)], &request)
        .unwrap();
    assert_eq!(verified.thumbprint(), jkt);
    // Today, the same proof is long stale.
    let today = DpopRequest::new(
        "POST",
        "https://server.example.com/token",
        SystemTime::now(),
    );
    assert_eq!(
        verifier().verify([&HeaderValue::from_static(proof)], &today),
        Err(DpopError::Stale)
    );
}

/// §6.1's `cnf` claim in a token the validator verified: its `jkt` is what the proof's key
/// must match.
#[test]
fn dpop_bound_token_from_the_validator_meets_its_proof() {
    let api = ResourceServer::new(AUDIENCE, SECRET);
    let issuer = TokenIssuer::new(&api, "https://tenant.example/").unwrap();
    let validator = BearerGuardLayer::builder(api).build_validator().unwrap();
    let bound = |key: &str| {
        issuer
            .client_token("client-1")
            .claim("cnf", json!({ "jkt": jkt(key) }))
            .sign()
            .unwrap()
    };

    let token = bound("p256");
    let verified = validator.validate(&token).unwrap();
    let jkt = verified.confirmation_thumbprint();
    assert_eq!(jkt, Some(&*self::jkt("p256")));
    let ath = DpopProof::access_token_hash(&token);
    let proof = dpop_proof(Algorithm::ES256, "p256", &claims(json!({ "ath": ath })));
    let request = DpopRequest::new("GET", URI, SystemTime::now()).access_token(&token, jkt);
    let header = HeaderValue::from_str(&proof).unwrap();
    assert!(verifier().verify([&header], &request).is_ok());

    // The same proof key, and a token bound to another key: refused as invalid_token.
    let other = bound("ed25519");
    let other_verified = validator.validate(&other).unwrap();
    let ath = DpopProof::access_token_hash(&other);
    let proof = dpop_proof(Algorithm::ES256, "p256", &claims(json!({ "ath": ath })));
    let request = DpopRequest::new("GET", URI, SystemTime::now())
        .access_token(&other, other_verified.confirmation_thumbprint());
    let err = verifier()
        .verify([&HeaderValue::from_str(&proof).unwrap()], &request)
        .unwrap_err();
    assert_eq!(
        (err, err.error_code()),
        (DpopError::KeyMismatch, Some("invalid_token"))
    );

    // A token without `cnf` has no thumbprint; with DPoP it is refused.
    let unbound = issuer.client_token("client-1").sign().unwrap();
    let unbound_verified = validator.validate(&unbound).unwrap();
    assert_eq!(unbound_verified.confirmation_thumbprint(), None);
    let ath = DpopProof::access_token_hash(&unbound);
    let proof = dpop_proof(Algorithm::ES256, "p256", &claims(json!({ "ath": ath })));
    let request = DpopRequest::new("GET", URI, SystemTime::now()).access_token(&unbound, None);
    assert_eq!(
        verifier().verify([&HeaderValue::from_str(&proof).unwrap()], &request),
        Err(DpopError::UnboundToken)
    );
}

/// Every check of RFC 9449 §4.3, each with a proof that fails it alone.
#[test]
fn each_check_refuses_its_own_failure() {
    let es256 = |extra: Value| dpop_proof(Algorithm::ES256, "p256", &claims(extra));
    let raw =
        |header: Value, extra: Value| signed_raw(Algorithm::ES256, "p256", &header, &claims(extra));
    let hs256 = {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = header("HS256", "p256", json!({}));
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims(json!({})).to_string())
        );
        let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::HS256).unwrap();
        format!("{input}.{signature}")
    };
    let alg_none = {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header("none", "p256", json!({})).to_string()),
            URL_SAFE_NO_PAD.encode(claims(json!({})).to_string())
        )
    };
    let mut private_jwk = public_jwk("p256");
    // Any private member disqualifies the key, whatever its value.
    private_jwk["d"] = "3BPBQFpIYiSW2rb9hHnNnJRQnQSKpyNYXgYtCYkcgXk".into();
    let mut oct_jwk = json!({ "kty": "oct", "k": "c2VjcmV0" });
    oct_jwk["alg"] = "ES256".into();
    let now = now();

    let cases: Vec<(&str, String, DpopError)> = vec![
        (
            "htm of another method",
            es256(json!({ "htm": "POST" })),
            DpopError::MethodMismatch,
        ),
        (
            "htm in lowercase",
            es256(json!({ "htm": "get" })),
            DpopError::MethodMismatch,
        ),
        (
            "htu with a query",
            es256(json!({ "htu": format!("{URI}?page=2") })),
            DpopError::UriMismatch,
        ),
        (
            "htu with a fragment",
            es256(json!({ "htu": format!("{URI}#top") })),
            DpopError::UriMismatch,
        ),
        (
            "htu of another path",
            es256(json!({ "htu": "https://api.example.com/users" })),
            DpopError::UriMismatch,
        ),
        (
            "htu of another host",
            es256(json!({ "htu": "https://evil.example.com/orders" })),
            DpopError::UriMismatch,
        ),
        (
            "htu over http",
            es256(json!({ "htu": "http://api.example.com/orders" })),
            DpopError::UriMismatch,
        ),
        (
            "stale iat",
            es256(json!({ "iat": now - 300 })),
            DpopError::Stale,
        ),
        (
            "future iat",
            es256(json!({ "iat": now + 300 })),
            DpopError::IssuedInFuture,
        ),
        (
            "iat as a string",
            es256(json!({ "iat": now.to_string() })),
            DpopError::Malformed,
        ),
        (
            "missing ath",
            es256(json!({ "ath": null })),
            DpopError::MissingAccessTokenHash,
        ),
        (
            "ath of another token",
            es256(json!({ "ath": DpopProof::access_token_hash("another token") })),
            DpopError::AccessTokenHashMismatch,
        ),
        (
            "missing jti",
            es256(json!({ "jti": null })),
            DpopError::MissingClaim { claim: "jti" },
        ),
        (
            "empty jti",
            es256(json!({ "jti": "" })),
            DpopError::MissingClaim { claim: "jti" },
        ),
        (
            "missing htm",
            es256(json!({ "htm": null })),
            DpopError::MissingClaim { claim: "htm" },
        ),
        (
            "missing htu",
            es256(json!({ "htu": null })),
            DpopError::MissingClaim { claim: "htu" },
        ),
        (
            "missing iat",
            es256(json!({ "iat": null })),
            DpopError::MissingClaim { claim: "iat" },
        ),
        (
            "jwk with d",
            raw(
                header("ES256", "p256", json!({ "jwk": private_jwk })),
                json!({}),
            ),
            DpopError::PrivateKey,
        ),
        (
            "symmetric jwk",
            raw(
                header("ES256", "p256", json!({ "jwk": oct_jwk })),
                json!({}),
            ),
            DpopError::PrivateKey,
        ),
        ("HS256 proof", hs256, DpopError::UnsupportedAlgorithm),
        ("alg none", alg_none, DpopError::UnsupportedAlgorithm),
        (
            "alg missing",
            raw(header("ES256", "p256", json!({ "alg": null })), json!({})),
            DpopError::UnsupportedAlgorithm,
        ),
        (
            "alg ES384",
            raw(header("ES384", "p256", json!({})), json!({})),
            DpopError::UnsupportedAlgorithm,
        ),
        (
            "typ missing",
            raw(header("ES256", "p256", json!({ "typ": null })), json!({})),
            DpopError::InvalidType,
        ),
        (
            "typ JWT",
            raw(header("ES256", "p256", json!({ "typ": "JWT" })), json!({})),
            DpopError::InvalidType,
        ),
        (
            "crit",
            raw(
                header("ES256", "p256", json!({ "crit": ["exp"] })),
                json!({}),
            ),
            DpopError::CriticalHeader,
        ),
        (
            "jwk missing",
            raw(header("ES256", "p256", json!({ "jwk": null })), json!({})),
            DpopError::MissingKey,
        ),
    ];
    for (name, proof, expected) in cases {
        assert_eq!(verify(&proof, "p256").map(|_| ()), Err(expected), "{name}");
    }
    // Proofs whose `jwk` the token is bound to, and that fail on the key itself.
    let rfc_jwk = json!({
        "kty": "EC", "crv": "P-256",
        "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
        "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"
    });
    let rfc_jkt = jwk_thumbprint(&rfc_jwk.to_string()).unwrap();
    let key_cases = [
        (
            "jwk of another key than the signer's",
            signed_raw(
                Algorithm::ES256,
                "p256",
                &header("ES256", "p256", json!({ "jwk": rfc_jwk })),
                &claims(json!({})),
            ),
            rfc_jkt,
            DpopError::InvalidSignature,
        ),
        (
            "ES256 with a P-384 key",
            signed_raw(
                Algorithm::ES384,
                "p384",
                &header("ES256", "p384", json!({})),
                &claims(json!({})),
            ),
            jkt("p384"),
            DpopError::UnusableKey,
        ),
        (
            "RSA key of 1024 bits",
            signed_raw(
                Algorithm::RS256,
                "rsa1024",
                &header("RS256", "rsa1024", json!({})),
                &claims(json!({})),
            ),
            jkt("rsa1024"),
            DpopError::UnusableKey,
        ),
    ];
    for (name, proof, jkt, expected) in key_cases {
        assert_eq!(
            verify_jkt(&proof, &jkt).map(|_| ()),
            Err(expected),
            "{name}"
        );
    }
    // The unchanged proof passes: each failure above is its own.
    assert!(verify(&es256(json!({})), "p256").is_ok());
    // Within the window (60 s) plus leeway (60 s) before now, 10 s after; the exact edges
    // are tested with a fixed clock (`iat_edges_with_a_fixed_clock`).
    for iat in [now - 100, now + 5] {
        assert!(
            verify(&es256(json!({ "iat": iat })), "p256").is_ok(),
            "{iat}"
        );
    }
}

#[test]
fn bound_to_another_key_is_invalid_token() {
    let proof = dpop_proof(Algorithm::ES256, "p256", &claims(json!({})));
    let err = verify(&proof, "rsa2048").unwrap_err();
    assert_eq!(err, DpopError::KeyMismatch);
    assert_eq!(err.error_code(), Some("invalid_token"));
}

#[test]
fn one_proof_header_exactly() {
    let proof =
        HeaderValue::from_str(&dpop_proof(Algorithm::ES256, "p256", &claims(json!({})))).unwrap();
    let other =
        HeaderValue::from_str(&dpop_proof(Algorithm::ES256, "p256", &claims(json!({})))).unwrap();
    let jkt = jkt("p256");
    let request =
        DpopRequest::new("GET", URI, SystemTime::now()).access_token(ACCESS_TOKEN, Some(&jkt));
    let mut headers = http::HeaderMap::new();
    headers.append("dpop", proof.clone());
    assert!(verifier().verify(headers.get_all("dpop"), &request).is_ok());
    headers.append("dpop", other);
    let err = verifier()
        .verify(headers.get_all("dpop"), &request)
        .unwrap_err();
    assert_eq!(
        (err, err.status().as_u16()),
        (DpopError::MultipleProofs, 400)
    );
    assert_eq!(
        verifier().verify(http::HeaderMap::new().get_all("dpop"), &request),
        Err(DpopError::MissingProof)
    );
}

#[test]
fn server_nonce_when_the_caller_gives_one() {
    let jkt = jkt("p256");
    let request = |nonce| {
        DpopRequest::new("GET", URI, SystemTime::now())
            .access_token(ACCESS_TOKEN, Some(&jkt))
            .nonce(nonce)
    };
    let check = |proof: &str, nonce| {
        verifier().verify([&HeaderValue::from_str(proof).unwrap()], &request(nonce))
    };
    let with_nonce = dpop_proof(Algorithm::ES256, "p256", &claims(json!({ "nonce": "n-1" })));
    let without = dpop_proof(Algorithm::ES256, "p256", &claims(json!({})));
    assert!(check(&with_nonce, "n-1").is_ok());
    let stale = check(&with_nonce, "n-2").unwrap_err();
    assert_eq!(
        (stale, stale.error_code()),
        (DpopError::StaleNonce, Some("use_dpop_nonce"))
    );
    assert_eq!(check(&without, "n-1"), Err(DpopError::NonceRequired));
}

#[test]
fn settings_out_of_bounds_are_config_errors() {
    for settings in [
        DpopSettings::default().algorithms([Alg::Hs256]),
        DpopSettings::default().algorithms([]),
        DpopSettings::default().iat_window(Duration::ZERO),
        DpopSettings::default().leeway(Duration::from_secs(3600)),
    ] {
        assert!(
            matches!(
                DpopVerifier::new(settings.clone()),
                Err(ConfigError::DpopSetting { .. })
            ),
            "{settings:?}"
        );
    }
    // A verifier that takes EdDSA alone refuses ES256 proofs.
    let eddsa = DpopVerifier::new(DpopSettings::default().algorithms([Alg::EdDsa])).unwrap();
    let jkt = jkt("p256");
    let request =
        DpopRequest::new("GET", URI, SystemTime::now()).access_token(ACCESS_TOKEN, Some(&jkt));
    let proof =
        HeaderValue::from_str(&dpop_proof(Algorithm::ES256, "p256", &claims(json!({})))).unwrap();
    assert_eq!(
        eddsa.verify([&proof], &request),
        Err(DpopError::UnsupportedAlgorithm)
    );
}

#[tokio::test]
async fn a_replayed_proof_is_refused_by_the_same_store() {
    let store = MemoryReplayStore::new();
    let proof = dpop_proof(Algorithm::ES256, "p256", &claims(json!({})));
    let first = verify(&proof, "p256").unwrap();
    assert_eq!(first.check_replay(&store).await, Ok(()));
    let again = verify(&proof, "p256").unwrap();
    assert_eq!(again.check_replay(&store).await, Err(DpopError::Replayed));
    // Another proof, another jti: first time.
    let fresh = verify(
        &dpop_proof(Algorithm::ES256, "p256", &claims(json!({}))),
        "p256",
    )
    .unwrap();
    assert_eq!(fresh.check_replay(&store).await, Ok(()));
    // Another store (another instance) knows nothing of it: why fleets need a shared store.
    let elsewhere = MemoryReplayStore::new();
    assert_eq!(again.check_replay(&elsewhere).await, Ok(()));
}

/// A proof by `key` (EdDSA for `ed25519`, ES256 for `p256`) for `GET URI` with
/// [`ACCESS_TOKEN`], its claims `extra` merged in.
fn proof_by(key: &str, extra: Value) -> HeaderValue {
    let alg = if key == "ed25519" {
        Algorithm::EdDSA
    } else {
        Algorithm::ES256
    };
    HeaderValue::from_str(&dpop_proof(alg, key, &claims(extra))).unwrap()
}

/// `GET URI` at `now` seconds, with [`ACCESS_TOKEN`] bound to `jkt`.
fn request_at<'a>(jkt: &'a str, now: u64) -> DpopRequest<'a> {
    DpopRequest::new("GET", URI, UNIX_EPOCH + Duration::from_secs(now))
        .access_token(ACCESS_TOKEN, Some(jkt))
}

#[test]
fn iat_edges_with_a_fixed_clock() {
    let t = 1_800_000_000;
    let jkt = jkt("p256");
    let proof = proof_by("p256", json!({ "iat": t }));
    let check = |now| verifier().verify([&proof], &request_at(&jkt, now));
    // 60 s window + 60 s leeway before now; 10 s after.
    assert_eq!(check(t + 121), Err(DpopError::Stale));
    assert_eq!(check(t - 11), Err(DpopError::IssuedInFuture));
    // Remembered until `iat` + 120 s: at most 130 s, for a proof at the future edge.
    for (now, ttl) in [(t + 120, 1), (t, 120), (t - 10, 130)] {
        assert_eq!(
            check(now).unwrap().replay_ttl(),
            Duration::from_secs(ttl),
            "{now}"
        );
    }
    // A wider future side, where the operator asks for it.
    let lenient =
        DpopVerifier::new(DpopSettings::default().max_future_iat(Duration::from_secs(60))).unwrap();
    assert!(lenient.verify([&proof], &request_at(&jkt, t - 60)).is_ok());
    assert_eq!(
        lenient.verify([&proof], &request_at(&jkt, t - 61)),
        Err(DpopError::IssuedInFuture)
    );
}

#[tokio::test]
async fn a_flood_from_one_key_never_refuses_another_in_memory() {
    let store = MemoryReplayStore::with_limits(ReplayLimits::default().capacity(1_000).per_key(20))
        .unwrap();
    let (flooder, honest) = (jkt("ed25519"), jkt("p256"));
    let now = now();
    let mut refused = 0;
    for i in 0..100 {
        let flood = verifier()
            .verify(
                [&proof_by("ed25519", json!({ "iat": now }))],
                &request_at(&flooder, now),
            )
            .unwrap();
        match flood.check_replay(&store).await {
            Ok(()) => {}
            Err(DpopError::KeyOverQuota) => refused += 1,
            Err(other) => panic!("{other:?}"),
        }
        if i % 10 == 0 {
            let proof = verifier()
                .verify(
                    [&proof_by("p256", json!({ "iat": now }))],
                    &request_at(&honest, now),
                )
                .unwrap();
            assert_eq!(proof.check_replay(&store).await, Ok(()), "{i}");
        }
    }
    assert_eq!(refused, 80);
    assert_eq!((store.len(), store.keys()), (30, 2));
}

#[tokio::test]
async fn a_full_store_is_a_503_with_when_to_retry() {
    let store =
        MemoryReplayStore::with_limits(ReplayLimits::default().capacity(2).per_key(1)).unwrap();
    let now = now();
    for key in ["ed25519", "p256"] {
        let jkt = jkt(key);
        let proof = verifier().verify(
            [&proof_by(key, json!({ "iat": now }))],
            &request_at(&jkt, now),
        );
        assert_eq!(proof.unwrap().check_replay(&store).await, Ok(()));
    }
    let jkt = jkt("rsa2048");
    let proof = dpop_proof(Algorithm::RS256, "rsa2048", &claims(json!({ "iat": now })));
    let proof = verifier()
        .verify(
            [&HeaderValue::from_str(&proof).unwrap()],
            &request_at(&jkt, now),
        )
        .unwrap();
    let err = proof.check_replay(&store).await.unwrap_err();
    assert!(matches!(err, DpopError::ReplayStoreFull { .. }), "{err:?}");
    // Until the soonest entry expires: 120 s from `iat`, less what the clock moved.
    let wait = err.retry_after().unwrap();
    assert!(
        (Duration::from_secs(110)..=Duration::from_secs(120)).contains(&wait),
        "{wait:?}"
    );
    assert_eq!((err.status().as_u16(), err.error_code()), (503, None));
}

fn nonces(mode: NonceMode, secret: u8) -> DpopNonces {
    DpopNonces::new(
        NonceSettings::default()
            .mode(mode)
            .secret(SigningSecret::from_bytes([secret; 32])),
    )
    .unwrap()
}

#[test]
fn server_nonces_through_the_verifier() {
    // The start of a 30 s slot.
    let t = 1_800_000_000;
    let required = nonces(NonceMode::Required, 1);
    let on = nonces(NonceMode::On, 1);
    let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
    let nonce = required.issue(at(t)).unwrap();
    let jkt = jkt("p256");
    let with_nonce = proof_by("p256", json!({ "iat": t, "nonce": nonce }));
    let without = proof_by("p256", json!({ "iat": t }));
    let check = |proof: &HeaderValue, nonces, now| {
        verifier().verify([proof], &request_at(&jkt, now).nonces(nonces))
    };

    // Fresh: passes, and is remembered only while its nonce is fresh (to t + 60), not until
    // its iat leaves the window (t + 120).
    let fresh = check(&with_nonce, &required, t).unwrap();
    assert_eq!(
        (fresh.replay_ttl(), fresh.send_new_nonce()),
        (Duration::from_secs(60), false)
    );
    // A slot later: passes, and a new nonce should ride on the answer (RFC 9449 §8.2).
    let turned = check(&with_nonce, &required, t + 45).unwrap();
    assert_eq!(
        (turned.replay_ttl(), turned.send_new_nonce()),
        (Duration::from_secs(15), true)
    );
    // Two slots later: stale, within the iat window.
    let stale = check(&with_nonce, &required, t + 60).unwrap_err();
    assert_eq!((stale, stale.wants_nonce()), (DpopError::StaleNonce, true));
    // No nonce: required refuses, on takes it (for the iat window) and sends one.
    assert_eq!(check(&without, &required, t), Err(DpopError::NonceRequired));
    let invited = check(&without, &on, t).unwrap();
    assert_eq!(
        (invited.replay_ttl(), invited.send_new_nonce()),
        (Duration::from_secs(120), true)
    );
    // Another fleet's nonce (another secret) is refused, whatever the mode.
    let theirs = nonces(NonceMode::Required, 2).issue(at(t)).unwrap();
    let foreign = proof_by("p256", json!({ "iat": t, "nonce": theirs }));
    for mode in [&required, &on] {
        let err = check(&foreign, mode, t).unwrap_err();
        assert_eq!(
            (err, err.error_code(), err.status().as_u16()),
            (DpopError::ForeignNonce, Some("use_dpop_nonce"), 401)
        );
    }
    // Off: the nonce is not looked at.
    let off = nonces(NonceMode::Off, 1);
    let ignored = check(&foreign, &off, t).unwrap();
    assert_eq!(
        (ignored.replay_ttl(), ignored.send_new_nonce()),
        (Duration::from_secs(120), false)
    );
}

#[cfg(feature = "redis")]
mod redis {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use bearer_guard::dpop::{RedisReplayStore, Replay, ReplayError, ReplayKey, ReplayStore};

    use super::*;
    use crate::common::redis::RedisServer;

    #[tokio::test]
    async fn a_proof_replayed_to_another_instance_is_refused_there() {
        let Some(server) = RedisServer::start() else {
            return;
        };
        // Two instances of the API, each with its own connection to the one Redis.
        let one = RedisReplayStore::connect(&server.url()).await.unwrap();
        let two = RedisReplayStore::connect(&server.url()).await.unwrap();

        let proof = dpop_proof(Algorithm::ES256, "p256", &claims(json!({})));
        let at_one = verify(&proof, "p256").unwrap();
        assert_eq!(at_one.check_replay(&one).await, Ok(()));
        let at_two = verify(&proof, "p256").unwrap();
        assert_eq!(at_two.check_replay(&two).await, Err(DpopError::Replayed));
        assert_eq!(at_one.check_replay(&one).await, Err(DpopError::Replayed));

        // A fresh proof is first on either, then seen on the other.
        let fresh = verify(
            &dpop_proof(Algorithm::EdDSA, "ed25519", &claims(json!({}))),
            "ed25519",
        )
        .unwrap();
        assert_eq!(fresh.check_replay(&two).await, Ok(()));
        assert_eq!(fresh.check_replay(&one).await, Err(DpopError::Replayed));
    }

    #[tokio::test]
    async fn entries_are_one_sorted_set_per_key_with_the_ttl_and_the_prefix_and_no_proof_text() {
        let Some(server) = RedisServer::start() else {
            return;
        };
        let store = RedisReplayStore::connect(&server.url())
            .await
            .unwrap()
            .key_prefix("test:");
        let key = ReplayKey::new("thumbprint", "jti-ttl");
        assert_eq!(
            store.record(key, Duration::from_secs(120)).await,
            Ok(Replay::First)
        );
        assert_eq!(
            store.record(key, Duration::from_secs(120)).await,
            Ok(Replay::Seen)
        );
        let second = ReplayKey::new("thumbprint", "jti-2");
        assert_eq!(
            store.record(second, Duration::from_secs(60)).await,
            Ok(Replay::First)
        );

        let mut conn = connection(&server).await;
        let name = format!("test:{}", URL_SAFE_NO_PAD.encode(key.signer()));
        let keys: Vec<String> = ::redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(keys, std::slice::from_ref(&name));
        // The set lives as long as its longest-lived proof; each member is a proof's 32
        // bytes, scored by its expiry.
        let ttl: i64 = ::redis::cmd("PTTL")
            .arg(&name)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!((60_001..=120_000).contains(&ttl), "{ttl}");
        let members: Vec<Vec<u8>> = ::redis::cmd("ZRANGE")
            .arg(&name)
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            members,
            [second.as_bytes().to_vec(), key.as_bytes().to_vec()]
        );
        // Keys of another prefix are apart.
        let other = RedisReplayStore::connect(&server.url())
            .await
            .unwrap()
            .key_prefix("other:");
        assert_eq!(
            other.record(key, Duration::from_secs(120)).await,
            Ok(Replay::First)
        );
    }

    async fn connection(server: &RedisServer) -> ::redis::aio::MultiplexedConnection {
        let client = ::redis::Client::open(server.url()).unwrap();
        client.get_multiplexed_async_connection().await.unwrap()
    }

    #[tokio::test]
    async fn a_flood_from_one_key_never_refuses_another_across_instances() {
        let Some(server) = RedisServer::start() else {
            return;
        };
        // Two instances with one Redis, a quota of 20 proofs per key.
        let one = RedisReplayStore::connect(&server.url())
            .await
            .unwrap()
            .per_key(20)
            .unwrap();
        let two = RedisReplayStore::connect(&server.url())
            .await
            .unwrap()
            .per_key(20)
            .unwrap();
        let ttl = Duration::from_secs(120);
        let flood = |i: usize| ReplayKey::new("flooding-key", &format!("f-{i}"));
        let mut answers = Vec::new();
        for i in 0..200 {
            // The flood alternates between the instances: the quota is the fleet's.
            let store = if i % 2 == 0 { &one } else { &two };
            answers.push(store.record(flood(i), ttl).await.unwrap());
            if i % 10 == 0 {
                let honest = ReplayKey::new("honest-key", &format!("h-{i}"));
                let store = if i % 20 == 0 { &two } else { &one };
                assert_eq!(store.record(honest, ttl).await, Ok(Replay::First), "{i}");
            }
        }
        let first = answers.iter().filter(|a| **a == Replay::First).count();
        let over = answers.iter().filter(|a| **a == Replay::OverQuota).count();
        assert_eq!((first, over), (20, 180));
        assert!(answers[..20].iter().all(|a| *a == Replay::First));
        // A replay of a recorded proof is still a replay, not an over-quota.
        assert_eq!(one.record(flood(1), ttl).await, Ok(Replay::Seen));
        // Through the verifier: the flooding key's own proof is refused with its own error.
        let flooded = RedisReplayStore::connect(&server.url())
            .await
            .unwrap()
            .per_key(1)
            .unwrap();
        let proof = |()| {
            verify(
                &dpop_proof(Algorithm::EdDSA, "ed25519", &claims(json!({}))),
                "ed25519",
            )
            .unwrap()
        };
        assert_eq!(proof(()).check_replay(&flooded).await, Ok(()));
        let err = proof(()).check_replay(&flooded).await.unwrap_err();
        assert_eq!(
            (err, err.error_code(), err.status().as_u16()),
            (DpopError::KeyOverQuota, Some("invalid_dpop_proof"), 401)
        );
        let other = verify(
            &dpop_proof(Algorithm::ES256, "p256", &claims(json!({}))),
            "p256",
        )
        .unwrap();
        assert_eq!(other.check_replay(&flooded).await, Ok(()));
        // Nonsense quotas are refused when the store is made.
        for bad in [0, 1_000_001] {
            assert!(matches!(
                RedisReplayStore::connect(&server.url())
                    .await
                    .unwrap()
                    .per_key(bad),
                Err(ConfigError::DpopSetting {
                    setting: "replay per_key",
                    ..
                })
            ));
        }
    }

    #[tokio::test]
    async fn a_keys_quota_frees_as_its_proofs_expire() {
        let Some(server) = RedisServer::start() else {
            return;
        };
        let store = RedisReplayStore::connect(&server.url())
            .await
            .unwrap()
            .per_key(2)
            .unwrap();
        let key = |jti: &str| ReplayKey::new("k", jti);
        assert_eq!(
            store.record(key("a"), Duration::from_secs(120)).await,
            Ok(Replay::First)
        );
        assert_eq!(
            store.record(key("b"), Duration::from_secs(120)).await,
            Ok(Replay::First)
        );
        assert_eq!(
            store.record(key("c"), Duration::from_secs(120)).await,
            Ok(Replay::OverQuota)
        );
        // Redis's clock decides expiry: move "a"'s expiry into the past, as if its time came
        // (no waiting in tests).
        let mut conn = connection(&server).await;
        let name = format!(
            "{}{}",
            "bearer-guard:dpop:",
            URL_SAFE_NO_PAD.encode(key("a").signer())
        );
        let _: i64 = ::redis::cmd("ZADD")
            .arg(&name)
            .arg("XX")
            .arg(1)
            .arg(key("a").as_bytes().as_slice())
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            store.record(key("c"), Duration::from_secs(120)).await,
            Ok(Replay::First)
        );
        assert_eq!(
            store.record(key("d"), Duration::from_secs(120)).await,
            Ok(Replay::OverQuota)
        );
        assert_eq!(
            store.record(key("b"), Duration::from_secs(120)).await,
            Ok(Replay::Seen)
        );
    }

    #[tokio::test]
    async fn a_redis_that_fails_is_an_error_never_an_accept() {
        let Some(server) = RedisServer::start() else {
            return;
        };
        let store = RedisReplayStore::connect(&server.url()).await.unwrap();
        let proof = verify(
            &dpop_proof(Algorithm::ES256, "p256", &claims(json!({}))),
            "p256",
        )
        .unwrap();
        drop(server);
        let err = proof.check_replay(&store).await.unwrap_err();
        assert_eq!(
            err,
            DpopError::ReplayStoreUnavailable {
                retry_after: Duration::from_secs(5)
            }
        );
        assert_eq!((err.status().as_u16(), err.error_code()), (503, None));
        // Nor can a store be made from what is not a Redis URL. (Where no Redis listens,
        // `connect` fails too, after the connection manager's six attempts: about 10 s.)
        assert!(matches!(
            RedisReplayStore::connect("not a url").await,
            Err(ReplayError::Unavailable { .. })
        ));
    }

    #[tokio::test]
    async fn debug_shows_the_prefix_and_the_quota_and_never_the_url() {
        let Some(server) = RedisServer::start() else {
            return;
        };
        let store = RedisReplayStore::connect(&server.url())
            .await
            .unwrap()
            .key_prefix("api-one:")
            .per_key(7)
            .unwrap();
        let debug = format!("{store:?}");
        assert_eq!(
            debug,
            r#"RedisReplayStore { prefix: "api-one:", per_key: 7, .. }"#
        );
        assert!(!debug.contains(&server.url()), "{debug}");
    }
}
