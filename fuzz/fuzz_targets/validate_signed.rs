//! Any header and payload bytes, correctly signed: the claims checks never panic, and a token
//! that passes really has what the validator promised. HS256 in four configurations, and
//! HS384 and HS512 APIs, each signed with its own algorithm.
//!
//! Input: one flags byte, then the header bytes, a 0x00 byte, the payload bytes.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use bearer_guard::{BearerGuardLayer, ResourceServer, TokenValidator};
use jsonwebtoken::Algorithm;
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/it/common/demo.rs"]
mod demo;

use demo::{AUDIENCE, SECRET};
const NOW: u64 = 1_700_000_000;
/// Long enough for HS512 (64 bytes).
const SECRET64: &str = "a signing secret of sixty-four bytes, long enough for HS512 too!";

/// Each validator's signing algorithm and secret, in the order of `validators()`.
const SIGNERS: [(Algorithm, &str); 6] = [
    (Algorithm::HS256, SECRET),
    (Algorithm::HS256, SECRET),
    (Algorithm::HS256, SECRET),
    (Algorithm::HS256, SECRET),
    (Algorithm::HS384, SECRET64),
    (Algorithm::HS512, SECRET64),
];

fn validators() -> &'static [TokenValidator; 6] {
    static VALIDATORS: OnceLock<[TokenValidator; 6]> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let api = || ResourceServer::new(AUDIENCE, SECRET).with_token_lifetime(86_400);
        let hmac = |alg: &str| {
            ResourceServer::from_json(&format!(
                r#"{{"identifier": "{AUDIENCE}", "signing_alg": "{alg}", "signing_secret": "{SECRET64}", "token_lifetime": 86400}}"#
            ))
            .unwrap()
        };
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
            BearerGuardLayer::builder(hmac("HS384")).build(),
            BearerGuardLayer::builder(hmac("HS512")).build(),
        ];
        built.map(|layer| layer.unwrap().validator().clone())
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let split = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let (header, payload) = rest.split_at(split);
    let payload = payload.get(1..).unwrap_or_default();
    let which = usize::from(flags) % SIGNERS.len();
    let (alg, secret) = SIGNERS[which];
    let token = demo::sign(alg, secret.as_bytes(), header, payload);
    let validator = &validators()[which];
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    if let Ok(verified) = validator.validate_at(&token, now) {
        // What passed must hold up: an expiry still ahead (within leeway) and readable claims.
        let leeway = Duration::from_secs(60);
        assert!(verified.expires_at() + leeway > now, "{token}");
        if let Some(nbf) = verified.not_before() {
            assert!(nbf <= now + leeway, "{token}");
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
        // `Err`, which the `Claims<T>` extractor answers 401): see tests/it/attacks.rs.
        if let Ok(claims) = verified.claims::<serde_json::Value>() {
            assert!(claims.is_object(), "{token}");
        }
        assert_eq!(verified.claims_json().as_bytes(), payload, "{token}");
    }
});
