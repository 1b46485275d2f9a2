//! Cost of one validation, against `jsonwebtoken::decode` doing the same checks and against
//! the sum of its parts (HMAC, base64url, one JSON parse), and of the cheap rejections, all in
//! one criterion run. Run with: cargo bench --bench validate
//!
//! `benches/report.py` turns the medians into the ratios of BENCHMARKS.md.

mod common;

use std::hint::black_box;

use common::{Jsonwebtoken, Parts};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let layer = common::layer();
    let validator = layer.validator();
    let token = common::typical_token();
    let peer = Jsonwebtoken::new();
    assert!(
        common::bearer_guard(validator, &token) && peer.decode(&token),
        "the bench token must validate"
    );
    println!("token length: {} bytes", token.len());

    let mut group = c.benchmark_group("valid");
    group.bench_function("bearer-guard", |b| {
        b.iter(|| common::bearer_guard(validator, black_box(&token)));
    });
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| peer.decode(black_box(&token)));
    });
    group.finish();

    let parts = Parts::new();
    let (signing_input, payload, tag, json) = common::pieces(&token);
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
    let wrong_alg = common::wrong_alg_token();
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
