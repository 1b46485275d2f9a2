//! What the `validate` and `interleaved` benches share: the token, the peer's claims, the parts.

#![allow(dead_code)] // Each bench uses its own share.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bearer_guard::cache::TokenCacheSettings;
use bearer_guard::{BearerGuardLayer, ResourceServer, TokenValidator};
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

#[path = "../../tests/it/common/demo.rs"]
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

/// bearer-guard's layer for the token's audience and issuer, without the verified-token
/// cache: every call is a full validation, the figure every bench before the cache measured.
pub(crate) fn layer() -> BearerGuardLayer {
    layer_with(TokenCacheSettings::disabled())
}

/// bearer-guard's layer for the token's audience and issuer, with `cache`.
pub(crate) fn layer_with(cache: TokenCacheSettings) -> BearerGuardLayer {
    let api = ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "Read messages");
    BearerGuardLayer::builder(api)
        .issuer(ISSUER)
        .token_cache(cache)
        .build()
        .unwrap_or_else(|err| panic!("bench configuration: {err}"))
}

/// Nanoseconds per call of `f`, over a batch of `batch` calls; every call must pass.
pub(crate) fn time_batch(batch: u32, mut f: impl FnMut() -> bool) -> f64 {
    let start = std::time::Instant::now();
    let mut passed = 0u32;
    for _ in 0..batch {
        passed += u32::from(std::hint::black_box(f()));
    }
    assert_eq!(passed, batch, "a contender refused its token");
    start.elapsed().as_secs_f64() * 1e9 / f64::from(batch)
}

/// The median of `values`.
pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A fixture key's file under `tests/data/keys`.
pub(crate) fn key_file(name: &str) -> String {
    let path = format!("{}/tests/data/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// The typical Auth0 claims with `jti`, signed by jsonwebtoken with fixture key `name` (a
/// PEM file) as `alg`, `kid` `k1`.
pub(crate) fn signed_token(alg: Algorithm, name: &str, jti: &str) -> String {
    let pem = key_file(&format!("{name}.pem"));
    let key = match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => EncodingKey::from_rsa_pem(pem.as_bytes()),
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem.as_bytes()),
        _ => EncodingKey::from_ed_pem(pem.as_bytes()),
    }
    .unwrap_or_else(|err| panic!("{name}: {err}"));
    signed_token_with(alg, &key, jti)
}

/// The typical Auth0 claims with `jti`, signed by jsonwebtoken with `key` as `alg`, `kid` `k1`.
pub(crate) fn signed_token_with(alg: Algorithm, key: &EncodingKey, jti: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = json!({
        "iss": ISSUER, "sub": format!("{CLIENT}@clients"), "aud": AUDIENCE,
        "iat": now, "exp": now + 86400, "scope": "read:messages",
        "gty": "client-credentials", "azp": CLIENT, "jti": jti,
    });
    let header = Header {
        kid: Some("k1".into()),
        ..Header::new(alg)
    };
    jsonwebtoken::encode(&header, &claims, key).unwrap_or_else(|err| panic!("{err}"))
}

/// A validator for `alg` with fixture key `name`'s public JWK (`kid` `k1`) as a static set.
pub(crate) fn asymmetric_validator(
    alg: &str,
    name: &str,
    cache: TokenCacheSettings,
) -> TokenValidator {
    let api = ResourceServer::from_json(&format!(
        r#"{{"identifier": "{AUDIENCE}", "signing_alg": "{alg}"}}"#
    ))
    .unwrap_or_else(|err| panic!("{err}"));
    let mut jwk: serde_json::Value = serde_json::from_str(&key_file(&format!("{name}.jwk.json")))
        .unwrap_or_else(|err| panic!("{err}"));
    jwk["kid"] = "k1".into();
    BearerGuardLayer::builder(api)
        .issuer(ISSUER)
        .static_jwks(json!({ "keys": [jwk] }).to_string())
        .token_cache(cache)
        .build_validator()
        .unwrap_or_else(|err| panic!("{err}"))
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
