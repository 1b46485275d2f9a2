//! The JOSE header (RFC 7515 §4): which algorithm, which key, which type.
//!
//! The algorithm is pinned by configuration and only checked here: the header never chooses
//! it, and `jku`, `x5u`, `x5c` and `jwk` are ignored, so nothing is ever fetched because a
//! token asked. `kid` is read only where it picks a key.
//!
//! Every header is decoded and parsed: a memo of the usual headers' answers saved about 120 ns
//! a token, but did not keep the ratio to `jsonwebtoken::decode` under the 0.45 that
//! BENCHMARKS.md sets for the added code, so it went.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer as _};

use crate::keys::{Algorithm, Algorithms};
use crate::token::TokenErrorKind;
use crate::token::claims::JsonStr;

/// Headers are tens of bytes (an algorithm, a type, a key id); anything past this many
/// characters of base64url is not one of ours, and is refused before it is decoded.
const MAX_HEADER_LEN: usize = 512;

/// The buffer a header is decoded into: room for [`MAX_HEADER_LEN`] characters.
pub(crate) const BUF_LEN: usize = MAX_HEADER_LEN;

/// What a header must be, for one validator.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    /// The algorithms accepted: the resource server's, pinned by configuration.
    pub(crate) accepted: Algorithms,
    /// RFC 9068 §2.1: `typ` must be `at+jwt`.
    pub(crate) require_at_jwt: bool,
    /// Whether `kid` picks the key. When it does not (HMAC secrets without key ids), a `kid`
    /// of any shape is ignored: it cannot change a decision.
    pub(crate) read_kid: bool,
}

/// A checked header: its algorithm, one of those accepted, and the key id it names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Header<'b> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<Cow<'b, str>>,
}

/// Checks the header `segment`, decoding it into `buf`: no `crit`, an accepted `alg`, not a
/// nested JWT (`cty`), no duplicate parameters, and `typ` `at+jwt` when the rules require it.
pub(crate) fn check<'b>(
    segment: &str,
    buf: &'b mut [u8; BUF_LEN],
    rules: Rules,
) -> Result<Header<'b>, TokenErrorKind> {
    if segment.len() > MAX_HEADER_LEN {
        return Err(TokenErrorKind::Malformed);
    }
    let len = URL_SAFE_NO_PAD
        .decode_slice(segment, &mut buf[..])
        .map_err(|_| TokenErrorKind::Malformed)?;
    let json = std::str::from_utf8(&buf[..len]).map_err(|_| TokenErrorKind::Malformed)?;
    let mut de = serde_json::Deserializer::from_str(json);
    let header = de
        .deserialize_map(HeaderVisitor {
            read_kid: rules.read_kid,
        })
        .and_then(|header| de.end().map(|()| header))
        .map_err(|_| TokenErrorKind::Malformed)?;
    if header.crit {
        return Err(TokenErrorKind::CriticalHeader);
    }
    let alg = header
        .alg
        .filter(|alg| rules.accepted.contains(*alg))
        .ok_or(TokenErrorKind::UnsupportedAlgorithm)?;
    if header.nested {
        return Err(TokenErrorKind::NestedToken);
    }
    if rules.require_at_jwt && !header.at_jwt {
        return Err(TokenErrorKind::InvalidType);
    }
    Ok(Header {
        alg,
        kid: header.kid,
    })
}

/// Whether a media type (`typ`, `cty`) is `subtype` or `application/subtype`, compared
/// case-insensitively (RFC 7515 §4.1.9).
pub(crate) fn is_media_type(value: &str, subtype: &str) -> bool {
    let value = value
        .get(..12)
        .filter(|prefix| prefix.eq_ignore_ascii_case("application/"))
        .map_or(value, |_| &value[12..]);
    value.eq_ignore_ascii_case(subtype)
}

/// The header parameters bearer-guard reads; all others are ignored.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Param {
    Alg,
    Crit,
    Cty,
    Kid,
    Typ,
    #[serde(other)]
    Other,
}

/// What the header says, once parsed.
#[derive(Default)]
struct Parsed<'de> {
    /// `None` when absent or not an algorithm bearer-guard verifies (`none`, `HS1024`, …).
    alg: Option<Algorithm>,
    alg_seen: bool,
    /// `typ` is `at+jwt` (RFC 9068 §2.1).
    at_jwt: bool,
    typ: bool,
    /// `cty` is `JWT`: the payload is another JWT (RFC 7519 §5.2), which an access token
    /// never is.
    nested: bool,
    cty: bool,
    kid: Option<Cow<'de, str>>,
    crit: bool,
}

/// Parses the header.
///
/// Hand-written rather than derived: whether `kid` is read at all depends on the
/// configuration (with no labelled key, a `kid` of any shape cannot change a decision).
struct HeaderVisitor {
    read_kid: bool,
}

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = Parsed<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed<'de>, A::Error> {
        // RFC 7515 §4 lets a parser reject duplicate names or keep the last one. Duplicates of
        // the parameters we read are rejected, so no two parsers can disagree on them; the
        // others are never read, so their duplicates cannot change a decision.
        let duplicate = || de::Error::custom("duplicate header parameter");
        let mut header = Parsed::default();
        while let Some(param) = map.next_key::<Param>()? {
            match param {
                Param::Alg if !header.alg_seen => {
                    // Exact and case-sensitive: `hs256` and `none` are other algorithms, and
                    // so is `Ed25519` to an `EdDSA` API and the other way round (RFC 9864:
                    // two registered names; the reasons are in `Algorithm`'s docs).
                    let JsonStr(alg) = map.next_value()?;
                    header.alg = Algorithm::from_name(&alg);
                    header.alg_seen = true;
                }
                Param::Crit if !header.crit => {
                    map.next_value::<IgnoredAny>()?;
                    header.crit = true;
                }
                Param::Cty if !header.cty => {
                    let JsonStr(cty) = map.next_value()?;
                    header.nested = is_media_type(&cty, "jwt");
                    header.cty = true;
                }
                Param::Typ if !header.typ => {
                    let JsonStr(typ) = map.next_value()?;
                    header.at_jwt = is_media_type(&typ, "at+jwt");
                    header.typ = true;
                }
                Param::Kid if self.read_kid => {
                    if header.kid.is_some() {
                        return Err(duplicate());
                    }
                    let JsonStr(kid) = map.next_value()?;
                    header.kid = Some(kid);
                }
                Param::Alg | Param::Crit | Param::Cty | Param::Typ => return Err(duplicate()),
                Param::Kid | Param::Other => {
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
    use crate::keys::{HmacKey, HmacKeys, KeyChoice, SigningSecret};

    fn header(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    /// HS256 rules as the validator makes them for secrets with these `kids`.
    fn rules(keys: &HmacKeys, at_jwt: bool) -> Rules {
        Rules {
            accepted: Algorithms::of([Algorithm::Hs256]),
            require_at_jwt: at_jwt,
            read_kid: keys.labels().is_some(),
        }
    }

    fn secrets(kids: &[Option<&str>]) -> HmacKeys {
        let secret = SigningSecret::from("a secret of thirty-two bytes, ok");
        HmacKeys::new(
            Algorithm::Hs256,
            kids.iter()
                .map(|kid| {
                    let key = HmacKey::new(Algorithm::Hs256, &secret).unwrap();
                    (kid.map(Box::from), key)
                })
                .collect(),
        )
    }

    /// The header check, then the key choice, as the validator runs them for HS256 secrets
    /// with these `kids`.
    fn checked(
        json: &str,
        at_jwt: bool,
        kids: &[Option<&str>],
    ) -> Result<KeyChoice, TokenErrorKind> {
        let keys = secrets(kids);
        let mut buf = [0; BUF_LEN];
        let header = check(&header(json), &mut buf, rules(&keys, at_jwt))?;
        assert_eq!(header.alg, Algorithm::Hs256);
        keys.choose(header.kid.as_deref())
            .ok_or(TokenErrorKind::UnknownKeyId)
    }

    /// The header check alone, for HS256 without key ids.
    fn parse(segment: &str, at_jwt: bool, _: Option<()>) -> Result<KeyChoice, TokenErrorKind> {
        let mut buf = [0; BUF_LEN];
        check(segment, &mut buf, rules(&secrets(&[None]), at_jwt)).map(|_| KeyChoice::InOrder)
    }

    #[test]
    fn kid_selects_a_labelled_key() {
        let kids = [Some("new"), Some("old"), None];
        let choice = |json: &str| checked(json, false, &kids);
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
    fn usual_headers_are_answered_in_both_typ_modes() {
        let kids = [Some("new"), Some("old")];
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
            (
                r#"{"alg":"HS256","typ":"JWT","kid":"gone"}"#,
                Err(TokenErrorKind::UnknownKeyId),
                Err(TokenErrorKind::InvalidType),
            ),
            (
                r#"{"alg":"HS512","typ":"JWT"}"#,
                Err(TokenErrorKind::UnsupportedAlgorithm),
                Err(TokenErrorKind::UnsupportedAlgorithm),
            ),
            (
                r#"{"alg":"HS256", "typ":"JWT","crit":["x"]}"#,
                Err(TokenErrorKind::CriticalHeader),
                Err(TokenErrorKind::CriticalHeader),
            ),
        ] {
            assert_eq!(checked(json, false, &kids), plain, "{json}");
            assert_eq!(checked(json, true, &kids), at_jwt, "{json}");
        }
    }

    #[test]
    fn duplicate_crit_is_malformed_not_critical() {
        assert_eq!(
            checked(
                r#"{"alg":"HS256","crit":["a"],"crit":["b"]}"#,
                false,
                &[None]
            ),
            Err(TokenErrorKind::Malformed)
        );
        assert_eq!(
            checked(r#"{"alg":"HS256","crit":["a"]}"#, false, &[None]),
            Err(TokenErrorKind::CriticalHeader)
        );
    }

    #[test]
    fn kid_is_ignored_when_no_key_is_labelled() {
        for json in [
            r#"{"alg":"HS256","kid":"anything"}"#,
            r#"{"alg":"HS256","kid":1}"#,
            r#"{"alg":"HS256","kid":"a","kid":"b"}"#,
        ] {
            assert_eq!(
                checked(json, false, &[None, None]),
                Ok(KeyChoice::InOrder),
                "{json}"
            );
        }
    }

    #[test]
    fn nested_jwt_is_refused_whatever_the_case() {
        // RFC 7519 §7.2 step 8: `cty` JWT makes the payload another JWT.
        for cty in ["JWT", "jwt", "Jwt", "application/JWT", "APPLICATION/jwt"] {
            let json = format!(r#"{{"alg":"HS256","typ":"JWT","cty":"{cty}"}}"#);
            assert_eq!(
                checked(&json, false, &[None]),
                Err(TokenErrorKind::NestedToken),
                "{cty}"
            );
        }
        for cty in ["json", "application/json", "JWTX", "text/jwt"] {
            let json = format!(r#"{{"alg":"HS256","cty":"{cty}"}}"#);
            assert_eq!(
                checked(&json, false, &[None]),
                Ok(KeyChoice::InOrder),
                "{cty}"
            );
        }
        for bad in [
            r#"{"alg":"HS256","cty":"JWT","cty":"json"}"#,
            r#"{"alg":"HS256","cty":1}"#,
        ] {
            assert_eq!(
                checked(bad, false, &[None]),
                Err(TokenErrorKind::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn alg_must_be_a_string() {
        for bad in [
            r#"{"alg":["HS256"]}"#,
            r#"{"alg":{"HS256":null}}"#,
            r#"{"alg":null}"#,
        ] {
            assert_eq!(
                checked(bad, false, &[None]),
                Err(TokenErrorKind::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn oversized_header_is_malformed_without_decoding() {
        let header = "e".repeat(MAX_HEADER_LEN + 1);
        assert_eq!(parse(&header, false, None), Err(TokenErrorKind::Malformed));
    }

    #[test]
    fn header_of_512_base64url_bytes_is_the_largest_read() {
        // {"alg":"HS256","x":"aaa…"} of 384 bytes is exactly 512 characters of base64url; three
        // bytes more would still fit the decode buffer, so only the length check refuses them.
        let json = |fill: usize| format!(r#"{{"alg":"HS256","x":"{}"}}"#, "a".repeat(fill));
        let at_limit = header(&json(362));
        assert_eq!(at_limit.len(), MAX_HEADER_LEN);
        assert_eq!(parse(&at_limit, false, None), Ok(KeyChoice::InOrder));
        let over = header(&json(365));
        assert_eq!(over.len(), MAX_HEADER_LEN + 4);
        assert_eq!(parse(&over, false, None), Err(TokenErrorKind::Malformed));
    }

    #[test]
    fn non_canonical_base64url_is_refused() {
        // "eyJhbGciOiJIUzI1NiJ9" is {"alg":"HS256"}; a changed final character that decodes to
        // the same bytes with other trailing bits must not pass.
        assert_eq!(
            parse("eyJhbGciOiJIUzI1NiJ9", false, None),
            Ok(KeyChoice::InOrder)
        );
        assert_eq!(
            parse("eyJhbGciOiJIUzI1NiJ9=", false, None),
            Err(TokenErrorKind::Malformed)
        );
    }
}
