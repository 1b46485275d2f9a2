//! The members of a JWK (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2), as one struct
//! ([`JwkMembers`]) that every reader of a JWK shares.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;

/// The members of a JWK bearer-guard reads, each of its RFC type; serde refuses a repeated
/// one. The one reading of a JWK: the key parser and the RFC 7638 thumbprint share it, so both
/// see the same key.
// Without `jwks` only the thumbprint reads them, and only the members it hashes.
#[cfg_attr(not(feature = "jwks"), allow(dead_code))]
#[derive(Deserialize)]
pub(crate) struct JwkMembers<'a> {
    #[serde(borrow)]
    pub(crate) kty: Cow<'a, str>,
    #[serde(borrow, default, rename = "use")]
    pub(crate) use_: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) key_ops: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    pub(crate) alg: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) kid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) crv: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) n: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) e: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) x: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) y: Option<Cow<'a, str>>,
    // Private members (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2): their presence alone
    // disqualifies the key.
    #[serde(default)]
    pub(crate) d: Option<IgnoredAny>,
    #[serde(default)]
    pub(crate) p: Option<IgnoredAny>,
    #[serde(default)]
    pub(crate) q: Option<IgnoredAny>,
    #[serde(default)]
    pub(crate) dp: Option<IgnoredAny>,
    #[serde(default)]
    pub(crate) dq: Option<IgnoredAny>,
    #[serde(default)]
    pub(crate) qi: Option<IgnoredAny>,
    #[serde(default)]
    pub(crate) oth: Option<IgnoredAny>,
    #[serde(default)]
    pub(crate) k: Option<IgnoredAny>,
}
