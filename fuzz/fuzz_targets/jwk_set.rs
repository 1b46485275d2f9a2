//! Any bytes as a JWK set document given to the builder: never a panic; a set that builds
//! verifies a token or refuses it with a documented kind.
//!
//! Input: one byte choosing the algorithm, then the document.

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use bearer_guard::{BearerGuardLayer, ResourceServer};
use libfuzzer_sys::fuzz_target;

const ALGS: [&str; 11] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
    "Ed25519",
];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, document)) = data.split_first() else {
        return;
    };
    let alg = ALGS[usize::from(choice) % ALGS.len()];
    let Ok(api) = ResourceServer::from_json(&format!(
        r#"{{"identifier": "https://my-api-urn", "signing_alg": "{alg}"}}"#
    )) else {
        return;
    };
    let built = BearerGuardLayer::builder(api)
        .static_jwks(String::from_utf8_lossy(document))
        .build_validator();
    if let Ok(validator) = built {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJl";
        let _ = validator.validate_at(token, now);
    }
});
