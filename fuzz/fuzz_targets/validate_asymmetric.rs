//! Any string as a token for APIs signed with every asymmetric algorithm (RS256/384/512,
//! PS256/384/512, ES256/384/512, EdDSA, Ed25519; static JWK sets of the fixture keys):
//! validation never panics, and whatever passes is readable and of the API's algorithm.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use bearer_guard::{BearerGuardLayer, ResourceServer, TokenValidator};
use libfuzzer_sys::fuzz_target;

const RSA: &str = include_str!("../../tests/data/keys/rsa2048.jwk.json");
const P256: &str = include_str!("../../tests/data/keys/p256.jwk.json");
const P384: &str = include_str!("../../tests/data/keys/p384.jwk.json");
const P521: &str = include_str!("../../tests/data/keys/p521.jwk.json");
const ED25519: &str = include_str!("../../tests/data/keys/ed25519.jwk.json");

/// Each API's algorithm and the fixture key its set holds.
const APIS: [(&str, &str); 11] = [
    ("RS256", RSA),
    ("RS384", RSA),
    ("RS512", RSA),
    ("PS256", RSA),
    ("PS384", RSA),
    ("PS512", RSA),
    ("ES256", P256),
    ("ES384", P384),
    ("ES512", P521),
    ("EdDSA", ED25519),
    ("Ed25519", ED25519),
];

fn validators() -> &'static [(&'static str, TokenValidator)] {
    static VALIDATORS: OnceLock<Vec<(&'static str, TokenValidator)>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let make = |alg: &str, jwk: &str| {
            let api = ResourceServer::from_json(&format!(
                r#"{{"identifier": "https://my-api-urn", "signing_alg": "{alg}"}}"#
            ))
            .unwrap();
            let jwk = jwk.trim().trim_end_matches('}');
            BearerGuardLayer::builder(api)
                .static_jwks(format!(r#"{{"keys": [{jwk}, "kid": "k1"}}]}}"#))
                .build_validator()
                .unwrap()
        };
        APIS.iter()
            .map(|&(alg, jwk)| (alg, make(alg, jwk)))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for (alg, validator) in validators() {
        if let Ok(verified) = validator.validate_at(token, now) {
            // Pinned: only a header naming the API's own algorithm can pass.
            let header = token.split('.').next().unwrap_or_default();
            let header =
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
                    .unwrap_or_default();
            let alg_in_header = serde_json::from_slice::<serde_json::Value>(&header)
                .ok()
                .and_then(|header| header["alg"].as_str().map(str::to_owned));
            assert_eq!(alg_in_header.as_deref(), Some(*alg), "{token}");
            let _ = (
                verified.subject(),
                verified.expires_at(),
                verified.claims_json(),
            );
        }
    }
});
