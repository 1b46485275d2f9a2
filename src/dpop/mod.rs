//! DPoP (RFC 9449): access tokens bound to a key the client holds, each request carrying a
//! proof signed with it, so that a stolen token is useless without the key.
//!
//! The pieces, for the guard and for use without HTTP:
//!
//! - [`DpopMode`] and `DpopSettings`: whether an API takes DPoP, and what a proof is
//!   checked against;
//! - `DpopVerifier`: every check of RFC 9449 §4.3 on one request's proof (`DpopRequest`),
//!   yielding a `DpopProof` or a [`DpopError`] that says how to answer;
//! - `ReplayStore`: where seen proofs are remembered (`MemoryReplayStore` in this
//!   process, `RedisReplayStore` across instances with the `redis` feature), each with a
//!   quota per key (`ReplayLimits`) so that no client can fill it for the others;
//! - `DpopNonces`: stateless server nonces (RFC 9449 §8, §9), `NonceMode` and
//!   `NonceSettings`, which the guard issues and checks with its `dpop_nonces` setting;
//! - [`jwk_thumbprint`]: RFC 7638 thumbprints, which DPoP-bound tokens carry as `cnf.jkt`.
//!
//! Everything but the mode and the thumbprint needs the `jwks` feature, whose
//! aws-lc-rs verifies the proofs' signatures.
//!
//! # Example
//!
//! A proof made by a client (here with the jsonwebtoken crate) for a DPoP-bound token,
//! verified, then refused when replayed:
//!
//! ```
//! # #[cfg(feature = "jwks")]
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::time::SystemTime;
//! use bearer_guard::dpop::{DpopError, DpopRequest, DpopSettings, DpopVerifier, MemoryReplayStore, jwk_thumbprint};
//! use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
//!
//! // The client's key pair (a P-256 fixture key) and its public JWK.
//! let private = include_str!("../../tests/data/keys/p256.pem");
//! let public = include_str!("../../tests/data/keys/p256.jwk.json");
//! let jkt = jwk_thumbprint(public).unwrap(); // what the authorization server puts in cnf.jkt
//!
//! let access_token = "eyJhbGciOiJSUzI1NiJ9.the-dpop-bound-token.sig";
//! let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
//! let mut header = Header::new(Algorithm::ES256);
//! header.typ = Some("dpop+jwt".into());
//! header.jwk = Some(serde_json::from_str::<Jwk>(public).unwrap());
//! let claims = serde_json::json!({
//!     "jti": "e1j3V_bKic8-LAEB", "htm": "GET", "htu": "https://api.example.com/orders",
//!     "iat": now, "ath": bearer_guard::dpop::DpopProof::access_token_hash(access_token),
//! });
//! let key = EncodingKey::from_ec_pem(private.as_bytes()).unwrap();
//! let proof = jsonwebtoken::encode(&header, &claims, &key).unwrap();
//!
//! // The resource server's side.
//! let verifier = DpopVerifier::new(DpopSettings::default()).unwrap();
//! let store = MemoryReplayStore::new();
//! let request = DpopRequest::new("GET", "https://api.example.com/orders?page=2", SystemTime::now())
//!     .access_token(access_token, Some(&jkt));
//! let header = http::HeaderValue::from_str(&proof).unwrap();
//!
//! let verified = verifier.verify([&header], &request).unwrap();
//! assert_eq!(verified.thumbprint(), jkt);
//! assert_eq!(verified.check_replay(&store).await, Ok(()));
//!
//! let again = verifier.verify([&header], &request).unwrap();
//! assert_eq!(again.check_replay(&store).await, Err(DpopError::Replayed));
//! # });
//! ```

mod error;
#[cfg(feature = "jwks")]
mod htu;
mod mode;
#[cfg(feature = "jwks")]
mod nonce;
#[cfg(feature = "jwks")]
mod proof;
#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "jwks")]
mod replay;
#[cfg(feature = "jwks")]
mod settings;
mod thumbprint;

pub use error::DpopError;
pub use mode::DpopMode;
#[cfg(feature = "jwks")]
pub use nonce::{DpopNonces, NonceCheck, NonceMode, NonceSettings};
#[cfg(feature = "jwks")]
pub use proof::{DpopProof, DpopRequest, DpopVerifier};
#[cfg(feature = "redis")]
pub use redis_store::RedisReplayStore;
#[cfg(feature = "jwks")]
pub use replay::{
    MemoryReplayStore, Replay, ReplayError, ReplayFuture, ReplayKey, ReplayLimits, ReplayStore,
};
#[cfg(feature = "jwks")]
pub use settings::DpopSettings;
pub use thumbprint::{ThumbprintError, jwk_thumbprint};
