//! Finding the bearer token in a request (RFC 6750 §2, RFC 7235 §2.1).
//!
//! `Authorization: Bearer <b64token>` with a case-insensitive scheme and `1*SP` before the
//! token; `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
//! The `access_token` query parameter (§2.3) and form-encoded body parameter (§2.2) are read
//! only when enabled; a token sent more than one way is an error.

use std::borrow::Cow;

use http::HeaderMap;
use http::header::AUTHORIZATION;

/// A bearer token and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found<'a> {
    pub(crate) token: Cow<'a, str>,
    /// In the `access_token` query parameter, so in the URL.
    pub(crate) in_url: bool,
    /// In `Authorization: DPoP` (RFC 9449): a proof must come with it.
    pub(crate) dpop: bool,
}

/// The `Authorization` schemes a guard takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schemes {
    pub(crate) bearer: bool,
    pub(crate) dpop: bool,
}

impl Schemes {
    /// `Bearer` alone.
    pub(crate) const BEARER: Self = Self {
        bearer: true,
        dpop: false,
    };

    /// None: `Authorization` is not read at all.
    pub(crate) const NONE: Self = Self {
        bearer: false,
        dpop: false,
    };
}

/// The request's bearer token: `Ok(None)` when it has no bearer credentials at all (no
/// `Authorization` header, or another scheme such as `Basic`).
///
/// `query` is the request's query string, passed only when query tokens are enabled; `body`
/// is the token [`FormTokenLayer`](crate::service::FormTokenLayer) read from a form body, if any;
/// `other` the one a configured cookie, header or function found.
pub(crate) fn find_token<'a>(
    headers: &'a HeaderMap,
    schemes: Schemes,
    query: Option<&'a str>,
    body: Option<&'a str>,
    other: Option<Cow<'a, str>>,
) -> Result<Option<Found<'a>>, RequestErrorKind> {
    let (from_header, dpop) = match header_token(headers, schemes)? {
        Some((token, dpop)) => (Some(token), dpop),
        None => (None, false),
    };
    let from_query = match query {
        Some(query) => urlencoded_token(query.as_bytes())?,
        None => None,
    };
    let mut found = None;
    for (token, in_url) in [
        (from_header.map(Cow::Borrowed), false),
        (from_query, true),
        (body.map(Cow::Borrowed), false),
        (other, false),
    ] {
        let Some(token) = token else { continue };
        if found.is_some() {
            return Err(RequestErrorKind::MultipleMethods);
        }
        found = Some(Found {
            token,
            in_url,
            dpop: dpop && !in_url,
        });
    }
    Ok(found)
}

fn header_token(
    headers: &HeaderMap,
    schemes: Schemes,
) -> Result<Option<(&str, bool)>, RequestErrorKind> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(RequestErrorKind::MultipleHeaders);
    }
    parse_credentials(value.as_bytes(), schemes)
}

/// Parses one `Authorization` field value: the token, and whether its scheme is `DPoP`.
/// A scheme the guard does not take is no credentials at all.
pub(crate) fn parse_credentials(
    value: &[u8],
    schemes: Schemes,
) -> Result<Option<(&str, bool)>, RequestErrorKind> {
    // Leading and trailing OWS (SP / HTAB) is not part of a field value (RFC 9110 §5.5).
    let value = trim_ows(value);
    if schemes.bearer
        && let Some(rest) = strip_scheme(value, b"bearer")
    {
        return credentials(rest).map(|token| token.map(|token| (token, false)));
    }
    if schemes.dpop
        && let Some(rest) = strip_scheme(value, b"dpop")
    {
        return credentials(rest).map(|token| token.map(|token| (token, true)));
    }
    Ok(None)
}

/// Whether `headers` carry `Authorization: Bearer …`: for the reason given when an API that
/// requires DPoP refuses it.
pub(crate) fn offers_bearer(headers: &HeaderMap) -> bool {
    headers.get(AUTHORIZATION).is_some_and(|value| {
        strip_scheme(trim_ows(value.as_bytes()), b"bearer")
            .is_some_and(|rest| rest.first() == Some(&b' '))
    })
}

/// What follows `scheme` (any case) in `value`, if it starts with it.
fn strip_scheme<'a>(value: &'a [u8], scheme: &[u8]) -> Option<&'a [u8]> {
    let (name, rest) = value.split_at_checked(scheme.len())?;
    name.eq_ignore_ascii_case(scheme).then_some(rest)
}

/// The token after a scheme's name: `1*SP b64token`; `Ok(None)` when the name continues (another
/// scheme, such as `Bearerx`).
fn credentials(rest: &[u8]) -> Result<Option<&str>, RequestErrorKind> {
    match rest.first() {
        None => Err(RequestErrorKind::EmptyToken),
        // `1*SP`: spaces only; a tab or other byte left over fails the b64token grammar.
        Some(b' ') => {
            let token_start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
            b64token(&rest[token_start..]).map(Some)
        }
        // `Bearerx` is another scheme; `Bearer\tabc` is a bearer attempt with bad grammar.
        Some(&b) if is_tchar(b) => Ok(None),
        Some(_) => Err(RequestErrorKind::MalformedCredentials),
    }
}

/// `value` without leading and trailing OWS (SP / HTAB).
pub(crate) fn trim_ows(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// May stand in a token (RFC 9110 §5.6.2): an auth-scheme, or a cookie name (RFC 6265 §4.1.1).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Checks the b64token grammar and returns the token.
pub(crate) fn b64token(token: &[u8]) -> Result<&str, RequestErrorKind> {
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
    std::str::from_utf8(token).map_err(|_| RequestErrorKind::MalformedCredentials)
}

fn is_b64token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

/// The `access_token` parameter of `application/x-www-form-urlencoded` text (a query string
/// or a form body), if present exactly once. Borrowed unless it had to be percent-decoded.
pub(crate) fn urlencoded_token(input: &[u8]) -> Result<Option<Cow<'_, str>>, RequestErrorKind> {
    let mut found = None;
    for (name, value) in form_urlencoded::parse(input) {
        if name != "access_token" {
            continue;
        }
        if found.is_some() {
            return Err(RequestErrorKind::MultipleTokenParameters);
        }
        // A broken `%` escape is kept as it stands and a non-UTF-8 byte becomes U+FFFD: neither
        // passes the b64token grammar.
        b64token(value.as_bytes())?;
        found = Some(value);
    }
    Ok(found)
}

/// Why a request's credentials could not be read. Every kind is answered
/// `400 invalid_request` (RFC 6750 §3.1).
///
/// # Example
///
/// ```
/// use bearer_guard::answer::RequestErrorKind;
///
/// assert_eq!(RequestErrorKind::MultipleHeaders.reason(), "multiple_authorization_headers");
/// assert_eq!(RequestErrorKind::MultipleHeaders.description(), "Only one Authorization header is allowed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestErrorKind {
    /// `Authorization: Bearer` with no token after it.
    EmptyToken,
    /// The credentials break the `Bearer 1*SP b64token` grammar (RFC 6750 §2.1).
    MalformedCredentials,
    /// More than one `Authorization` header.
    MultipleHeaders,
    /// More than one `access_token` parameter in the query or the form body.
    MultipleTokenParameters,
    /// The token came by more than one method (header, query, form body).
    MultipleMethods,
    /// A form body was larger than `FormTokenLayer` (feature `form`) reads.
    BodyTooLarge,
    /// A form body could not be read.
    UnreadableBody,
    /// The cookie or custom header configured as a token source appears more than once.
    RepeatedSource,
}

impl RequestErrorKind {
    /// A short, stable, machine-readable reason, used in `tracing` events.
    ///
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self {
            Self::EmptyToken => "empty_token",
            Self::MalformedCredentials => "malformed_credentials",
            Self::MultipleHeaders => "multiple_authorization_headers",
            Self::MultipleTokenParameters => "multiple_token_parameters",
            Self::MultipleMethods => "multiple_methods",
            Self::BodyTooLarge => "body_too_large",
            Self::UnreadableBody => "unreadable_body",
            Self::RepeatedSource => "repeated_token_source",
        }
    }

    /// The generic text sent as `error_description`.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Self::EmptyToken => "The bearer token is missing",
            Self::MalformedCredentials => "The bearer credentials are malformed",
            Self::MultipleHeaders => "Only one Authorization header is allowed",
            Self::MultipleTokenParameters => "Only one access_token parameter is allowed",
            Self::MultipleMethods => "The access token was sent by more than one method",
            Self::BodyTooLarge => "The form body is too large to read an access token from",
            Self::UnreadableBody => "The form body could not be read",
            Self::RepeatedSource => "The access token cookie or header appears more than once",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_error_reasons_are_the_documented_ones() {
        let reasons = [
            RequestErrorKind::EmptyToken,
            RequestErrorKind::MalformedCredentials,
            RequestErrorKind::MultipleHeaders,
            RequestErrorKind::MultipleTokenParameters,
            RequestErrorKind::MultipleMethods,
            RequestErrorKind::BodyTooLarge,
            RequestErrorKind::UnreadableBody,
            RequestErrorKind::RepeatedSource,
        ]
        .map(RequestErrorKind::reason);
        assert_eq!(
            reasons,
            [
                "empty_token",
                "malformed_credentials",
                "multiple_authorization_headers",
                "multiple_token_parameters",
                "multiple_methods",
                "body_too_large",
                "unreadable_body",
                "repeated_token_source",
            ]
        );
    }
    use http::HeaderValue;

    fn parse(value: &str) -> Result<Option<&str>, RequestErrorKind> {
        parse_credentials(value.as_bytes(), Schemes::BEARER)
            .map(|found| found.map(|(token, _)| token))
    }

    fn token_of(
        found: Result<Option<Found<'_>>, RequestErrorKind>,
    ) -> Result<Option<String>, RequestErrorKind> {
        found.map(|found| found.map(|found| found.token.into_owned()))
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
            "Bearer \tabc",
            "Bearer\x0babc",
            "Bearer\x00abc",
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
            parse_credentials(b"Bearer abc\xff", Schemes::BEARER),
            Err(RequestErrorKind::MalformedCredentials)
        );
    }

    #[test]
    fn two_authorization_headers_are_invalid_request() {
        let mut headers = HeaderMap::new();
        headers.append(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        headers.append(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(
            find_token(&headers, Schemes::BEARER, None, None, None),
            Err(RequestErrorKind::MultipleHeaders)
        );
    }

    #[test]
    fn query_token_is_read_only_when_enabled() {
        let headers = HeaderMap::new();
        assert_eq!(
            find_token(&headers, Schemes::BEARER, None, None, None),
            Ok(None)
        );
        assert_eq!(
            find_token(
                &headers,
                Schemes::BEARER,
                Some("x=1&access_token=a.b.c"),
                None,
                None
            ),
            Ok(Some(Found {
                token: Cow::Borrowed("a.b.c"),
                in_url: true,
                dpop: false
            }))
        );
        assert_eq!(
            find_token(&headers, Schemes::BEARER, Some("x=1"), None, None),
            Ok(None)
        );
    }

    #[test]
    fn urlencoded_token_errors() {
        for (input, kind) in [
            ("access_token=", RequestErrorKind::EmptyToken),
            ("access_token", RequestErrorKind::EmptyToken),
            (
                "access_token=a&access_token=b",
                RequestErrorKind::MultipleTokenParameters,
            ),
            (
                "access_token=a&access%5Ftoken=b",
                RequestErrorKind::MultipleTokenParameters,
            ),
            ("access_token=a%2", RequestErrorKind::MalformedCredentials),
            ("access_token=a%zz", RequestErrorKind::MalformedCredentials),
            ("access_token=a+b", RequestErrorKind::MalformedCredentials),
            ("access_token=a%20b", RequestErrorKind::MalformedCredentials),
        ] {
            assert_eq!(urlencoded_token(input.as_bytes()), Err(kind), "{input}");
        }
    }

    #[test]
    fn values_made_only_of_escapes_are_decoded_then_refused() {
        // A value of nothing but `+` or `%` must still be decoded, not passed through.
        for input in ["access_token=+", "access_token=%", "access_token=%%"] {
            assert_eq!(
                urlencoded_token(input.as_bytes()),
                Err(RequestErrorKind::MalformedCredentials),
                "{input}"
            );
        }
    }

    #[test]
    fn urlencoded_token_is_decoded() {
        let decoded = |input: &str| {
            urlencoded_token(input.as_bytes()).map(|token| token.map(Cow::into_owned))
        };
        assert_eq!(
            decoded("a=1&access_token=x.y.z&b=2"),
            Ok(Some("x.y.z".to_owned()))
        );
        assert_eq!(
            decoded("access_token=x%2Ey%2Bz"),
            Ok(Some("x.y+z".to_owned()))
        );
        assert_eq!(decoded("access%5ftoken=x"), Ok(Some("x".to_owned())));
        assert_eq!(decoded("access_tokens=x&token=y"), Ok(None));
        assert_eq!(decoded(""), Ok(None));
    }

    #[test]
    fn token_sent_two_ways_is_invalid_request() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(
            find_token(
                &headers,
                Schemes::BEARER,
                Some("access_token=abc"),
                None,
                None
            ),
            Err(RequestErrorKind::MultipleMethods)
        );
        assert_eq!(
            find_token(&headers, Schemes::BEARER, None, Some("abc"), None),
            Err(RequestErrorKind::MultipleMethods)
        );
        assert_eq!(
            find_token(
                &HeaderMap::new(),
                Schemes::BEARER,
                Some("access_token=abc"),
                Some("abc"),
                None
            ),
            Err(RequestErrorKind::MultipleMethods)
        );
        assert_eq!(
            find_token(
                &headers,
                Schemes::BEARER,
                None,
                None,
                Some(Cow::Borrowed("abc"))
            ),
            Err(RequestErrorKind::MultipleMethods)
        );
    }

    #[test]
    fn body_token_is_found_when_alone() {
        assert_eq!(
            token_of(find_token(
                &HeaderMap::new(),
                Schemes::BEARER,
                Some("x=1"),
                Some("abc"),
                None
            )),
            Ok(Some("abc".to_owned()))
        );
    }
}
