//! The JWT claims set (RFC 7519 §4) in one pass over the payload.
//!
//! The audience is compared while parsing, so it is never stored. String claims are kept as
//! byte ranges of the payload (copied only when JSON escapes had to be undone). Duplicates of
//! the claims bearer-guard reads are refused, so no two parsers can disagree on them.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::token::TokenErrorKind;

/// Registered claims that the scope claim may not be renamed to.
pub(crate) const REGISTERED: [&str; 11] = [
    "exp",
    "nbf",
    "iat",
    "aud",
    "iss",
    "sub",
    "azp",
    "client_id",
    "jti",
    "acr",
    "auth_time",
];

/// A JSON string, borrowed from the text it was parsed from unless it had escapes.
#[derive(Deserialize)]
pub(crate) struct JsonStr<'a>(#[serde(borrow)] pub(crate) Cow<'a, str>);

/// A string claim as kept: a byte range of the payload, or owned when its JSON had escapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Text {
    Span(usize, usize),
    Owned(Box<str>),
}

impl Text {
    /// Keeps `s`, parsed from `payload`, as a range of it when it was borrowed from it.
    fn new(payload: &str, s: Cow<'_, str>) -> Self {
        match s {
            Cow::Borrowed(borrowed) => {
                // The parser borrowed `borrowed` from `payload`; should that ever not hold, the
                // string is copied rather than mis-addressed.
                let start = (borrowed.as_ptr() as usize).wrapping_sub(payload.as_ptr() as usize);
                let end = start.wrapping_add(borrowed.len());
                match payload.get(start..end) {
                    Some(span) if span.as_ptr() == borrowed.as_ptr() => Self::Span(start, end),
                    _ => Self::Owned(borrowed.into()),
                }
            }
            Cow::Owned(owned) => Self::Owned(owned.into_boxed_str()),
        }
    }

    /// The string, from the payload it was parsed from (the verified token reads its
    /// claims from their packed form; the parser's tests read them here).
    #[cfg(test)]
    pub(crate) fn resolve<'a>(&'a self, payload: &'a [u8]) -> &'a str {
        match self {
            Self::Span(start, end) => payload
                .get(*start..*end)
                .and_then(|span| std::str::from_utf8(span).ok())
                .unwrap_or_default(),
            Self::Owned(owned) => owned,
        }
    }
}

/// The token's scopes, as kept: one space-delimited string, or a JSON array of strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum ScopeList {
    #[default]
    None,
    Delimited(Text),
    List(Vec<Text>),
}

/// Whether `aud` holds the resource server's identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Audience {
    #[default]
    Missing,
    Matches,
    Mismatch,
}

/// The registered claims bearer-guard reads, with strings as [`Text`] of the payload.
#[derive(Debug, Default)]
pub(crate) struct RegisteredClaims {
    pub(crate) exp: Option<f64>,
    pub(crate) nbf: Option<f64>,
    pub(crate) iat: Option<f64>,
    pub(crate) aud: Audience,
    pub(crate) iss: Option<Text>,
    pub(crate) sub: Option<Text>,
    pub(crate) azp: Option<Text>,
    pub(crate) client_id: Option<Text>,
    pub(crate) jti: Option<Text>,
    pub(crate) scopes: ScopeList,
    /// `cnf.jkt` (RFC 9449 §6.1): the thumbprint of the key a DPoP-bound token is bound to.
    pub(crate) cnf_jkt: Option<Text>,
    /// `cnf["x5t#S256"]` (RFC 8705 §3.1): the thumbprint of the client certificate a
    /// certificate-bound token is bound to.
    pub(crate) cnf_x5t: Option<Text>,
    /// `acr` (OpenID Connect Core §2, RFC 9470 §4), or the claim configured in its place.
    pub(crate) acr: Option<Text>,
    /// `auth_time`: when the user last authenticated, or the claim configured in its place.
    pub(crate) auth_time: Option<f64>,
}

/// The names of the claims whose name is a setting: the scopes', and step-up's two (RFC 9470).
#[derive(Clone, Copy)]
pub(crate) struct ClaimNames<'a> {
    pub(crate) scope: &'a str,
    pub(crate) acr: &'a str,
    pub(crate) auth_time: &'a str,
}

/// Parses `payload` as a claims object, comparing `aud` with `audience` and reading scopes
/// from the claim named `scope_claim`.
#[cfg(test)]
pub(crate) fn parse(
    payload: &str,
    audience: &str,
    scope_claim: &str,
) -> Result<RegisteredClaims, TokenErrorKind> {
    let names = ClaimNames {
        scope: scope_claim,
        acr: "acr",
        auth_time: "auth_time",
    };
    parse_named(payload, audience, names)
}

/// [`parse`], with every configurable claim name given.
pub(crate) fn parse_named(
    payload: &str,
    audience: &str,
    names: ClaimNames<'_>,
) -> Result<RegisteredClaims, TokenErrorKind> {
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
            payload,
            audience,
            names,
        })
        .and_then(|claims| de.end().map(|()| claims));
    let claims = claims.map_err(|err| match err.classify() {
        serde_json::error::Category::Data => TokenErrorKind::InvalidClaim,
        _ => TokenErrorKind::Malformed,
    })?;
    // Claims bearer-guard does not read are skipped without decoding their strings; one with
    // a lone surrogate escape would fail later, in `VerifiedToken::claims` or `Claims<T>`.
    // Refused here, so that the guard and the extractors agree on every token.
    if has_lone_surrogate(payload) {
        return Err(TokenErrorKind::InvalidClaim);
    }
    Ok(claims)
}

/// Whether JSON text has a `\uD800`–`\uDFFF` escape that is not half of a surrogate pair.
/// Escapes stand only inside strings, so the text is scanned escape by escape.
fn has_lone_surrogate(json: &str) -> bool {
    let bytes = json.as_bytes();
    let mut at = 0;
    while let Some(found) = memchr::memchr(b'\\', bytes.get(at..).unwrap_or_default()) {
        let escape = at + found;
        let Some(unit) = unicode_escape(bytes, escape) else {
            // Another escape (`\"`, `\\`, `\n`, …): two bytes.
            at = escape + 2;
            continue;
        };
        at = escape + 6;
        match unit {
            0xD800..=0xDBFF => match unicode_escape(bytes, at) {
                Some(0xDC00..=0xDFFF) => at += 6,
                _ => return true,
            },
            0xDC00..=0xDFFF => return true,
            _ => {}
        }
    }
    false
}

/// The UTF-16 code unit of a `\uXXXX` escape starting at `at`, if one starts there.
fn unicode_escape(bytes: &[u8], at: usize) -> Option<u16> {
    match bytes.get(at..at + 6)? {
        [b'\\', b'u', hex @ ..] => {
            let hex = std::str::from_utf8(hex).ok()?;
            u16::from_str_radix(hex, 16).ok()
        }
        _ => None,
    }
}

/// The claim names bearer-guard reads; which one holds the scopes is known only at run time.
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
    Cnf,
    Scope,
    Acr,
    AuthTime,
    Other,
}

impl Name {
    fn bit(self) -> u16 {
        1 << self as u16
    }
}

struct NameSeed<'a> {
    names: ClaimNames<'a>,
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
            "cnf" => Name::Cnf,
            _ if name == self.names.scope => Name::Scope,
            _ if name == self.names.acr => Name::Acr,
            _ if name == self.names.auth_time => Name::AuthTime,
            _ => Name::Other,
        })
    }
}

struct ClaimsVisitor<'a> {
    payload: &'a str,
    audience: &'a str,
    names: ClaimNames<'a>,
}

impl<'de> Visitor<'de> for ClaimsVisitor<'_> {
    type Value = RegisteredClaims;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JWT claims object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RegisteredClaims, A::Error> {
        let payload = self.payload;
        let text = |map: &mut A| -> Result<Option<Text>, A::Error> {
            let JsonStr(s) = map.next_value()?;
            Ok(Some(Text::new(payload, s)))
        };
        let mut claims = RegisteredClaims::default();
        let mut seen = 0u16;
        while let Some(name) = map.next_key_seed(NameSeed { names: self.names })? {
            if name != Name::Other {
                if seen & name.bit() != 0 {
                    return Err(de::Error::custom("duplicate claim"));
                }
                seen |= name.bit();
            }
            match name {
                Name::Exp => claims.exp = Some(numeric_date(map.next_value()?)?),
                Name::Nbf => claims.nbf = Some(numeric_date(map.next_value()?)?),
                Name::Iat => claims.iat = Some(numeric_date(map.next_value()?)?),
                Name::Aud => {
                    claims.aud = map.next_value_seed(AudienceSeed {
                        expected: self.audience,
                    })?;
                }
                Name::Iss => claims.iss = text(&mut map)?,
                Name::Sub => claims.sub = text(&mut map)?,
                Name::Azp => claims.azp = text(&mut map)?,
                Name::ClientId => claims.client_id = text(&mut map)?,
                Name::Jti => claims.jti = text(&mut map)?,
                Name::Cnf => {
                    let cnf = map.next_value_seed(ConfirmationSeed { payload })?;
                    (claims.cnf_jkt, claims.cnf_x5t) = (cnf.jkt, cnf.x5t);
                }
                Name::Scope => claims.scopes = map.next_value_seed(ScopeSeed { payload })?,
                Name::Acr => claims.acr = text(&mut map)?,
                Name::AuthTime => claims.auth_time = Some(numeric_date(map.next_value()?)?),
                Name::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(claims)
    }
}

/// A NumericDate (RFC 7519 §2): a JSON number of seconds, fractions allowed. serde refuses
/// strings and other types; this refuses what does not fit a finite `f64`.
fn numeric_date<E: de::Error>(seconds: f64) -> Result<f64, E> {
    if seconds.is_finite() {
        Ok(seconds)
    } else {
        Err(E::custom("NumericDate out of range"))
    }
}

/// `aud`: a string or an array of strings, one of which must equal the identifier. Compared
/// as it is read, so nothing is kept.
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
        while let Some(JsonStr(aud)) = seq.next_element()? {
            if aud == self.expected {
                found = Audience::Matches;
            }
        }
        Ok(found)
    }
}

/// `cnf` (RFC 7800 §3.1): an object of confirmation methods, of which `jkt` (RFC 9449 §6.1)
/// and `x5t#S256` (RFC 8705 §3.1), strings, are read; the others are skipped. Read only when
/// the token has a `cnf`, once, when it is verified: a cached token keeps both.
struct ConfirmationSeed<'a> {
    payload: &'a str,
}

/// The confirmation methods read from `cnf`.
struct Confirmation {
    jkt: Option<Text>,
    x5t: Option<Text>,
}

impl<'de> DeserializeSeed<'de> for ConfirmationSeed<'_> {
    type Value = Confirmation;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Confirmation, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ConfirmationSeed<'_> {
    type Value = Confirmation;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a confirmation object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Confirmation, A::Error> {
        let mut cnf = Confirmation {
            jkt: None,
            x5t: None,
        };
        while let Some(JsonStr(name)) = map.next_key()? {
            let slot = match &*name {
                "jkt" => &mut cnf.jkt,
                "x5t#S256" => &mut cnf.x5t,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if slot.is_some() {
                return Err(de::Error::custom("duplicate confirmation method"));
            }
            let JsonStr(value) = map.next_value()?;
            *slot = Some(Text::new(self.payload, value));
        }
        Ok(cnf)
    }
}

/// Scopes: a space-delimited string, or an array of strings.
struct ScopeSeed<'a> {
    payload: &'a str,
}

impl<'de> DeserializeSeed<'de> for ScopeSeed<'_> {
    type Value = ScopeList;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<ScopeList, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScopeSeed<'_> {
    type Value = ScopeList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a space-delimited string or an array of strings")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<ScopeList, E> {
        Ok(ScopeList::Delimited(Text::new(
            self.payload,
            Cow::Borrowed(v),
        )))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ScopeList, E> {
        Ok(ScopeList::Delimited(Text::Owned(v.into())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ScopeList, A::Error> {
        let mut scopes = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(64));
        while let Some(JsonStr(scope)) = seq.next_element()? {
            scopes.push(Text::new(self.payload, scope));
        }
        Ok(ScopeList::List(scopes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUD: &str = "https://my-api-urn";

    fn parse_ok(payload: &str) -> RegisteredClaims {
        parse(payload, AUD, "scope").unwrap()
    }

    /// A claim's text, and whether it was kept as a range of the payload (borrowed).
    fn text<'a>(payload: &'a str, text: Option<&'a Text>) -> Option<(&'a str, bool)> {
        text.map(|t| (t.resolve(payload.as_bytes()), matches!(t, Text::Span(..))))
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
        let payload = r#"{"azp": "client-1", "client_id": "client-2"}"#;
        let claims = parse_ok(payload);
        assert_eq!(text(payload, claims.azp.as_ref()), Some(("client-1", true)));
        assert_eq!(
            text(payload, claims.client_id.as_ref()),
            Some(("client-2", true))
        );
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
        assert_eq!(
            parse_ok(r#"{"aud": ["x", "https:\/\/my-api-urn"]}"#).aud,
            Audience::Matches
        );
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        let payload = r#"{"sub": "abc@clients", "iss": "https:\/\/issuer\/"}"#;
        let claims = parse_ok(payload);
        assert_eq!(
            text(payload, claims.sub.as_ref()),
            Some(("abc@clients", true))
        );
        assert_eq!(
            text(payload, claims.iss.as_ref()),
            Some(("https://issuer/", false))
        );
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
    fn cnf_jkt_is_read_from_the_confirmation_object() {
        // RFC 9449 §6.1's example claims.
        let payload = r#"{"sub":"someone@example.com","iss":"https://server.example.com","nbf":1562262611,"exp":1562266216,"cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}"#;
        let claims = parse_ok(payload);
        assert_eq!(
            text(payload, claims.cnf_jkt.as_ref()),
            Some(("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", true))
        );
        // Another confirmation method; no `jkt`, no key thumbprint.
        let other = r#"{"cnf":{"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}"#;
        assert_eq!(parse_ok(other).cnf_jkt, None);
        assert_eq!(parse_ok("{}").cnf_jkt, None);
        let escaped = r#"{"cnf":{"x":[1,{"jkt":2}],"jkt":"a\/b"}}"#;
        assert_eq!(
            text(escaped, parse_ok(escaped).cnf_jkt.as_ref()),
            Some(("a/b", false))
        );
    }

    #[test]
    fn cnf_x5t_s256_is_read_beside_jkt() {
        // RFC 8705 §3.1's example claims.
        let payload = r#"{"iss":"https://server.example.com","sub":"ty.webb@example.com","exp":1493726400,"nbf":1493722800,"cnf":{"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}"#;
        let claims = parse_ok(payload);
        assert_eq!(
            text(payload, claims.cnf_x5t.as_ref()),
            Some(("bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2", true))
        );
        assert_eq!(claims.cnf_jkt, None);
        let both = r#"{"cnf":{"jkt":"k","x5t#S256":"c","x5t":"sha1, skipped"}}"#;
        let claims = parse_ok(both);
        assert_eq!(text(both, claims.cnf_jkt.as_ref()), Some(("k", true)));
        assert_eq!(text(both, claims.cnf_x5t.as_ref()), Some(("c", true)));
        assert_eq!(parse_ok(r#"{"cnf":{}}"#).cnf_x5t, None);
        for payload in [
            r#"{"cnf": {"x5t#S256": 1}}"#,
            r#"{"cnf": {"x5t#S256": null}}"#,
            r#"{"cnf": {"x5t#S256": "a", "x5t#S256": "b"}}"#,
            r#"{"cnf": {"x5t#S256": ["a"]}}"#,
        ] {
            assert_eq!(
                parse(payload, AUD, "scope").map(|_| ()),
                Err(TokenErrorKind::InvalidClaim),
                "{payload}"
            );
        }
    }

    #[test]
    fn cnf_of_another_shape_fails() {
        for payload in [
            r#"{"cnf": "jkt"}"#,
            r#"{"cnf": ["jkt"]}"#,
            r#"{"cnf": null}"#,
            r#"{"cnf": {"jkt": 1}}"#,
            r#"{"cnf": {"jkt": "a", "jkt": "b"}}"#,
            r#"{"cnf": {"jkt": "a"}, "cnf": {"jkt": "a"}}"#,
        ] {
            assert_eq!(
                parse(payload, AUD, "scope").map(|_| ()),
                Err(TokenErrorKind::InvalidClaim),
                "{payload}"
            );
        }
    }

    #[test]
    fn acr_and_auth_time_are_read_by_their_configured_names() {
        let payload = r#"{"acr": "urn:mace:incommon:iap:silver", "auth_time": 1699999000}"#;
        let claims = parse_ok(payload);
        assert_eq!(
            text(payload, claims.acr.as_ref()),
            Some(("urn:mace:incommon:iap:silver", true))
        );
        assert_eq!(claims.auth_time, Some(1_699_999_000.0));
        // Under other names (a namespaced claim an Auth0 Action writes), `acr` is not read.
        let names = ClaimNames {
            scope: "scope",
            acr: "https://api.example/acr",
            auth_time: "https://api.example/auth_time",
        };
        let namespaced =
            r#"{"acr": 5, "https://api.example/acr": "mfa", "https://api.example/auth_time": 7.5}"#;
        let claims = parse_named(namespaced, AUD, names).unwrap();
        assert_eq!(text(namespaced, claims.acr.as_ref()), Some(("mfa", true)));
        assert_eq!(claims.auth_time, Some(7.5));
        assert_eq!(parse_ok("{}").acr, None);
        assert_eq!(parse_ok("{}").auth_time, None);
    }

    #[test]
    fn acr_and_auth_time_of_another_type_or_repeated_fail() {
        for payload in [
            r#"{"acr": 1}"#,
            r#"{"acr": ["mfa"]}"#,
            r#"{"acr": "a", "acr": "b"}"#,
            r#"{"auth_time": "1699999000"}"#,
            r#"{"auth_time": null}"#,
            r#"{"auth_time": 1, "auth_time": 2}"#,
        ] {
            assert_eq!(
                parse(payload, AUD, "scope").map(|_| ()),
                Err(TokenErrorKind::InvalidClaim),
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
        let delimited = r#"{"scope": "a b"}"#;
        assert_eq!(
            parse_ok(delimited).scopes,
            ScopeList::Delimited(Text::Span(11, 14))
        );
        let list = r#"{"scope": ["a", "b"]}"#;
        assert_eq!(
            parse_ok(list).scopes,
            ScopeList::List(vec![Text::Span(12, 13), Text::Span(17, 18)])
        );
        assert_eq!(
            parse(r#"{"scope": 3}"#, AUD, "scope").unwrap_err(),
            TokenErrorKind::InvalidClaim
        );
    }

    #[test]
    fn scope_claim_name_is_configurable() {
        let payload = r#"{"scope": "x", "permissions": ["read:messages"]}"#;
        let claims = parse(payload, AUD, "permissions").unwrap();
        let ScopeList::List(list) = &claims.scopes else {
            panic!("{:?}", claims.scopes);
        };
        assert_eq!(
            list.iter()
                .map(|t| t.resolve(payload.as_bytes()))
                .collect::<Vec<_>>(),
            ["read:messages"]
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

    #[test]
    fn lone_surrogate_anywhere_is_an_invalid_claim() {
        for payload in [
            r#"{"x": "\ud800"}"#,
            r#"{"x": "\uDBFF"}"#,
            r#"{"x": "\udc00"}"#,
            r#"{"x": "\ud800\u0041"}"#,
            r#"{"x": "\ud800\ud800"}"#,
            r#"{"x": {"y": ["a", "\ud83d"]}}"#,
            r#"{"x": "\ud83d", "sub": "a"}"#,
        ] {
            assert_eq!(
                parse(payload, AUD, "scope").map(|_| ()),
                Err(TokenErrorKind::InvalidClaim),
                "{payload}"
            );
        }
        // In a claim name, serde_json itself refuses it.
        assert!(parse(r#"{"\ud800": 1}"#, AUD, "scope").is_err());
    }

    #[test]
    fn surrogate_pairs_and_other_escapes_pass() {
        for payload in [
            r#"{"x": "\ud83d\ude00"}"#,
            r#"{"x": "\uD83D\uDE00 and \u00e9"}"#,
            r#"{"x": "\\ud800"}"#,
            r#"{"x": "\\\\ud800"}"#,
            r#"{"x": "a\"b\\", "y": "\n\t\/"}"#,
        ] {
            assert!(parse(payload, AUD, "scope").is_ok(), "{payload}");
        }
    }
}
