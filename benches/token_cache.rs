//! The verified-token cache (issue 13), in four parts:
//!
//! 1. a repeated token: HS256 and RS256 cache hits against today's full HS256 validation,
//!    in alternation as `interleaved` does (targets: HS256 hit ≤ 0.3×, RS256 hit ≤ 2×);
//! 2. a realistic mix: 10,000 distinct tokens, requests drawn from a Zipf distribution, mean,
//!    median and p99 per request, and the hit rate, for HS256 and RS256; then HS256 with
//!    50,000 distinct tokens (many users, one cache: issue 19 item 7);
//! 3. hits from 1, 2 and 16 threads on one validator (a 2-core machine shows the trend);
//! 4. memory: the cache's own count and the resident size it adds at its bound.
//!
//! Run with: cargo bench --bench token_cache

mod common;

use std::hint::black_box;
use std::sync::Barrier;
use std::time::Instant;

use bearer_guard::TokenValidator;
use bearer_guard::cache::TokenCacheSettings;
use common::{median, signed_token, signed_token_with};
use jsonwebtoken::{Algorithm, EncodingKey};

const ROUNDS: usize = 31;
const BATCH: u32 = 20_000;
const DISTINCT: usize = 10_000;
/// The distinct tokens of the second HS256 mix: more users than today's default cache held.
const MANY_USERS: usize = 50_000;
const REQUESTS: usize = 200_000;

/// Nanoseconds per call of `f`, over one batch; every call must pass.
fn time(f: impl FnMut() -> bool) -> f64 {
    common::time_batch(BATCH, f)
}

fn passes(validator: &TokenValidator, token: &str) -> bool {
    common::bearer_guard(validator, token)
}

fn main() {
    // First, while the heap is fresh: later parts free memory the allocator keeps and reuses.
    memory();
    repeated_token();
    always_a_miss();
    for alg in [Algorithm::HS256, Algorithm::RS256] {
        zipf_mix(alg, DISTINCT);
    }
    zipf_mix(Algorithm::HS256, MANY_USERS);
    threads();
}

/// Part 1: one token again and again.
fn repeated_token() {
    let full = common::layer();
    let cached = common::layer_with(TokenCacheSettings::default());
    let token = common::typical_token();
    let rs256 = common::asymmetric_validator("RS256", "rsa2048", TokenCacheSettings::default());
    let rs256_token = signed_token(Algorithm::RS256, "rsa2048", "token-1");
    assert!(passes(cached.validator(), &token) && passes(&rs256, &rs256_token));

    let (mut times, mut hs_ratios, mut rs_ratios) = ([vec![], vec![], vec![]], vec![], vec![]);
    for _ in 0..ROUNDS {
        let round = [
            time(|| passes(full.validator(), black_box(&token))),
            time(|| passes(cached.validator(), black_box(&token))),
            time(|| passes(&rs256, black_box(&rs256_token))),
        ];
        hs_ratios.push(round[1] / round[0]);
        rs_ratios.push(round[2] / round[0]);
        for (column, value) in times.iter_mut().zip(round) {
            column.push(value);
        }
    }
    let [full_ns, hit_ns, rs_ns] = times.map(median);
    println!("1. a repeated token, {ROUNDS} rounds of {BATCH} calls each (medians)");
    println!("   HS256 full validation (no cache) {full_ns:>7.1} ns");
    println!("   HS256 cache hit                  {hit_ns:>7.1} ns");
    println!("   RS256 cache hit                  {rs_ns:>7.1} ns");
    println!(
        "   HS256 hit / HS256 full: median of rounds {:.3} (target <= 0.3)",
        median(hs_ratios)
    );
    println!(
        "   RS256 hit / HS256 full: median of rounds {:.3} (target <= 2)",
        median(rs_ratios)
    );
}

/// Part 1b: what the cache adds when it never helps: every token new to it (each of a pool of
/// distinct tokens used once), against the same tokens without a cache.
fn always_a_miss() {
    const POOL: usize = ROUNDS * BATCH as usize;
    let key = EncodingKey::from_secret(common::SECRET.as_bytes());
    let tokens: Vec<String> = (0..POOL)
        .map(|i| signed_token_with(Algorithm::HS256, &key, &format!("miss{i}")))
        .collect();
    let full = common::layer();
    let cached = common::layer_with(TokenCacheSettings::default());
    let (mut next_full, mut next_cached) = (0, 0);
    let (mut ratios, mut times) = (vec![], [vec![], vec![]]);
    for _ in 0..ROUNDS {
        let round = [
            time(|| {
                next_full = (next_full + 1) % POOL;
                passes(full.validator(), black_box(&tokens[next_full]))
            }),
            time(|| {
                next_cached = (next_cached + 1) % POOL;
                passes(cached.validator(), black_box(&tokens[next_cached]))
            }),
        ];
        ratios.push(round[1] / round[0]);
        for (column, value) in times.iter_mut().zip(round) {
            column.push(value);
        }
    }
    let status = cached.token_cache_status().unwrap_or_default();
    let [full_ns, miss_ns] = times.map(median);
    println!(
        "1b. HS256, every token new to the cache ({POOL} distinct, each used once; {} hits)",
        status.hits
    );
    println!(
        "   no cache {full_ns:>7.1} ns, cache miss and insert {miss_ns:>7.1} ns; ratio median of rounds {:.3}",
        median(ratios)
    );
}

/// A Zipf sampler over `n` ranks with exponent `s`, from a fixed-seed xorshift.
struct Zipf {
    cdf: Vec<f64>,
    state: u64,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for rank in 1..=n {
            sum += 1.0 / (rank as f64).powf(s);
            cdf.push(sum);
        }
        cdf.iter_mut().for_each(|p| *p /= sum);
        Self {
            cdf,
            state: 0x9E37_79B9_7F4A_7C15,
        }
    }

    fn next(&mut self) -> usize {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let u = (self.state >> 11) as f64 / (1u64 << 53) as f64;
        self.cdf.partition_point(|&p| p < u).min(self.cdf.len() - 1)
    }
}

/// The exponent of the mix: with the default 8 MiB cache and 10,000 distinct tokens it
/// gives about 95 % hits, the scenario.
const ZIPF_EXPONENT: f64 = 1.2;

/// Part 2: `distinct` tokens, Zipf-distributed requests, default cache and none.
fn zipf_mix(alg: Algorithm, distinct: usize) {
    let (tokens, cached, uncached) = match alg {
        Algorithm::HS256 => {
            let key = EncodingKey::from_secret(common::SECRET.as_bytes());
            let tokens: Vec<String> = (0..distinct)
                .map(|i| signed_token_with(alg, &key, &format!("t{i}")))
                .collect();
            let cached = common::layer_with(TokenCacheSettings::default())
                .validator()
                .clone();
            (tokens, cached, common::layer().validator().clone())
        }
        _ => {
            let pem = common::key_file("rsa2048.pem");
            let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            let tokens: Vec<String> = (0..distinct)
                .map(|i| signed_token_with(alg, &key, &format!("t{i}")))
                .collect();
            let v = |cache| common::asymmetric_validator("RS256", "rsa2048", cache);
            (
                tokens,
                v(TokenCacheSettings::default()),
                v(TokenCacheSettings::disabled()),
            )
        }
    };
    let mut zipf = Zipf::new(distinct, ZIPF_EXPONENT);
    let requests: Vec<usize> = (0..REQUESTS).map(|_| zipf.next()).collect();
    println!(
        "2. {alg:?}: {distinct} distinct tokens ({} bytes each), {REQUESTS} requests, Zipf s = {ZIPF_EXPONENT}",
        tokens[0].len()
    );
    for (name, validator) in [("cache on ", &cached), ("cache off", &uncached)] {
        // Per-request times; the clock read costs the same in both rows.
        let mut each = Vec::with_capacity(REQUESTS);
        let start = Instant::now();
        for &index in &requests {
            let t = Instant::now();
            assert!(passes(validator, black_box(&tokens[index])));
            each.push(t.elapsed().as_nanos() as f64);
        }
        let mean = start.elapsed().as_secs_f64() * 1e9 / REQUESTS as f64;
        each.sort_by(f64::total_cmp);
        let at = |q: f64| each[((each.len() as f64 * q) as usize).min(each.len() - 1)];
        let hits = validator
            .token_cache_status()
            .map(|status| {
                format!(
                    "hit rate {:.1} %, {} entries, {} evictions",
                    100.0 * status.hits as f64 / (status.hits + status.misses) as f64,
                    status.entries,
                    status.evictions
                )
            })
            .unwrap_or_default();
        println!(
            "   {name}: mean {mean:>8.0} ns, p50 {:>8.0} ns, p99 {:>8.0} ns  {hits}",
            at(0.5),
            at(0.99)
        );
    }
}

/// Part 3: hits on 1,000 cached tokens from 1, 2 and 16 threads at once.
fn threads() {
    const HOT: usize = 1_000;
    const PER_THREAD: usize = 400_000;
    let layer = common::layer_with(TokenCacheSettings::default());
    let validator = layer.validator();
    let key = EncodingKey::from_secret(common::SECRET.as_bytes());
    let tokens: Vec<String> = (0..HOT)
        .map(|i| signed_token_with(Algorithm::HS256, &key, &format!("hot{i}")))
        .collect();
    assert!(tokens.iter().all(|token| passes(validator, token)));
    println!("3. HS256 cache hits on {HOT} tokens, {PER_THREAD} per thread");
    for threads in [1, 2, 16] {
        let barrier = Barrier::new(threads);
        let start = Instant::now();
        std::thread::scope(|scope| {
            for t in 0..threads {
                let (barrier, tokens) = (&barrier, &tokens);
                scope.spawn(move || {
                    barrier.wait();
                    for i in 0..PER_THREAD {
                        let token = &tokens[(i * 7 + t * 131) % HOT];
                        assert!(passes(validator, black_box(token)));
                    }
                });
            }
        });
        let seconds = start.elapsed().as_secs_f64();
        let total = (threads * PER_THREAD) as f64;
        println!(
            "   {threads:>2} threads: {:>6.2} M hits/s in all, {:>6.0} ns of wall time per hit per thread",
            total / seconds / 1e6,
            seconds * 1e9 / PER_THREAD as f64
        );
    }
}

/// Resident pages of this process, in bytes.
fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Part 4: the cache filled past its default bound with distinct tokens.
fn memory() {
    const FLOOD: usize = 20_000;
    let key = EncodingKey::from_secret(common::SECRET.as_bytes());
    let tokens: Vec<String> = (0..FLOOD)
        .map(|i| signed_token_with(Algorithm::HS256, &key, &format!("flood{i}")))
        .collect();
    let layer = common::layer_with(TokenCacheSettings::default());
    let before = resident();
    for token in &tokens {
        assert!(passes(layer.validator(), token));
    }
    let after = resident();
    let status = layer.token_cache_status().unwrap_or_default();
    println!(
        "4. {FLOOD} distinct HS256 tokens of {} bytes into the default cache: {} entries, {} evictions",
        tokens[0].len(),
        status.entries,
        status.evictions
    );
    println!(
        "   the cache's count: {:.2} MiB of {:.2} MiB ({} bytes an entry); resident size grew {:.2} MiB",
        status.bytes as f64 / 1048576.0,
        status.max_bytes as f64 / 1048576.0,
        status.bytes / status.entries.max(1) as u64,
        after.saturating_sub(before) as f64 / 1048576.0
    );
}
