//! One JSON Web Key (RFC 7517 §4), read strictly, and the verifying keys it yields.

use std::borrow::Cow;

use crate::keys::jwk_members::JwkMembers;
use std::fmt;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ECDSA_P521_SHA512_FIXED, ED25519,
    EcdsaVerificationAlgorithm, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512, RSA_PSS_2048_8192_SHA256,
    RSA_PSS_2048_8192_SHA384, RSA_PSS_2048_8192_SHA512, RsaParameters, RsaPublicKeyComponents,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::keys::{Algorithm, Algorithms};

/// RSA moduli bearer-guard accepts, in bits (RFC 8725 §3.5 and common practice: 2048 and up;
/// 8192 bounds the work a key can ask of the verifier).
const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;

/// A key that verifies signatures of one algorithm: a JWK parsed once, when its set loads.
pub(crate) struct VerifyingKey {
    kid: Option<Box<str>>,
    alg: Algorithm,
    key: ParsedPublicKey,
}

impl VerifyingKey {
    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub(crate) fn alg(&self) -> Algorithm {
        self.alg
    }

    /// Whether the base64url `signature` verifies `signing_input` under this key.
    pub(crate) fn verifies(&self, signing_input: &str, signature: &str) -> bool {
        // An RSA-8192 signature is the largest: 1024 bytes, 1366 characters of base64url.
        let mut buf = [0u8; 1024];
        if signature.len() > 1366 {
            return false;
        }
        match URL_SAFE_NO_PAD.decode_slice(signature, &mut buf) {
            Ok(len) => self
                .key
                .verify_sig(signing_input.as_bytes(), &buf[..len])
                .is_ok(),
            Err(_) => false,
        }
    }
}

/// Public keys are not secret, but their bytes say nothing to a reader: the kid and the
/// algorithm do.
impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg.name())
            .finish_non_exhaustive()
    }
}

/// Why a JWK is not used. Logged with the key's `kid`; never with key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// Not a JWK object, a member of the wrong type, or a member twice.
    Malformed,
    /// It carries private key members (`d`, `p`, `q`, …).
    PrivateMembers,
    /// A symmetric (`oct`) key: never taken from a key set.
    Symmetric,
    /// `use` is not `sig`.
    NotForSignatures,
    /// `key_ops` is present without `verify`.
    NotForVerifying,
    /// Its `alg`, or its key type and curve, fit none of the algorithms accepted.
    NoAcceptedAlgorithm,
    /// An RSA modulus outside 2048 to 8192 bits.
    RsaSize(usize),
    /// Key material the crypto library refuses (a point off the curve, a bad length, …).
    Rejected,
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => f.write_str("not a well-formed JWK"),
            Self::PrivateMembers => f.write_str("it carries private key members"),
            Self::Symmetric => f.write_str("a symmetric (oct) key"),
            Self::NotForSignatures => f.write_str("its use is not sig"),
            Self::NotForVerifying => f.write_str("its key_ops lack verify"),
            Self::NoAcceptedAlgorithm => {
                f.write_str("its alg or key type fits no accepted algorithm")
            }
            Self::RsaSize(bits) => {
                write!(f, "an RSA modulus of {bits} bits (2048 to 8192 accepted)")
            }
            Self::Rejected => f.write_str("the crypto library refused its key material"),
        }
    }
}

/// What one JWK (JSON text) yields for the `accepted` algorithms: its `kid`, and one
/// verifying key per algorithm it fits (an RSA key without `alg` may serve RS256 and PS512),
/// or why it is not used.
pub(crate) struct ParsedJwk {
    pub(crate) kid: Option<Box<str>>,
    pub(crate) keys: Result<Vec<VerifyingKey>, Unusable>,
}

pub(crate) fn parse(json: &str, accepted: Algorithms) -> ParsedJwk {
    let jwk: JwkMembers<'_> = match serde_json::from_str(json) {
        Ok(jwk) => jwk,
        Err(_) => {
            return ParsedJwk {
                kid: None,
                keys: Err(Unusable::Malformed),
            };
        }
    };
    let kid: Option<Box<str>> = jwk.kid.as_deref().map(Box::from);
    let keys = keys_of(&jwk, accepted).map(|keys| {
        keys.into_iter()
            .map(|(alg, key)| VerifyingKey {
                kid: kid.clone(),
                alg,
                key,
            })
            .collect()
    });
    ParsedJwk { kid, keys }
}

/// The key one JWK (JSON text) gives for `alg`, checked as a key-set key is: for keys that
/// come with what they sign, such as a DPoP proof's `jwk` header (RFC 9449 §4.2).
pub(crate) fn verifying_key(json: &str, alg: Algorithm) -> Result<VerifyingKey, Unusable> {
    parse(json, Algorithms::of([alg]))
        .keys?
        .pop()
        .ok_or(Unusable::NoAcceptedAlgorithm)
}

fn keys_of(
    jwk: &JwkMembers<'_>,
    accepted: Algorithms,
) -> Result<Vec<(Algorithm, ParsedPublicKey)>, Unusable> {
    let private = [&jwk.d, &jwk.p, &jwk.q, &jwk.dp, &jwk.dq, &jwk.qi, &jwk.oth];
    if jwk.kty == "oct" || jwk.k.is_some() {
        return Err(Unusable::Symmetric);
    }
    if private.iter().any(|member| member.is_some()) {
        return Err(Unusable::PrivateMembers);
    }
    if jwk.use_.as_deref().is_some_and(|use_| use_ != "sig") {
        return Err(Unusable::NotForSignatures);
    }
    if jwk
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
    {
        return Err(Unusable::NotForVerifying);
    }
    // The algorithms this key may verify: its `alg` when present (Auth0 may leave it out),
    // else every accepted one its key type (and curve) fits. An `OKP` Ed25519 key without
    // `alg` fits both `EdDSA` and `Ed25519`, whose signatures are the same; the token's
    // header must still name the one accepted (see `Algorithm`).
    let fits = |alg: Algorithm| match key_type(alg) {
        Some((kty, None)) => jwk.kty == kty,
        Some((kty, crv)) => jwk.kty == kty && jwk.crv.as_deref() == crv,
        None => false,
    };
    let algs: Vec<Algorithm> = match jwk.alg.as_deref() {
        Some(name) => Algorithm::from_name(name)
            .filter(|alg| accepted.contains(*alg) && fits(*alg))
            .into_iter()
            .collect(),
        None => accepted.iter().filter(|alg| fits(*alg)).collect(),
    };
    if algs.is_empty() {
        return Err(Unusable::NoAcceptedAlgorithm);
    }
    algs.into_iter()
        .map(|alg| parsed_key(jwk, alg).map(|key| (alg, key)))
        .collect()
}

/// The JWK `kty` (and `crv`) a key for `alg` has; `None` for the HMAC algorithms, whose keys
/// never come from a key set.
fn key_type(alg: Algorithm) -> Option<(&'static str, Option<&'static str>)> {
    match alg {
        Algorithm::Rs256
        | Algorithm::Rs384
        | Algorithm::Rs512
        | Algorithm::Ps256
        | Algorithm::Ps384
        | Algorithm::Ps512 => Some(("RSA", None)),
        Algorithm::Es256 => Some(("EC", Some("P-256"))),
        Algorithm::Es384 => Some(("EC", Some("P-384"))),
        Algorithm::Es512 => Some(("EC", Some("P-521"))),
        Algorithm::EdDsa | Algorithm::Ed25519 => Some(("OKP", Some("Ed25519"))),
        Algorithm::Hs256 | Algorithm::Hs384 | Algorithm::Hs512 => None,
    }
}

/// The aws-lc-rs verification of an RSA algorithm: PKCS#1 v1.5 or PSS (MGF1 with the same
/// hash, salt of the hash's length, RFC 7518 §3.5), moduli of 2048 to 8192 bits.
fn rsa_parameters(alg: Algorithm) -> Option<&'static RsaParameters> {
    Some(match alg {
        Algorithm::Rs256 => &RSA_PKCS1_2048_8192_SHA256,
        Algorithm::Rs384 => &RSA_PKCS1_2048_8192_SHA384,
        Algorithm::Rs512 => &RSA_PKCS1_2048_8192_SHA512,
        Algorithm::Ps256 => &RSA_PSS_2048_8192_SHA256,
        Algorithm::Ps384 => &RSA_PSS_2048_8192_SHA384,
        Algorithm::Ps512 => &RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// The aws-lc-rs verification of an ECDSA algorithm, and its coordinates' size in bytes.
/// The JOSE signature is `R || S` of that size each (RFC 7518 §3.4), hence the FIXED
/// algorithms, which refuse DER and any other length.
fn ecdsa_parameters(alg: Algorithm) -> Option<(&'static EcdsaVerificationAlgorithm, usize)> {
    Some(match alg {
        Algorithm::Es256 => (&ECDSA_P256_SHA256_FIXED, 32),
        Algorithm::Es384 => (&ECDSA_P384_SHA384_FIXED, 48),
        Algorithm::Es512 => (&ECDSA_P521_SHA512_FIXED, 66),
        _ => return None,
    })
}

/// The key material of `jwk` for `alg`, whose key type it fits.
fn parsed_key(jwk: &JwkMembers<'_>, alg: Algorithm) -> Result<ParsedPublicKey, Unusable> {
    let bytes = |member: &Option<Cow<'_, str>>| {
        member
            .as_deref()
            .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
            .ok_or(Unusable::Malformed)
    };
    let parsed = if let Some(params) = rsa_parameters(alg) {
        let (n, e) = (bytes(&jwk.n)?, bytes(&jwk.e)?);
        let bits = modulus_bits(&n);
        if !RSA_BITS.contains(&bits) {
            return Err(Unusable::RsaSize(bits));
        }
        RsaPublicKeyComponents { n: &n, e: &e }.to_parsed_public_key(params)
    } else if let Some((verification, size)) = ecdsa_parameters(alg) {
        let (x, y) = (bytes(&jwk.x)?, bytes(&jwk.y)?);
        // RFC 7518 §6.2.1.2: each coordinate is the full size of the curve's field.
        if x.len() != size || y.len() != size {
            return Err(Unusable::Rejected);
        }
        // SEC 1 uncompressed point: 0x04 || x || y.
        let point: Vec<u8> = [&[4u8][..], &x, &y].concat();
        ParsedPublicKey::new(verification, point)
    } else if matches!(alg, Algorithm::EdDsa | Algorithm::Ed25519) {
        ParsedPublicKey::new(&ED25519, bytes(&jwk.x)?)
    } else {
        return Err(Unusable::NoAcceptedAlgorithm);
    };
    parsed.map_err(|_| Unusable::Rejected)
}

/// The bit length of a big-endian unsigned integer (leading zero bytes are refused later, by
/// the crypto library, as RFC 7518 §6.3.1.1 asks).
fn modulus_bits(n: &[u8]) -> usize {
    match n.iter().position(|&b| b != 0) {
        Some(first) => (n.len() - first) * 8 - n[first].leading_zeros() as usize,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_bits_count_from_the_highest_set_bit() {
        assert_eq!(modulus_bits(&[0x80, 0]), 16);
        assert_eq!(modulus_bits(&[0x01, 0xff]), 9);
        assert_eq!(modulus_bits(&[0, 0, 0x7f]), 7);
        assert_eq!(modulus_bits(&[0, 0]), 0);
        assert_eq!(modulus_bits(&[]), 0);
    }
}
