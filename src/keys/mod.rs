//! Verification keys: the resource server's HS256 signing secret, and the HMAC keys a
//! validator tries.

mod hs256;
mod secret;

pub(crate) use hs256::{Hs256Key, Hs256Keys, KeyChoice, MAX_KEYS};
pub use secret::SigningSecret;
