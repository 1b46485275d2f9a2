//! The integration tests: one test binary, one module per concern, black-box through the
//! public API. Tokens are minted by jsonwebtoken (see `common`), never by the code under
//! test. A module that needs a feature is compiled only with it; `cargo test --all-features`
//! runs them all.

#![allow(clippy::unwrap_used)]
// The examples that `examples` includes load `examples/support/serve.rs`.
#![allow(clippy::duplicate_mod)]

mod common;
mod examples;

#[cfg(all(feature = "axum", feature = "jwks", feature = "issuer"))]
mod algorithms;
#[cfg(feature = "axum")]
mod answers;
#[cfg(feature = "jwks")]
mod asymmetric;
#[cfg(feature = "axum")]
mod attacks;
mod compliance;
#[cfg(feature = "axum")]
mod dialects;
#[cfg(feature = "jwks")]
mod dpop;
#[cfg(all(feature = "axum", feature = "jwks", feature = "issuer"))]
mod dpop_guard;
#[cfg(all(feature = "axum", feature = "jwks", feature = "issuer"))]
mod encryption;
#[cfg(feature = "axum")]
mod error_hook;
#[cfg(all(feature = "axum", feature = "jwks"))]
mod fleet_rules;
#[cfg(all(feature = "axum", feature = "form"))]
mod form;
#[cfg(feature = "tonic")]
mod grpc;
#[cfg(all(feature = "axum", feature = "jwks", feature = "reqwest"))]
mod issuers;
#[cfg(all(feature = "jwks", feature = "reqwest"))]
mod jwks_cache;
#[cfg(feature = "axum")]
mod logging;
#[cfg(feature = "axum")]
mod mcp;
#[cfg(feature = "axum")]
mod modes;
#[cfg(all(feature = "axum", feature = "jwks"))]
mod mtls;
#[cfg(feature = "axum")]
mod properties;
#[cfg(feature = "axum")]
mod rotation;
#[cfg(feature = "axum")]
mod sample_api;
mod services;
#[cfg(feature = "axum")]
mod several_apis;
#[cfg(all(feature = "axum", feature = "redis"))]
mod shared_keys;
#[cfg(feature = "axum")]
mod sources;
#[cfg(feature = "axum")]
mod step_up;
#[cfg(feature = "axum")]
mod whole_flow;
