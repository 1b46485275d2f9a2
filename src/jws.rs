//! The JWS compact serialization (RFC 7515): segments, header checks, HMAC, payload.
//!
//! Every check here runs before the claims are parsed, cheapest first: a token with the wrong
//! shape or algorithm never costs an HMAC, and a forged one never costs a claims parse.

use std::fmt;

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserializer;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use sha2::Sha256;

use crate::error::{ConfigError, TokenErrorKind};
use crate::secret::SigningSecret;

/// Strict base64url: no padding, no whitespace, no non-canonical trailing bits.
pub(crate) const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// base64url length of a 32-byte HMAC-SHA256 tag.
const SIGNATURE_LEN: usize = 43;

/// Headers of HS256 tokens are tens of bytes; anything past this is not one of ours.
const MAX_HEADER_LEN: usize = 512;

/// The three segments of a compact JWS.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segments<'a> {
    /// `header.payload`, the bytes the signature covers.
    pub(crate) signing_input: &'a str,
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
}

/// Splits a compact JWS into exactly three segments, header and payload non-empty.
pub(crate) fn split(token: &str) -> Result<Segments<'_>, TokenErrorKind> {
    let (signing_input, signature) = token.rsplit_once('.').ok_or(TokenErrorKind::Malformed)?;
    let (header, payload) = signing_input
        .split_once('.')
        .ok_or(TokenErrorKind::Malformed)?;
    if header.is_empty() || payload.is_empty() || payload.contains('.') {
        return Err(TokenErrorKind::Malformed);
    }
    Ok(Segments {
        signing_input,
        header,
        payload,
        signature,
    })
}

/// Checks the protected header: `alg` exactly `HS256`, no `crit`, no duplicate parameters,
/// and, when `require_at_jwt`, `typ` `at+jwt` (RFC 9068 §2.1).
///
/// The header never chooses the key or the algorithm; `kid`, `jku`, `x5u` and `jwk` are ignored.
pub(crate) fn check_header(segment: &str, require_at_jwt: bool) -> Result<(), TokenErrorKind> {
    if segment.len() > MAX_HEADER_LEN {
        return Err(TokenErrorKind::Malformed);
    }
    let mut buf = [0u8; MAX_HEADER_LEN];
    let len = BASE64URL
        .decode_slice(segment, &mut buf)
        .map_err(|_| TokenErrorKind::Malformed)?;
    let json = std::str::from_utf8(&buf[..len]).map_err(|_| TokenErrorKind::Malformed)?;
    let mut de = serde_json::Deserializer::from_str(json);
    let header = de
        .deserialize_map(HeaderVisitor)
        .and_then(|header| de.end().map(|()| header))
        .map_err(|_| TokenErrorKind::Malformed)?;
    if header.crit {
        return Err(TokenErrorKind::CriticalHeader);
    }
    if header.alg != Some(Alg::Hs256) {
        return Err(TokenErrorKind::UnsupportedAlgorithm);
    }
    if require_at_jwt && header.typ != Some(Typ::AtJwt) {
        return Err(TokenErrorKind::InvalidType);
    }
    Ok(())
}

/// Decodes the payload segment to UTF-8 text.
pub(crate) fn decode_payload(segment: &str) -> Result<String, TokenErrorKind> {
    let bytes = BASE64URL
        .decode(segment)
        .map_err(|_| TokenErrorKind::Malformed)?;
    String::from_utf8(bytes).map_err(|_| TokenErrorKind::Malformed)
}

/// An HMAC-SHA256 key with its inner and outer pads already hashed. The two SHA-256 states
/// that hold it are zeroized on drop (sha2's `zeroize` feature).
#[derive(Clone)]
pub(crate) struct Hs256Key(Hmac<Sha256>);

impl Hs256Key {
    /// HMAC takes keys of any length, so this fails only if the hmac crate changes that.
    pub(crate) fn new(secret: &SigningSecret) -> Result<Self, ConfigError> {
        Hmac::new_from_slice(secret.as_bytes())
            .map(Self)
            .map_err(|_| ConfigError::UnusableSecret)
    }

    /// Verifies the base64url tag over `signing_input`, comparing in constant time.
    pub(crate) fn verify(
        &self,
        signing_input: &str,
        signature: &str,
    ) -> Result<(), TokenErrorKind> {
        // A wrong-length signature cannot be an HS256 tag: reject it before any hashing.
        if signature.len() != SIGNATURE_LEN {
            return Err(TokenErrorKind::InvalidSignature);
        }
        let mut tag = [0u8; 32];
        match BASE64URL.decode_slice(signature, &mut tag) {
            Ok(32) => {}
            _ => return Err(TokenErrorKind::InvalidSignature),
        }
        let mut mac = self.0.clone();
        mac.update(signing_input.as_bytes());
        // `verify_slice` compares with `subtle`'s constant-time equality.
        mac.verify_slice(&tag)
            .map_err(|_| TokenErrorKind::InvalidSignature)
    }
}

impl fmt::Debug for Hs256Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hs256Key(<redacted>)")
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Alg {
    Hs256,
    Other,
}

impl<'de> de::Deserialize<'de> for Alg {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AlgVisitor;
        impl Visitor<'_> for AlgVisitor {
            type Value = Alg;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an algorithm name")
            }
            fn visit_str<E: de::Error>(self, alg: &str) -> Result<Alg, E> {
                // Exact and case-sensitive: `hs256` and `none` are other algorithms.
                Ok(if alg == "HS256" {
                    Alg::Hs256
                } else {
                    Alg::Other
                })
            }
        }
        deserializer.deserialize_str(AlgVisitor)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Typ {
    AtJwt,
    Other,
}

impl<'de> de::Deserialize<'de> for Typ {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TypVisitor;
        impl Visitor<'_> for TypVisitor {
            type Value = Typ;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a media type")
            }
            fn visit_str<E: de::Error>(self, typ: &str) -> Result<Typ, E> {
                // Media types compare case-insensitively; `application/` may be omitted.
                let typ = typ
                    .get(..12)
                    .filter(|prefix| prefix.eq_ignore_ascii_case("application/"))
                    .map_or(typ, |_| &typ[12..]);
                Ok(if typ.eq_ignore_ascii_case("at+jwt") {
                    Typ::AtJwt
                } else {
                    Typ::Other
                })
            }
        }
        deserializer.deserialize_str(TypVisitor)
    }
}

/// The header parameters bearer-guard reads; all others are ignored.
enum Param {
    Alg,
    Crit,
    Typ,
    Other,
}

impl<'de> de::Deserialize<'de> for Param {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ParamVisitor;
        impl Visitor<'_> for ParamVisitor {
            type Value = Param;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header parameter name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Param, E> {
                Ok(match name {
                    "alg" => Param::Alg,
                    "crit" => Param::Crit,
                    "typ" => Param::Typ,
                    _ => Param::Other,
                })
            }
        }
        deserializer.deserialize_identifier(ParamVisitor)
    }
}

#[derive(Default)]
struct Header {
    alg: Option<Alg>,
    typ: Option<Typ>,
    crit: bool,
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = Header;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
        // RFC 7515 §4 lets a parser reject duplicate names or keep the last one. Duplicates of
        // the parameters we read are rejected, so no two parsers can disagree on them; the
        // others are never read, so their duplicates cannot change a decision.
        let mut header = Header::default();
        while let Some(param) = map.next_key::<Param>()? {
            match param {
                Param::Alg if header.alg.is_none() => header.alg = Some(map.next_value()?),
                Param::Crit if !header.crit => {
                    map.next_value::<IgnoredAny>()?;
                    header.crit = true;
                }
                Param::Typ if header.typ.is_none() => header.typ = Some(map.next_value()?),
                Param::Alg | Param::Crit | Param::Typ => {
                    return Err(de::Error::custom("duplicate header parameter"));
                }
                Param::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_hmac_key_is_zeroized_on_drop() {
        // `Hmac` keeps the key as two SHA-256 states (inner and outer pad); each wipes itself
        // on drop. This compiles only while sha2's `zeroize` feature is on.
        fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        zeroized_on_drop::<<Sha256 as hmac::digest::block_api::CoreProxy>::Core>();
    }

    #[test]
    fn key_debug_is_redacted() {
        let key = Hs256Key::new(&SigningSecret::from("FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")).unwrap();
        assert_eq!(format!("{key:?}"), "Hs256Key(<redacted>)");
    }

    #[test]
    fn split_finds_three_segments() {
        let segments = split("aa.bb.cc").unwrap();
        assert_eq!(
            (
                segments.header,
                segments.payload,
                segments.signature,
                segments.signing_input
            ),
            ("aa", "bb", "cc", "aa.bb")
        );
        for bad in ["aa.bb", "aa", ".bb.cc", "aa..cc", "aa.bb.cc.dd", ""] {
            assert_eq!(
                split(bad).map(|_| ()),
                Err(TokenErrorKind::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn oversized_header_is_malformed_without_decoding() {
        let header = "e".repeat(MAX_HEADER_LEN + 1);
        assert_eq!(check_header(&header, false), Err(TokenErrorKind::Malformed));
    }

    #[test]
    fn non_canonical_base64url_is_refused() {
        // "eyJhbGciOiJIUzI1NiJ9" is {"alg":"HS256"}; a changed final character that decodes to
        // the same bytes with other trailing bits must not pass.
        assert_eq!(check_header("eyJhbGciOiJIUzI1NiJ9", false), Ok(()));
        assert_eq!(
            check_header("eyJhbGciOiJIUzI1NiJ9=", false),
            Err(TokenErrorKind::Malformed)
        );
        assert_eq!(decode_payload("e30"), Ok("{}".to_owned()));
        assert_eq!(decode_payload("e31"), Err(TokenErrorKind::Malformed));
    }
}
