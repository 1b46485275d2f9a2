//! One request through the whole layer (`BearerGuard` around a service that answers at once),
//! with the verified-token cache off and on: what the guard adds to a request in-process, for
//! A/B runs of one commit against another (the HTTP A/B measures the same through a server).
//! Run with: cargo bench --bench layer

mod common;

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Instant;

use bearer_guard::BearerGuardLayer;
use bearer_guard::cache::TokenCacheSettings;
use common::median;
use http::{Request, Response, header};
use tower::{Layer, Service, ServiceExt, service_fn};

const ROUNDS: usize = 31;
const BATCH: u32 = 20_000;

fn main() {
    let token = common::typical_token();
    let request = || {
        Request::get("/api/private")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(())
            .unwrap_or_default()
    };
    let service = |layer: &BearerGuardLayer| {
        layer.layer(service_fn(|_: Request<()>| async {
            Ok::<_, Infallible>(Response::new(Vec::<u8>::new()))
        }))
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|err| panic!("{err}"));
    let mut off = service(&common::layer());
    let mut on = service(&common::layer_with(TokenCacheSettings::default()));
    let time = |svc: &mut _| {
        runtime.block_on(async {
            let start = Instant::now();
            for _ in 0..BATCH {
                let svc: &mut bearer_guard::service::BearerGuard<_> = svc;
                let ready = svc.ready().await.unwrap_or_else(|err| match err {});
                let response = ready
                    .call(black_box(request()))
                    .await
                    .unwrap_or_else(|err| match err {});
                assert_eq!(response.status(), 200);
            }
            start.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH)
        })
    };
    let (mut offs, mut ons) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        offs.push(time(&mut off));
        ons.push(time(&mut on));
    }
    println!(
        "one request through BearerGuard, {ROUNDS} rounds of {BATCH} (medians; the request is built in the loop)"
    );
    println!("   token cache off {:>7.1} ns", median(offs));
    println!("   token cache on  {:>7.1} ns", median(ons));
}
