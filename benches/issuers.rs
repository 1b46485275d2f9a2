//! The choice of issuer among several (`issuers([...])`, issue 20): one request's validation
//! with one issuer against the same with four, the token's issuer the last of the four (the
//! longest search), on a verified-token cache hit and, for the cost of the choice itself, on
//! full validation (cache off). Rounds alternate the two validators, as `interleaved` does.
//!
//! Run with: cargo bench --bench issuers

mod common;

use std::hint::black_box;

use bearer_guard::cache::TokenCacheSettings;
use bearer_guard::{BearerGuardLayer, ResourceServer, TokenValidator};
use common::median;

const ROUNDS: usize = 31;
const BATCH: u32 = 20_000;
const OTHERS: [&str; 3] = [
    "https://login.brand-a.example/",
    "https://login.brand-b.example/",
    "https://login.brand-c.example/",
];

fn validator(issuers: &[&str], cache: TokenCacheSettings) -> TokenValidator {
    let api = ResourceServer::new(common::AUDIENCE, common::SECRET)
        .with_scope("read:messages", "Read messages");
    let builder = BearerGuardLayer::builder(api).token_cache(cache);
    let builder = match issuers {
        [one] => builder.issuer(*one),
        several => builder.issuers(several.iter().copied()),
    };
    builder
        .build_validator()
        .unwrap_or_else(|err| panic!("bench configuration: {err}"))
}

/// Median ns per validation of `token` by `one` and by `four`, and the median of the rounds'
/// ratios four / one.
fn compare(one: &TokenValidator, four: &TokenValidator, token: &str) -> (f64, f64, f64) {
    assert!(common::bearer_guard(one, token) && common::bearer_guard(four, token));
    let (mut ones, mut fours, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let a = common::time_batch(BATCH, || common::bearer_guard(one, black_box(token)));
        let b = common::time_batch(BATCH, || common::bearer_guard(four, black_box(token)));
        ones.push(a);
        fours.push(b);
        ratios.push(b / a);
    }
    (median(ones), median(fours), median(ratios))
}

fn main() {
    // The typical token's `iss` is `common::ISSUER`: the only issuer of one, the last of four.
    let token = common::typical_token();
    let four: Vec<&str> = OTHERS.into_iter().chain([common::ISSUER]).collect();
    println!(
        "one issuer against four (the token's the last), {ROUNDS} rounds of {BATCH} (medians)"
    );
    for (name, cache) in [
        ("cache hit", TokenCacheSettings::default()),
        (
            "full validation (cache off)",
            TokenCacheSettings::disabled(),
        ),
    ] {
        let one = validator(&[common::ISSUER], cache);
        let several = validator(&four, cache);
        let (one_ns, four_ns, ratio) = compare(&one, &several, &token);
        println!(
            "   {name:<28} one {one_ns:>7.1} ns   four {four_ns:>7.1} ns   four / one {ratio:.3}"
        );
    }
}
