//! Any header and payload bytes, correctly signed: the claims checks never panic, and a token
//! that passes really has what the validator promised.
//!
//! Input: one flags byte, then the header bytes, a 0x00 byte, the payload bytes.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bearer_guard::{BearerGuardLayer, ResourceServer, TokenValidator};
use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

const SECRET: &str = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
const NOW: u64 = 1_700_000_000;

fn validators() -> &'static [TokenValidator; 4] {
    static VALIDATORS: OnceLock<[TokenValidator; 4]> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let api = || ResourceServer::new("https://my-api-urn", SECRET).with_token_lifetime(86_400);
        let built = [
            BearerGuardLayer::builder(api()).build(),
            BearerGuardLayer::builder(api())
                .issuer("https://issuer.example/")
                .rfc9068_profile()
                .build(),
            BearerGuardLayer::builder(api())
                .scope_claim("permissions")
                .max_token_age(Duration::from_secs(300))
                .build(),
            BearerGuardLayer::builder(api())
                .signing_secret_kid("k1")
                .previous_secret("a previous secret, 32 bytes long")
                .build(),
        ];
        built.map(|layer| layer.unwrap().validator().clone())
    })
}

fn sign(header: &[u8], payload: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{input}.{tag}")
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let split = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let (header, payload) = rest.split_at(split);
    let payload = payload.get(1..).unwrap_or_default();
    let token = sign(header, payload);
    let validator = &validators()[usize::from(flags % 4)];
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    if let Ok(verified) = validator.validate_at(&token, now) {
        // What passed must hold up: an expiry still ahead (within leeway) and readable claims.
        #[allow(clippy::cast_precision_loss)]
        let now = NOW as f64;
        assert!(verified.expires_at() + 60.0 > now, "{token}");
        if let Some(nbf) = verified.not_before() {
            assert!(nbf <= now + 60.0, "{token}");
        }
        let _ = (verified.subject(), verified.issuer(), verified.client_id());
        let _ = (
            verified.authorized_party(),
            verified.jwt_id(),
            verified.issued_at(),
        );
        for scope in verified.scopes().iter() {
            assert!(verified.scopes().contains(scope), "{token}");
        }
        // The claims bearer-guard does not read are only checked to be JSON, so a signed
        // payload may still hold a number beyond f64 that `claims::<Value>()` refuses (an
        // `Err`, which the `Claims<T>` extractor answers 401): see tests/attacks.rs.
        if let Ok(claims) = verified.claims::<serde_json::Value>() {
            assert!(claims.is_object(), "{token}");
        }
        assert_eq!(verified.claims_json().as_bytes(), payload, "{token}");
    }
});
