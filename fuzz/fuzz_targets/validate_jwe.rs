//! Encrypted tokens (RFC 7516): any string as a token for an API whose registration has
//! `token_encryption` (the fixture key of `tests/data/jwe/`, `kid` `enc-2026`), and a valid
//! jwcrypto-made JWE with one of its five segments replaced by the input. Validation never
//! panics, and whatever passes is a five-segment JWE whose inner token is the fixture's.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use bearer_guard::registration::TokenEncryption;
use bearer_guard::{BearerGuardLayer, ResourceServer, TokenValidator};
use libfuzzer_sys::fuzz_target;

const PUBLIC: &str = include_str!("../../tests/data/jwe/rsa2048_enc.crt.pem");
const PRIVATE: &str = include_str!("../../tests/data/jwe/rsa2048_enc.pem");
const FIXTURES: &str = include_str!("../../tests/data/jwe/fixtures.json");

fn validator() -> &'static (TokenValidator, String) {
    static VALIDATOR: OnceLock<(TokenValidator, String)> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
            .with_token_encryption(
                TokenEncryption::compact_nested_jwe("RSA-OAEP-256", PUBLIC).with_kid("enc-2026"),
            );
        let validator = BearerGuardLayer::builder(api)
            .issuer("https://issuer.example/")
            .token_decryption_key(PRIVATE)
            .build_validator()
            .unwrap();
        let fixtures: serde_json::Value = serde_json::from_str(FIXTURES).unwrap();
        let valid = fixtures["valid"]["oaep256_kid_cty"].as_str().unwrap().to_owned();
        (validator, valid)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (validator, valid) = validator();
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut segments: Vec<&str> = valid.split('.').collect();
    let index = data.first().map_or(0, |byte| usize::from(*byte) % 5);
    segments[index] = input;
    let spliced = segments.join(".");
    for token in [input, spliced.as_str()] {
        if let Ok(verified) = validator.validate_at(token, now) {
            assert_eq!(token.split('.').count(), 5, "{token}");
            assert_eq!(verified.subject(), Some("client@clients"), "{token}");
        }
    }
});
