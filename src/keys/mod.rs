//! Verification keys: the resource server's HS256 signing secret and the HMAC keys a
//! validator tries, and (feature `jwks`) public keys from JSON Web Key Sets.

mod algorithm;
mod hs256;
#[cfg(feature = "jwks")]
mod jwk;
#[cfg(feature = "jwks")]
mod jwk_set;
mod secret;

pub use algorithm::Algorithm;
pub(crate) use algorithm::Algorithms;
#[cfg(test)]
pub(crate) use hs256::KeyChoice;
pub(crate) use hs256::{Hs256Key, Hs256Keys, MAX_KEYS};
#[cfg(feature = "jwks")]
pub(crate) use jwk_set::{JwkSet, Lookup};
pub use secret::SigningSecret;
