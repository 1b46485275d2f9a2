//! Target 1 of issue 10 with public keys: bearer-guard's RS256 validation against
//! `jsonwebtoken::decode` on the same backend, aws-lc-rs, with the same checks (signature,
//! `exp`, `aud`, `iss`, the scope `read:messages`), timed in alternation as
//! `benches/asymmetric.rs` does: each round times a batch of each, the first one alternating,
//! and the ratio is taken within each round.

use std::hint::black_box;
use std::time::Instant;

use bearer_guard::{BearerGuardLayer, ResourceServer, TokenValidator};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::json;

use crate::{AUDIENCE, claims, rsa_components, rsa_jwk, sign_rs256};

const ROUNDS: usize = 31;
const BATCH: u32 = 2_000;
const ISSUER: &str = "https://tenant.auth0.com/";
const SCOPE: &str = "read:messages";

/// What a hand-written `jsonwebtoken` middleware decodes, as in `benches/common`.
#[derive(Deserialize)]
#[allow(dead_code)] // Decoded as a middleware would, not read.
struct OwnedClaims {
    sub: String,
    scope: String,
    exp: u64,
}

struct Jsonwebtoken {
    key: DecodingKey,
    validation: Validation,
}

impl Jsonwebtoken {
    fn new() -> Self {
        let (n, e) = rsa_components();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "aud", "iss"]);
        Self {
            key: DecodingKey::from_rsa_components(&n, &e).expect("the fixture RSA key"),
            validation,
        }
    }

    fn check(&self, token: &str) -> bool {
        jsonwebtoken::decode::<OwnedClaims>(token, &self.key, &self.validation)
            .is_ok_and(|data| data.claims.scope.split(' ').any(|s| s == SCOPE))
    }
}

/// bearer-guard with the key in a static JWK set (the key cache's hot path is the same
/// lookup, plus one atomic load).
fn validator() -> TokenValidator {
    let api = ResourceServer::from_json(&format!(
        r#"{{"identifier": "{AUDIENCE}", "signing_alg": "RS256"}}"#
    ))
    .expect("the resource server");
    BearerGuardLayer::builder(api)
        .issuer(ISSUER)
        .static_jwks(json!({ "keys": [rsa_jwk()] }).to_string())
        .build_validator()
        .expect("the validator")
}

fn bearer_guard(validator: &TokenValidator, token: &str) -> bool {
    validator
        .validate(token)
        .is_ok_and(|verified| verified.scopes().contains(SCOPE))
}

/// Nanoseconds per call of `f`, over one batch; every call must accept its token.
fn time(mut f: impl FnMut() -> bool) -> f64 {
    let start = Instant::now();
    let mut passed = 0u32;
    for _ in 0..BATCH {
        passed += u32::from(black_box(f()));
    }
    assert_eq!(passed, BATCH, "a contender refused its token");
    start.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Both sides refuse what the other refuses, so they do the same checks.
fn check_same_checks(validator: &TokenValidator, peer: &Jsonwebtoken, token: &str) {
    let mut tampered = token.to_owned();
    let last = tampered
        .pop()
        .map_or('A', |c| if c == 'A' { 'B' } else { 'A' });
    tampered.push(last);
    let mut expired = claims(ISSUER, SCOPE, 0);
    expired["exp"] = (crate::now() - 3600).into();
    let mut wrong_audience = claims(ISSUER, SCOPE, 86_400);
    wrong_audience["aud"] = "https://another-api".into();
    let refused = [
        ("a tampered signature", tampered),
        ("expired", sign_rs256(&expired)),
        ("another audience", sign_rs256(&wrong_audience)),
        (
            "another issuer",
            sign_rs256(&claims("https://evil.auth0.com/", SCOPE, 86_400)),
        ),
        (
            "no read:messages",
            sign_rs256(&claims(ISSUER, "sample-scope", 86_400)),
        ),
    ];
    assert!(bearer_guard(validator, token) && peer.check(token));
    for (case, bad) in refused {
        assert!(
            !bearer_guard(validator, &bad) && !peer.check(&bad),
            "{case}: both must refuse it"
        );
    }
}

pub(crate) fn run() {
    let token = sign_rs256(&claims(ISSUER, SCOPE, 86_400));
    let validator = validator();
    let peer = Jsonwebtoken::new();
    check_same_checks(&validator, &peer, &token);

    let (mut guard, mut decode, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let mut pair = [0.0; 2];
        for i in 0..2 {
            let which = (i + round) % 2;
            pair[which] = if which == 0 {
                time(|| bearer_guard(&validator, black_box(&token)))
            } else {
                time(|| peer.check(black_box(&token)))
            };
        }
        guard.push(pair[0]);
        decode.push(pair[1]);
        ratios.push(pair[0] / pair[1]);
    }
    println!(
        "RS256, token {} bytes, {ROUNDS} rounds of {BATCH} calls each; jsonwebtoken backend: aws-lc-rs",
        token.len()
    );
    println!("bearer-guard   median {:>8.0} ns", median(guard));
    println!("jsonwebtoken   median {:>8.0} ns", median(decode));
    let (lo, hi) = ratios
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    println!(
        "bearer-guard / jsonwebtoken: median of rounds {:.3} (range {lo:.3}-{hi:.3}; target < 1)",
        median(ratios)
    );
}
