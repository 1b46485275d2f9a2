//! The verified token's one allocation: the claims bearer-guard reads, packed in front of the
//! decoded payload, in a buffer sized to fit.
//!
//! A verified token lives in the verified-token cache for up to five minutes, so its size is
//! the cache's size: an Auth0 access token of 432 bytes decodes to about 256 bytes of claims
//! JSON, and the packed claims in front of it take about 35 more (the spans of the string
//! claims as 16-bit offsets, the dates present, two bytes of flags). The earlier layout (the
//! payload inline in a 640-byte array, every claim a pair of `usize`) took about 1,000.
//!
//! Layout, little-endian, offsets `W` bytes wide (2, or 4 when the buffer passes 64 KiB):
//!
//! | bytes | what |
//! |---|---|
//! | 1 | flags: audience (bits 0–1), scope form (2–3), wide offsets (4), `nbf` (5), `iat` (6), `auth_time` (7) present |
//! | 1 | which of `iss`, `sub`, `azp`, `client_id`, `jti`, `cnf.jkt`, `cnf["x5t#S256"]`, `acr` (bits 0–7) are present |
//! | 1 | which of `exp`, `nbf`, `iat`, `auth_time` (bits 0–3) are whole seconds from 1970 to 2106, kept in 4 bytes |
//! | W | where the payload ends |
//! | 4 or 8 each | `exp`, then `nbf`, `iat` and `auth_time` when present (`u32`, or `f64`) |
//! | 2 × W each | the present strings' spans, in the order above |
//! | W + 2 × W each, or 2 × W | the scopes: a list's count and spans, or a delimited string's span |
//! | … | the payload (it starts where the scopes end), then the strings whose JSON had escapes, unescaped |

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

/// The dates after `exp`, in their order (`exp` is date 0, always present).
#[derive(Clone, Copy)]
pub(crate) enum Date {
    Nbf = 1,
    Iat = 2,
    AuthTime = 3,
}

/// The flag of each date's presence, `exp`'s first (always set).
const DATE_FLAGS: [u8; 4] = [0, NBF, IAT, AUTH_TIME];

const AUDIENCE_MASK: u8 = 0b11;
const SCOPE_DELIMITED: u8 = 1 << 2;
const SCOPE_LIST: u8 = 2 << 2;
const SCOPE_MASK: u8 = 3 << 2;
const WIDE: u8 = 1 << 4;
const NBF: u8 = 1 << 5;
const IAT: u8 = 1 << 6;
const AUTH_TIME: u8 = 1 << 7;

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

/// Buffers up to this size are written on the stack and copied once into their allocation:
/// typical access tokens carry 200 to 600 bytes of claims.
const ON_STACK: usize = 1024;

/// The bytes in front of the offsets: flags, present strings, whole dates.
const HEAD: usize = 3;

/// The bits set in each byte: the build targets CPUs without `popcnt`, where `count_ones`
/// is a dozen instructions and a cache hit reads the flags a few times.
const ONES: [u8; 256] = {
    let mut table = [0; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = (byte as u8).count_ones() as u8;
        byte += 1;
    }
    table
};

#[inline]
fn ones(byte: u8) -> usize {
    usize::from(ONES[usize::from(byte)])
}

const fn width(wide: bool) -> usize {
    if wide { 4 } else { 2 }
}

#[inline]
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
#[inline]
fn span(bytes: &[u8], at: usize, wide: bool) -> &str {
    std::str::from_utf8(span_bytes(bytes, at, wide)).unwrap_or_default()
}

/// The bytes of the span at `at`, for comparisons that need no `str`.
#[inline]
fn span_bytes(bytes: &[u8], at: usize, wide: bool) -> &[u8] {
    let start = offset(bytes, at, wide);
    let end = offset(bytes, at + width(wide), wide);
    bytes.get(start..end).unwrap_or_default()
}

/// A date kept at `at`: 4 bytes of whole seconds, or an `f64`.
#[inline]
fn date_value(bytes: &[u8], at: usize, whole: bool) -> f64 {
    if whole {
        bytes
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map_or(0.0, |b| f64::from(u32::from_le_bytes(b)))
    } else {
        bytes
            .get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map_or(0.0, f64::from_le_bytes)
    }
}

/// `date` as 4 bytes of whole seconds, when it is one from 1970 to 2106.
fn whole_seconds(date: f64) -> Option<u32> {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let seconds = date as u32;
    (f64::from(seconds) == date).then_some(seconds)
}

/// Writes a buffer of a size known in advance, front to back.
struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
    wide: bool,
}

impl Writer<'_> {
    /// Writes `bytes` next; a write past the end (which the sizes computed first rule out)
    /// is refused rather than a panic.
    #[inline]
    fn put<const N: usize>(&mut self, bytes: [u8; N]) -> Result<(), TokenErrorKind> {
        let slot = self
            .out
            .get_mut(self.at..)
            .and_then(<[u8]>::first_chunk_mut::<N>)
            .ok_or(TokenErrorKind::Malformed)?;
        *slot = bytes;
        self.at += N;
        Ok(())
    }

    /// Writes a run of bytes of any length next: the payload, the unescaped strings.
    fn bytes(&mut self, bytes: &[u8]) -> Result<(), TokenErrorKind> {
        let end = self.at + bytes.len();
        self.out
            .get_mut(self.at..end)
            .ok_or(TokenErrorKind::Malformed)?
            .copy_from_slice(bytes);
        self.at = end;
        Ok(())
    }

    #[inline]
    fn offset(&mut self, value: usize) -> Result<(), TokenErrorKind> {
        if self.wide {
            let value = u32::try_from(value).map_err(|_| TokenErrorKind::TooLarge)?;
            self.put(value.to_le_bytes())
        } else {
            let value = u16::try_from(value).map_err(|_| TokenErrorKind::TooLarge)?;
            self.put(value.to_le_bytes())
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
        let dates = [Some(exp), claims.nbf, claims.iat, claims.auth_time];
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
        let dates_len: usize = dates
            .iter()
            .flatten()
            .map(|&date| if whole_seconds(date).is_some() { 4 } else { 8 })
            .sum();
        let list_count = matches!(claims.scopes, ScopeList::List(_));
        let header = |w: usize| {
            HEAD + w
                + dates_len
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
        let mut whole = 0u8;
        for (index, (flag, date)) in DATE_FLAGS.into_iter().zip(dates).enumerate() {
            if let Some(date) = date {
                flags |= flag;
                if whole_seconds(date).is_some() {
                    whole |= 1 << index;
                }
            }
        }

        // Written on the stack when it fits (a memset of the array, cheaper than zeroing
        // the allocation byte by byte), then copied once into its allocation of the exact size.
        let mut stack = [0u8; ON_STACK];
        let mut heap = Vec::new();
        let out = match stack.get_mut(..total) {
            Some(out) => out,
            None => {
                heap.resize(total, 0);
                &mut heap[..]
            }
        };
        let mut writer = Writer { out, at: 0, wide };
        writer.put([flags, present, whole])?;
        writer.offset(payload_end)?;
        for date in dates.into_iter().flatten() {
            match whole_seconds(date) {
                Some(seconds) => writer.put(seconds.to_le_bytes())?,
                None => writer.put(date.to_le_bytes())?,
            }
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
        debug_assert_eq!(writer.at, payload_start);
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

    /// The three flag bytes: flags, present strings, whole dates.
    #[inline]
    fn head(&self) -> [u8; HEAD] {
        self.bytes().first_chunk().copied().unwrap_or([0; HEAD])
    }

    #[cfg(test)]
    fn wide(&self) -> bool {
        self.head()[0] & WIDE != 0
    }

    /// The dates present, as bits in date order (`exp` first, always).
    #[inline]
    fn dates_present(flags: u8) -> u8 {
        1 | u8::from(flags & NBF != 0) << 1
            | u8::from(flags & IAT != 0) << 2
            | u8::from(flags & AUTH_TIME != 0) << 3
    }

    /// Where date `index` (0 for `exp`) is kept, if the token has it, and whether it is kept
    /// whole: after the flags, the payload's end and the dates before it, 8 bytes each or 4
    /// when whole.
    #[inline]
    fn date_at(&self, index: usize) -> Option<(usize, bool)> {
        let [flags, _, whole] = self.head();
        let present = Self::dates_present(flags);
        let bit = 1u8 << index;
        if present & bit == 0 {
            return None;
        }
        let before = bit - 1;
        let at = 8 * ones(present & before) - 4 * ones(whole & before);
        Some((HEAD + width(flags & WIDE != 0) + at, whole & bit != 0))
    }

    /// Where the dates end and the spans begin.
    #[inline]
    fn spans_at(head: [u8; HEAD]) -> usize {
        let [flags, _, whole] = head;
        let dates = 8 * ones(Self::dates_present(flags)) - 4 * ones(whole);
        HEAD + width(flags & WIDE != 0) + dates
    }

    /// Where the scopes' part begins, after the strings' spans.
    #[inline]
    fn scopes_at(head: [u8; HEAD]) -> usize {
        let wide = head[0] & WIDE != 0;
        Self::spans_at(head) + ones(head[1]) * 2 * width(wide)
    }

    /// The bytes the buffer takes on the heap: its reference counts and itself, as the
    /// allocator rounds it.
    pub(crate) fn heap_size(&self) -> usize {
        (2 * std::mem::size_of::<usize>() + self.0.len()).next_multiple_of(8)
    }

    /// The payload, checked to be UTF-8 when it was verified: from where the scopes' part
    /// ends to the offset kept.
    pub(crate) fn payload(&self) -> &str {
        let head = self.head();
        let wide = head[0] & WIDE != 0;
        let w = width(wide);
        let at = Self::scopes_at(head);
        let start = match head[0] & SCOPE_MASK {
            SCOPE_DELIMITED => at + 2 * w,
            SCOPE_LIST => at + w + 2 * w * offset(self.bytes(), at, wide),
            _ => at,
        };
        let end = offset(self.bytes(), HEAD, wide);
        self.bytes()
            .get(start..end)
            .and_then(|text| std::str::from_utf8(text).ok())
            .unwrap_or_default()
    }

    #[inline]
    pub(crate) fn exp(&self) -> f64 {
        self.date_at(0)
            .map_or(0.0, |(at, whole)| date_value(self.bytes(), at, whole))
    }

    /// A date after `exp`, if the token has it.
    #[inline]
    pub(crate) fn date(&self, date: Date) -> Option<f64> {
        self.date_at(date as usize)
            .map(|(at, whole)| date_value(self.bytes(), at, whole))
    }

    #[inline]
    pub(crate) fn audience(&self) -> Audience {
        match self.head()[0] & AUDIENCE_MASK {
            1 => Audience::Matches,
            2 => Audience::Mismatch,
            _ => Audience::Missing,
        }
    }

    #[inline]
    pub(crate) fn has(&self, claim: Claim) -> bool {
        self.head()[1] & (1 << claim as u8) != 0
    }

    /// A string claim, if the token has it.
    #[inline]
    pub(crate) fn text(&self, claim: Claim) -> Option<&str> {
        self.text_bytes(claim)
            .map(|bytes| std::str::from_utf8(bytes).unwrap_or_default())
    }

    /// A string claim's UTF-8 bytes, if the token has it: for a comparison, which needs no
    /// second check that they are UTF-8 (the payload was checked when it was verified).
    #[inline]
    pub(crate) fn text_bytes(&self, claim: Claim) -> Option<&[u8]> {
        let head = self.head();
        let bit = 1u8 << claim as u8;
        let present = head[1];
        if present & bit == 0 {
            return None;
        }
        let before = ones(present & (bit - 1));
        let wide = head[0] & WIDE != 0;
        Some(span_bytes(
            self.bytes(),
            Self::spans_at(head) + before * 2 * width(wide),
            wide,
        ))
    }

    #[inline]
    pub(crate) fn scopes(&self) -> PackedScopes<'_> {
        let head = self.head();
        let wide = head[0] & WIDE != 0;
        let at = Self::scopes_at(head);
        match head[0] & SCOPE_MASK {
            SCOPE_DELIMITED => PackedScopes::Delimited(span(self.bytes(), at, wide)),
            SCOPE_LIST => PackedScopes::List(SpanList {
                bytes: self.bytes(),
                at: at + width(wide),
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
    fn dates_keep_their_value_whole_or_not() {
        for value in [
            "0",
            "1",
            "4294967295",
            "4294967296",
            "-1",
            "1.5",
            "1e300",
            "-0.25",
            "1700000000",
        ] {
            let payload =
                format!(r#"{{"exp":{value},"nbf":{value},"iat":2.5,"auth_time":{value}}}"#);
            let packed = packed(&payload, "scope");
            let expected: f64 = value.parse().unwrap();
            assert_eq!(packed.exp(), expected, "{value}");
            assert_eq!(packed.date(Date::Nbf), Some(expected), "{value}");
            assert_eq!(packed.date(Date::Iat), Some(2.5), "{value}");
            assert_eq!(packed.date(Date::AuthTime), Some(expected), "{value}");
            assert_eq!(packed.payload(), payload);
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
        // Three flag bytes, the payload's end, `exp` in 4 bytes: then the payload.
        assert_eq!(packed.bytes().len(), 3 + 2 + 4 + payload.len());
        assert_eq!(
            packed.heap_size(),
            (16 + 9 + payload.len()).next_multiple_of(8)
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
    fn a_buffer_past_64_kib_reads_back_the_same() {
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
