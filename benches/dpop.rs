//! What a DPoP request (RFC 9449) costs over a bearer request: one request through the layer
//! with a DPoP-bound token (a verified-token cache hit) and a fresh ES256 proof each time, its
//! `jti` recorded in the in-memory replay store, against the same token as a plain bearer
//! token, in alternation as `interleaved` does.
//! Run with: cargo bench --bench dpop

mod common;

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bearer_guard::dpop::{DpopMode, DpopProof, jwk_thumbprint};
use bearer_guard::issuer::TokenIssuer;
use bearer_guard::service::BearerGuard;
use bearer_guard::{BearerGuardLayer, ResourceServer};
use common::{AUDIENCE, ISSUER, SECRET, key_file, median};
use http::{Request, Response, header};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tower::{Layer, Service, ServiceExt, service_fn};

const ROUNDS: usize = 21;
const BATCH: usize = 2_000;
const URL: &str = "https://api.example.com";

fn main() {
    let api = ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "Read messages");
    let jwk = key_file("p256.jwk.json");
    let jkt = jwk_thumbprint(&jwk).unwrap_or_else(|err| panic!("{err}"));
    let issuer = TokenIssuer::new(&api, ISSUER).unwrap_or_else(|err| panic!("{err}"));
    let bound = issuer
        .client_token("client")
        .scope("read:messages")
        .claim("cnf", json!({ "jkt": jkt }))
        .sign()
        .unwrap_or_else(|err| panic!("{err}"));
    let plain = issuer
        .client_token("client")
        .scope("read:messages")
        .sign()
        .unwrap_or_else(|err| panic!("{err}"));

    // Every proof is used once: made ahead, outside the timing.
    let key = EncodingKey::from_ec_pem(key_file("p256.pem").as_bytes())
        .unwrap_or_else(|err| panic!("{err}"));
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(serde_json::from_str(&jwk).unwrap_or_else(|err| panic!("{err}")));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let ath = DpopProof::access_token_hash(&bound);
    let proofs: Vec<String> = (0..ROUNDS * BATCH)
        .map(|i| {
            let claims = json!({
                "jti": format!("proof-{i}"), "htm": "GET", "htu": format!("{URL}/orders"),
                "iat": now, "ath": ath,
            });
            jsonwebtoken::encode(&header, &claims, &key).unwrap_or_else(|err| panic!("{err}"))
        })
        .collect();

    let layer = BearerGuardLayer::builder(api)
        .issuer(ISSUER)
        .dpop(DpopMode::Allowed)
        .external_url(URL)
        .build()
        .unwrap_or_else(|err| panic!("{err}"));
    let mut service = layer.layer(service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(Response::new(Vec::<u8>::new()))
    }));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|err| panic!("{err}"));
    let mut next_proof = 0;
    let mut time = |service: &mut BearerGuard<_>, dpop: bool| {
        runtime.block_on(async {
            let start = Instant::now();
            for _ in 0..BATCH {
                let request = if dpop {
                    next_proof += 1;
                    Request::get("/orders")
                        .header(header::AUTHORIZATION, format!("DPoP {bound}"))
                        .header("dpop", &proofs[next_proof - 1])
                } else {
                    Request::get("/orders").header(header::AUTHORIZATION, format!("Bearer {plain}"))
                };
                let request = request.body(()).unwrap_or_default();
                let ready = service.ready().await.unwrap_or_else(|err| match err {});
                let response = ready
                    .call(black_box(request))
                    .await
                    .unwrap_or_else(|err| match err {});
                assert_eq!(response.status(), 200);
            }
            start.elapsed().as_secs_f64() * 1e9 / BATCH as f64
        })
    };
    let (mut bearer, mut dpop) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        bearer.push(time(&mut service, false));
        dpop.push(time(&mut service, true));
    }
    let (bearer, dpop) = (median(bearer), median(dpop));
    println!("one request through BearerGuard, {ROUNDS} rounds of {BATCH} (medians)");
    println!("   Bearer, token cache hit              {bearer:>8.0} ns");
    println!("   DPoP, token cache hit + ES256 proof  {dpop:>8.0} ns");
    println!(
        "   a DPoP request adds                  {:>8.0} ns",
        dpop - bearer
    );
}
