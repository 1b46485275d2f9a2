//! The ratios of `validate`, measured in alternation: each round times a batch of every
//! contender in turn, and the ratios are taken within each round. Criterion measures one
//! function after another, so other work on the machine that comes and goes during its run
//! skews its ratios; here it weighs on every contender of a round alike.
//! Run with: cargo bench --bench interleaved

mod common;

use std::hint::black_box;
use std::time::Instant;

use common::{Jsonwebtoken, Parts, median};

const ROUNDS: usize = 41;
const BATCH: u32 = 20_000;

/// Nanoseconds per call of `f`, over one batch.
fn time(mut f: impl FnMut() -> bool) -> f64 {
    let start = Instant::now();
    let mut passed = 0u32;
    for _ in 0..BATCH {
        passed += u32::from(black_box(f()));
    }
    let elapsed = start.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH);
    assert!(
        passed == BATCH || passed == 0,
        "a contender changed its answer"
    );
    elapsed
}

fn main() {
    let layer = common::layer();
    let validator = layer.validator();
    let token = common::typical_token();
    let peer = Jsonwebtoken::new();
    let parts = Parts::new();
    let (signing_input, payload, tag, json) = common::pieces(&token);
    let mut buf = [0u8; 1024];

    let names = [
        "bearer-guard",
        "jsonwebtoken",
        "hmac-sha256",
        "base64url",
        "serde_json",
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut to_peer = Vec::new();
    let mut to_parts = Vec::new();
    for _ in 0..ROUNDS {
        let round = [
            time(|| common::bearer_guard(validator, black_box(&token))),
            time(|| peer.decode(black_box(&token))),
            time(|| parts.hmac(black_box(signing_input), black_box(&tag))),
            time(|| Parts::base64(black_box(payload), &mut buf) > 0),
            time(|| Parts::json(black_box(&json))),
        ];
        to_peer.push(round[0] / round[1]);
        to_parts.push(round[0] / (round[2] + round[3] + round[4]));
        for (column, value) in times.iter_mut().zip(round) {
            column.push(value);
        }
    }
    println!(
        "token length: {} bytes; {ROUNDS} rounds of {BATCH} calls each",
        token.len()
    );
    for (name, column) in names.iter().zip(times) {
        println!("{name:<14} median {:>7.1} ns", median(column));
    }
    println!(
        "bearer-guard / jsonwebtoken:   median of rounds {:.3}",
        median(to_peer)
    );
    println!(
        "bearer-guard / sum of parts:   median of rounds {:.3}",
        median(to_parts)
    );
}
