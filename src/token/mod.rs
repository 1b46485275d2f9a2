//! Tokens: the JWS, its header and claims, the scopes they grant, and the validator that runs
//! every check in order.

mod authentication;
mod cache;
mod claims;
#[cfg(feature = "jwks")]
mod decryption;
mod error;
mod header;
mod issuer_keys;
mod issuers;
#[cfg(feature = "jwks")]
mod jwe;
pub(crate) mod jws;
mod packed;
pub(crate) mod peek;
mod scopes;
mod settings;
mod validator;
mod verified;

pub use authentication::{AuthenticationRequirement, StepUpFailure};
pub(crate) use cache::TokenCache;
pub use cache::{TokenCacheSettings, TokenCacheStatus};
#[cfg(feature = "issuer")]
pub(crate) use claims::REGISTERED;
#[cfg(feature = "jwks")]
pub(crate) use decryption::PrivateKeyBytes;
pub use error::{TokenError, TokenErrorKind};
pub(crate) use issuer_keys::IssuerKeys;
#[cfg(feature = "jwks")]
pub use jwe::ContentEncryption;
#[cfg(all(feature = "jwks", feature = "issuer"))]
pub use jwe::TokenEncryptionKey;
#[cfg(feature = "jwks")]
pub use jwe::{JweBench, JweKeyError};
#[cfg(feature = "issuer")]
pub(crate) use scopes::is_scope_token;
pub use scopes::{ScopeRequirement, Scopes, ScopesIter};
#[cfg(test)]
pub(crate) use settings::MAX_LEEWAY;
pub(crate) use settings::ValidatorSettings;
pub use validator::TokenValidator;
pub(crate) use verified::GuardId;
pub use verified::VerifiedToken;
