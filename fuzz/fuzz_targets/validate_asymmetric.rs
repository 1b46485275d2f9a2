//! Any string as a token for APIs signed with RS256, ES256 and EdDSA (static JWK sets of the
//! fixture keys): validation never panics, and whatever passes is readable.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use bearer_guard::{BearerGuardLayer, ResourceServer, TokenValidator};
use libfuzzer_sys::fuzz_target;

fn validators() -> &'static [TokenValidator; 3] {
    static VALIDATORS: OnceLock<[TokenValidator; 3]> = OnceLock::new();
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
        [
            make(
                "RS256",
                include_str!("../../tests/data/keys/rsa2048.jwk.json"),
            ),
            make("ES256", include_str!("../../tests/data/keys/p256.jwk.json")),
            make(
                "EdDSA",
                include_str!("../../tests/data/keys/ed25519.jwk.json"),
            ),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for validator in validators() {
        if let Ok(verified) = validator.validate_at(token, now) {
            let _ = (
                verified.subject(),
                verified.expires_at(),
                verified.claims_json(),
            );
        }
    }
});
