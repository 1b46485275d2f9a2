//! Tokens for unit tests, minted with jsonwebtoken so that the code under test never signs
//! what it verifies.

use jsonwebtoken::Algorithm as JwtAlgorithm;

use crate::keys::KeySource;
use crate::keys::{Algorithm, Algorithms, HmacKey, HmacKeys};
use crate::registration::SigningSecret;
use crate::{ResourceServer, TokenValidator};

/// The clock of the unit tests, in seconds since the epoch.
pub(crate) const NOW: f64 = 1_700_000_000.0;
#[path = "../tests/it/common/demo.rs"]
mod demo;

pub(crate) use demo::{AUDIENCE, SECRET};
pub(crate) const ISSUER: &str = "https://issuer.example/";

/// A validator for [`AUDIENCE`], [`ISSUER`] and [`SECRET`] with the default 60 s leeway.
pub(crate) fn validator() -> TokenValidator {
    TokenValidator {
        keys: KeySource::Secrets(HmacKeys::new(
            Algorithm::Hs256,
            vec![(
                None,
                HmacKey::new(Algorithm::Hs256, &SigningSecret::from(SECRET))
                    .expect("HS256 is an HMAC algorithm"),
            )],
        )),
        accepted: Algorithms::of([Algorithm::Hs256]),
        audience: AUDIENCE.into(),
        issuer: Some(ISSUER.into()),
        leeway: 60.0,
        max_token_len: 8192,
        scope_claim: "scope".into(),
        acr_claim: "acr".into(),
        auth_time_claim: "auth_time".into(),
        rfc9068: false,
        max_age: None,
        max_lifetime: None,
        cache: None,
        more_issuers: Box::new([]),
        #[cfg(feature = "jwks")]
        decryption: None,
    }
}

/// The demo resource server, declaring `read:messages` and `openid`.
pub(crate) fn resource_server() -> ResourceServer {
    ResourceServer::new(AUDIENCE, SECRET)
        .with_scope("read:messages", "Read messages")
        .with_scope("openid", "Sign in")
}

/// A claims object valid at [`NOW`], with `overrides` as raw JSON values (an empty value
/// removes the claim).
pub(crate) fn claims_json(overrides: &[(&str, &str)]) -> String {
    let exp = (NOW + 3600.0).to_string();
    let iat = (NOW - 10.0).to_string();
    let defaults = [
        ("iss", format!("\"{ISSUER}\"")),
        ("sub", "\"client@clients\"".to_owned()),
        ("aud", format!("\"{AUDIENCE}\"")),
        ("exp", exp),
        ("iat", iat),
        ("scope", "\"read:messages openid\"".to_owned()),
    ];
    let mut members: Vec<(String, String)> = defaults
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    for (name, value) in overrides {
        members.retain(|(n, _)| n != name);
        if !value.is_empty() {
            members.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    let body: Vec<String> = members
        .iter()
        .map(|(name, value)| format!("\"{name}\":{value}"))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// An HS256 token with a standard header over `claims`.
pub(crate) fn mint(claims: &str) -> String {
    mint_raw(br#"{"alg":"HS256","typ":"JWT"}"#, claims.as_bytes())
}

/// A token with exactly these header and payload bytes, signed with [`SECRET`].
pub(crate) fn mint_raw(header: &[u8], payload: &[u8]) -> String {
    mint_with(header, payload, SECRET.as_bytes())
}

/// A token with exactly these header and payload bytes, signed HS256 with `secret`.
pub(crate) fn mint_with(header: &[u8], payload: &[u8], secret: &[u8]) -> String {
    demo::sign(JwtAlgorithm::HS256, secret, header, payload)
}
