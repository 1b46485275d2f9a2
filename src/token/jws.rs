//! The JWS compact serialization (RFC 7515 §7.1): three base64url segments joined by dots.

use crate::token::TokenErrorKind;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
