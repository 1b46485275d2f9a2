//! Finding the bearer token in a request (RFC 6750 §2, RFC 7235 §2.1).
//!
//! `Authorization: Bearer <b64token>` with a case-insensitive scheme and `1*SP` before the
//! token; `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
//! The `access_token` query parameter is read only when enabled.

use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::error::RequestErrorKind;

/// A bearer token and where it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found<'a> {
    pub(crate) token: &'a str,
    /// In the `access_token` query parameter rather than the `Authorization` header.
    pub(crate) in_url: bool,
}

/// The request's bearer token: `Ok(None)` when it has no bearer credentials at all (no
/// `Authorization` header, or another scheme such as `Basic`).
///
/// `query` is the request's query string, passed only when query tokens are enabled.
pub(crate) fn find_token<'a>(
    headers: &'a HeaderMap,
    query: Option<&'a str>,
) -> Result<Option<Found<'a>>, RequestErrorKind> {
    let from_header = header_token(headers)?;
    let from_query = match query {
        Some(query) => query_token(query)?,
        None => None,
    };
    match (from_header, from_query) {
        (Some(_), Some(_)) => Err(RequestErrorKind::MultipleMethods),
        (Some(token), None) => Ok(Some(Found {
            token,
            in_url: false,
        })),
        (None, Some(token)) => Ok(Some(Found {
            token,
            in_url: true,
        })),
        (None, None) => Ok(None),
    }
}

fn header_token(headers: &HeaderMap) -> Result<Option<&str>, RequestErrorKind> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(RequestErrorKind::MultipleHeaders);
    }
    parse_credentials(value.as_bytes())
}

/// Parses one `Authorization` field value.
pub(crate) fn parse_credentials(value: &[u8]) -> Result<Option<&str>, RequestErrorKind> {
    // Leading and trailing whitespace is not part of a field value (RFC 9110 §5.5).
    let value = value.trim_ascii();
    let Some((scheme, rest)) = value.split_at_checked(6) else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Ok(None);
    }
    match rest.first() {
        None => Err(RequestErrorKind::EmptyToken),
        Some(b' ') => b64token(rest.trim_ascii_start()),
        // `Bearer\tabc` is a bearer attempt with bad grammar; `Bearerx` is another scheme.
        Some(b) if b.is_ascii_whitespace() => Err(RequestErrorKind::MalformedCredentials),
        Some(_) => Ok(None),
    }
}

/// Checks the b64token grammar and returns the token.
fn b64token(token: &[u8]) -> Result<Option<&str>, RequestErrorKind> {
    if token.is_empty() {
        return Err(RequestErrorKind::EmptyToken);
    }
    let body_len = token
        .iter()
        .position(|&b| !is_b64token_char(b))
        .unwrap_or(token.len());
    if body_len == 0 || token[body_len..].iter().any(|&b| b != b'=') {
        return Err(RequestErrorKind::MalformedCredentials);
    }
    // Only ASCII bytes passed the grammar, so this is valid UTF-8.
    std::str::from_utf8(token)
        .map(Some)
        .map_err(|_| RequestErrorKind::MalformedCredentials)
}

fn is_b64token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

/// The `access_token` query parameter (RFC 6750 §2.3), if present exactly once.
///
/// The value must already be a b64token: JWTs need no percent-encoding, so an encoded value
/// is refused rather than decoded.
fn query_token(query: &str) -> Result<Option<&str>, RequestErrorKind> {
    let mut found = None;
    for pair in query.split('&') {
        let Some(value) = pair.strip_prefix("access_token=") else {
            if pair == "access_token" {
                return Err(RequestErrorKind::EmptyToken);
            }
            continue;
        };
        if found.is_some() {
            return Err(RequestErrorKind::MultipleQueryTokens);
        }
        found = b64token(value.as_bytes())?;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn parse(value: &str) -> Result<Option<&str>, RequestErrorKind> {
        parse_credentials(value.as_bytes())
    }

    #[test]
    fn bearer_scheme_matches_case_insensitively() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR abc"] {
            assert_eq!(parse(value), Ok(Some("abc")), "{value}");
        }
    }

    #[test]
    fn several_spaces_before_the_token_are_allowed() {
        assert_eq!(parse("Bearer   a.b.c"), Ok(Some("a.b.c")));
    }

    #[test]
    fn b64token_allows_its_whole_alphabet_and_trailing_equals() {
        assert_eq!(parse("Bearer aZ09-._~+/=="), Ok(Some("aZ09-._~+/==")));
    }

    #[test]
    fn no_credentials_or_another_scheme_is_no_token() {
        for value in [
            "",
            "Basic dXNlcjpwYXNz",
            "Bearerabc",
            "Bear",
            "Digest x",
            "Token abc",
        ] {
            assert_eq!(parse(value), Ok(None), "{value}");
        }
    }

    #[test]
    fn bearer_without_token_is_invalid_request() {
        for value in ["Bearer", "bearer ", "Bearer    "] {
            assert_eq!(parse(value), Err(RequestErrorKind::EmptyToken), "{value:?}");
        }
    }

    #[test]
    fn broken_grammar_is_invalid_request() {
        for value in [
            "Bearer a b",
            "Bearer a,b",
            "Bearer =abc",
            "Bearer ab=c",
            "Bearer \"abc\"",
            "Bearer\tabc",
            "Bearer a\tb",
            "Bearer abc, Basic x",
        ] {
            assert_eq!(
                parse(value),
                Err(RequestErrorKind::MalformedCredentials),
                "{value:?}"
            );
        }
    }

    #[test]
    fn non_ascii_bytes_are_invalid_request() {
        assert_eq!(
            parse_credentials(b"Bearer abc\xff"),
            Err(RequestErrorKind::MalformedCredentials)
        );
    }

    #[test]
    fn two_authorization_headers_are_invalid_request() {
        let mut headers = HeaderMap::new();
        headers.append(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        headers.append(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(
            find_token(&headers, None),
            Err(RequestErrorKind::MultipleHeaders)
        );
    }

    #[test]
    fn query_token_is_read_only_when_enabled() {
        let headers = HeaderMap::new();
        assert_eq!(find_token(&headers, None), Ok(None));
        assert_eq!(
            find_token(&headers, Some("x=1&access_token=a.b.c")),
            Ok(Some(Found {
                token: "a.b.c",
                in_url: true
            }))
        );
        assert_eq!(find_token(&headers, Some("x=1")), Ok(None));
    }

    #[test]
    fn query_token_errors() {
        let headers = HeaderMap::new();
        for (query, kind) in [
            ("access_token=", RequestErrorKind::EmptyToken),
            ("access_token", RequestErrorKind::EmptyToken),
            (
                "access_token=a&access_token=b",
                RequestErrorKind::MultipleQueryTokens,
            ),
            ("access_token=a%2Eb", RequestErrorKind::MalformedCredentials),
        ] {
            assert_eq!(find_token(&headers, Some(query)), Err(kind), "{query}");
        }
    }

    #[test]
    fn token_by_header_and_query_is_invalid_request() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(
            find_token(&headers, Some("access_token=abc")),
            Err(RequestErrorKind::MultipleMethods)
        );
    }
}
