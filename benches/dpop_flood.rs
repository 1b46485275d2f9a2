//! One DPoP key floods the replay store while another key's proofs are checked (issue 19):
//! counts, not timings, are the result. Each proof is a real one (EdDSA for the flooding key,
//! ES256 for the other), verified by `DpopVerifier` and recorded with `check_replay`, one
//! after another at full speed on one thread: 100 flooding proofs, then one of the other key.
//! Reported: how the other key's checks end (all must pass), how the flood's end, the proofs
//! a second the flood reached, and the heap the store holds, counted by a counting global
//! allocator (`stats_alloc`, as the `alloc` bench). Then the store at its bound, two ways:
//! 50 keys at their quota, and 100,000 keys with one proof each (no signing,
//! `ReplayStore::record` straight).
//!
//! With `--features redis` and a `redis-server` on the PATH, the same flood against a
//! `RedisReplayStore` on a `redis-server` of its own, and Redis's own memory figures.
//!
//! Run with: cargo bench --bench dpop_flood --features redis

mod common;

use std::alloc::System;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bearer_guard::dpop::{
    DpopError, DpopProof, DpopRequest, DpopSettings, DpopVerifier, MemoryReplayStore, Replay,
    ReplayKey, ReplayStore, jwk_thumbprint,
};
use common::key_file;
use http::HeaderValue;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// More than the measured attack's 115,000, and more than the store's default capacity.
const FLOOD: usize = 120_000;
/// One proof of the other key after this many of the flood.
const EVERY: usize = 100;
const URI: &str = "https://api.example.com/orders";
const TOKEN: &str = "the-access-token";

struct Key {
    jkt: String,
    header: Header,
    encoding: EncodingKey,
}

impl Key {
    fn new(name: &str, alg: Algorithm) -> Self {
        let jwk = key_file(&format!("{name}.jwk.json"));
        let pem = key_file(&format!("{name}.pem"));
        let encoding = match alg {
            Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
            _ => EncodingKey::from_ec_pem(pem.as_bytes()),
        }
        .unwrap_or_else(|err| panic!("{err}"));
        let mut header = Header::new(alg);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(serde_json::from_str(&jwk).unwrap_or_else(|err| panic!("{err}")));
        Self {
            jkt: jwk_thumbprint(&jwk).unwrap_or_else(|err| panic!("{err}")),
            header,
            encoding,
        }
    }

    fn proofs(&self, prefix: &str, n: usize, iat: u64) -> Vec<HeaderValue> {
        let ath = DpopProof::access_token_hash(TOKEN);
        (0..n)
            .map(|i| {
                let claims = json!({
                    "jti": format!("{prefix}-{i}"), "htm": "GET", "htu": URI, "iat": iat, "ath": ath,
                });
                let proof = jsonwebtoken::encode(&self.header, &claims, &self.encoding)
                    .unwrap_or_else(|err| panic!("{err}"));
                HeaderValue::from_str(&proof).unwrap_or_else(|err| panic!("{err}"))
            })
            .collect()
    }
}

/// How the checks of one key ended.
#[derive(Default, Debug)]
struct Outcomes {
    passed: usize,
    over_quota: usize,
    other: usize,
}

impl Outcomes {
    fn count(&mut self, outcome: Result<(), DpopError>) {
        match outcome {
            Ok(()) => self.passed += 1,
            Err(DpopError::KeyOverQuota) => self.over_quota += 1,
            Err(err) => {
                if self.other == 0 {
                    eprintln!("   first other outcome: {err:?}");
                }
                self.other += 1;
            }
        }
    }
}

/// Runs the flood against `store`: verify and record every proof, in the interleaved order.
fn flood(
    runtime: &tokio::runtime::Runtime,
    store: &dyn ReplayStore,
    flooder: (&Key, &[HeaderValue]),
    honest: (&Key, &[HeaderValue]),
) -> (Outcomes, Outcomes, Duration) {
    let verifier = DpopVerifier::new(DpopSettings::default()).unwrap_or_else(|err| panic!("{err}"));
    let (mut flood, mut other) = (Outcomes::default(), Outcomes::default());
    let check = |key: &Key, proof: &HeaderValue| {
        let request =
            DpopRequest::new("GET", URI, SystemTime::now()).access_token(TOKEN, Some(&key.jkt));
        let verified = verifier
            .verify([proof], &request)
            .unwrap_or_else(|err| panic!("{err}"));
        runtime.block_on(verified.check_replay(store))
    };
    let start = Instant::now();
    for (i, proof) in flooder.1.iter().enumerate() {
        flood.count(check(flooder.0, proof));
        if i % EVERY == 0 {
            other.count(check(honest.0, &honest.1[i / EVERY]));
        }
    }
    (flood, other, start.elapsed())
}

fn net_bytes(region: &Region<'_, System>) -> i64 {
    let change = region.change();
    change.bytes_allocated as i64 - change.bytes_deallocated as i64
}

fn report(name: &str, flood: &Outcomes, other: &Outcomes, took: Duration) {
    println!("{name}");
    println!(
        "   flooding key: {} proofs in {:.2} s ({:.0}/s): {} passed, {} refused KeyOverQuota, {} other",
        FLOOD,
        took.as_secs_f64(),
        (FLOOD + FLOOD / EVERY) as f64 / took.as_secs_f64(),
        flood.passed,
        flood.over_quota,
        flood.other
    );
    println!(
        "   other key:    {} proofs checked among them: {} passed, {} refused",
        FLOOD / EVERY,
        other.passed,
        other.over_quota + other.other
    );
    assert_eq!(
        other.passed,
        FLOOD / EVERY,
        "every other key's proof must pass"
    );
}

fn main() {
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let flooder = Key::new("ed25519", Algorithm::EdDSA);
    let honest = Key::new("p256", Algorithm::ES256);
    let flood_proofs = flooder.proofs("flood", FLOOD, iat);
    let honest_proofs = honest.proofs("honest", FLOOD / EVERY + 1, iat);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|err| panic!("{err}"));

    // The in-memory store, default limits.
    let region = Region::new(GLOBAL);
    let store = MemoryReplayStore::new();
    let (f, o, took) = flood(
        &runtime,
        &store,
        (&flooder, &flood_proofs),
        (&honest, &honest_proofs),
    );
    let held = net_bytes(&region);
    report(
        "MemoryReplayStore::new() (100,000 proofs, 2,000 per key), one thread",
        &f,
        &o,
        took,
    );
    println!(
        "   store after the flood: {} proofs of {} keys, {} bytes of heap held",
        store.len(),
        store.keys(),
        held
    );
    drop(store);

    // The store at its bound: 50 keys at their quota of 2,000, then one more proof.
    let region = Region::new(GLOBAL);
    let store = MemoryReplayStore::new();
    let ttl = Duration::from_secs(120);
    for signer in 0..50 {
        for jti in 0..2_000 {
            let key = ReplayKey::new(&format!("key-{signer}"), &format!("jti-{jti}"));
            let first = runtime.block_on(store.record(key, ttl));
            assert_eq!(first, Ok(Replay::First));
        }
    }
    let held = net_bytes(&region);
    let full = runtime.block_on(store.record(ReplayKey::new("key-50", "jti"), ttl));
    println!(
        "MemoryReplayStore::new() at its bound: {} proofs of {} keys, {} bytes of heap ({:.1} per proof); one more: {:?}",
        store.len(),
        store.keys(),
        held,
        held as f64 / store.len() as f64,
        full
    );

    drop(store);

    // The other bound: as many keys as proofs, one each (the per-key map at its largest).
    let region = Region::new(GLOBAL);
    let store = MemoryReplayStore::new();
    for signer in 0..100_000 {
        let key = ReplayKey::new(&format!("key-{signer}"), "jti");
        assert_eq!(runtime.block_on(store.record(key, ttl)), Ok(Replay::First));
    }
    let held = net_bytes(&region);
    println!(
        "MemoryReplayStore::new() at its bound, one proof per key: {} proofs of {} keys, {} bytes of heap ({:.1} per proof)",
        store.len(),
        store.keys(),
        held,
        held as f64 / store.len() as f64,
    );

    #[cfg(feature = "redis")]
    redis_flood::run(
        &runtime,
        (&flooder, &flood_proofs),
        (&honest, &honest_proofs),
    );
}

/// The tests' `redis-server` of its own, on a free loopback port.
#[cfg(feature = "redis")]
#[allow(clippy::unwrap_used)]
#[path = "../tests/it/common/redis.rs"]
mod redis_server;

#[cfg(feature = "redis")]
mod redis_flood {
    use std::process::Command;

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use bearer_guard::dpop::RedisReplayStore;
    use sha2::{Digest as _, Sha256};

    use super::*;

    /// Redis's `used_memory`, in bytes.
    async fn used_memory(conn: &mut redis::aio::MultiplexedConnection) -> i64 {
        let info: String = redis::cmd("INFO")
            .arg("memory")
            .query_async(conn)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        info.lines()
            .find_map(|line| line.strip_prefix("used_memory:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    pub(super) fn run(
        runtime: &tokio::runtime::Runtime,
        flooder: (&Key, &[HeaderValue]),
        honest: (&Key, &[HeaderValue]),
    ) {
        let Some(server) = super::redis_server::RedisServer::start() else {
            println!("RedisReplayStore: no redis-server to run; skipped");
            return;
        };
        let url = server.url();
        let version = Command::new("redis-server")
            .arg("--version")
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_default();
        let (store, mut conn, before) = runtime.block_on(async {
            let client = redis::Client::open(url.as_str()).unwrap_or_else(|err| panic!("{err}"));
            let mut conn = client
                .get_multiplexed_async_connection()
                .await
                .unwrap_or_else(|err| panic!("{err}"));
            let before = used_memory(&mut conn).await;
            let store = RedisReplayStore::connect(&url)
                .await
                .unwrap_or_else(|err| panic!("{err}"));
            (store, conn, before)
        });
        let (f, o, took) = flood(runtime, &store, flooder, honest);
        report(
            &format!("RedisReplayStore (2,000 per key), one thread, one connection, {version}"),
            &f,
            &o,
            took,
        );
        runtime.block_on(async {
            let after = used_memory(&mut conn).await;
            let keys: i64 = redis::cmd("DBSIZE")
                .query_async(&mut conn)
                .await
                .unwrap_or(0);
            let name = |jkt: &str| {
                format!(
                    "bearer-guard:dpop:{}",
                    URL_SAFE_NO_PAD.encode(Sha256::digest(jkt))
                )
            };
            let usage = |key: String| {
                let mut conn = conn.clone();
                async move {
                    let bytes: Option<i64> = redis::cmd("MEMORY")
                        .arg("USAGE")
                        .arg(&key)
                        .arg("SAMPLES")
                        .arg(0)
                        .query_async(&mut conn)
                        .await
                        .unwrap_or(None);
                    bytes.unwrap_or(0)
                }
            };
            let card = |key: String| {
                let mut conn = conn.clone();
                async move {
                    let n: i64 = redis::cmd("ZCARD")
                        .arg(&key)
                        .query_async(&mut conn)
                        .await
                        .unwrap_or(0);
                    n
                }
            };
            let flood_key = name(&flooder.0.jkt);
            let honest_key = name(&honest.0.jkt);
            println!(
                "   Redis after the flood: {keys} keys; the flooding key's set {} proofs, {} bytes; the other's {} proofs, {} bytes; used_memory {} -> {} bytes (+{})",
                card(flood_key.clone()).await,
                usage(flood_key).await,
                card(honest_key.clone()).await,
                usage(honest_key).await,
                before,
                after,
                after - before
            );
        });
        drop(server);
    }
}
