//! What a token of each algorithm costs bearer-guard, against the bare verification of the
//! same key (aws-lc-rs for the public keys, RustCrypto's HMAC for HS384 and HS512) and
//! today's HS256 overhead, measured in alternation as `interleaved` does. Target (issues 10
//! and 20): bearer-guard ≤ 1.1 × (bare verification + HS256 overhead), where the HS256
//! overhead is a full HS256 validation minus its HMAC.
//! Run with: cargo bench --bench asymmetric

mod common;

use std::hint::black_box;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ECDSA_P521_SHA512_FIXED,
    ECDSA_P521_SHA512_FIXED_SIGNING, ED25519, EcdsaKeyPair, Ed25519KeyPair, ParsedPublicKey,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512,
    RSA_PSS_2048_8192_SHA256, RSA_PSS_2048_8192_SHA384, RSA_PSS_2048_8192_SHA512,
    RsaPublicKeyComponents,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bearer_guard::cache::TokenCacheSettings;
use bearer_guard::{BearerGuardLayer, ResourceServer, TokenValidator};
use common::{AUDIENCE, ISSUER, Parts, key_file, median};
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::Value;
use sha2::{Sha256, Sha384, Sha512};

const ROUNDS: usize = 31;
/// The HS256 overhead's batch, as before.
const BATCH: u32 = 2_000;
/// Each contender's batch lasts about this long (ES512 costs some 30 times RS256).
const BATCH_NANOS: f64 = 20e6;

/// Nanoseconds per call of `f`, over one batch of `batch`; every call must pass.
fn time(batch: u32, f: impl FnMut() -> bool) -> f64 {
    common::time_batch(batch, f)
}

/// 64 bytes: a secret for HS384 and HS512 alike.
const SECRET64: &str = "a signing secret of sixty-four bytes, long enough for HS512 too!";

/// The bare verification of one algorithm, its key set up once and the signature decoded.
enum Bare {
    Key(ParsedPublicKey),
    Hs256(Hmac<Sha256>),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
}

impl Bare {
    fn verifies(&self, input: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Key(key) => key.verify_sig(input, signature).is_ok(),
            Self::Hs256(key) => key
                .clone()
                .chain_update(input)
                .verify_slice(signature)
                .is_ok(),
            Self::Hs384(key) => key
                .clone()
                .chain_update(input)
                .verify_slice(signature)
                .is_ok(),
            Self::Hs512(key) => key
                .clone()
                .chain_update(input)
                .verify_slice(signature)
                .is_ok(),
        }
    }
}

/// The fixture key `name`'s public key for `alg`, parsed once by aws-lc-rs; for HS384 and
/// HS512, RustCrypto's HMAC of the bench's secret.
fn bare_key(alg: &str, name: &str) -> Bare {
    match alg {
        "HS256" => return Bare::Hs256(hmac_key(SECRET64)),
        "HS384" => return Bare::Hs384(hmac_key(SECRET64)),
        "HS512" => return Bare::Hs512(hmac_key(SECRET64)),
        _ => {}
    }
    let jwk: Value = serde_json::from_str(&key_file(&format!("{name}.jwk.json")))
        .unwrap_or_else(|err| panic!("{err}"));
    let bytes = |member: &str| {
        URL_SAFE_NO_PAD
            .decode(jwk[member].as_str().unwrap_or_default())
            .unwrap_or_default()
    };
    let rsa = |params| {
        RsaPublicKeyComponents {
            n: bytes("n"),
            e: bytes("e"),
        }
        .to_parsed_public_key(params)
    };
    let point = || [vec![4], bytes("x"), bytes("y")].concat();
    let parsed = match alg {
        "RS256" => rsa(&RSA_PKCS1_2048_8192_SHA256),
        "RS384" => rsa(&RSA_PKCS1_2048_8192_SHA384),
        "RS512" => rsa(&RSA_PKCS1_2048_8192_SHA512),
        "PS256" => rsa(&RSA_PSS_2048_8192_SHA256),
        "PS384" => rsa(&RSA_PSS_2048_8192_SHA384),
        "PS512" => rsa(&RSA_PSS_2048_8192_SHA512),
        "ES256" => ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point()),
        "ES384" => ParsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, point()),
        "ES512" => ParsedPublicKey::new(&ECDSA_P521_SHA512_FIXED, point()),
        _ => ParsedPublicKey::new(&ED25519, bytes("x")),
    };
    Bare::Key(parsed.unwrap_or_else(|err| panic!("{alg}: {err:?}")))
}

fn hmac_key<M: KeyInit>(secret: &str) -> M {
    M::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!())
}

/// The DER of a PEM `PRIVATE KEY` file.
fn pkcs8(name: &str) -> Vec<u8> {
    let pem = key_file(&format!("{name}.pem"));
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    STANDARD
        .decode(body)
        .unwrap_or_else(|err| panic!("{name}: {err}"))
}

/// The same claims as `common::signed_token`'s, under `{"alg": alg, "typ": "JWT", "kid":
/// "k1"}`, signed with `sign`: for ES512 and the `Ed25519` name, which jsonwebtoken lacks.
fn token_signed_by(alg: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let model = common::signed_token(Algorithm::RS256, "rsa2048", "token-1");
    let payload = model.split('.').nth(1).unwrap_or_default();
    let header = format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"k1"}}"#);
    let input = format!("{}.{payload}", URL_SAFE_NO_PAD.encode(header));
    let signature = URL_SAFE_NO_PAD.encode(sign(input.as_bytes()));
    format!("{input}.{signature}")
}

/// A token of `alg` with the typical claims and `kid` `k1`.
fn token(alg: &str, key: &str) -> String {
    match alg {
        "ES512" => {
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P521_SHA512_FIXED_SIGNING, &pkcs8(key))
                .unwrap_or_else(|err| panic!("{err:?}"));
            let rng = aws_lc_rs::rand::SystemRandom::new();
            token_signed_by(alg, |input| {
                pair.sign(&rng, input)
                    .map(|signature| signature.as_ref().to_vec())
                    .unwrap_or_default()
            })
        }
        "Ed25519" => {
            let pair =
                Ed25519KeyPair::from_pkcs8(&pkcs8(key)).unwrap_or_else(|err| panic!("{err:?}"));
            token_signed_by(alg, |input| pair.sign(input).as_ref().to_vec())
        }
        // The HS256 overhead's own token, under this algorithm: the same header and claims
        // (no `kid`, no `jti`), so that the overhead measured on it applies as it is.
        "HS256" | "HS384" | "HS512" => {
            let jwt_alg = alg.parse().unwrap_or_else(|err| panic!("{err}"));
            let model = common::typical_token();
            let payload = model.split('.').nth(1).unwrap_or_default();
            let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
            let input = format!("{}.{payload}", URL_SAFE_NO_PAD.encode(header));
            let key = EncodingKey::from_secret(SECRET64.as_bytes());
            let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, jwt_alg)
                .unwrap_or_else(|err| panic!("{err}"));
            format!("{input}.{signature}")
        }
        _ => {
            let jwt_alg = alg.parse().unwrap_or_else(|err| panic!("{err}"));
            common::signed_token(jwt_alg, key, "token-1")
        }
    }
}

/// bearer-guard's validator for `alg`, without the verified-token cache.
fn validator(alg: &str, key: &str) -> TokenValidator {
    if !alg.starts_with("HS") {
        return common::asymmetric_validator(alg, key, TokenCacheSettings::disabled());
    }
    let api = ResourceServer::from_json(&format!(
        r#"{{"identifier": "{AUDIENCE}", "signing_alg": "{alg}", "signing_secret": "{SECRET64}"}}"#
    ))
    .unwrap_or_else(|err| panic!("{err}"));
    BearerGuardLayer::builder(api)
        .issuer(ISSUER)
        .token_cache(TokenCacheSettings::disabled())
        .build_validator()
        .unwrap_or_else(|err| panic!("{err}"))
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
        let full = time(BATCH, || {
            common::bearer_guard(hs256, black_box(&hs256_token))
        });
        let hmac = time(BATCH, || {
            parts.hmac(black_box(signing_input), black_box(&tag))
        });
        overheads.push(full - hmac);
    }
    let overhead = median(overheads);
    println!("HS256 overhead (full validation minus its HMAC): {overhead:.0} ns");
    println!(
        "| alg | key | bearer-guard | bare verify | bearer-guard / (verify + HS256 overhead) |"
    );
    println!("|---|---|---:|---:|---:|");

    for (alg, key) in [
        // HS256 again, as a row: its ratio shows how far the run's noise moves a ratio that
        // is 1 by construction.
        ("HS256", "secret"),
        ("HS384", "secret"),
        ("HS512", "secret"),
        ("RS256", "rsa2048"),
        ("RS384", "rsa2048"),
        ("RS512", "rsa2048"),
        ("PS256", "rsa2048"),
        ("PS384", "rsa2048"),
        ("PS512", "rsa2048"),
        ("ES256", "p256"),
        ("ES384", "p384"),
        ("ES512", "p521"),
        ("EdDSA", "ed25519"),
        ("Ed25519", "ed25519"),
    ] {
        let token = token(alg, key);
        let validator = validator(alg, key);
        let bare = bare_key(alg, key);
        let (input, signature) = token.rsplit_once('.').unwrap_or_default();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
        let guard = || common::bearer_guard(&validator, black_box(&token));
        let verify = || bare.verifies(black_box(input.as_bytes()), black_box(&signature));
        // A batch of about BATCH_NANOS, from a first estimate.
        let estimate = time(20, guard);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let batch = (BATCH_NANOS / estimate).clamp(50.0, 200_000.0) as u32;
        let (mut guards, mut bares, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let mut pair = [0.0; 2];
            // Alternate which goes first.
            for i in 0..2 {
                let which = (i + round) % 2;
                pair[which] = if which == 0 {
                    time(batch, guard)
                } else {
                    time(batch, verify)
                };
            }
            guards.push(pair[0]);
            bares.push(pair[1]);
            ratios.push(pair[0] / (pair[1] + overhead));
        }
        println!(
            "| {alg} | {key} | {:.0} ns | {:.0} ns | {:.3} |",
            median(guards),
            median(bares),
            median(ratios)
        );
    }
}
