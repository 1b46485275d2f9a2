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
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
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
    // memchr's SIMD search: the payload, most of the token, is scanned once for a third dot.
    let bytes = token.as_bytes();
    let first = memchr::memchr(b'.', bytes).ok_or(TokenErrorKind::Malformed)?;
    let last = memchr::memrchr(b'.', bytes).ok_or(TokenErrorKind::Malformed)?;
    let (Some(signing_input), Some(header), Some(payload), Some(signature)) = (
        token.get(..last),
        token.get(..first),
        token.get(first + 1..last),
        token.get(last + 1..),
    ) else {
        return Err(TokenErrorKind::Malformed);
    };
    if header.is_empty() || payload.is_empty() || memchr::memchr(b'.', payload.as_bytes()).is_some()
    {
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
/// and, when `require_at_jwt`, `typ` `at+jwt` (RFC 9068 §2.1). Returns the keys to try.
///
/// The header never chooses the algorithm, and `jku`, `x5u` and `jwk` are ignored. `kid` only
/// picks among the configured secrets, and only when some of them are labelled with one.
///
/// The headers issuers send are answered from `keys`' memo of [`parse_header`]'s answers,
/// without decoding; any other header is decoded and parsed.
pub(crate) fn check_header(
    segment: &str,
    require_at_jwt: bool,
    keys: &KeySet,
) -> Result<KeyChoice, TokenErrorKind> {
    match keys.known_headers.get(segment, require_at_jwt) {
        Some(answer) => answer,
        None => parse_header(segment, require_at_jwt, keys),
    }
}

/// [`check_header`] the long way: decodes and parses the header.
fn parse_header(
    segment: &str,
    require_at_jwt: bool,
    keys: &KeySet,
) -> Result<KeyChoice, TokenErrorKind> {
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
        .deserialize_map(HeaderVisitor {
            kids: keys.labelled.then_some(&*keys.kids),
        })
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
    match header.kid {
        None => Ok(KeyChoice::InOrder),
        Some(KidLookup::Found(index)) => Ok(KeyChoice::Only(index)),
        // A kid names one key: an unknown one gets no fallback to the others.
        Some(KidLookup::Unknown) => Err(TokenErrorKind::UnknownKeyId),
    }
}

/// [`parse_header`]'s answers for the few header segments issuers actually send, worked out
/// by `parse_header` itself when the key set is built.
///
/// For one issuer, the header is the same bytes in every token (`{"alg":"HS256","typ":"JWT"}`
/// from Auth0, `{"typ":"JWT","alg":"HS256"}` from jsonwebtoken, perhaps with a `kid`), so the
/// common case skips the base64url and JSON work. The answers are those of the long way by
/// construction, and being fixed at build time they need no lock or shared mutable state.
#[derive(Clone, Default)]
struct KnownHeaders(Box<[KnownHeader]>);

#[derive(Clone)]
struct KnownHeader {
    /// The base64url header segment, exactly as in a token.
    segment: Box<str>,
    /// The answer without and with RFC 9068's `typ` requirement.
    answers: [Result<KeyChoice, TokenErrorKind>; 2],
}

impl KnownHeaders {
    /// Header orders seen from issuers and JWT libraries; `{typ}` and `{kid}` are filled in.
    const SHAPES: [&'static str; 3] = [
        r#"{"alg":"HS256","typ":{typ}{kid}}"#,
        r#"{"typ":{typ},"alg":"HS256"{kid}}"#,
        r#"{"alg":"HS256"{kid}}"#,
    ];

    fn new(keys: &KeySet) -> Self {
        let kids = std::iter::once(None).chain(keys.kids.iter().map(Option::as_deref));
        let mut known = Vec::new();
        for kid in kids {
            let kid = kid.map_or_else(String::new, |kid| format!(r#","kid":{}"#, json_string(kid)));
            for typ in [r#""JWT""#, r#""at+jwt""#] {
                for shape in Self::SHAPES {
                    let json = shape.replace("{typ}", typ).replace("{kid}", &kid);
                    let segment = BASE64URL.encode(json);
                    if known.iter().any(|k: &KnownHeader| *k.segment == *segment) {
                        continue;
                    }
                    let answers = [false, true].map(|at_jwt| parse_header(&segment, at_jwt, keys));
                    known.push(KnownHeader {
                        segment: segment.into(),
                        answers,
                    });
                }
            }
        }
        Self(known.into())
    }

    /// The memoized answer for `segment`, if it is a known header.
    fn get(
        &self,
        segment: &str,
        require_at_jwt: bool,
    ) -> Option<Result<KeyChoice, TokenErrorKind>> {
        self.0
            .iter()
            .find(|known| *known.segment == *segment)
            .map(|known| known.answers[usize::from(require_at_jwt)])
    }
}

impl fmt::Debug for KnownHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KnownHeaders({})", self.0.len())
    }
}

/// `s` as a JSON string literal, as issuers write it.
fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Decoded payloads up to this many bytes are kept inside the verified token's one
/// allocation; typical access tokens carry 200 to 600 bytes of claims.
const INLINE_PAYLOAD: usize = 640;

/// A decoded payload segment: in place when it fits [`INLINE_PAYLOAD`], else on the heap.
// Large on purpose: the inline variant is what saves the allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Payload {
    Inline {
        len: usize,
        bytes: [u8; INLINE_PAYLOAD],
    },
    Heap(Vec<u8>),
}

impl Payload {
    /// An empty payload to decode into. The payload is decoded in place and kept where it
    /// is: at 640 bytes, each move would cost a copy.
    pub(crate) const fn new() -> Self {
        Self::Inline {
            len: 0,
            bytes: [0; INLINE_PAYLOAD],
        }
    }

    /// Decodes the payload `segment` into `self`, inline when it fits;
    /// [`text`](Self::text) checks that it is UTF-8.
    pub(crate) fn decode(&mut self, segment: &str) -> Result<(), TokenErrorKind> {
        if let Self::Inline { len, bytes } = self
            && base64::decoded_len_estimate(segment.len()) <= INLINE_PAYLOAD
        {
            *len = BASE64URL
                .decode_slice(segment, bytes)
                .map_err(|_| TokenErrorKind::Malformed)?;
            return Ok(());
        }
        *self = BASE64URL
            .decode(segment)
            .map(Self::Heap)
            .map_err(|_| TokenErrorKind::Malformed)?;
        Ok(())
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => bytes.get(..*len).unwrap_or_default(),
            Self::Heap(bytes) => bytes,
        }
    }

    /// The payload as UTF-8 text.
    pub(crate) fn text(&self) -> Result<&str, TokenErrorKind> {
        std::str::from_utf8(self.as_bytes()).map_err(|_| TokenErrorKind::Malformed)
    }
}

/// Decodes a payload segment; [`Payload::text`] checks that it is UTF-8.
#[cfg(test)]
pub(crate) fn decode_payload(segment: &str) -> Result<Payload, TokenErrorKind> {
    let mut payload = Payload::new();
    payload.decode(segment).map(|()| payload)
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

    /// The HMAC state after `signing_input`, from the precomputed pads.
    fn mac(&self, signing_input: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(signing_input);
        mac
    }

    /// Whether `tag` is the HMAC of `signing_input`, compared in constant time.
    fn verifies(&self, signing_input: &str, tag: &[u8; 32]) -> bool {
        // `verify_slice` compares with `subtle`'s constant-time equality.
        self.mac(signing_input.as_bytes()).verify_slice(tag).is_ok()
    }

    /// The HMAC-SHA256 tag of `signing_input`, for the token issuer.
    #[cfg(feature = "issuer")]
    pub(crate) fn sign(&self, signing_input: &[u8]) -> [u8; 32] {
        self.mac(signing_input).finalize().into_bytes().into()
    }
}

impl fmt::Debug for Hs256Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hs256Key(<redacted>)")
    }
}

/// Most secrets a validator holds: the current one and a few previous ones. Each costs an
/// HMAC for a token without `kid`, so a forged token costs at most this many.
pub(crate) const MAX_KEYS: usize = 4;

/// The secrets a token may be signed with, current first, each perhaps labelled with a `kid`.
#[derive(Debug, Clone)]
pub(crate) struct KeySet {
    keys: Box<[Hs256Key]>,
    /// One per key, same order.
    kids: Box<[Option<Box<str>>]>,
    /// Whether any key has a `kid`: only then does a token's `kid` select.
    labelled: bool,
    /// The header check's answers for the usual headers, for these keys.
    known_headers: KnownHeaders,
}

/// Which keys a token's signature is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyChoice {
    /// The key its `kid` names.
    Only(usize),
    /// Every key, current first, until one verifies.
    InOrder,
}

impl KeySet {
    /// A set from `(kid, key)` pairs, current first. The builder checks the count and that
    /// no two kids are equal.
    pub(crate) fn new(entries: Vec<(Option<Box<str>>, Hs256Key)>) -> Self {
        let (kids, keys): (Vec<_>, Vec<_>) = entries.into_iter().unzip();
        let labelled = kids.iter().any(Option::is_some);
        let mut set = Self {
            keys: keys.into(),
            kids: kids.into(),
            labelled,
            known_headers: KnownHeaders::default(),
        };
        set.known_headers = KnownHeaders::new(&set);
        set
    }

    /// Verifies the base64url tag over `signing_input` with the chosen keys, each compared in
    /// constant time.
    pub(crate) fn verify(
        &self,
        choice: KeyChoice,
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
        let verified = match choice {
            KeyChoice::Only(index) => self
                .keys
                .get(index)
                .is_some_and(|key| key.verifies(signing_input, &tag)),
            // Which key matched is not secret; stopping at the first keeps the common case
            // (the current secret) at one HMAC.
            KeyChoice::InOrder => self
                .keys
                .iter()
                .any(|key| key.verifies(signing_input, &tag)),
        };
        if verified {
            Ok(())
        } else {
            Err(TokenErrorKind::InvalidSignature)
        }
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
    Kid,
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
                    "kid" => Param::Kid,
                    "typ" => Param::Typ,
                    _ => Param::Other,
                })
            }
        }
        deserializer.deserialize_identifier(ParamVisitor)
    }
}

/// What a `kid` named, looked up among the configured kids as it is parsed.
#[derive(Clone, Copy)]
enum KidLookup {
    Found(usize),
    Unknown,
}

/// Looks a `kid` string up among `kids` without copying it.
struct KidSeed<'k> {
    kids: &'k [Option<Box<str>>],
}

impl<'de> DeserializeSeed<'de> for KidSeed<'_> {
    type Value = KidLookup;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<KidLookup, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KidSeed<'_> {
    type Value = KidLookup;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key id")
    }

    fn visit_str<E: de::Error>(self, kid: &str) -> Result<KidLookup, E> {
        // Key ids are public names, so comparing them need not be constant-time.
        Ok(self
            .kids
            .iter()
            .position(|known| known.as_deref() == Some(kid))
            .map_or(KidLookup::Unknown, KidLookup::Found))
    }
}

#[derive(Default)]
struct Header {
    alg: Option<Alg>,
    typ: Option<Typ>,
    kid: Option<KidLookup>,
    crit: bool,
}

/// Parses the header; `kids` is `Some` when a `kid` selects the key.
struct HeaderVisitor<'k> {
    kids: Option<&'k [Option<Box<str>>]>,
}

impl<'de> Visitor<'de> for HeaderVisitor<'_> {
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
                Param::Kid => match self.kids {
                    Some(kids) if header.kid.is_none() => {
                        header.kid = Some(map.next_value_seed(KidSeed { kids })?);
                    }
                    Some(_) => return Err(de::Error::custom("duplicate header parameter")),
                    // No secret is labelled: the kid cannot change a decision.
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                },
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
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    /// Keys with these kids, each with its own secret (`kid` or the index, repeated).
    fn keys(kids: &[Option<&str>]) -> KeySet {
        KeySet::new(
            kids.iter()
                .enumerate()
                .map(|(index, kid)| {
                    let secret = kid
                        .map_or_else(|| index.to_string(), str::to_owned)
                        .repeat(40);
                    let key = Hs256Key::new(&SigningSecret::from(secret.as_str())).unwrap();
                    (kid.map(Box::from), key)
                })
                .collect(),
        )
    }

    fn header(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn kid_selects_a_labelled_key() {
        let set = keys(&[Some("new"), Some("old"), None]);
        let choice = |json: &str| check_header(&header(json), false, &set);
        assert_eq!(
            choice(r#"{"alg":"HS256","kid":"old"}"#),
            Ok(KeyChoice::Only(1))
        );
        assert_eq!(
            choice(r#"{"alg":"HS256","kid":"new"}"#),
            Ok(KeyChoice::Only(0))
        );
        assert_eq!(
            choice(r#"{"alg":"HS256","kid":"\u006fld"}"#),
            Ok(KeyChoice::Only(1))
        );
        assert_eq!(choice(r#"{"alg":"HS256"}"#), Ok(KeyChoice::InOrder));
        for unknown in [r#""Old""#, r#""""#, r#""old ""#] {
            assert_eq!(
                choice(&format!(r#"{{"alg":"HS256","kid":{unknown}}}"#)),
                Err(TokenErrorKind::UnknownKeyId),
                "{unknown}"
            );
        }
        for bad in [
            r#"{"alg":"HS256","kid":1}"#,
            r#"{"alg":"HS256","kid":"old","kid":"new"}"#,
        ] {
            assert_eq!(choice(bad), Err(TokenErrorKind::Malformed), "{bad}");
        }
        // The algorithm is checked before the kid.
        assert_eq!(
            choice(r#"{"alg":"none","kid":"nope"}"#),
            Err(TokenErrorKind::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn usual_headers_are_answered_from_the_memo_as_the_long_way_would() {
        let set = keys(&[Some("new"), Some("old")]);
        for (json, plain, at_jwt) in [
            (
                r#"{"alg":"HS256","typ":"JWT"}"#,
                Ok(KeyChoice::InOrder),
                Err(TokenErrorKind::InvalidType),
            ),
            (
                r#"{"typ":"JWT","alg":"HS256"}"#,
                Ok(KeyChoice::InOrder),
                Err(TokenErrorKind::InvalidType),
            ),
            (
                r#"{"alg":"HS256"}"#,
                Ok(KeyChoice::InOrder),
                Err(TokenErrorKind::InvalidType),
            ),
            (
                r#"{"alg":"HS256","typ":"at+jwt"}"#,
                Ok(KeyChoice::InOrder),
                Ok(KeyChoice::InOrder),
            ),
            (
                r#"{"alg":"HS256","typ":"JWT","kid":"old"}"#,
                Ok(KeyChoice::Only(1)),
                Err(TokenErrorKind::InvalidType),
            ),
            (
                r#"{"typ":"at+jwt","alg":"HS256","kid":"new"}"#,
                Ok(KeyChoice::Only(0)),
                Ok(KeyChoice::Only(0)),
            ),
        ] {
            let segment = header(json);
            for (at_jwt, expected) in [(false, plain), (true, at_jwt)] {
                assert_eq!(
                    set.known_headers.get(&segment, at_jwt),
                    Some(expected),
                    "{json}"
                );
                assert_eq!(parse_header(&segment, at_jwt, &set), expected, "{json}");
                assert_eq!(check_header(&segment, at_jwt, &set), expected, "{json}");
            }
        }
    }

    #[test]
    fn other_headers_take_the_long_way() {
        let set = keys(&[Some("new")]);
        for (json, expected) in [
            (
                r#"{"alg":"HS256","typ":"JWT","kid":"gone"}"#,
                Err(TokenErrorKind::UnknownKeyId),
            ),
            (
                r#"{"alg":"HS512","typ":"JWT"}"#,
                Err(TokenErrorKind::UnsupportedAlgorithm),
            ),
            (
                r#"{"alg":"HS256","typ":"JWT","crit":["x"]}"#,
                Err(TokenErrorKind::CriticalHeader),
            ),
            (r#"{"alg":"HS256", "typ":"JWT"}"#, Ok(KeyChoice::InOrder)),
        ] {
            let segment = header(json);
            assert_eq!(set.known_headers.get(&segment, false), None, "{json}");
            assert_eq!(check_header(&segment, false, &set), expected, "{json}");
        }
    }

    #[test]
    fn memo_holds_no_kid_header_when_no_key_is_labelled() {
        // Any kid is ignored then, so only the kid-less headers are worth remembering.
        let set = keys(&[None, None]);
        for known in &set.known_headers.0 {
            let json = URL_SAFE_NO_PAD.decode(&*known.segment).unwrap();
            assert!(!String::from_utf8(json).unwrap().contains("kid"));
        }
        assert_eq!(
            check_header(&header(r#"{"alg":"HS256","kid":"x"}"#), false, &set),
            Ok(KeyChoice::InOrder)
        );
    }

    #[test]
    fn duplicate_crit_is_malformed_not_critical() {
        let set = keys(&[None]);
        assert_eq!(
            check_header(
                &header(r#"{"alg":"HS256","crit":["a"],"crit":["b"]}"#),
                false,
                &set
            ),
            Err(TokenErrorKind::Malformed)
        );
        assert_eq!(
            check_header(&header(r#"{"alg":"HS256","crit":["a"]}"#), false, &set),
            Err(TokenErrorKind::CriticalHeader)
        );
    }

    #[test]
    fn kid_is_ignored_when_no_key_is_labelled() {
        let set = keys(&[None, None]);
        for json in [
            r#"{"alg":"HS256","kid":"anything"}"#,
            r#"{"alg":"HS256","kid":1}"#,
            r#"{"alg":"HS256","kid":"a","kid":"b"}"#,
        ] {
            assert_eq!(
                check_header(&header(json), false, &set),
                Ok(KeyChoice::InOrder),
                "{json}"
            );
        }
    }

    #[test]
    fn key_set_verifies_with_the_chosen_keys_only() {
        let set = keys(&[Some("new"), Some("old"), None]);
        let input = "e30.e30";
        let sign = |secret: &str| {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(input.as_bytes());
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        };
        let (new, old, third) = (
            sign(&"new".repeat(40)),
            sign(&"old".repeat(40)),
            sign(&"2".repeat(40)),
        );
        for signature in [&new, &old, &third] {
            assert_eq!(set.verify(KeyChoice::InOrder, input, signature), Ok(()));
        }
        assert_eq!(set.verify(KeyChoice::Only(1), input, &old), Ok(()));
        for (choice, signature) in [
            (KeyChoice::Only(0), &old),
            (KeyChoice::Only(1), &new),
            (KeyChoice::Only(1), &third),
            (KeyChoice::Only(3), &old),
            (KeyChoice::InOrder, &sign("another secret")),
        ] {
            assert_eq!(
                set.verify(choice, input, signature),
                Err(TokenErrorKind::InvalidSignature),
                "{choice:?}"
            );
        }
    }

    #[test]
    fn key_set_debug_is_redacted() {
        let printed = format!("{:?}", keys(&[Some("new"), None]));
        assert!(!printed.contains("newnew"), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
    }

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
        for bad in [
            "aa.bb",
            "aa",
            ".bb.cc",
            "aa..cc",
            "aa.bb.cc.dd",
            "a.b.c.d.e",
            "",
        ] {
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
        assert_eq!(
            check_header(&header, false, &keys(&[None])),
            Err(TokenErrorKind::Malformed)
        );
    }

    #[test]
    fn header_of_512_base64url_bytes_is_the_largest_read() {
        // {"alg":"HS256","x":"aaa…"} of 384 bytes is exactly 512 characters of base64url; three
        // bytes more would still fit the decode buffer, so only the length check refuses them.
        let json = |fill: usize| format!(r#"{{"alg":"HS256","x":"{}"}}"#, "a".repeat(fill));
        let at_limit = header(&json(362));
        assert_eq!(at_limit.len(), MAX_HEADER_LEN);
        assert_eq!(
            check_header(&at_limit, false, &keys(&[None])),
            Ok(KeyChoice::InOrder)
        );
        let over = header(&json(365));
        assert_eq!(over.len(), MAX_HEADER_LEN + 4);
        assert_eq!(
            check_header(&over, false, &keys(&[None])),
            Err(TokenErrorKind::Malformed)
        );
    }

    #[test]
    fn non_canonical_base64url_is_refused() {
        // "eyJhbGciOiJIUzI1NiJ9" is {"alg":"HS256"}; a changed final character that decodes to
        // the same bytes with other trailing bits must not pass.
        let keys = keys(&[None]);
        assert_eq!(
            check_header("eyJhbGciOiJIUzI1NiJ9", false, &keys),
            Ok(KeyChoice::InOrder)
        );
        assert_eq!(
            check_header("eyJhbGciOiJIUzI1NiJ9=", false, &keys),
            Err(TokenErrorKind::Malformed)
        );
        assert_eq!(decode_payload("e30").unwrap().text(), Ok("{}"));
        assert!(decode_payload("e31").is_err());
    }
}
