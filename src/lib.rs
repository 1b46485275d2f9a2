//! Protect HTTP APIs with OAuth 2.0 bearer access tokens: a tower layer that verifies the JWTs
//! issued for your API (HS256/384/512; RS, PS, ES, EdDSA, Ed25519 with the `jwks` feature) and
//! answers exactly as RFC 6750 says.
//!
//! An authorization server registers your API as a *resource server* with an identifier (the
//! tokens' audience), an HS256 signing secret and the scopes it supports. [`BearerGuardLayer`]
//! reads that registration, checks it at startup, and then, for every request:
//!
//! 1. finds `Authorization: Bearer <token>` ([RFC 6750 §2](https://www.rfc-editor.org/rfc/rfc6750#section-2));
//! 2. checks the token's size, shape and header, with the algorithm pinned to HS256;
//! 3. verifies the HMAC in constant time, then `exp`, `nbf`, `aud`, `iss` and the scopes;
//! 4. passes the request on with a [`VerifiedToken`] in its extensions, or answers
//!    400/401/403 with a `WWW-Authenticate` challenge ([`Rejection`] has the table).
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::get};
//! use bearer_guard::{BearerGuardLayer, ResourceServer, VerifiedToken};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let api = ResourceServer::from_json(r#"{
//!     "identifier": "https://my-api-urn", "signing_alg": "HS256",
//!     "signing_secret": "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5",
//!     "scopes": [{ "value": "read:messages", "description": "Read messages" }]
//! }"#)?;
//! let guard = BearerGuardLayer::builder(api).issuer("https://my-tenant.example.com/").build()?;
//!
//! let app: Router = Router::new()
//!     .route("/api/private", get(|token: VerifiedToken| async move {
//!         format!("hello {}", token.subject().unwrap_or_default())
//!     }))
//!     .route("/api/private-scoped", get(|| async { "secret messages" })
//!         .route_layer(guard.require_all(["read:messages"])?))
//!     .layer(guard)
//!     .route("/api/public", get(|| async { "public" }));
//! # Ok(())
//! # }
//! ```
//!
//! # Where things are
//!
//! The crate's items are all here, at its root; the source is laid out by concern:
//!
//! - `config/`: [`ResourceServer`], [`BearerGuardBuilder`]; `error.rs`: [`ConfigError`];
//! - `http/`: [`BearerGuardLayer`] and [`BearerGuard`], [`MultiApiLayer`] (several APIs in one
//!   layer), [`RequireScopesLayer`], the token sources, the form-body layer, the extractors, the bearer header grammar and the RFC 6750 answers ([`Rejection`]);
//! - `token/`: [`TokenValidator`] and its pipeline (JWS, header, claims, scopes),
//!   [`VerifiedToken`], [`TokenError`];
//! - `dpop/`: DPoP (RFC 9449): [`DpopMode`], [`jwk_thumbprint`], and with the `jwks` feature
//!   the proof verifier, its settings and the replay stores;
//! - `keys/`: [`Algorithm`], [`SigningSecret`] and the HMAC keys, JWKs and JWK sets;
//! - `issuer.rs`: `TokenIssuer` (feature `issuer`), and `issuer/signing_key.rs`: `SigningKey`
//!   (features `issuer` and `jwks`).
//!
//! # Features
//!
//! - `axum` (default): extractors for [`VerifiedToken`] and `Claims`, and `IntoResponse` for
//!   [`Rejection`].
//! - `form`: `FormTokenLayer`, for tokens in form-encoded bodies (RFC 6750 §2.2).
//! - `jwks`: RS/PS/ES 256/384/512, EdDSA and Ed25519, verified with the public keys of a JWK set
//!   (`BearerGuardBuilder::static_jwks`), with aws-lc-rs. An HS256-only build compiles
//!   no asymmetric crypto.
//! - `tonic`: [`DefaultRejection`] answers `tonic::body::Body` responses the gRPC way
//!   ([`Rejection::to_grpc_response`]), for the guard in a tonic server
//!   (`examples/grpc.rs`). Off by default; it adds only tonic's body type.
//! - `redis`: `RedisReplayStore`, a DPoP replay store shared by every instance of an API.
//! - `issuer`: `TokenIssuer`, which mints HS256 access tokens for a resource server: for your
//!   API's tests and for local authorization servers. With `jwks` too, `SigningKey` signs
//!   tokens of every asymmetric algorithm with a private key (aws-lc-rs, the library that
//!   verifies them) and gives its public JWK; `issuer` alone compiles no asymmetric crypto.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod dpop;
mod error;
mod http;
#[cfg(feature = "issuer")]
mod issuer;
mod keys;
#[cfg(test)]
mod test_support;
mod token;

pub use config::{BearerGuardBuilder, ResourceServer, ScopeDefinition};
#[cfg(feature = "redis")]
pub use dpop::RedisReplayStore;
#[cfg(feature = "jwks")]
pub use dpop::{
    DpopError, DpopProof, DpopRequest, DpopSettings, DpopVerifier, MemoryReplayStore, Replay,
    ReplayError, ReplayFuture, ReplayKey, ReplayStore,
};
pub use dpop::{DpopMode, ThumbprintError, jwk_thumbprint};
pub use error::ConfigError;
#[cfg(feature = "axum")]
pub use http::Claims;
pub use http::{
    BearerGuard, BearerGuardLayer, DefaultRejection, GuardFuture, MultiApi, MultiApiLayer,
    OnRejection, Rejection, RejectionBody, RejectionKind, RequestErrorKind, RequireScopes,
    RequireScopesLayer, ResourceMetadata, ResponseFuture,
};
#[cfg(feature = "form")]
pub use http::{FormToken, FormTokenFuture, FormTokenLayer};
#[cfg(feature = "issuer")]
pub use issuer::{AccessTokenBuilder, DEFAULT_TOKEN_LIFETIME, IssueError, TokenIssuer};
#[cfg(all(feature = "issuer", feature = "jwks"))]
pub use issuer::{SigningKey, SigningKeyError};
#[cfg(feature = "reqwest")]
pub use keys::ReqwestFetcher;
pub use keys::{Algorithm, SigningSecret};
#[cfg(feature = "jwks")]
pub use keys::{FetchError, FetchFuture, JwksFetcher, JwksSettings, KeySetStatus, KeysNotReady};
pub use token::{
    ScopeRequirement, Scopes, ScopesIter, TokenCacheSettings, TokenCacheStatus, TokenError,
    TokenErrorKind, TokenValidator, VerifiedToken,
};

/// Recipes: strict and optional routes, `.layer` or `.route_layer`, cookies, tonic, several
/// APIs, your own error shape, and a plain `tower::ServiceBuilder`; each compiled and run as
/// a doc test. The same text is `docs/recipes.md`.
#[doc = include_str!("../docs/recipes.md")]
pub mod recipes {}

/// The README's Rust examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
