//! Verification keys: the resource server's signing secret and the HMAC keys (HS256, HS384,
//! HS512) a validator tries, and (feature `jwks`) public keys from JSON Web Key Sets.

mod algorithm;
#[cfg(feature = "jwks")]
mod cache;
#[cfg(feature = "jwks")]
pub(crate) mod der;
mod hmac;
#[cfg(feature = "jwks")]
mod jwk;
pub(crate) mod jwk_members;
#[cfg(feature = "jwks")]
mod jwk_set;
mod secret;
mod source;

pub use algorithm::Algorithm;
pub(crate) use algorithm::Algorithms;
#[cfg(feature = "redis")]
pub use cache::RedisKeyStore;
#[cfg(feature = "reqwest")]
pub use cache::ReqwestFetcher;
#[cfg(feature = "jwks")]
pub use cache::{
    FetchError, FetchFuture, JwksFetcher, KeyCacheSettings, KeyCacheStatus, KeysNotReady,
};
#[cfg(feature = "jwks")]
pub(crate) use cache::{KeyCache, Location};
#[cfg(any(test, feature = "issuer"))]
pub(crate) use hmac::HmacKey;
#[cfg(test)]
pub(crate) use hmac::KeyChoice;
#[cfg(test)]
pub(crate) use hmac::{HmacKeys, MAX_KEYS};
#[cfg(feature = "jwks")]
pub(crate) use jwk::{Unusable, verifying_key};
#[cfg(feature = "jwks")]
pub(crate) use jwk_set::{JwkSet, Lookup, MAX_DOCUMENT_LEN};
pub use secret::SigningSecret;
#[cfg(feature = "jwks")]
pub(crate) use source::Fetcher;
pub(crate) use source::{KeySettings, KeySource};
