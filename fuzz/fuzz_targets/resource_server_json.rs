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
            // The secret must never be echoed. It may still appear by chance inside the fixed
            // text (`"igning_secret"` is in "signing_secret are strings"), so the same JSON
            // with another secret of the same length must give a message containing it too.
            if let Some(secret) = secret_of(json).filter(|secret| message.contains(secret)) {
                let other = "#".repeat(secret.len());
                let replaced = json.replace(&format!("\"{secret}\""), &format!("\"{other}\""));
                let unrelated = ResourceServer::from_json(&replaced)
                    .err()
                    .map(|err| err.to_string())
                    .unwrap_or_default();
                assert!(unrelated.contains(&secret), "{message}");
            }
            return;
        }
    };
    let _ = (api.identifier(), api.name(), api.id(), api.signing_alg());
    let _ = (api.token_lifetime(), api.declared_scopes().len());
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

/// The `signing_secret` string, if the JSON has one at the top level, written without escapes
/// (so it can be found and replaced in the text).
fn secret_of(json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let secret = value.get("signing_secret")?.as_str()?;
    (!secret.is_empty() && json.contains(&format!("\"{secret}\""))).then(|| secret.to_owned())
}
