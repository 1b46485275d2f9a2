//! Any string as a token: validation never panics, and whatever passes is readable.
//!
//! Random bytes almost never carry a valid HMAC, so this target exercises the checks before
//! the signature (size, segments, base64url, header JSON, alg, crit, typ, kid) and the
//! signature check itself; `validate_signed` reaches the claims.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use bearer_guard::{BearerGuardLayer, ResourceServer, TokenValidator};
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/it/common/demo.rs"]
mod demo;

use demo::{AUDIENCE, SECRET};

fn validators() -> &'static [TokenValidator; 2] {
    static VALIDATORS: OnceLock<[TokenValidator; 2]> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let api = || ResourceServer::new(AUDIENCE, SECRET);
        let plain = BearerGuardLayer::builder(api()).build().unwrap();
        let rotated = BearerGuardLayer::builder(api())
            .signing_secret_kid("current")
            .secret_with_kid("previous", "the previous secret, still valid!")
            .rfc9068_profile()
            .build()
            .unwrap();
        [plain.validator().clone(), rotated.validator().clone()]
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
            let _ = verified.scopes().iter().count();
        }
    }
});
