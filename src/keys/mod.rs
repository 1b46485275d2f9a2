//! Verification keys: the resource server's HS256 signing secret and the HMAC keys a
//! validator tries, and (feature `jwks`) public keys from JSON Web Key Sets.

mod algorithm;
#[cfg(feature = "jwks")]
mod cache;
mod hs256;
#[cfg(feature = "jwks")]
mod jwk;
#[cfg(feature = "jwks")]
mod jwk_set;
mod secret;
mod source;

pub use algorithm::Algorithm;
pub(crate) use algorithm::Algorithms;
#[cfg(feature = "reqwest")]
pub use cache::ReqwestFetcher;
#[cfg(feature = "jwks")]
pub use cache::{FetchError, FetchFuture, JwksFetcher, JwksSettings, KeySetStatus, KeysNotReady};
#[cfg(feature = "jwks")]
pub(crate) use cache::{KeyCache, Location};
#[cfg(any(test, feature = "issuer"))]
pub(crate) use hs256::Hs256Key;
#[cfg(test)]
pub(crate) use hs256::KeyChoice;
#[cfg(test)]
pub(crate) use hs256::{Hs256Keys, MAX_KEYS};
#[cfg(feature = "jwks")]
pub(crate) use jwk::{Unusable, verifying_key};
#[cfg(feature = "jwks")]
pub(crate) use jwk_set::{JwkSet, Lookup, MAX_DOCUMENT_LEN};
pub use secret::SigningSecret;
#[cfg(feature = "jwks")]
pub(crate) use source::Fetcher;
pub(crate) use source::{KeySettings, KeySource};
