//! Parsing the JWT claims set (RFC 7519) in one pass, borrowing from the payload.
//!
//! The audience is compared while parsing, so it is never stored; strings are borrowed
//! unless they contain escapes; duplicate claims that bearer-guard reads are rejected.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::TokenErrorKind;

/// Registered claims that the scope claim may not be renamed to.
pub(crate) const REGISTERED: [&str; 9] = [
    "exp",
    "nbf",
    "iat",
    "aud",
    "iss",
    "sub",
    "azp",
    "client_id",
    "jti",
];

/// A string from the payload: borrowed, or owned when JSON escapes had to be undone.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Str<'de> {
    Borrowed(&'de str),
    Owned(Box<str>),
}

impl Str<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Borrowed(s) => s,
            Self::Owned(s) => s,
        }
    }
}

/// Where the token's scopes came from: one space-delimited string, or a JSON array.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ScopeClaim<'de> {
    Delimited(Str<'de>),
    List(Vec<Str<'de>>),
}

/// Whether `aud` holds the resource server's identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Audience {
    #[default]
    Missing,
    Matches,
    Mismatch,
}

/// The claims bearer-guard reads, before their values are checked.
#[derive(Debug, Default)]
pub(crate) struct Claims<'de> {
    pub(crate) exp: Option<f64>,
    pub(crate) nbf: Option<f64>,
    pub(crate) iat: Option<f64>,
    pub(crate) aud: Audience,
    pub(crate) iss: Option<Str<'de>>,
    pub(crate) sub: Option<Str<'de>>,
    pub(crate) azp: Option<Str<'de>>,
    pub(crate) client_id: Option<Str<'de>>,
    pub(crate) jti: Option<Str<'de>>,
    pub(crate) scope: Option<ScopeClaim<'de>>,
}

/// Parses `payload` as a claims object, comparing `aud` with `audience` and reading scopes
/// from the claim named `scope_claim`.
pub(crate) fn parse<'de>(
    payload: &'de str,
    audience: &str,
    scope_claim: &str,
) -> Result<Claims<'de>, TokenErrorKind> {
    // A payload that is not an object is malformed, not a claims set with a bad claim.
    if !payload
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
    {
        return Err(TokenErrorKind::Malformed);
    }
    let mut de = serde_json::Deserializer::from_str(payload);
    let claims = de
        .deserialize_map(ClaimsVisitor {
            audience,
            scope_claim,
        })
        .and_then(|claims| de.end().map(|()| claims));
    claims.map_err(|err| match err.classify() {
        serde_json::error::Category::Data => TokenErrorKind::InvalidClaim,
        _ => TokenErrorKind::Malformed,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Name {
    Exp,
    Nbf,
    Iat,
    Aud,
    Iss,
    Sub,
    Azp,
    ClientId,
    Jti,
    Scope,
    Other,
}

impl Name {
    fn bit(self) -> u16 {
        1 << self as u16
    }
}

struct NameSeed<'a> {
    scope_claim: &'a str,
}

impl<'de> DeserializeSeed<'de> for NameSeed<'_> {
    type Value = Name;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Name, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for NameSeed<'_> {
    type Value = Name;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a claim name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Name, E> {
        Ok(match name {
            "exp" => Name::Exp,
            "nbf" => Name::Nbf,
            "iat" => Name::Iat,
            "aud" => Name::Aud,
            "iss" => Name::Iss,
            "sub" => Name::Sub,
            "azp" => Name::Azp,
            "client_id" => Name::ClientId,
            "jti" => Name::Jti,
            _ if name == self.scope_claim => Name::Scope,
            _ => Name::Other,
        })
    }
}

struct ClaimsVisitor<'a> {
    audience: &'a str,
    scope_claim: &'a str,
}

impl<'de> Visitor<'de> for ClaimsVisitor<'_> {
    type Value = Claims<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JWT claims object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claims<'de>, A::Error> {
        let mut claims = Claims::default();
        let mut seen = 0u16;
        while let Some(name) = map.next_key_seed(NameSeed {
            scope_claim: self.scope_claim,
        })? {
            if name != Name::Other {
                if seen & name.bit() != 0 {
                    return Err(de::Error::custom("duplicate claim"));
                }
                seen |= name.bit();
            }
            match name {
                Name::Exp => claims.exp = Some(map.next_value_seed(NumericDate)?),
                Name::Nbf => claims.nbf = Some(map.next_value_seed(NumericDate)?),
                Name::Iat => claims.iat = Some(map.next_value_seed(NumericDate)?),
                Name::Aud => {
                    claims.aud = map.next_value_seed(AudienceSeed {
                        expected: self.audience,
                    })?;
                }
                Name::Iss => claims.iss = Some(map.next_value_seed(StrSeed)?),
                Name::Sub => claims.sub = Some(map.next_value_seed(StrSeed)?),
                Name::Azp => claims.azp = Some(map.next_value_seed(StrSeed)?),
                Name::ClientId => claims.client_id = Some(map.next_value_seed(StrSeed)?),
                Name::Jti => claims.jti = Some(map.next_value_seed(StrSeed)?),
                Name::Scope => claims.scope = Some(map.next_value_seed(ScopeSeed)?),
                Name::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(claims)
    }
}

/// A JSON number of seconds (RFC 7519 NumericDate); fractions allowed, strings refused.
struct NumericDate;

impl<'de> DeserializeSeed<'de> for NumericDate {
    type Value = f64;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<f64, D::Error> {
        deserializer.deserialize_f64(self)
    }
}

impl Visitor<'_> for NumericDate {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a NumericDate")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(E::custom("NumericDate out of range"))
        }
    }

    #[allow(clippy::cast_precision_loss)] // Dates past 2^53 s are far beyond any token's life.
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    #[allow(clippy::cast_precision_loss)]
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
}

/// A JSON string, borrowed when it has no escapes.
struct StrSeed;

impl<'de> DeserializeSeed<'de> for StrSeed {
    type Value = Str<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Str<'de>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for StrSeed {
    type Value = Str<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
        Ok(Str::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
        Ok(Str::Owned(v.into()))
    }
}

/// `aud`: a string or an array of strings, one of which must equal the identifier.
struct AudienceSeed<'a> {
    expected: &'a str,
}

impl<'de> DeserializeSeed<'de> for AudienceSeed<'_> {
    type Value = Audience;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Audience, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AudienceSeed<'_> {
    type Value = Audience;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }

    fn visit_str<E: de::Error>(self, aud: &str) -> Result<Audience, E> {
        Ok(if aud == self.expected {
            Audience::Matches
        } else {
            Audience::Mismatch
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
        // Every element is read, so a non-string anywhere fails the token; `[]` is a mismatch.
        let mut found = Audience::Mismatch;
        while let Some(aud) = seq.next_element_seed(AudienceString {
            expected: self.expected,
        })? {
            if aud == Audience::Matches {
                found = Audience::Matches;
            }
        }
        Ok(found)
    }
}

/// One element of an `aud` array: a string, nothing else.
struct AudienceString<'a> {
    expected: &'a str,
}

impl<'de> DeserializeSeed<'de> for AudienceString<'_> {
    type Value = Audience;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Audience, D::Error> {
        deserializer.deserialize_str(AudienceSeed {
            expected: self.expected,
        })
    }
}

/// Scopes: a space-delimited string, or an array of strings.
struct ScopeSeed;

impl<'de> DeserializeSeed<'de> for ScopeSeed {
    type Value = ScopeClaim<'de>;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<ScopeClaim<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScopeSeed {
    type Value = ScopeClaim<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a space-delimited string or an array of strings")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<ScopeClaim<'de>, E> {
        StrSeed.visit_borrowed_str(v).map(ScopeClaim::Delimited)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ScopeClaim<'de>, E> {
        StrSeed.visit_str(v).map(ScopeClaim::Delimited)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ScopeClaim<'de>, A::Error> {
        let mut scopes = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(64));
        while let Some(scope) = seq.next_element_seed(StrSeed)? {
            scopes.push(scope);
        }
        Ok(ScopeClaim::List(scopes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUD: &str = "https://my-api-urn";

    fn parse_ok(payload: &str) -> Claims<'_> {
        parse(payload, AUD, "scope").unwrap()
    }

    #[test]
    fn numeric_dates_accept_integers_and_fractions() {
        let claims = parse_ok(r#"{"exp": 1700000000, "nbf": 1699999999.5, "iat": -2}"#);
        assert_eq!(claims.exp, Some(1_700_000_000.0));
        assert_eq!(claims.nbf, Some(1_699_999_999.5));
        assert_eq!(claims.iat, Some(-2.0));
    }

    #[test]
    fn azp_is_read_once_as_a_string() {
        let claims = parse_ok(r#"{"azp": "client-1", "client_id": "client-2"}"#);
        assert_eq!(claims.azp, Some(Str::Borrowed("client-1")));
        assert_eq!(claims.client_id, Some(Str::Borrowed("client-2")));
        for payload in [r#"{"azp": 1}"#, r#"{"azp": "a", "azp": "b"}"#] {
            assert_eq!(
                parse(payload, AUD, "scope").map(|_| ()),
                Err(TokenErrorKind::InvalidClaim),
                "{payload}"
            );
        }
    }

    #[test]
    fn numeric_date_as_string_fails() {
        for payload in [
            r#"{"exp": "1700000000"}"#,
            r#"{"nbf": true}"#,
            r#"{"iat": null}"#,
        ] {
            assert_eq!(
                parse(payload, AUD, "scope").unwrap_err(),
                TokenErrorKind::InvalidClaim,
                "{payload}"
            );
        }
    }

    #[test]
    fn huge_numeric_date_fails() {
        assert!(parse(r#"{"exp": 1e999}"#, AUD, "scope").is_err());
    }

    #[test]
    fn audience_string_or_array_matches_exactly() {
        assert_eq!(
            parse_ok(r#"{"aud": "https://my-api-urn"}"#).aud,
            Audience::Matches
        );
        assert_eq!(
            parse_ok(r#"{"aud": ["https://other", "https://my-api-urn"]}"#).aud,
            Audience::Matches
        );
        assert_eq!(
            parse_ok(r#"{"aud": "https://my-api-urn/"}"#).aud,
            Audience::Mismatch
        );
        assert_eq!(
            parse_ok(r#"{"aud": "HTTPS://my-api-urn"}"#).aud,
            Audience::Mismatch
        );
        assert_eq!(parse_ok(r#"{"aud": []}"#).aud, Audience::Mismatch);
        assert_eq!(parse_ok("{}").aud, Audience::Missing);
    }

    #[test]
    fn audience_of_another_type_fails() {
        for payload in [
            r#"{"aud": 1}"#,
            r#"{"aud": null}"#,
            r#"{"aud": {"a": "https://my-api-urn"}}"#,
            r#"{"aud": ["https://my-api-urn", 1]}"#,
            r#"{"aud": [["https://my-api-urn"]]}"#,
        ] {
            assert_eq!(
                parse(payload, AUD, "scope").unwrap_err(),
                TokenErrorKind::InvalidClaim,
                "{payload}"
            );
        }
    }

    #[test]
    fn escaped_audience_is_compared_after_unescaping() {
        assert_eq!(
            parse_ok(r#"{"aud": "https:\/\/my-api-urn"}"#).aud,
            Audience::Matches
        );
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        let claims = parse_ok(r#"{"sub": "abc@clients", "iss": "https:\/\/issuer\/"}"#);
        assert_eq!(claims.sub, Some(Str::Borrowed("abc@clients")));
        assert_eq!(claims.iss, Some(Str::Owned("https://issuer/".into())));
    }

    #[test]
    fn duplicate_claim_fails() {
        for payload in [
            r#"{"exp": 1, "exp": 2}"#,
            r#"{"aud": "x", "aud": "https://my-api-urn"}"#,
            r#"{"scope": "a", "scope": "b"}"#,
        ] {
            assert_eq!(
                parse(payload, AUD, "scope").unwrap_err(),
                TokenErrorKind::InvalidClaim,
                "{payload}"
            );
        }
    }

    #[test]
    fn unknown_claims_are_ignored_even_when_repeated() {
        let claims = parse_ok(r#"{"x": 1, "x": [2], "gty": "client-credentials"}"#);
        assert!(claims.sub.is_none());
    }

    #[test]
    fn scope_is_a_string_or_an_array() {
        assert_eq!(
            parse_ok(r#"{"scope": "a b"}"#).scope,
            Some(ScopeClaim::Delimited(Str::Borrowed("a b")))
        );
        assert_eq!(
            parse_ok(r#"{"scope": ["a", "b"]}"#).scope,
            Some(ScopeClaim::List(vec![
                Str::Borrowed("a"),
                Str::Borrowed("b")
            ]))
        );
        assert_eq!(
            parse(r#"{"scope": 3}"#, AUD, "scope").unwrap_err(),
            TokenErrorKind::InvalidClaim
        );
    }

    #[test]
    fn scope_claim_name_is_configurable() {
        let claims = parse(
            r#"{"scope": "x", "permissions": ["read:messages"]}"#,
            AUD,
            "permissions",
        )
        .unwrap();
        assert_eq!(
            claims.scope,
            Some(ScopeClaim::List(vec![Str::Borrowed("read:messages")]))
        );
    }

    #[test]
    fn payload_that_is_not_an_object_is_malformed() {
        for payload in [
            "[]",
            "[{}]",
            "null",
            "4102444800",
            "\"x\"",
            "",
            " ",
            "\u{a0}{}",
            "{",
            "{} {}",
            "{} x",
            "nul",
        ] {
            assert_eq!(
                parse(payload, AUD, "scope").map(|_| ()),
                Err(TokenErrorKind::Malformed),
                "{payload:?}"
            );
        }
        assert!(parse(" \t\r\n{}", AUD, "scope").is_ok());
    }
}
