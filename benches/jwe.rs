//! What decrypting an encrypted access token (a nested JWE: RSA-OAEP-256 + A256GCM around
//! the typical HS256 token) costs, against its two parts done by aws-lc-rs alone: the
//! RSA-OAEP-2048 decryption of the encrypted key and the AES-256-GCM opening of the
//! ciphertext. Target (issue 22): decrypt ≤ 1.1 × (RSA-OAEP + AES-GCM). And what a
//! well-formed JWE of garbage costs: one RSA private-key operation (and an AES-GCM opening
//! under a random key), no more.
//! Run with: cargo bench --bench jwe
//!
//! The medians are in `$CARGO_TARGET_DIR/criterion/jwe/*/new/estimates.json`.

mod common;

use std::hint::black_box;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, PrivateDecryptingKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bearer_guard::TokenErrorKind;
use bearer_guard::issuer::TokenEncryptionKey;
use bearer_guard::jwks::JweBench;
use criterion::{Criterion, criterion_group, criterion_main};

fn jwe_file(name: &str) -> String {
    let path = format!("{}/tests/data/jwe/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn unb64(segment: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap_or_else(|err| panic!("{err}"))
}

fn bench(c: &mut Criterion) {
    let private_pem = jwe_file("rsa2048_enc.pem");
    let public_pem = jwe_file("rsa2048_enc.pub.pem");
    let inner = common::typical_token();
    let token = TokenEncryptionKey::from_pem(&public_pem, None)
        .and_then(|key| key.encrypt(&inner))
        .unwrap_or_else(|err| panic!("{err}"));
    let keys = JweBench::new(&private_pem, &public_pem).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(keys.decrypt(&token).as_deref(), Ok(inner.as_str()));
    println!(
        "inner token {} bytes, JWE {} bytes",
        inner.len(),
        token.len()
    );

    // The parts, with aws-lc-rs alone: the key parsed once, the segments decoded once.
    let der: String = private_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = STANDARD.decode(der).unwrap_or_else(|err| panic!("{err}"));
    let rsa = PrivateDecryptingKey::from_pkcs8(&der)
        .ok()
        .and_then(|key| OaepPrivateDecryptingKey::new(key).ok())
        .unwrap_or_else(|| panic!("the fixture key"));
    let segments: Vec<&str> = token.split('.').collect();
    let wrapped = unb64(segments[1]);
    let iv: [u8; 12] = unb64(segments[2])
        .try_into()
        .unwrap_or_else(|_| panic!("a 12-byte IV"));
    let sealed = [unb64(segments[3]), unb64(segments[4])].concat();
    let mut out = vec![0u8; rsa.min_output_size()];
    let cek = rsa
        .decrypt(&OAEP_SHA256_MGF1SHA256, &wrapped, &mut out, None)
        .map(|cek| cek.to_vec())
        .unwrap_or_else(|_| panic!("the CEK unwraps"));
    let aes = UnboundKey::new(&AES_256_GCM, &cek)
        .map(LessSafeKey::new)
        .unwrap_or_else(|_| panic!("a 32-byte CEK"));
    let open = |sealed: &mut Vec<u8>| {
        aes.open_in_place(
            Nonce::assume_unique_for_key(iv),
            Aad::from(segments[0].as_bytes()),
            sealed,
        )
        .map(|plain| plain.len())
        .is_ok()
    };
    assert!(open(&mut sealed.clone()));

    let garbage = [
        segments[0],
        &URL_SAFE_NO_PAD.encode([0x5a; 256]),
        segments[2],
        segments[3],
        segments[4],
    ]
    .join(".");
    assert_eq!(keys.decrypt(&garbage), Err(TokenErrorKind::Undecryptable));

    let mut group = c.benchmark_group("jwe");
    group.bench_function("decrypt", |b| {
        b.iter(|| keys.decrypt(black_box(&token)).is_ok());
    });
    group.bench_function("rsa-oaep-2048", |b| {
        let mut out = vec![0u8; rsa.min_output_size()];
        b.iter(|| {
            rsa.decrypt(&OAEP_SHA256_MGF1SHA256, black_box(&wrapped), &mut out, None)
                .is_ok()
        });
    });
    group.bench_function("aes-256-gcm", |b| {
        // Opened in place, so each call opens a fresh copy, as decrypt does.
        b.iter(|| open(&mut black_box(&sealed).clone()));
    });
    group.bench_function("garbage", |b| {
        b.iter(|| keys.decrypt(black_box(&garbage)).is_err());
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
