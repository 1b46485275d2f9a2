//! Token sources besides `Authorization: Bearer`: a named cookie, a custom header, or a
//! function of the request's parts; see
//! [`BearerGuardBuilder::token_cookie`](crate::BearerGuardBuilder::token_cookie).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::header::{AUTHORIZATION, COOKIE};
use http::request::Parts;
use http::{HeaderMap, HeaderName};

use crate::config::ConfigError;
use crate::http::credentials::authorization::{RequestErrorKind, b64token, is_tchar, trim_ows};

/// A user function that finds the token in a request's parts.
pub(crate) type TokenFn = Arc<dyn Fn(&Parts) -> Option<String> + Send + Sync>;

/// The extra places a guard reads the token from, checked at build time.
#[derive(Clone, Default)]
pub(crate) struct TokenSources {
    cookies: Box<[Box<str>]>,
    headers: Box<[HeaderName]>,
    functions: Box<[TokenFn]>,
}

/// A source as the builder collects it, before it is checked.
#[derive(Clone)]
pub(crate) enum SourceSetting {
    Cookie(String),
    Header(String),
    Function(TokenFn),
}

impl fmt::Debug for SourceSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cookie(name) => f.debug_tuple("Cookie").field(name).finish(),
            Self::Header(name) => f.debug_tuple("Header").field(name).finish(),
            Self::Function(_) => f.write_str("Function"),
        }
    }
}

impl fmt::Debug for TokenSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSources")
            .field("cookies", &self.cookies)
            .field("headers", &self.headers)
            .field("functions", &self.functions.len())
            .finish()
    }
}

/// At most this many extra sources: each costs a look at every request.
const MAX_SOURCES: usize = 8;

impl TokenSources {
    /// Checks the configured sources: cookie names are RFC 6265 tokens, header names valid
    /// and neither `Authorization` (always read) nor `Cookie`, none twice, at most 8.
    pub(crate) fn new(settings: &[SourceSetting]) -> Result<Self, ConfigError> {
        let invalid = |name: &str, problem| ConfigError::InvalidTokenSource {
            source_name: name.to_owned(),
            problem,
        };
        if settings.len() > MAX_SOURCES {
            return Err(invalid("", "at most 8 token sources may be configured"));
        }
        let mut sources: (Vec<Box<str>>, Vec<HeaderName>, Vec<TokenFn>) =
            (Vec::new(), Vec::new(), Vec::new());
        for setting in settings {
            match setting {
                SourceSetting::Cookie(name) => {
                    if name.is_empty() || !name.bytes().all(is_tchar) {
                        return Err(invalid(
                            name,
                            "a cookie name must be a non-empty token (letters, digits and !#$%&'*+-.^_`|~)",
                        ));
                    }
                    if sources.0.iter().any(|n| **n == **name) {
                        return Err(invalid(name, "this cookie is configured twice"));
                    }
                    sources.0.push(name.as_str().into());
                }
                SourceSetting::Header(name) => {
                    let header = HeaderName::try_from(name.as_str())
                        .map_err(|_| invalid(name, "not a valid header name"))?;
                    if header == AUTHORIZATION || header == COOKIE {
                        return Err(invalid(
                            name,
                            "Authorization is always read; for a cookie use token_cookie",
                        ));
                    }
                    if sources.1.contains(&header) {
                        return Err(invalid(name, "this header is configured twice"));
                    }
                    sources.1.push(header);
                }
                SourceSetting::Function(function) => sources.2.push(Arc::clone(function)),
            }
        }
        Ok(Self {
            cookies: sources.0.into(),
            headers: sources.1.into(),
            functions: sources.2.into(),
        })
    }

    fn is_empty(&self) -> bool {
        self.cookies.is_empty() && self.headers.is_empty() && self.functions.is_empty()
    }

    /// The token these sources find: `None` when none has one, an error when two do (RFC 6750
    /// §2: one method only), when a cookie or header repeats, or when the token breaks the
    /// b64token grammar. `parts` is needed by the functions.
    pub(crate) fn find<'a>(
        &self,
        headers: &'a HeaderMap,
        parts: Option<&Parts>,
    ) -> Result<Option<Cow<'a, str>>, RequestErrorKind> {
        if self.is_empty() {
            return Ok(None);
        }
        let mut found = None;
        let mut keep = |token: Cow<'a, str>| {
            if found.is_some() {
                return Err(RequestErrorKind::MultipleMethods);
            }
            found = Some(token);
            Ok(())
        };
        for name in &self.cookies {
            if let Some(token) = cookie(headers, name)? {
                keep(Cow::Borrowed(token))?;
            }
        }
        for name in &self.headers {
            let mut values = headers.get_all(name).iter();
            if let Some(value) = values.next() {
                if values.next().is_some() {
                    return Err(RequestErrorKind::RepeatedSource);
                }
                keep(Cow::Borrowed(b64token(trim_ows(value.as_bytes()))?))?;
            }
        }
        if let Some(parts) = parts {
            for function in &self.functions {
                if let Some(token) = function(parts) {
                    b64token(token.as_bytes())?;
                    keep(Cow::Owned(token))?;
                }
            }
        }
        Ok(found)
    }
}

/// The value of cookie `name` in the request's `Cookie` headers (RFC 6265 §5.4: `name=value`
/// pairs separated by `; `, a value optionally in double quotes). An empty value (a cookie
/// cleared at sign-out) is no token; the same name twice is an error.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, RequestErrorKind> {
    let mut found = None;
    for value in headers.get_all(COOKIE) {
        for pair in value.as_bytes().split(|&b| b == b';') {
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                continue;
            };
            if trim_ows(&pair[..eq]) != name.as_bytes() {
                continue;
            }
            let value = trim_ows(&pair[eq + 1..]);
            let value = match value {
                [b'"', inner @ .., b'"'] => inner,
                _ => value,
            };
            if found.is_some() {
                return Err(RequestErrorKind::RepeatedSource);
            }
            found = Some(value);
        }
    }
    match found {
        None | Some([]) => Ok(None),
        Some(value) => b64token(value).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn sources(settings: &[SourceSetting]) -> TokenSources {
        TokenSources::new(settings).unwrap()
    }

    fn cookie_source() -> TokenSources {
        sources(&[SourceSetting::Cookie("access_token".into())])
    }

    fn with_cookies(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(COOKIE, HeaderValue::from_static(value));
        }
        headers
    }

    fn found(
        sources: &TokenSources,
        headers: &HeaderMap,
    ) -> Result<Option<String>, RequestErrorKind> {
        sources
            .find(headers, None)
            .map(|token| token.map(Cow::into_owned))
    }

    #[test]
    fn the_named_cookie_is_found_among_others() {
        let source = cookie_source();
        for (values, expected) in [
            (&["access_token=a.b.c"][..], Some("a.b.c")),
            (
                &["theme=dark; access_token=a.b.c; lang=en"][..],
                Some("a.b.c"),
            ),
            (&["theme=dark", "access_token=\"a.b.c\""][..], Some("a.b.c")),
            (&["my_access_token=a.b.c; access_tokens=x"][..], None),
            (&["access_token="][..], None),
            (&[][..], None),
        ] {
            let token = found(&source, &with_cookies(values));
            assert_eq!(token, Ok(expected.map(str::to_owned)), "{values:?}");
        }
    }

    #[test]
    fn a_repeated_or_malformed_cookie_is_invalid_request() {
        let source = cookie_source();
        for (values, kind) in [
            (
                &["access_token=a; access_token=b"][..],
                RequestErrorKind::RepeatedSource,
            ),
            (
                &["access_token=a", "access_token=a"][..],
                RequestErrorKind::RepeatedSource,
            ),
            (
                &["access_token=a b"][..],
                RequestErrorKind::MalformedCredentials,
            ),
        ] {
            assert_eq!(
                found(&source, &with_cookies(values)),
                Err(kind),
                "{values:?}"
            );
        }
    }

    #[test]
    fn two_sources_with_a_token_are_invalid_request() {
        let source = sources(&[
            SourceSetting::Cookie("at".into()),
            SourceSetting::Header("x-access-token".into()),
        ]);
        let mut headers = with_cookies(&["at=a.b.c"]);
        assert_eq!(found(&source, &headers), Ok(Some("a.b.c".to_owned())));
        headers.insert("x-access-token", HeaderValue::from_static("d.e.f"));
        assert_eq!(
            found(&source, &headers),
            Err(RequestErrorKind::MultipleMethods)
        );
    }

    #[test]
    fn a_custom_header_holds_the_bare_token() {
        let source = sources(&[SourceSetting::Header("X-Access-Token".into())]);
        let mut headers = HeaderMap::new();
        headers.insert("x-access-token", HeaderValue::from_static(" a.b.c "));
        assert_eq!(found(&source, &headers), Ok(Some("a.b.c".to_owned())));
        headers.insert("x-access-token", HeaderValue::from_static("Bearer a.b.c"));
        assert_eq!(
            found(&source, &headers),
            Err(RequestErrorKind::MalformedCredentials)
        );
        headers.append("x-access-token", HeaderValue::from_static("a.b.c"));
        assert_eq!(
            found(&source, &headers),
            Err(RequestErrorKind::RepeatedSource)
        );
    }

    #[test]
    fn sources_are_checked_when_built() {
        let function: TokenFn = Arc::new(|_: &Parts| None);
        for (settings, problem) in [
            (vec![SourceSetting::Cookie(String::new())], "a cookie name"),
            (vec![SourceSetting::Cookie("a=b".into())], "a cookie name"),
            (
                vec![
                    SourceSetting::Cookie("at".into()),
                    SourceSetting::Cookie("at".into()),
                ],
                "twice",
            ),
            (
                vec![SourceSetting::Header("bad header".into())],
                "header name",
            ),
            (
                vec![SourceSetting::Header("Authorization".into())],
                "always read",
            ),
            (vec![SourceSetting::Header("cookie".into())], "token_cookie"),
            (
                vec![
                    SourceSetting::Header("x-t".into()),
                    SourceSetting::Header("X-T".into()),
                ],
                "twice",
            ),
            (vec![SourceSetting::Function(function); 9], "at most 8"),
        ] {
            let err = TokenSources::new(&settings).unwrap_err();
            assert!(err.to_string().contains(problem), "{err}");
        }
    }

    #[test]
    fn debug_names_the_cookies_and_headers_and_counts_the_functions() {
        let function: TokenFn = Arc::new(|_: &Parts| None);
        let settings = [
            SourceSetting::Cookie("at".into()),
            SourceSetting::Header("X-Token".into()),
            SourceSetting::Function(function),
        ];
        assert_eq!(
            format!("{settings:?}"),
            r#"[Cookie("at"), Header("X-Token"), Function]"#
        );
        assert_eq!(
            format!("{:?}", sources(&settings)),
            r#"TokenSources { cookies: ["at"], headers: ["x-token"], functions: 1 }"#
        );
    }
}
