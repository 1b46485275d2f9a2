//! The verified token's one allocation: the claims bearer-guard reads, packed in front of the
//! decoded payload, in a buffer sized to fit.
//!
//! A verified token lives in the verified-token cache for up to five minutes, so its size is
//! the cache's size: an Auth0 access token of 432 bytes decodes to about 256 bytes of claims
//! JSON, and the packed claims in front of it take about 40 more (the spans of the string
//! claims as 16-bit offsets, the dates present, two bytes of flags). The earlier layout (the
//! payload inline in a 640-byte array, every claim a pair of `usize`) took about 1,000.
//!
//! Layout, little-endian, offsets `W` bytes wide (2, or 4 when the buffer passes 64 KiB):
//!
//! | bytes | what |
//! |---|---|
//! | 1 | flags: audience (bits 0–1), scope form (2–3), wide offsets (4), `nbf` (5), `iat` (6), `auth_time` (7) present |
//! | 1 | which of `iss`, `sub`, `azp`, `client_id`, `jti`, `cnf.jkt`, `cnf["x5t#S256"]`, `acr` (bits 0–7) are present |
//! | 2 × W | where the payload starts and ends |
//! | 8, 8 … | `exp`, then `nbf`, `iat` and `auth_time` when present (`f64`) |
//! | 2 × W each | the present strings' spans, in the order above |
//! | W + 2 × W each, or 2 × W | the scopes: a list's count and spans, or a delimited string's span |
//! | … | the payload, then the strings whose JSON had escapes, unescaped |

use std::sync::Arc;

use crate::token::TokenErrorKind;
use crate::token::claims::{Audience, RegisteredClaims, ScopeList, Text};

/// The string claims kept as spans, in their bit order.
#[derive(Clone, Copy)]
pub(crate) enum Claim {
    Iss = 0,
    Sub = 1,
    Azp = 2,
    ClientId = 3,
    Jti = 4,
    CnfJkt = 5,
    CnfX5t = 6,
    Acr = 7,
}

/// The dates after `exp`, in their order, by their flag.
#[derive(Clone, Copy)]
pub(crate) enum Date {
    Nbf = NBF as isize,
    Iat = IAT as isize,
    AuthTime = AUTH_TIME as isize,
}

const AUDIENCE_MASK: u8 = 0b11;
const SCOPE_DELIMITED: u8 = 1 << 2;
const SCOPE_LIST: u8 = 2 << 2;
const SCOPE_MASK: u8 = 3 << 2;
const WIDE: u8 = 1 << 4;
const NBF: u8 = 1 << 5;
const IAT: u8 = 1 << 6;
const AUTH_TIME: u8 = 1 << 7;

/// Buffers up to this size are written on the stack and copied once into their allocation.
const ON_STACK: usize = 1024;

/// The scopes as packed: where to find them.
#[derive(Clone, Copy)]
pub(crate) enum PackedScopes<'a> {
    None,
    /// A space-delimited string.
    Delimited(&'a str),
    /// A JSON array of strings.
    List(SpanList<'a>),
}

/// Spans of strings in a packed buffer, read one by one.
#[derive(Clone, Copy)]
pub(crate) struct SpanList<'a> {
    bytes: &'a [u8],
    at: usize,
    left: usize,
    wide: bool,
}

impl<'a> Iterator for SpanList<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let text = span(self.bytes, self.at, self.wide);
        self.at += 2 * width(self.wide);
        Some(text)
    }
}

/// A verified token's claims and payload in one buffer.
#[derive(Clone)]
pub(crate) struct Packed(Arc<[u8]>);

const fn width(wide: bool) -> usize {
    if wide { 4 } else { 2 }
}

fn offset(bytes: &[u8], at: usize, wide: bool) -> usize {
    if wide {
        bytes
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, |b| u32::from_le_bytes(b) as usize)
    } else {
        bytes
            .get(at..at + 2)
            .and_then(|b| b.try_into().ok())
            .map_or(0, |b| usize::from(u16::from_le_bytes(b)))
    }
}

/// The string whose span is at `at`. Spans lie on character boundaries of UTF-8 text, so
/// only the span's own bytes are checked again.
fn span(bytes: &[u8], at: usize, wide: bool) -> &str {
    let start = offset(bytes, at, wide);
    let end = offset(bytes, at + width(wide), wide);
    bytes
        .get(start..end)
        .and_then(|text| std::str::from_utf8(text).ok())
        .unwrap_or_default()
}

fn float(bytes: &[u8], at: usize) -> f64 {
    bytes
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0.0, f64::from_le_bytes)
}

/// Writes a buffer of a size known in advance, front to back.
struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
    wide: bool,
}

impl Writer<'_> {
    fn bytes(&mut self, bytes: &[u8]) -> Result<(), TokenErrorKind> {
        let end = self.at + bytes.len();
        self.out
            .get_mut(self.at..end)
            .ok_or(TokenErrorKind::Malformed)?
            .copy_from_slice(bytes);
        self.at = end;
        Ok(())
    }

    fn offset(&mut self, value: usize) -> Result<(), TokenErrorKind> {
        if self.wide {
            let value = u32::try_from(value).map_err(|_| TokenErrorKind::TooLarge)?;
            self.bytes(&value.to_le_bytes())
        } else {
            let value = u16::try_from(value).map_err(|_| TokenErrorKind::TooLarge)?;
            self.bytes(&value.to_le_bytes())
        }
    }
}

impl Packed {
    /// Packs `claims`, read from `payload`.
    ///
    /// # Errors
    ///
    /// [`TokenErrorKind::MissingExpiry`] for claims without `exp`: every verified token has
    /// one, and this is where its absence is refused.
    pub(crate) fn new(payload: &str, claims: &RegisteredClaims) -> Result<Self, TokenErrorKind> {
        let exp = claims.exp.ok_or(TokenErrorKind::MissingExpiry)?;
        let strings = [
            &claims.iss,
            &claims.sub,
            &claims.azp,
            &claims.client_id,
            &claims.jti,
            &claims.cnf_jkt,
            &claims.cnf_x5t,
            &claims.acr,
        ];
        let dates = [claims.nbf, claims.iat, claims.auth_time];
        let scopes: &[Text] = match &claims.scopes {
            ScopeList::None => &[],
            ScopeList::Delimited(text) => std::slice::from_ref(text),
            ScopeList::List(list) => list,
        };
        let owned_len: usize = strings
            .iter()
            .filter_map(|text| text.as_ref())
            .chain(scopes)
            .map(|text| match text {
                Text::Owned(owned) => owned.len(),
                Text::Span(..) => 0,
            })
            .sum();
        let present_strings = strings.iter().filter(|text| text.is_some()).count();
        let present_dates = dates.iter().filter(|date| date.is_some()).count();
        let list_count = matches!(claims.scopes, ScopeList::List(_));
        let header = |w: usize| {
            2 + 2 * w
                + 8 * (1 + present_dates)
                + 2 * w * (present_strings + scopes.len())
                + if list_count { w } else { 0 }
        };
        // 2-byte offsets when the whole buffer fits them.
        let wide = header(2) + payload.len() + owned_len > usize::from(u16::MAX);
        let payload_start = header(width(wide));
        let payload_end = payload_start + payload.len();
        let total = payload_end + owned_len;

        let mut present = 0u8;
        for (bit, text) in strings.iter().enumerate() {
            if text.is_some() {
                present |= 1 << bit;
            }
        }
        let audience = match claims.aud {
            Audience::Missing => 0,
            Audience::Matches => 1,
            Audience::Mismatch => 2,
        };
        let form = match claims.scopes {
            ScopeList::None => 0,
            ScopeList::Delimited(_) => SCOPE_DELIMITED,
            ScopeList::List(_) => SCOPE_LIST,
        };
        let mut flags = audience | form | if wide { WIDE } else { 0 };
        for (flag, date) in [NBF, IAT, AUTH_TIME].into_iter().zip(dates) {
            if date.is_some() {
                flags |= flag;
            }
        }

        let mut stack = [0u8; ON_STACK];
        let mut heap = Vec::new();
        let out = if total <= ON_STACK {
            stack.get_mut(..total).ok_or(TokenErrorKind::Malformed)?
        } else {
            heap.resize(total, 0);
            &mut heap[..]
        };
        let mut writer = Writer { out, at: 0, wide };
        writer.bytes(&[flags, present])?;
        writer.offset(payload_start)?;
        writer.offset(payload_end)?;
        for date in [Some(exp)].into_iter().chain(dates).flatten() {
            writer.bytes(&date.to_le_bytes())?;
        }
        // Owned strings go after the payload, in the order their spans are written.
        let texts = strings.iter().filter_map(|text| text.as_ref());
        let mut owned_at = payload_end;
        let mut span_of = |text: &Text| match text {
            Text::Span(start, end) => (payload_start + start, payload_start + end),
            Text::Owned(string) => {
                let start = owned_at;
                owned_at += string.len();
                (start, owned_at)
            }
        };
        for text in texts.clone() {
            let (start, end) = span_of(text);
            writer.offset(start)?;
            writer.offset(end)?;
        }
        if list_count {
            writer.offset(scopes.len())?;
        }
        for text in scopes {
            let (start, end) = span_of(text);
            writer.offset(start)?;
            writer.offset(end)?;
        }
        writer.bytes(payload.as_bytes())?;
        for text in texts.chain(scopes) {
            if let Text::Owned(string) = text {
                writer.bytes(string.as_bytes())?;
            }
        }
        Ok(Self(Arc::from(&*writer.out)))
    }

    fn bytes(&self) -> &[u8] {
        &self.0
    }

    fn flags(&self) -> u8 {
        self.0.first().copied().unwrap_or_default()
    }

    fn present(&self) -> u8 {
        self.0.get(1).copied().unwrap_or_default()
    }

    fn wide(&self) -> bool {
        self.flags() & WIDE != 0
    }

    /// Where `exp` is, after the flags and the payload's two offsets.
    fn dates_at(&self) -> usize {
        2 + 2 * width(self.wide())
    }

    /// Where the dates end and the spans begin.
    fn spans_at(&self) -> usize {
        let dates = (self.flags() & (NBF | IAT | AUTH_TIME)).count_ones() as usize;
        self.dates_at() + 8 * (1 + dates)
    }

    /// The bytes the buffer takes on the heap: its reference counts and itself, as the
    /// allocator rounds it.
    pub(crate) fn heap_size(&self) -> usize {
        (2 * std::mem::size_of::<usize>() + self.0.len()).next_multiple_of(8)
    }

    /// The payload, checked to be UTF-8 when it was verified.
    pub(crate) fn payload(&self) -> &str {
        let wide = self.wide();
        let start = offset(self.bytes(), 2, wide);
        let end = offset(self.bytes(), 2 + width(wide), wide);
        self.bytes()
            .get(start..end)
            .and_then(|text| std::str::from_utf8(text).ok())
            .unwrap_or_default()
    }

    pub(crate) fn exp(&self) -> f64 {
        float(self.bytes(), self.dates_at())
    }

    /// A date after `exp`, if the token has it.
    pub(crate) fn date(&self, date: Date) -> Option<f64> {
        let flag = date as u8;
        let flags = self.flags();
        if flags & flag == 0 {
            return None;
        }
        let before = (flags & (NBF | IAT | AUTH_TIME) & (flag - 1)).count_ones() as usize;
        Some(float(self.bytes(), self.dates_at() + 8 * (1 + before)))
    }

    pub(crate) fn audience(&self) -> Audience {
        match self.flags() & AUDIENCE_MASK {
            1 => Audience::Matches,
            2 => Audience::Mismatch,
            _ => Audience::Missing,
        }
    }

    pub(crate) fn has(&self, claim: Claim) -> bool {
        self.present() & (1 << claim as u8) != 0
    }

    /// A string claim, if the token has it.
    pub(crate) fn text(&self, claim: Claim) -> Option<&str> {
        if !self.has(claim) {
            return None;
        }
        let bit = 1u16 << claim as u8;
        let before = (u16::from(self.present()) & (bit - 1)).count_ones() as usize;
        let wide = self.wide();
        Some(span(
            self.bytes(),
            self.spans_at() + before * 2 * width(wide),
            wide,
        ))
    }

    pub(crate) fn scopes(&self) -> PackedScopes<'_> {
        let wide = self.wide();
        let w = width(wide);
        let at = self.spans_at() + self.present().count_ones() as usize * 2 * w;
        match self.flags() & SCOPE_MASK {
            SCOPE_DELIMITED => PackedScopes::Delimited(span(self.bytes(), at, wide)),
            SCOPE_LIST => PackedScopes::List(SpanList {
                bytes: self.bytes(),
                at: at + w,
                left: offset(self.bytes(), at, wide),
                wide,
            }),
            _ => PackedScopes::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::claims;

    const AUD: &str = "https://my-api-urn";

    fn packed(payload: &str, scope_claim: &str) -> Packed {
        let claims = claims::parse(payload, AUD, scope_claim).unwrap();
        Packed::new(payload, &claims).unwrap()
    }

    fn scopes(packed: &Packed) -> Option<Vec<&str>> {
        match packed.scopes() {
            PackedScopes::None => None,
            PackedScopes::Delimited(text) => Some(vec![text]),
            PackedScopes::List(list) => Some(list.collect()),
        }
    }

    const EVERY_STRING: [Claim; 8] = [
        Claim::Iss,
        Claim::Sub,
        Claim::Azp,
        Claim::ClientId,
        Claim::Jti,
        Claim::CnfJkt,
        Claim::CnfX5t,
        Claim::Acr,
    ];

    #[test]
    fn every_claim_reads_back_as_parsed() {
        let payload = r#"{"iss":"https:\/\/issuer\/","sub":"alice","aud":"https://my-api-urn","azp":"c\u00e9","client_id":"c1","jti":"j","cnf":{"jkt":"t","x5t#S256":"x"},"acr":"urn:mfa","exp":1700000000.5,"nbf":-3,"iat":1699999999,"auth_time":1699999000,"scope":"a b"}"#;
        let packed = packed(payload, "scope");
        assert_eq!(packed.payload(), payload);
        let texts: Vec<_> = EVERY_STRING.map(|claim| packed.text(claim)).into();
        assert_eq!(
            texts,
            [
                "https://issuer/",
                "alice",
                "cé",
                "c1",
                "j",
                "t",
                "x",
                "urn:mfa"
            ]
            .map(Some)
        );
        assert_eq!(packed.exp(), 1_700_000_000.5);
        assert_eq!(packed.date(Date::Nbf), Some(-3.0));
        assert_eq!(packed.date(Date::Iat), Some(1_699_999_999.0));
        assert_eq!(packed.date(Date::AuthTime), Some(1_699_999_000.0));
        assert_eq!(packed.audience(), Audience::Matches);
        assert_eq!(scopes(&packed), Some(vec!["a b"]));
    }

    #[test]
    fn each_claim_alone_is_found_where_it_is() {
        // One string claim at a time: its span is the first, whatever its bit.
        let names = [
            "iss",
            "sub",
            "azp",
            "client_id",
            "jti",
            "cnf.jkt",
            "cnf.x5t#S256",
            "acr",
        ];
        for (claim, name) in EVERY_STRING.into_iter().zip(names) {
            let json = match name.split_once('.') {
                Some((outer, inner)) => format!(r#""{outer}":{{"{inner}":"v"}}"#),
                None => format!(r#""{name}":"v""#),
            };
            let packed = packed(&format!(r#"{{"exp":1,{json}}}"#), "scope");
            for other in EVERY_STRING {
                let expected = (other as u8 == claim as u8).then_some("v");
                assert_eq!(packed.text(other), expected, "{name}");
            }
        }
        for (date, name) in [
            (Date::Nbf, "nbf"),
            (Date::Iat, "iat"),
            (Date::AuthTime, "auth_time"),
        ] {
            let packed = packed(&format!(r#"{{"exp":1,"{name}":7}}"#), "scope");
            for other in [Date::Nbf, Date::Iat, Date::AuthTime] {
                let expected = (other as u8 == date as u8).then_some(7.0);
                assert_eq!(packed.date(other), expected, "{name}");
            }
            assert_eq!(packed.exp(), 1.0, "{name}");
        }
    }

    #[test]
    fn claims_without_exp_are_refused() {
        let claims = claims::parse(r#"{"sub":"s"}"#, AUD, "scope").unwrap();
        assert_eq!(
            Packed::new(r#"{"sub":"s"}"#, &claims).err(),
            Some(TokenErrorKind::MissingExpiry)
        );
    }

    #[test]
    fn absent_claims_are_absent_and_take_no_room() {
        let payload = r#"{"exp":1,"aud":"x"}"#;
        let packed = packed(payload, "scope");
        for claim in EVERY_STRING {
            assert_eq!(packed.text(claim), None);
        }
        for date in [Date::Nbf, Date::Iat, Date::AuthTime] {
            assert_eq!(packed.date(date), None);
        }
        assert_eq!(packed.audience(), Audience::Mismatch);
        assert!(scopes(&packed).is_none());
        // Flags, present bits, two offsets, `exp`: then the payload.
        assert_eq!(packed.bytes().len(), 2 + 4 + 8 + payload.len());
        assert_eq!(
            packed.heap_size(),
            (16 + 14 + payload.len()).next_multiple_of(8)
        );
    }

    #[test]
    fn scope_lists_keep_their_order_and_escapes() {
        let payload = r#"{"permissions":["read:a","wr\u0069te:b",""],"sub":"s","iat":5,"exp":9}"#;
        let packed = packed(payload, "permissions");
        assert_eq!(scopes(&packed), Some(vec!["read:a", "write:b", ""]));
        assert_eq!(packed.text(Claim::Sub), Some("s"));
        assert_eq!(
            (packed.date(Date::Nbf), packed.date(Date::Iat)),
            (None, Some(5.0))
        );
        assert_eq!(packed.audience(), Audience::Missing);
    }

    #[test]
    fn a_buffer_past_the_stack_or_64_kib_reads_back_the_same() {
        for pad in [900, 70_000] {
            let pad = "x".repeat(pad);
            let payload = format!(r#"{{"pad":"{pad}","sub":"end\/","scope":["a","b"],"exp":9}}"#);
            let packed = packed(&payload, "scope");
            assert_eq!(packed.wide(), payload.len() > 65_000);
            assert_eq!(packed.payload(), payload);
            assert_eq!(packed.text(Claim::Sub), Some("end/"));
            assert_eq!(scopes(&packed), Some(vec!["a", "b"]));
        }
    }
}
