//! Run with: scripts/soak.sh [SECONDS] (it starts `sample_api` and runs this against it).
//!
//! A bounded load generator for `sample_api` on loopback: keep-alive HTTP/1.1 connections
//! send a fixed mix of valid and hostile requests until the time is up, then it prints the
//! request count, the answers by status, and the 5xx count (exit status 1 if any).
//!
//! `soak PORT SECONDS [CONNECTIONS]`; tokens are minted with the demo resource server's public
//! secret, so it works only against the demo configuration.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[path = "../tests/it/common/demo.rs"]
mod demo;

use demo::{AUDIENCE, SECRET as DEMO_SECRET};
const ISSUER: &str = "https://demo.bearer-guard.invalid/";

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("soak: {message}");
    std::process::exit(2)
}

fn claims(scope: &str, extra: &Value) -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let mut claims = json!({
        "iss": ISSUER, "sub": "soak@clients", "aud": AUDIENCE,
        "iat": now, "exp": now + 3600, "scope": scope,
    });
    if let (Some(map), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
        for (name, value) in extra {
            map.insert(name.clone(), value.clone());
        }
    }
    claims
}

fn mint(alg: Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(DEMO_SECRET.as_bytes()),
    )
    .unwrap_or_else(|err| fail(err))
}

/// The request mix: (path, `Authorization` header values).
fn mix() -> Vec<(&'static str, Vec<String>)> {
    let valid = mint(Algorithm::HS256, &claims("sample-scope", &json!({})));
    let reader = mint(Algorithm::HS256, &claims("read:messages", &json!({})));
    let expired = mint(
        Algorithm::HS256,
        &claims("", &json!({"exp": 1_000_000_000})),
    );
    let wrong_aud = mint(
        Algorithm::HS256,
        &claims("", &json!({"aud": "https://other"})),
    );
    let hs384 = mint(Algorithm::HS384, &claims("", &json!({})));
    let payload = URL_SAFE_NO_PAD.encode(claims("", &json!({})).to_string());
    let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
    let mut tampered = valid.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap_or_else(|err| fail(err));
    let bearer = |token: &str| vec![format!("Bearer {token}")];
    vec![
        ("/api/private", bearer(&valid)),
        ("/api/private-scoped", bearer(&reader)),
        ("/api/private-scoped", bearer(&valid)),
        ("/api/public", vec![]),
        ("/api/private", vec![]),
        ("/api/private", bearer(&expired)),
        ("/api/private", bearer(&wrong_aud)),
        ("/api/private", bearer(&hs384)),
        ("/api/private", bearer(&none)),
        ("/api/private", bearer(&tampered)),
        ("/api/private", bearer(&"A".repeat(9000))),
        ("/api/private", bearer("a.b.c")),
        ("/api/private", vec!["Bearer".to_owned()]),
        ("/api/private", vec![format!("Bearer\t{valid}")]),
        ("/api/private", vec![format!("Basic {valid}")]),
        ("/api/private", [bearer(&valid), bearer(&valid)].concat()),
    ]
}

/// Sends one request on `stream` and returns the status, reading the whole answer.
async fn exchange(
    stream: &mut BufReader<TcpStream>,
    path: &str,
    authorization: &[String],
) -> std::io::Result<u16> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for value in authorization {
        request.push_str(&format!("Authorization: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.get_mut().write_all(request.as_bytes()).await?;
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut length = 0usize;
    loop {
        line.clear();
        stream.read_line(&mut line).await?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await?;
    Ok(status)
}

async fn worker(port: u16, until: Instant, offset: usize) -> (BTreeMap<u16, u64>, u64) {
    let mix = mix();
    let mut statuses = BTreeMap::new();
    let mut errors = 0;
    let mut next = offset;
    while Instant::now() < until {
        let Ok(stream) = TcpStream::connect(("127.0.0.1", port)).await else {
            errors += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let mut stream = BufReader::new(stream);
        // A fresh connection every 1000 requests, so connection setup is soaked too.
        for _ in 0..1000 {
            if Instant::now() >= until {
                break;
            }
            let (path, authorization) = &mix[next % mix.len()];
            next += 1;
            match exchange(&mut stream, path, authorization).await {
                Ok(status) => *statuses.entry(status).or_insert(0) += 1,
                Err(_) => {
                    errors += 1;
                    break;
                }
            }
        }
    }
    (statuses, errors)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| -> u64 {
        args.get(i)
            .map_or(Some(default), |value| value.parse().ok())
            .unwrap_or_else(|| fail("usage: soak PORT SECONDS [CONNECTIONS]"))
    };
    let port = u16::try_from(arg(0, 3000)).unwrap_or_else(|err| fail(err));
    // At most ten minutes, whatever is asked: the soak must stop by itself.
    let seconds = arg(1, 60).min(600);
    let connections = usize::try_from(arg(2, 4)).unwrap_or_else(|err| fail(err));
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|i| tokio::spawn(worker(port, until, i * 5)))
        .collect();
    let mut statuses = BTreeMap::new();
    let mut errors = 0;
    for worker in workers {
        let (counts, failed) = worker.await.unwrap_or_else(|err| fail(err));
        for (status, count) in counts {
            *statuses.entry(status).or_insert(0) += count;
        }
        errors += failed;
    }
    let requests: u64 = statuses.values().sum();
    let server_errors: u64 = statuses
        .iter()
        .filter(|(status, _)| **status >= 500)
        .map(|(_, count)| count)
        .sum();
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "requests: {requests} in {elapsed:.0} s ({:.0}/s)",
        requests as f64 / elapsed
    );
    println!("by status: {statuses:?}");
    println!("5xx: {server_errors}");
    println!("connection errors: {errors}");
    if server_errors > 0 || requests == 0 {
        std::process::exit(1);
    }
}
