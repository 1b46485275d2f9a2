//! Cost of one validation, against `jsonwebtoken::decode` doing the same checks and against
//! the sum of its parts (HMAC, base64url, one JSON parse), and of the cheap rejections, all in
//! one criterion run. Run with: cargo bench --bench validate
//!
//! `benches/report.py` turns the medians into the ratios of BENCHMARKS.md.

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bearer_guard::{BearerGuardLayer, ResourceServer};
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

const SECRET: &str = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
const AUDIENCE: &str = "https://my-api-urn";
const ISSUER: &str = "https://tenant.auth0.com/";
const CLIENT: &str = "Hk3AiVbjR5bx4BG2ZYjbnQ3xBOpS5Q8t";

/// A typical Auth0 client-credentials access token: `{"alg":"HS256","typ":"JWT"}` and the
/// claims Auth0 puts in one, about 380 bytes.
fn typical_token() -> String {
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
struct OwnedClaims {
    sub: String,
    scope: String,
    exp: u64,
}

/// The same claims, borrowed from the payload: the one JSON parse of the sum of parts.
#[derive(Deserialize)]
#[allow(dead_code)]
struct BorrowedClaims<'a> {
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
struct Parts {
    key: Hmac<Sha256>,
}

impl Parts {
    fn hmac(&self, signing_input: &str, tag: &[u8; 32]) -> bool {
        let mut mac = self.key.clone();
        mac.update(signing_input.as_bytes());
        mac.verify_slice(tag).is_ok()
    }

    fn base64(payload: &str, buf: &mut [u8; 1024]) -> usize {
        URL_SAFE_NO_PAD.decode_slice(payload, buf).unwrap_or(0)
    }

    fn json(json: &[u8]) -> bool {
        serde_json::from_slice::<BorrowedClaims<'_>>(json).is_ok_and(|c| c.exp > 0)
    }

    /// All three in a row on one token, with the signature's own base64url.
    fn all(&self, token: &str) -> bool {
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

fn bench(c: &mut Criterion) {
    let api = ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "Read messages");
    let Ok(layer) = BearerGuardLayer::builder(api).issuer(ISSUER).build() else {
        return;
    };
    let validator = layer.validator();
    let token = typical_token();
    assert!(
        validator.validate(&token).is_ok(),
        "the bench token must validate"
    );
    println!("token length: {} bytes", token.len());

    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "aud", "iss"]);
    let key = DecodingKey::from_secret(SECRET.as_bytes());
    assert!(jsonwebtoken::decode::<OwnedClaims>(&token, &key, &validation).is_ok());

    let mut group = c.benchmark_group("valid");
    group.bench_function("bearer-guard", |b| {
        b.iter(|| {
            let verified = validator.validate(black_box(&token));
            verified.is_ok_and(|v| v.scopes().contains("read:messages"))
        });
    });
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<OwnedClaims>(black_box(&token), &key, &validation)
                .is_ok_and(|data| data.claims.scope.split(' ').any(|s| s == "read:messages"))
        });
    });
    group.finish();

    let parts = Parts {
        key: Hmac::new_from_slice(SECRET.as_bytes()).unwrap_or_else(|_| unreachable!()),
    };
    let (signing_input, signature) = token.rsplit_once('.').unwrap_or_default();
    let (_, payload) = signing_input.split_once('.').unwrap_or_default();
    let mut tag = [0u8; 32];
    let _ = URL_SAFE_NO_PAD.decode_slice(signature, &mut tag);
    let mut buf = [0u8; 1024];
    let json_len = Parts::base64(payload, &mut buf);
    let json = buf[..json_len].to_vec();
    assert!(parts.hmac(signing_input, &tag) && Parts::json(&json) && parts.all(&token));

    let mut group = c.benchmark_group("parts");
    group.bench_function("hmac-sha256", |b| {
        b.iter(|| parts.hmac(black_box(signing_input), black_box(&tag)));
    });
    group.bench_function("base64url", |b| {
        let mut buf = [0u8; 1024];
        b.iter(|| Parts::base64(black_box(payload), &mut buf));
    });
    group.bench_function("serde_json", |b| {
        b.iter(|| Parts::json(black_box(&json)));
    });
    group.bench_function("all-in-a-row", |b| {
        b.iter(|| parts.all(black_box(&token)));
    });
    group.finish();

    let oversized = "a".repeat(10_000);
    let garbage = "!!!!.????.####";
    let wrong_alg = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &json!({ "aud": AUDIENCE, "exp": 4_102_444_800u64 }),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap_or_default();
    // For contrast: a forged signature costs the full HMAC, and no JSON.
    let forged = format!("{signing_input}.{}", "A".repeat(43));
    let mut group = c.benchmark_group("rejected");
    for (name, token) in [
        ("oversized", oversized.as_str()),
        ("garbage", garbage),
        ("wrong-alg", wrong_alg.as_str()),
        ("bad-signature", forged.as_str()),
    ] {
        assert!(validator.validate(token).is_err());
        group.bench_function(name, |b| {
            b.iter(|| validator.validate(black_box(token)).is_err())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
