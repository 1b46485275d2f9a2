//! How the key cache reaches the network: the [`JwksFetcher`] trait, which any HTTP client
//! can implement.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

/// The future a [`JwksFetcher`] returns.
pub type FetchFuture<'a> =
    Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, FetchError>> + Send + 'a>>;

/// Fetches documents for the key cache (feature `jwks`): the discovery document and the JWK
/// set. Bring your own to use your HTTP client, a proxy, mTLS or a custom CA; the `reqwest`
/// feature provides one.
///
/// An implementation sends `GET url` and answers with the response as received: it must not
/// follow redirects (a redirect is a failed fetch), and should stop reading a body past
/// `max_body` bytes (answering with what it read, or an error). The cache bounds every fetch
/// by its fetch timeout, reads only a 200 (or a 304 to a conditional refresh), and refuses
/// larger bodies itself as well.
///
/// Refreshes are conditional GETs: the cache passes `If-None-Match` and `If-Modified-Since`
/// (from the last set's `ETag` and `Last-Modified`) to
/// [`get_with_headers`](Self::get_with_headers), and a `304 Not Modified` keeps the set in
/// use as a successful refresh. A fetcher that implements only [`get`](Self::get) still
/// works: its refreshes are full fetches.
///
/// # Example
///
/// A fetcher that serves a fixed key set, as a test double:
///
/// ```
/// use bearer_guard::jwks::{FetchError, FetchFuture, JwksFetcher};
/// use bytes::Bytes;
///
/// struct Fixed(&'static str);
///
/// impl JwksFetcher for Fixed {
///     fn get<'a>(&'a self, _url: &'a str, _max_body: usize) -> FetchFuture<'a> {
///         Box::pin(async move {
///             Ok(http::Response::new(Bytes::from_static(self.0.as_bytes())))
///         })
///     }
/// }
/// ```
pub trait JwksFetcher: Send + Sync + 'static {
    /// `GET url`, reading at most about `max_body` bytes of body.
    fn get<'a>(&'a self, url: &'a str, max_body: usize) -> FetchFuture<'a>;

    /// `GET url` with these request `headers` as well (the cache's are `If-None-Match` and
    /// `If-Modified-Since`, for a conditional refresh), answering a `304 Not Modified` as
    /// received. Defaults to ignoring the headers and calling [`get`](Self::get).
    fn get_with_headers<'a>(
        &'a self,
        url: &'a str,
        max_body: usize,
        headers: &'a http::HeaderMap,
    ) -> FetchFuture<'a> {
        let _ = headers;
        self.get(url, max_body)
    }
}

/// Why a fetch failed, as the fetcher says: logged and kept in the cache's status. It should
/// not hold secrets; bearer-guard never puts key material in it.
#[derive(Clone, PartialEq, Eq)]
pub struct FetchError(String);

impl FetchError {
    /// A failure described by `reason`.
    ///
    /// # Example
    ///
    /// ```
    /// let err = bearer_guard::jwks::FetchError::new("connection refused");
    /// assert_eq!(err.to_string(), "connection refused");
    /// ```
    pub fn new(reason: impl fmt::Display) -> Self {
        Self(reason.to_string())
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FetchError({:?})", self.0)
    }
}

impl std::error::Error for FetchError {}
