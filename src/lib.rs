//! Protect HTTP APIs with OAuth 2.0 bearer access tokens: a tower layer that verifies the JWTs
//! issued for your API and answers exactly as RFC 6750 says.
//!
//! An authorization server registers your API as a *resource server*: an identifier (the
//! tokens' audience), a signing algorithm (HS256, HS384 or HS512 with a signing secret;
//! RS256/384/512, PS256/384/512, ES256/384/512, EdDSA or Ed25519 with keys from the
//! issuer's JWK set, feature `jwks`, on by default) and the scopes it supports.
//! [`BearerGuardLayer`] reads that registration, checks it at startup, and then, for every
//! request:
//!
//! 1. finds `Authorization: Bearer <token>` ([RFC 6750 §2](https://www.rfc-editor.org/rfc/rfc6750#section-2));
//! 2. checks the token's size, shape and header, with the algorithm pinned to the registered
//!    one (never the one the token names);
//! 3. verifies the signature (an HMAC in constant time, or the public key), then `exp`, `nbf`,
//!    `aud`, `iss` and the scopes;
//! 4. passes the request on with a [`VerifiedToken`] in its extensions, or answers
//!    400/401/403 with a `WWW-Authenticate` challenge ([`Rejection`] has the table).
//!
//! The whole path is one function of named steps: `src/http/guard/pipeline.rs`.
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
//!     // `route_layer`: only the routes above are guarded, and an unknown path stays a 404.
//!     .route_layer(guard)
//!     .route("/api/public", get(|| async { "public" }));
//! # Ok(())
//! # }
//! ```
//!
//! # Where things are
//!
//! The happy path is at the crate root: the registration ([`ResourceServer`]), the builder
//! and its [`ConfigError`], the layer ([`BearerGuardLayer`], or [`MultiApiLayer`] for several
//! APIs), what a handler gets ([`VerifiedToken`], `Claims`), what a refused request gets
//! ([`Rejection`], shaped by an [`OnRejection`] hook), and [`TokenValidator`] for tokens that
//! do not come through HTTP. The rest is in modules named for the architecture:
//!
//! - [`service`]: the tower services and futures the layers make, and the RFC 9728 metadata
//!   service;
//! - [`answer`]: the default answers by body type, request errors, the extractors' rejection;
//! - [`registration`]: the parts of a resource server (scopes, secrets, token dialect);
//! - [`scopes`]: a verified token's scopes;
//! - [`step_up`]: step-up authentication (RFC 9470), `acr` and `auth_time` requirements;
//! - [`cache`]: the verified-token cache's settings and status;
//! - `jwks` (feature `jwks`): the key cache, its settings, status and fetchers;
//! - [`dpop`]: DPoP (RFC 9449) proofs, replay stores and thumbprints;
//! - [`mtls`]: certificate-bound tokens (RFC 8705 §3): client certificates and where they
//!   come from;
//! - `issuer` (feature `issuer`): minting tokens for tests and local authorization servers;
//! - [`recipes`]: worked examples.
//!
//! The source follows the same lines: `config/` (registration and builder), `http/` (the guard
//! and its pipeline, credentials, answers, scope layers, metadata, axum glue), `token/` (the
//! validator, which knows nothing of HTTP), `keys/`, `dpop/`, `issuer.rs`.
//!
//! # Features
//!
//! - `axum` (default): extractors for [`VerifiedToken`] and `Claims`, and `IntoResponse` for
//!   [`Rejection`].
//! - `form`: `FormTokenLayer`, for tokens in form-encoded bodies (RFC 6750 §2.2).
//! - `jwks`: RS256/384/512, PS256/384/512, ES256/384/512, EdDSA and Ed25519, verified with the
//!   public keys of a JWK set (static, or fetched and cached), with aws-lc-rs. An HS-only build
//!   compiles no asymmetric crypto.
//! - `reqwest` (default; brings `jwks`): the built-in fetcher of the key cache (reqwest over
//!   rustls on aws-lc-rs), so that an API signed RS256 (Auth0's default) works with only
//!   `.issuer(…)`. An HS256-only API leaves the HTTP client, TLS and aws-lc-rs out with
//!   `default-features = false, features = ["axum"]` (README, "Features and build cost").
//! - `tonic`: [`DefaultRejection`](answer::DefaultRejection) answers `tonic::body::Body`
//!   responses the gRPC way ([`Rejection::to_grpc_response`]), for the guard in a tonic
//!   server (`examples/grpc.rs`). Off by default; it adds only tonic's body type.
//! - `redis`: `RedisReplayStore`, a DPoP replay store shared by every instance of an API.
//! - `issuer`: `TokenIssuer`, which mints HS256 access tokens for a resource server: for your
//!   API's tests and for local authorization servers. With `jwks` too, `SigningKey` signs
//!   tokens of every asymmetric algorithm with a private key (aws-lc-rs, the library that
//!   verifies them) and gives its public JWK; `issuer` alone compiles no asymmetric crypto.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
pub mod dpop;
mod http;
#[cfg(feature = "issuer")]
pub mod issuer;
mod keys;
pub mod mtls;
#[cfg(test)]
mod test_support;
mod token;

pub use config::{BearerGuardBuilder, ConfigError, ResourceServer};
#[cfg(feature = "axum")]
pub use http::Claims;
pub use http::{BearerGuardLayer, MultiApiLayer, OnRejection, Rejection, RejectionKind};
pub use keys::Algorithm;
pub use token::{ScopeRequirement, TokenError, TokenErrorKind, TokenValidator, VerifiedToken};

/// The tower services the layers wrap your service in, their response futures, and the
/// RFC 9728 metadata service. You name these only in type signatures.
pub mod service {
    pub use crate::http::{
        BearerGuard, GuardFuture, MultiApi, RequireScopes, RequireScopesLayer, ResourceMetadata,
        ResponseFuture,
    };
    #[cfg(feature = "form")]
    pub use crate::http::{FormToken, FormTokenFuture, FormTokenLayer};
    pub use crate::http::{RequireAuthentication, RequireAuthenticationLayer};
}

/// The answers to refused requests beyond [`Rejection`]: the default answer
/// by response body type, why the credentials could not be read, and the extractors'
/// rejection.
pub mod answer {
    #[cfg(feature = "axum")]
    pub use crate::http::ExtractorRejection;
    pub use crate::http::{DefaultRejection, RejectionBody, RequestErrorKind};
}

/// The parts of a resource server's registration: its scopes, its signing secrets and its
/// token dialect.
pub mod registration {
    pub use crate::config::AuthorizationServerSettings;
    pub use crate::config::TokenEncryption;
    pub use crate::config::{ScopeDefinition, TokenDialect};
    pub use crate::keys::SigningSecret;
    #[cfg(feature = "jwks")]
    pub use crate::token::ContentEncryption;
}

/// A verified token's scopes.
pub mod scopes {
    pub use crate::token::{Scopes, ScopesIter};
}

/// Step-up authentication (RFC 9470): what a route needs of the user's authentication (`acr`,
/// `auth_time`), and why a token fell short. The layers are
/// [`require_authentication`](crate::BearerGuardLayer::require_authentication)'s and
/// [`require_authentication_for_every_request`](crate::BearerGuardBuilder::require_authentication_for_every_request)'s.
pub mod step_up {
    pub use crate::token::{AuthenticationRequirement, StepUpFailure};
}

/// The verified-token cache: its settings
/// ([`token_cache`](crate::BearerGuardBuilder::token_cache)) and its status
/// ([`token_cache_status`](crate::BearerGuardLayer::token_cache_status)).
pub mod cache {
    pub use crate::token::{TokenCacheSettings, TokenCacheStatus};
}

/// The key cache of an API whose tokens are signed with public keys (feature `jwks`): its
/// settings, its status, and the fetchers that bring its JWK set; and why a key for
/// encrypted tokens (JWE) could not be made.
#[cfg(feature = "jwks")]
pub mod jwks {
    #[cfg(feature = "redis")]
    pub use crate::keys::RedisKeyStore;
    #[cfg(feature = "reqwest")]
    pub use crate::keys::ReqwestFetcher;
    pub use crate::keys::{
        FetchError, FetchFuture, JwksFetcher, KeyCacheSettings, KeyCacheStatus, KeysNotReady,
    };
    #[doc(hidden)]
    pub use crate::token::JweBench;
    pub use crate::token::JweKeyError;
}

/// Recipes: strict and optional routes, `.layer` or `.route_layer`, cookies, tonic, Auth0
/// RBAC permissions, several APIs, your own error shape, a plain `tower::ServiceBuilder`, MCP
/// servers (rmcp's among them) and DPoP; each compiled and run as a doc test. The same text is
/// `docs/recipes.md`.
#[doc = include_str!("../docs/recipes.md")]
pub mod recipes {}

/// The README's Rust examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
