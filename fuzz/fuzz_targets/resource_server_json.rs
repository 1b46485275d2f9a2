//! Any text as the resource-server JSON: parsing and building never panic, and an error
//! message never quotes the signing secret.

#![no_main]

use bearer_guard::{BearerGuardLayer, ResourceServer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let api = match ResourceServer::from_json(json) {
        Ok(api) => api,
        Err(err) => {
            let message = err.to_string();
            // A secret at least 8 bytes long (so not a common word) must never be echoed.
            if let Some(secret) = secret_of(json).filter(|secret| secret.len() >= 8) {
                assert!(!message.contains(&secret), "{message}");
            }
            return;
        }
    };
    let _ = (api.identifier(), api.name(), api.id(), api.signing_alg());
    let _ = (api.token_lifetime(), api.scopes().len());
    let _ = format!("{api:?}");
    for builder in [
        BearerGuardLayer::builder(api.clone()),
        BearerGuardLayer::builder(api.clone())
            .rfc9068_profile()
            .allow_short_secret(),
        BearerGuardLayer::builder(api)
            .signing_secret_kid("k1")
            .previous_secret("a previous secret, 32 bytes long"),
    ] {
        match builder.build() {
            Ok(layer) => {
                let _ = layer.validator().validate("e30.e30.e30");
            }
            Err(err) => {
                let _ = err.to_string();
            }
        }
    }
});

/// The `signing_secret` string, if the JSON has one at the top level.
fn secret_of(json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    value.get("signing_secret")?.as_str().map(str::to_owned)
}
