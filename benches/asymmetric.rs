//! What a token signed with a public key costs bearer-guard, against the bare signature
//! verification of aws-lc-rs and today's HS256 overhead, measured in alternation as
//! `interleaved` does. Target (issue 10): bearer-guard ≤ 1.1 × (bare verification + HS256
//! overhead), where the HS256 overhead is a full HS256 validation minus its HMAC.
//! Run with: cargo bench --bench asymmetric

mod common;

use std::hint::black_box;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    RsaPublicKeyComponents,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bearer_guard::cache::TokenCacheSettings;
use common::{Parts, key_file, median};
use jsonwebtoken::Algorithm;
use serde_json::Value;

const ROUNDS: usize = 31;
const BATCH: u32 = 2_000;

/// Nanoseconds per call of `f`, over one batch; every call must pass.
fn time(f: impl FnMut() -> bool) -> f64 {
    common::time_batch(BATCH, f)
}

/// aws-lc-rs alone: the key parsed once, the signature already decoded.
fn bare_key(alg: &str, name: &str) -> ParsedPublicKey {
    let jwk: Value = serde_json::from_str(&key_file(&format!("{name}.jwk.json")))
        .unwrap_or_else(|err| panic!("{err}"));
    let bytes = |member: &str| {
        URL_SAFE_NO_PAD
            .decode(jwk[member].as_str().unwrap_or_default())
            .unwrap_or_default()
    };
    let parsed = match alg {
        "RS256" => RsaPublicKeyComponents {
            n: bytes("n"),
            e: bytes("e"),
        }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256),
        "ES256" => ParsedPublicKey::new(
            &ECDSA_P256_SHA256_FIXED,
            [vec![4], bytes("x"), bytes("y")].concat(),
        ),
        _ => ParsedPublicKey::new(&ED25519, bytes("x")),
    };
    parsed.unwrap_or_else(|err| panic!("{err:?}"))
}

fn main() {
    // Today's HS256 overhead: a full HS256 validation minus its HMAC, in alternation.
    let hs256_layer = common::layer();
    let hs256 = hs256_layer.validator();
    let hs256_token = common::typical_token();
    let parts = Parts::new();
    let (signing_input, _, tag, _) = common::pieces(&hs256_token);
    let mut overheads = Vec::new();
    for _ in 0..ROUNDS {
        let full = time(|| common::bearer_guard(hs256, black_box(&hs256_token)));
        let hmac = time(|| parts.hmac(black_box(signing_input), black_box(&tag)));
        overheads.push(full - hmac);
    }
    let overhead = median(overheads);
    println!("HS256 overhead (full validation minus its HMAC): {overhead:.0} ns");

    for (alg, jwt_alg, key) in [
        ("RS256", Algorithm::RS256, "rsa2048"),
        ("ES256", Algorithm::ES256, "p256"),
        ("EdDSA", Algorithm::EdDSA, "ed25519"),
    ] {
        let token = common::signed_token(jwt_alg, key, "token-1");
        let validator = common::asymmetric_validator(alg, key, TokenCacheSettings::disabled());
        let parsed = bare_key(alg, key);
        let (input, signature) = token.rsplit_once('.').unwrap_or_default();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
        let (mut guard, mut bare, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let mut pair = [0.0; 2];
            // Alternate which goes first.
            for i in 0..2 {
                let which = (i + round) % 2;
                pair[which] = if which == 0 {
                    time(|| common::bearer_guard(&validator, black_box(&token)))
                } else {
                    time(|| {
                        parsed
                            .verify_sig(black_box(input.as_bytes()), black_box(&signature))
                            .is_ok()
                    })
                };
            }
            guard.push(pair[0]);
            bare.push(pair[1]);
            ratios.push(pair[0] / (pair[1] + overhead));
        }
        println!(
            "{alg}: bearer-guard {:>8.0} ns, aws-lc-rs verify {:>8.0} ns; bearer-guard / (verify + HS256 overhead): median of rounds {:.3}",
            median(guard),
            median(bare),
            median(ratios)
        );
    }
}
