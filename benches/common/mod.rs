//! What the `validate` and `interleaved` benches share: the token, the peer's claims, the parts.

#![allow(dead_code)] // Each bench uses its own share.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bearer_guard::{BearerGuardLayer, ResourceServer, TokenValidator};
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

#[path = "../../tests/common/demo.rs"]
mod demo;

pub(crate) use demo::{AUDIENCE, SECRET};
pub(crate) const ISSUER: &str = "https://tenant.auth0.com/";
pub(crate) const CLIENT: &str = "Hk3AiVbjR5bx4BG2ZYjbnQ3xBOpS5Q8t";

/// A typical Auth0 client-credentials access token: `{"alg":"HS256","typ":"JWT"}` and the
/// claims Auth0 puts in one, about 380 bytes.
pub(crate) fn typical_token() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = json!({
        "iss": ISSUER,
        "sub": format!("{CLIENT}@clients"),
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 86400,
        "scope": "read:messages",
        "gty": "client-credentials",
        "azp": CLIENT,
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap_or_default()
}

/// What a hand-written `jsonwebtoken` middleware decodes.
#[derive(Deserialize)]
#[allow(dead_code)]
pub(crate) struct OwnedClaims {
    sub: String,
    scope: String,
    exp: u64,
}

/// The same claims, borrowed from the payload: the one JSON parse of the sum of parts.
#[derive(Deserialize)]
#[allow(dead_code)]
pub(crate) struct BorrowedClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    scope: &'a str,
    azp: &'a str,
}

/// The parts of a validation by hand, with no checks between them but the three that cost:
/// the HMAC over `header.payload`, the payload's base64url, the claims' JSON.
pub(crate) struct Parts {
    key: Hmac<Sha256>,
}

impl Parts {
    pub(crate) fn hmac(&self, signing_input: &str, tag: &[u8; 32]) -> bool {
        let mut mac = self.key.clone();
        mac.update(signing_input.as_bytes());
        mac.verify_slice(tag).is_ok()
    }

    pub(crate) fn base64(payload: &str, buf: &mut [u8; 1024]) -> usize {
        URL_SAFE_NO_PAD.decode_slice(payload, buf).unwrap_or(0)
    }

    pub(crate) fn json(json: &[u8]) -> bool {
        serde_json::from_slice::<BorrowedClaims<'_>>(json).is_ok_and(|c| c.exp > 0)
    }

    /// All three in a row on one token, with the signature's own base64url.
    pub(crate) fn all(&self, token: &str) -> bool {
        let Some((signing_input, signature)) = token.rsplit_once('.') else {
            return false;
        };
        let Some((_, payload)) = signing_input.split_once('.') else {
            return false;
        };
        let mut tag = [0u8; 32];
        if URL_SAFE_NO_PAD.decode_slice(signature, &mut tag) != Ok(32) {
            return false;
        }
        let mut buf = [0u8; 1024];
        let len = Self::base64(payload, &mut buf);
        self.hmac(signing_input, &tag) && Self::json(&buf[..len])
    }
}

impl Parts {
    pub(crate) fn new() -> Self {
        Self {
            key: Hmac::new_from_slice(SECRET.as_bytes()).unwrap_or_else(|_| unreachable!()),
        }
    }
}

/// bearer-guard's layer for the token's audience and issuer.
pub(crate) fn layer() -> BearerGuardLayer {
    let api = ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "Read messages");
    BearerGuardLayer::builder(api)
        .issuer(ISSUER)
        .build()
        .unwrap_or_else(|err| panic!("bench configuration: {err}"))
}

/// The full validation the benches time: the token's checks and a scope.
pub(crate) fn bearer_guard(validator: &TokenValidator, token: &str) -> bool {
    validator
        .validate(token)
        .is_ok_and(|v| v.scopes().contains("read:messages"))
}

/// `jsonwebtoken::decode` with the same checks: signature, `exp`, `aud`, `iss`, and a scope.
pub(crate) struct Jsonwebtoken {
    key: DecodingKey,
    validation: Validation,
}

impl Jsonwebtoken {
    pub(crate) fn new() -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "aud", "iss"]);
        Self {
            key: DecodingKey::from_secret(SECRET.as_bytes()),
            validation,
        }
    }

    pub(crate) fn decode(&self, token: &str) -> bool {
        jsonwebtoken::decode::<OwnedClaims>(token, &self.key, &self.validation)
            .is_ok_and(|data| data.claims.scope.split(' ').any(|s| s == "read:messages"))
    }
}

/// A token signed with the right secret but the wrong algorithm.
pub(crate) fn wrong_alg_token() -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &json!({ "aud": AUDIENCE, "exp": 4_102_444_800u64 }),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap_or_default()
}

/// The token's `header.payload`, payload, decoded tag and decoded payload JSON.
pub(crate) fn pieces(token: &str) -> (&str, &str, [u8; 32], Vec<u8>) {
    let (signing_input, signature) = token.rsplit_once('.').unwrap_or_default();
    let (_, payload) = signing_input.split_once('.').unwrap_or_default();
    let mut tag = [0u8; 32];
    let _ = URL_SAFE_NO_PAD.decode_slice(signature, &mut tag);
    let mut buf = [0u8; 1024];
    let len = Parts::base64(payload, &mut buf);
    (signing_input, payload, tag, buf[..len].to_vec())
}
