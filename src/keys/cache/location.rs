//! Where keys are fetched from: the URL rules, and the well-known discovery addresses.

use crate::config::ConfigError;

/// Whether `url` may be fetched: `https`, or `http` to a loopback host (127.0.0.1, `[::1]`,
/// `localhost`) for local development.
pub(crate) fn is_fetchable(url: &str) -> bool {
    if let Some(rest) = url.strip_prefix("https://") {
        return !host_of(rest).is_empty();
    }
    url.strip_prefix("http://").is_some_and(|rest| {
        let authority = host_of(rest);
        let host = match authority.rsplit_once(':') {
            Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                host
            }
            _ => authority,
        };
        matches!(host, "127.0.0.1" | "localhost" | "[::1]")
    })
}

/// The authority of `rest` (a URL after its `scheme://`), up to the path, query or fragment.
fn host_of(rest: &str) -> &str {
    rest.split(['/', '?', '#']).next().unwrap_or_default()
}

/// Checks a configured URL, naming the setting it came from.
pub(crate) fn check(setting: &'static str, url: &str) -> Result<(), ConfigError> {
    if is_fetchable(url) {
        Ok(())
    } else {
        Err(ConfigError::NotFetchable {
            setting,
            url: url.to_owned(),
        })
    }
}

/// The discovery documents to try for `issuer`, in order: OpenID Connect Discovery §4
/// (`{issuer}/.well-known/openid-configuration`), then RFC 8414 §3
/// (`/.well-known/oauth-authorization-server` inserted before the issuer's path).
pub(crate) fn discovery_urls(issuer: &str) -> [String; 2] {
    let openid = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let (scheme, rest) = issuer.split_once("://").unwrap_or(("https", issuer));
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let rfc8414 = format!(
        "{scheme}://{authority}/.well-known/oauth-authorization-server{}",
        path.trim_end_matches('/')
    );
    [openid, rfc8414]
}

/// Whether discovery goes on to RFC 8414's document after the OpenID one answered
/// `status` (`None`: no answer at all, as on a timeout or a refused connection). Only an
/// answer that says the document is not there (404) or is not served to such a request
/// (400, 405) sends it on; a 429, a 5xx or no answer says "later", not "elsewhere", and
/// asking the other address at once would double the load on an issuer that is already
/// struggling, and lose its `Retry-After`.
pub(crate) fn falls_back(status: Option<http::StatusCode>) -> bool {
    use http::StatusCode;
    matches!(
        status,
        Some(StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST | StatusCode::METHOD_NOT_ALLOWED)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_falls_back_only_where_the_openid_document_is_absent() {
        for status in [404, 400, 405] {
            let status = http::StatusCode::from_u16(status).ok();
            assert!(falls_back(status), "{status:?}");
        }
        for status in [429, 500, 502, 503, 504, 401, 403, 410, 200, 304, 302] {
            let status = http::StatusCode::from_u16(status).ok();
            assert!(!falls_back(status), "{status:?}");
        }
        // A timeout or a refused connection: no answer.
        assert!(!falls_back(None));
    }

    #[test]
    fn https_anywhere_and_http_only_to_loopback() {
        for fine in [
            "https://tenant.eu.auth0.com/.well-known/jwks.json",
            "https://example.com",
            "http://127.0.0.1:4000/.well-known/jwks.json",
            "http://localhost/jwks",
            "http://localhost:8080",
            "http://[::1]:4000/jwks",
            "http://[::1]/jwks",
        ] {
            assert!(is_fetchable(fine), "{fine}");
        }
        for refused in [
            "http://tenant.auth0.com/jwks",
            "http://127.0.0.2/jwks",
            "http://localhost.evil.example/jwks",
            "http://127.0.0.1.evil.example/",
            "ftp://127.0.0.1/",
            "https://",
            "file:///etc/passwd",
            "127.0.0.1/jwks",
            "",
        ] {
            assert!(!is_fetchable(refused), "{refused}");
        }
    }

    #[test]
    fn a_url_that_cannot_be_fetched_is_a_config_error_naming_its_setting() {
        assert_eq!(check("jwks_uri", "https://x.example/jwks"), Ok(()));
        assert_eq!(
            check("jwks_uri", "http://x.example/jwks"),
            Err(ConfigError::NotFetchable {
                setting: "jwks_uri",
                url: "http://x.example/jwks".into()
            })
        );
    }

    #[test]
    fn discovery_urls_follow_openid_then_rfc_8414() {
        assert_eq!(
            discovery_urls("https://tenant.eu.auth0.com/"),
            [
                "https://tenant.eu.auth0.com/.well-known/openid-configuration",
                "https://tenant.eu.auth0.com/.well-known/oauth-authorization-server",
            ]
        );
        assert_eq!(
            discovery_urls("https://login.example.com/realms/api"),
            [
                "https://login.example.com/realms/api/.well-known/openid-configuration",
                "https://login.example.com/.well-known/oauth-authorization-server/realms/api",
            ]
        );
    }
}
