//! Heap allocations per validated request, counted by a counting global allocator.
//! Run with: cargo bench --bench alloc
//!
//! `stats_alloc` provides the counting allocator: its `GlobalAlloc` impl needs `unsafe`, which
//! this crate forbids in every target. Counts are exact and do not depend on timing; requests
//! are built before counting starts, so only the guard's own work (and the inner service's,
//! which allocates nothing) is counted.

use std::alloc::System;
use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bearer_guard::cache::TokenCacheSettings;
use bearer_guard::{BearerGuardLayer, ResourceServer, VerifiedToken};
use bytes::Bytes;
use http::{Request, Response, header::AUTHORIZATION};
use jsonwebtoken::{Algorithm, EncodingKey};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tower::{Layer, Service, ServiceExt as _};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

mod common;

use common::{AUDIENCE, ISSUER, SECRET, typical_token};

const ROUNDS: usize = 1000;

/// Polls a future that completes without waiting (no I/O anywhere below it).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the bench's services never wait"),
    }
}

/// Allocations per round of `f`, averaged over [`ROUNDS`].
fn per_round(mut inputs: Vec<Request<()>>, mut f: impl FnMut(Request<()>) -> bool) -> f64 {
    let region = Region::new(GLOBAL);
    let mut passed = 0;
    while let Some(request) = inputs.pop() {
        passed += usize::from(f(request));
    }
    let change = region.change();
    assert_eq!(passed, ROUNDS, "every request must pass the guard");
    #[allow(clippy::cast_precision_loss)]
    let per = change.allocations as f64 / ROUNDS as f64;
    per
}

fn requests(token: &str, prefill: bool) -> Vec<Request<()>> {
    (0..ROUNDS)
        .map(|_| {
            let mut request = Request::get("/api/private")
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .body(())
                .unwrap_or_default();
            if prefill {
                // Two entries, as axum's Router with its default features leaves the extensions
                // by the time a route's layers run (`OriginalUri`, `MatchedPath`).
                let uri = request.uri().clone();
                request.extensions_mut().insert(uri);
                request.extensions_mut().insert("/api/private");
            }
            request
        })
        .collect()
}

fn main() {
    let api = ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "Read messages");
    let Ok(guard) = BearerGuardLayer::builder(api).issuer(ISSUER).build() else {
        panic!("bench configuration")
    };
    let token = typical_token();
    let validator = guard.validator();

    let region = Region::new(GLOBAL);
    for _ in 0..ROUNDS {
        assert!(validator.validate(&token).is_ok());
    }
    #[allow(clippy::cast_precision_loss)]
    let validate = region.change().allocations as f64 / ROUNDS as f64;

    let inner = tower::service_fn(|request: Request<()>| async move {
        let passed = request.extensions().get::<VerifiedToken>().is_some();
        Ok::<_, Infallible>(Response::new(Bytes::from_static(if passed {
            b"ok"
        } else {
            b""
        })))
    });
    let mut service = guard.layer(inner);
    let mut through_layer =
        |request| ready(service.call(request)).is_ok_and(|response| response.body() == "ok");
    let bare = per_round(requests(&token, false), &mut through_layer);
    let prefilled = per_round(requests(&token, true), &mut through_layer);

    let handler =
        |token: VerifiedToken| async move { if token.subject().is_some() { "ok" } else { "" } };
    let private = axum::Router::new()
        .route("/api/private", axum::routing::get(handler))
        .layer(guard.clone());
    // axum boxes a layered route once more, and allocates for that: the baseline is the same
    // route behind a layer that does nothing.
    let public = axum::Router::new()
        .route("/api/private", axum::routing::get(|| async { "ok" }))
        .layer(tower::util::MapRequestLayer::new(|request| request));
    let through = |router: &axum::Router, request: Request<()>| {
        let request = request.map(|()| axum::body::Body::empty());
        ready(router.clone().oneshot(request)).is_ok_and(|response| response.status() == 200)
    };
    let router_private = per_round(requests(&token, false), |r| through(&private, r));
    let router_public = per_round(requests(&token, false), |r| through(&public, r));

    println!("token length: {} bytes", token.len());
    println!("allocations per validate():                          {validate}");
    println!("allocations per request through BearerGuard:");
    println!("  request with empty extensions:                      {bare}");
    println!("  request with extensions already in use:             {prefilled}");
    println!(
        "allocations per request through an axum Router (axum features of the dev-dependency):"
    );
    println!("  guarded route, handler takes VerifiedToken:         {router_private}");
    println!("  same route behind a no-op layer, same answer:       {router_public}");
    println!(
        "  difference (the guard and the extractor):           {}",
        router_private - router_public
    );
    token_cache_bytes();
}

/// The verified-token cache's own count against the allocator's: 20,000 distinct Auth0-shaped
/// HS256 tokens into the default cache (8 MiB), the heap the layer with its filled cache
/// holds (bytes handed out, less those given back: the tokens' verified buffers, quick_cache's
/// slabs and tables, and the layer itself) next to what the cache's weigher counts.
fn token_cache_bytes() {
    const TOKENS: usize = 20_000;
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let tokens: Vec<String> = (0..TOKENS)
        .map(|i| common::signed_token_with(Algorithm::HS256, &key, &format!("flood{i}")))
        .collect();
    // From before the layer is built: the cache reserves its slab and table then.
    let region = Region::new(GLOBAL);
    let layer = common::layer_with(TokenCacheSettings::default());
    for token in &tokens {
        assert!(common::bearer_guard(layer.validator(), token));
    }
    let change = region.change();
    let status = layer.token_cache_status().unwrap_or_default();
    #[allow(clippy::cast_possible_wrap)]
    let held = change.bytes_allocated as isize - change.bytes_deallocated as isize
        + change.bytes_reallocated;
    println!(
        "verified-token cache, {TOKENS} distinct HS256 tokens of {} bytes into the default bound:",
        tokens[0].len()
    );
    println!(
        "  {} entries, {} evictions; counted {} bytes ({} an entry); the allocator holds {} bytes for it ({} an entry)",
        status.entries,
        status.evictions,
        status.bytes,
        status.bytes / status.entries.max(1) as u64,
        held,
        held / status.entries.max(1) as isize
    );
}
