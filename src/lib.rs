//! Protect HTTP APIs with OAuth 2.0 bearer access tokens: a tower layer that verifies HS256
//! JWTs issued for your API and answers exactly as RFC 6750 says.
//!
//! An authorization server registers your API as a *resource server* with an identifier (the
//! tokens' audience), an HS256 signing secret and the scopes it supports. [`BearerGuardLayer`]
//! reads that registration, checks it at startup, and then, for every request:
//!
//! 1. finds `Authorization: Bearer <token>` ([RFC 6750 §2](https://www.rfc-editor.org/rfc/rfc6750#section-2));
//! 2. checks the token's size, shape and header, with the algorithm pinned to HS256;
//! 3. verifies the HMAC in constant time, then `exp`, `nbf`, `aud`, `iss` and the scopes;
//! 4. passes the request on with a [`VerifiedToken`] in its extensions, or answers
//!    400/401/403 with a `WWW-Authenticate` challenge ([`rejection`] has the table).
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
//! # Features
//!
//! - `axum` (default): extractors for [`VerifiedToken`] and [`Claims`], and `IntoResponse` for
//!   [`Rejection`].
//! - `form`: `FormTokenLayer`, for tokens in form-encoded bodies (RFC 6750 §2.2).
//! - `issuer`: `TokenIssuer`, which mints HS256 access tokens for a resource server: for your
//!   API's tests and for local authorization servers.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod bearer;
pub mod builder;
mod claims;
pub mod error;
#[cfg(feature = "axum")]
pub mod extract;
#[cfg(feature = "form")]
pub mod form_token;
pub mod future;
#[cfg(feature = "issuer")]
pub mod issuer;
mod jws;
pub mod layer;
pub mod rejection;
pub mod require_scopes;
pub mod resource_server;
pub mod scope;
pub mod secret;
#[cfg(test)]
mod test_support;
pub mod token;
pub mod validator;

pub use builder::BearerGuardBuilder;
pub use error::{ConfigError, RequestErrorKind, TokenError, TokenErrorKind};
#[cfg(feature = "axum")]
pub use extract::Claims;
#[cfg(feature = "form")]
pub use form_token::{FormToken, FormTokenLayer};
#[cfg(feature = "issuer")]
pub use issuer::TokenIssuer;
pub use layer::{BearerGuard, BearerGuardLayer};
pub use rejection::{DefaultRejection, OnRejection, Rejection, RejectionKind};
pub use require_scopes::{RequireScopes, RequireScopesLayer};
pub use resource_server::{ResourceServer, ScopeDefinition};
pub use scope::{ScopeRequirement, Scopes};
pub use secret::SigningSecret;
pub use token::VerifiedToken;
pub use validator::TokenValidator;

/// The README's Rust examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
