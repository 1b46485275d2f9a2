//! Peer servers for the HTTP benchmark: `/api/private` behind the same check as the sample
//! API (signature, `aud`, `iss`, `exp`), answering the same JSON; a static issuer for the
//! RS256 run; and the per-token RS256 timing against `jsonwebtoken::decode`.
//!
//! Usage (`bearer-guard-http-peers MODE …`):
//!
//! - HS256, the demo secret: `jsonwebtoken PORT`, `jwt-authorizer PORT`, `mint` (prints a token
//!   the sample API and both peers accept);
//! - RS256, the fixture key `rsa2048` as `kid` `k1`: `issuer PORT` (discovery and the JWK set at
//!   `http://127.0.0.1:PORT/`), `jsonwebtoken-rs256 PORT ISSUER`, `jwt-authorizer-rs256 PORT
//!   ISSUER`, `mint-rs256 ISSUER`;
//! - `per-token`: bearer-guard's RS256 validation against `jsonwebtoken::decode`, both on
//!   aws-lc-rs, timed in alternation.

mod issuer;
mod jsonwebtoken_peer;
mod jwt_authorizer_peer;
mod per_token;

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::crypto::{CryptoProvider, aws_lc, rust_crypto};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Value, json};

/// The sample API's demo resource server: its identifier, secret and demo issuer.
const AUDIENCE: &str = "https://my-api-urn";
const SECRET: &str = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
const ISSUER: &str = "https://demo.bearer-guard.invalid/";
const MESSAGE: &str = "Hello from a private endpoint! You need to be authenticated to see this.";

/// The RS256 key: a fixture of bearer-guard's tests (public, so for benchmarks only).
const RSA_JWK: &str = include_str!("../../../tests/data/keys/rsa2048.jwk.json");
const RSA_PEM: &str = include_str!("../../../tests/data/keys/rsa2048.pem");
const KID: &str = "k1";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map_or_else(|| usage(), String::as_str);
    let port = || -> u16 { arg(1).parse().unwrap_or_else(|_| usage()) };
    let mode = args.first().map_or("", String::as_str);
    // Both jsonwebtoken backends are compiled in, so each mode names its own: the HS256 modes
    // keep RustCrypto (as in the earlier HS256 runs), the RS256 ones use aws-lc-rs, which is
    // bearer-guard's. jwt-authorizer has its own jsonwebtoken 9, on ring.
    let backend: &'static CryptoProvider = if mode.ends_with("rs256") || mode == "per-token" {
        &aws_lc::DEFAULT_PROVIDER
    } else {
        &rust_crypto::DEFAULT_PROVIDER
    };
    if backend.install_default().is_err() {
        unreachable!("the jsonwebtoken backend is installed once, here");
    }
    match mode {
        "mint" => println!("{}", mint()),
        "jsonwebtoken" => serve(jsonwebtoken_peer::run(
            port(),
            jsonwebtoken_peer::Keys::hs256(),
        )),
        "jwt-authorizer" => serve(jwt_authorizer_peer::run(
            port(),
            jwt_authorizer_peer::hs256(),
        )),
        "issuer" => serve(issuer::run(port())),
        "mint-rs256" => println!("{}", mint_rs256(arg(1))),
        "jsonwebtoken-rs256" => serve(jsonwebtoken_peer::run(
            port(),
            jsonwebtoken_peer::Keys::rs256(arg(2)),
        )),
        "jwt-authorizer-rs256" => serve(jwt_authorizer_peer::run(
            port(),
            jwt_authorizer_peer::rs256(arg(2)),
        )),
        "per-token" => per_token::run(),
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: bearer-guard-http-peers (jsonwebtoken PORT | jwt-authorizer PORT | mint\n\
         \x20 | issuer PORT | jsonwebtoken-rs256 PORT ISSUER | jwt-authorizer-rs256 PORT ISSUER\n\
         \x20 | mint-rs256 ISSUER | per-token)"
    );
    std::process::exit(2)
}

/// Like the sample API: tokio's multi-threaded runtime, one worker per core.
fn serve(server: impl Future<Output = std::io::Result<()>>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(err) = runtime.block_on(server) {
        eprintln!("bearer-guard-http-peers: {err}");
        std::process::exit(1);
    }
}

/// Seconds since the Unix epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// A client-credentials token's claims, as Auth0 writes them.
fn claims(issuer: &str, scope: &str, lifetime: u64) -> Value {
    let now = now();
    json!({
        "iss": issuer,
        "sub": "demo-client@clients",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + lifetime,
        "azp": "demo-client",
        "gty": "client-credentials",
        "scope": scope,
    })
}

/// A client-credentials token as the sample API's demo tokens: valid for an hour.
fn mint() -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(ISSUER, "read:messages sample-scope", 3600),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("minting a token")
}

/// `claims` signed with the RS256 key under `kid` `k1`.
fn sign_rs256(claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).expect("the fixture RSA key");
    let header = Header {
        kid: Some(KID.into()),
        ..Header::new(Algorithm::RS256)
    };
    jsonwebtoken::encode(&header, claims, &key).expect("minting a token")
}

/// An RS256 token from `issuer` for the sample API, with `read:messages`, valid for a day.
fn mint_rs256(issuer: &str) -> String {
    sign_rs256(&claims(issuer, "read:messages", 86_400))
}

/// The RS256 public key as the issuer publishes it: `kid` `k1`, `alg` RS256, `use` sig.
fn rsa_jwk() -> Value {
    let mut jwk: Value = serde_json::from_str(RSA_JWK).expect("the fixture JWK");
    jwk["kid"] = KID.into();
    jwk["alg"] = "RS256".into();
    jwk["use"] = "sig".into();
    jwk
}

/// The RS256 public key's modulus and exponent (base64url), for `DecodingKey`.
fn rsa_components() -> (String, String) {
    let jwk = rsa_jwk();
    let member = |name: &str| jwk[name].as_str().unwrap_or_default().to_owned();
    (member("n"), member("e"))
}

/// The answer of the sample API's `/api/private`.
fn private_answer(sub: Option<&str>) -> Value {
    json!({ "message": MESSAGE, "sub": sub })
}

/// What a hand-written middleware decodes: the claims the handler needs.
#[derive(Clone, Deserialize)]
struct Claims {
    sub: Option<String>,
}
