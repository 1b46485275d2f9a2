//! Cost of one validation, against `jsonwebtoken::decode` doing the same checks, and of the
//! cheap rejections. Run with: cargo bench --bench validate

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use bearer_guard::{BearerGuardLayer, ResourceServer};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::json;

const SECRET: &str = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
const AUDIENCE: &str = "https://my-api-urn";
const ISSUER: &str = "https://tenant.example.com/";

/// A typical Auth0 client-credentials access token (about 380 bytes).
fn typical_token() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = json!({
        "iss": ISSUER,
        "sub": "Hk3AiVbjR5bx4BG2ZYjbnQ3xBOpS5Q8t@clients",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 86400,
        "scope": "read:messages sample-scope",
        "gty": "client-credentials",
        "azp": "Hk3AiVbjR5bx4BG2ZYjbnQ3xBOpS5Q8t",
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap_or_default()
}

/// What a hand-written `jsonwebtoken` middleware would decode.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Claims {
    sub: String,
    scope: String,
    exp: u64,
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

    let mut group = c.benchmark_group("valid token");
    group.bench_function("bearer-guard validate + scope", |b| {
        b.iter(|| {
            let verified = validator.validate(black_box(&token));
            verified.is_ok_and(|v| v.scopes().contains("read:messages"))
        });
    });
    group.bench_function("jsonwebtoken decode", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Claims>(black_box(&token), &key, &validation)
                .is_ok_and(|data| data.claims.scope.split(' ').any(|s| s == "read:messages"))
        });
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
    let mut group = c.benchmark_group("rejected token");
    for (name, token) in [
        ("oversized", oversized.as_str()),
        ("garbage", garbage),
        ("wrong alg", wrong_alg.as_str()),
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
