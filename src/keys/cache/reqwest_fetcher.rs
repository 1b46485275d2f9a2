//! The built-in fetcher (feature `reqwest`): reqwest over rustls, with aws-lc-rs as the one
//! crypto provider and Mozilla's roots.

use std::sync::Arc;

use bytes::Bytes;

use crate::config::ConfigError;
use crate::keys::cache::{FetchError, FetchFuture, JwksFetcher, KeyCacheSettings};

/// Fetches discovery documents and JWK sets with reqwest (feature `reqwest`): rustls with
/// aws-lc-rs and the webpki roots, no redirects, the settings' connect and fetch timeouts, a
/// `User-Agent` (some WAFs block requests without one), and bodies read only up to the limit.
/// It is what the builder uses unless [`jwks_fetcher`](crate::BearerGuardBuilder::jwks_fetcher)
/// says otherwise.
///
/// # Example
///
/// ```
/// use bearer_guard::jwks::{KeyCacheSettings, ReqwestFetcher};
///
/// let fetcher = ReqwestFetcher::new(&KeyCacheSettings::default())?;
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReqwestFetcher {
    client: reqwest::Client,
}

impl ReqwestFetcher {
    /// A fetcher with the connect and fetch timeouts of `settings`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::HttpClient`] when the TLS or HTTP client cannot be set up.
    pub fn new(settings: &KeyCacheSettings) -> Result<Self, ConfigError> {
        let problem = |err: &dyn std::fmt::Display| ConfigError::HttpClient {
            problem: err.to_string(),
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| problem(&err))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.fetch_timeout)
            .user_agent(concat!("bearer-guard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| problem(&err))?;
        Ok(Self { client })
    }
}

impl JwksFetcher for ReqwestFetcher {
    fn get<'a>(&'a self, url: &'a str, max_body: usize) -> FetchFuture<'a> {
        self.send(url, max_body, None)
    }

    fn get_with_headers<'a>(
        &'a self,
        url: &'a str,
        max_body: usize,
        headers: &'a http::HeaderMap,
    ) -> FetchFuture<'a> {
        self.send(url, max_body, Some(headers))
    }
}

impl ReqwestFetcher {
    fn send<'a>(
        &'a self,
        url: &'a str,
        max_body: usize,
        headers: Option<&'a http::HeaderMap>,
    ) -> FetchFuture<'a> {
        Box::pin(async move {
            let mut request = self
                .client
                .get(url)
                .header(http::header::ACCEPT, "application/json");
            if let Some(headers) = headers {
                request = request.headers(headers.clone());
            }
            let mut response = request.send().await.map_err(|err| with_causes(&err))?;
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|err| with_causes(&err))? {
                if body.len() + chunk.len() > max_body {
                    return Err(FetchError::new(format!("a body over {max_body} bytes")));
                }
                body.extend_from_slice(&chunk);
            }
            let mut answer = http::Response::new(Bytes::from(body));
            *answer.status_mut() = response.status();
            *answer.headers_mut() = std::mem::take(response.headers_mut());
            Ok(answer)
        })
    }
}

/// `err` and each of its sources, `: `-separated, so that the root cause (connection refused,
/// a TLS or DNS failure) reaches `KeysNotReady` and the key cache's status, not only reqwest's
/// "error sending request".
fn with_causes(err: &(dyn std::error::Error + 'static)) -> FetchError {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // hyper and reqwest sometimes repeat the message of the error they wrap.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    FetchError::new(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapping(&'static str, std::io::Error);

    impl std::fmt::Display for Wrapping {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Wrapping {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.1)
        }
    }

    #[test]
    fn a_fetch_error_names_its_root_cause() {
        let refused =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let err = Wrapping(
            "error sending request for url (http://127.0.0.1:1/)",
            refused,
        );
        assert_eq!(
            with_causes(&err).to_string(),
            "error sending request for url (http://127.0.0.1:1/): connection refused"
        );
        // A source that repeats the message it is wrapped in is not said twice.
        let same = Wrapping(
            "connection refused",
            std::io::Error::other("connection refused"),
        );
        assert_eq!(with_causes(&same).to_string(), "connection refused");
    }
}
