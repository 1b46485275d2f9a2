//! What decrypting an encrypted access token (a nested JWE: RSA-OAEP-256 + A256GCM around
//! the typical HS256 token) costs, against its two parts done by aws-lc-rs alone: the
//! RSA-OAEP-2048 decryption of the encrypted key and the AES-256-GCM opening of the
//! ciphertext. Target (issue 22): decrypt ≤ 1.1 × (RSA-OAEP + AES-GCM). And what a
//! well-formed JWE of garbage costs: one RSA private-key operation (and an AES-GCM opening
//! under a random key), no more.
//!
//! Then through the validator (the guard's pipeline without HTTP), in alternation: a repeated
//! JWE, a verified-token cache hit, against today's HS256 cache hit (target ≤ 2×); and the
//! garbage-JWE flood's cost per request against a garbage JWS (a well-formed HS256 token with
//! a wrong signature, refused after its HMAC).
//! Run with: cargo bench --bench jwe
//!
//! First criterion (its medians in `$CARGO_TARGET_DIR/criterion/jwe/*/new/estimates.json`),
//! then the same four in alternation as `interleaved` and `asymmetric` do (31 rounds, the
//! order swapped each round), whose per-round ratios hold up on a shared machine where
//! criterion's one-after-the-other runs do not.

mod common;

use std::hint::black_box;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, PrivateDecryptingKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bearer_guard::cache::TokenCacheSettings;
use bearer_guard::issuer::TokenEncryptionKey;
use bearer_guard::jwks::JweBench;
use bearer_guard::registration::TokenEncryption;
use bearer_guard::{BearerGuardLayer, ResourceServer, TokenErrorKind, TokenValidator};
use common::{median, time_batch};
use criterion::{Criterion, criterion_group};

fn jwe_file(name: &str) -> String {
    let path = format!("{}/tests/data/jwe/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn unb64(segment: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap_or_else(|err| panic!("{err}"))
}

/// The JWE `token` with an encrypted key of 256 bytes of `0x5a`: it passes every check before
/// the RSA step, so it costs what an attacker can make any JWE cost.
fn garbage_of(token: &str) -> String {
    let segments: Vec<&str> = token.split('.').collect();
    [
        segments[0],
        &URL_SAFE_NO_PAD.encode([0x5a; 256]),
        segments[2],
        segments[3],
        segments[4],
    ]
    .join(".")
}

/// The token, its garbage twin, and the parts done by aws-lc-rs alone.
struct Fixture {
    keys: JweBench,
    token: String,
    garbage: String,
    rsa: OaepPrivateDecryptingKey,
    wrapped: Vec<u8>,
    aes: LessSafeKey,
    iv: [u8; 12],
    header: String,
    sealed: Vec<u8>,
}

impl Fixture {
    fn new() -> Self {
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
        let garbage = garbage_of(&token);
        assert_eq!(keys.decrypt(&garbage), Err(TokenErrorKind::Undecryptable));
        let fixture = Self {
            keys,
            header: segments[0].to_owned(),
            token,
            garbage,
            rsa,
            wrapped,
            aes,
            iv,
            sealed,
        };
        assert!(fixture.rsa_part(&mut out) && fixture.aes_part());
        fixture
    }

    fn decrypt(&self) -> bool {
        self.keys.decrypt(black_box(&self.token)).is_ok()
    }

    fn garbage(&self) -> bool {
        self.keys.decrypt(black_box(&self.garbage)).is_err()
    }

    fn rsa_part(&self, out: &mut [u8]) -> bool {
        self.rsa
            .decrypt(&OAEP_SHA256_MGF1SHA256, black_box(&self.wrapped), out, None)
            .is_ok()
    }

    /// Opened in place, so each call opens a fresh copy, as decrypt does.
    fn aes_part(&self) -> bool {
        let mut sealed = black_box(&self.sealed).clone();
        self.aes
            .open_in_place(
                Nonce::assume_unique_for_key(self.iv),
                Aad::from(self.header.as_bytes()),
                &mut sealed,
            )
            .is_ok()
    }
}

fn bench(c: &mut Criterion) {
    let fixture = Fixture::new();
    let mut group = c.benchmark_group("jwe");
    group.bench_function("decrypt", |b| b.iter(|| fixture.decrypt()));
    group.bench_function("rsa-oaep-2048", |b| {
        let mut out = vec![0u8; fixture.rsa.min_output_size()];
        b.iter(|| fixture.rsa_part(&mut out));
    });
    group.bench_function("aes-256-gcm", |b| b.iter(|| fixture.aes_part()));
    group.bench_function("garbage", |b| b.iter(|| fixture.garbage()));
    group.finish();
}

criterion_group!(benches, bench);

const ROUNDS: usize = 31;

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    interleaved(&Fixture::new());
    through_the_validator();
}

/// The demo API with `token_encryption` to the fixture key, and its validator.
fn decrypting_validator() -> TokenValidator {
    let api = ResourceServer::new(common::AUDIENCE, common::SECRET)
        .with_scope("read:messages", "Read messages")
        .with_token_encryption(TokenEncryption::compact_nested_jwe(
            "RSA-OAEP-256",
            jwe_file("rsa2048_enc.pub.pem"),
        ));
    BearerGuardLayer::builder(api)
        .issuer(common::ISSUER)
        .token_cache(TokenCacheSettings::default())
        .token_decryption_key(jwe_file("rsa2048_enc.pem"))
        .build_validator()
        .unwrap_or_else(|err| panic!("{err}"))
}

/// A repeated JWE against today's repeated HS256 token, both cache hits; garbage JWE against
/// garbage JWS, both refused. 31 rounds, the order rotated each round.
fn through_the_validator() {
    let hs256 = common::layer_with(TokenCacheSettings::default());
    let hs256 = hs256.validator();
    let jws = common::typical_token();
    let decrypting = decrypting_validator();
    let jwe = TokenEncryptionKey::from_pem(&jwe_file("rsa2048_enc.pub.pem"), None)
        .and_then(|key| key.encrypt(&jws))
        .unwrap_or_else(|err| panic!("{err}"));
    assert!(common::bearer_guard(hs256, &jws) && common::bearer_guard(&decrypting, &jwe));
    let garbage_jwe = garbage_of(&jwe);
    let (signing_input, _) = jws.rsplit_once('.').unwrap_or_else(|| panic!("a JWS"));
    let garbage_jws = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode([0x5a; 32]));
    let refused = |validator: &TokenValidator, token: &str, kind| {
        validator
            .validate(black_box(token))
            .err()
            .map(|err| err.kind())
            == Some(kind)
    };
    assert!(refused(
        &decrypting,
        &garbage_jwe,
        TokenErrorKind::Undecryptable
    ));
    assert!(refused(
        hs256,
        &garbage_jws,
        TokenErrorKind::InvalidSignature
    ));

    let (mut times, mut hit_ratios, mut garbage_ratios) =
        ([(); 4].map(|()| vec![]), vec![], vec![]);
    for round in 0..ROUNDS {
        let mut row = [0.0; 4];
        for i in 0..4 {
            let which = (i + round) % 4;
            row[which] = match which {
                0 => time_batch(20_000, || common::bearer_guard(hs256, black_box(&jws))),
                1 => time_batch(20_000, || {
                    common::bearer_guard(&decrypting, black_box(&jwe))
                }),
                2 => time_batch(20_000, || {
                    refused(hs256, &garbage_jws, TokenErrorKind::InvalidSignature)
                }),
                _ => time_batch(200, || {
                    refused(&decrypting, &garbage_jwe, TokenErrorKind::Undecryptable)
                }),
            };
        }
        hit_ratios.push(row[1] / row[0]);
        garbage_ratios.push(row[3] / row[2]);
        for (column, value) in times.iter_mut().zip(row) {
            column.push(value);
        }
    }
    let [hs_hit, jwe_hit, garbage_jws_ns, garbage_jwe_ns] = times.map(median);
    println!(
        "through the validator, {ROUNDS} rounds (medians): HS256 hit {hs_hit:.1} ns, JWE hit {jwe_hit:.1} ns (JWE {} bytes); garbage JWS {garbage_jws_ns:.1} ns, garbage JWE {:.1} µs",
        jwe.len(),
        garbage_jwe_ns / 1e3
    );
    println!(
        "JWE hit / HS256 hit: median of rounds {:.3} (target <= 2); garbage JWE / garbage JWS: {:.0}",
        median(hit_ratios),
        median(garbage_ratios)
    );
}

/// The four in alternation: per round, decrypt / (RSA-OAEP + AES-GCM) and garbage / RSA-OAEP.
fn interleaved(fixture: &Fixture) {
    let mut out = vec![0u8; fixture.rsa.min_output_size()];
    let (mut decrypt, mut rsa, mut aes, mut garbage) = (vec![], vec![], vec![], vec![]);
    let (mut ratios, mut garbage_ratios) = (vec![], vec![]);
    for round in 0..ROUNDS {
        let mut times = [0.0; 4];
        for i in 0..4 {
            let which = (i + round) % 4;
            times[which] = match which {
                0 => time_batch(200, || fixture.decrypt()),
                1 => time_batch(200, || fixture.rsa_part(&mut out)),
                2 => time_batch(20_000, || fixture.aes_part()),
                _ => time_batch(200, || fixture.garbage()),
            };
        }
        ratios.push(times[0] / (times[1] + times[2]));
        garbage_ratios.push(times[3] / times[1]);
        decrypt.push(times[0]);
        rsa.push(times[1]);
        aes.push(times[2]);
        garbage.push(times[3]);
    }
    println!(
        "interleaved, {ROUNDS} rounds (medians): decrypt {:.1} µs, RSA-OAEP-2048 {:.1} µs, AES-256-GCM {:.0} ns, garbage {:.1} µs",
        median(decrypt) / 1e3,
        median(rsa) / 1e3,
        median(aes),
        median(garbage) / 1e3
    );
    println!(
        "decrypt / (RSA-OAEP + AES-GCM): median of rounds {:.3}; garbage / RSA-OAEP: {:.3}",
        median(ratios),
        median(garbage_ratios)
    );
}
