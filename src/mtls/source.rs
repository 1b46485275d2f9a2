//! Where a request's client certificate comes from: [`CertificateSource`], as configured,
//! and the reader the guard builds from it.

use std::fmt;
use std::sync::Arc;

use http::HeaderName;
use http::header::{AUTHORIZATION, COOKIE};
use http::request::Parts;

use crate::config::ConfigError;
use crate::mtls::{ClientCertificate, MtlsError};

/// A user function that finds the client certificate of a request.
type CertificateFn = Arc<dyn Fn(&Parts) -> Option<ClientCertificate> + Send + Sync>;

/// Where the guard finds a request's client certificate, for certificate-bound tokens
/// (RFC 8705 §3). Never guessed: one source, named on the builder with
/// [`client_certificate_from`](crate::BearerGuardBuilder::client_certificate_from).
///
/// - [`extension`](Self::extension): a [`ClientCertificate`] that the server's TLS acceptor
///   put in the request extensions (the API terminates TLS itself);
/// - [`header`](Self::header): a header that a TLS-terminating proxy in front of the API sets
///   to the client certificate, in RFC 9440 form (`Client-Cert: :<base64 DER>:`). **Only
///   behind a proxy that removes this header from every client request**: otherwise any
///   client can name any certificate, and certificate binding is worth nothing;
/// - [`from_fn`](Self::from_fn): a function of the request, for anything else (another TLS
///   stack's extension type, a proxy's own header format).
///
/// # Example
///
/// ```
/// use bearer_guard::{BearerGuardLayer, ResourceServer};
/// use bearer_guard::mtls::{CertificateSource, ClientCertificate, MtlsMode};
///
/// let api = ResourceServer::new("https://api.example.com", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
/// // TLS terminated by this server, whose acceptor inserts a ClientCertificate:
/// let direct = BearerGuardLayer::builder(api.clone())
///     .mtls(MtlsMode::Required)
///     .client_certificate_from(CertificateSource::extension())
///     .build()?;
/// // Behind a proxy that sets Client-Cert (and strips it from what clients send):
/// let proxied = BearerGuardLayer::builder(api.clone())
///     .mtls(MtlsMode::Allowed)
///     .client_certificate_from(CertificateSource::header("client-cert"))
///     .build()?;
/// // Anything else: a function of the request.
/// #[derive(Clone)]
/// struct PeerDer(Vec<u8>);
/// let custom = BearerGuardLayer::builder(api)
///     .mtls(MtlsMode::Allowed)
///     .client_certificate_from(CertificateSource::from_fn(|request| {
///         let der = request.extensions.get::<PeerDer>()?;
///         Some(ClientCertificate::from_der(der.0.as_slice()))
///     }))
///     .build()?;
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct CertificateSource(Kind);

#[derive(Clone)]
enum Kind {
    Extension,
    Header(String),
    Function(CertificateFn),
}

impl CertificateSource {
    /// The [`ClientCertificate`] in the request extensions, which the server's TLS acceptor
    /// inserts for each request of a connection whose client presented a certificate. No
    /// client can set it.
    #[must_use]
    pub fn extension() -> Self {
        Self(Kind::Extension)
    }

    /// The header `name` (RFC 9440's is `Client-Cert`), set by a trusted TLS-terminating
    /// proxy to the client certificate as an RFC 8941 byte sequence: `:<base64 DER>:`
    /// ([`ClientCertificate::from_rfc9440`]). A request without it has no certificate; one
    /// with a malformed value, or with the header twice, is refused
    /// ([`MtlsError::MalformedCertificate`]).
    ///
    /// Trust it only behind a proxy that removes the header from every client request and
    /// sets it itself: a client that reaches the API around the proxy, or through a proxy
    /// that passes the header on, can name any certificate. `build` refuses a name that is
    /// not a valid header name, or is `Authorization` or `Cookie`.
    #[must_use]
    pub fn header(name: impl Into<String>) -> Self {
        Self(Kind::Header(name.into()))
    }

    /// The certificate `find` returns for a request's parts: `None` when it has none.
    #[must_use]
    pub fn from_fn<F>(find: F) -> Self
    where
        F: Fn(&Parts) -> Option<ClientCertificate> + Send + Sync + 'static,
    {
        Self(Kind::Function(Arc::new(find)))
    }
}

impl fmt::Debug for CertificateSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Extension => f.write_str("Extension"),
            Kind::Header(name) => f.debug_tuple("Header").field(name).finish(),
            Kind::Function(_) => f.write_str("Function"),
        }
    }
}

/// A [`CertificateSource`], checked: what the guard reads each request's certificate with.
#[derive(Clone)]
pub(crate) enum CertificateReader {
    Extension,
    Header(HeaderName),
    Function(CertificateFn),
}

impl CertificateReader {
    /// Checks `source`: a header's name must be a valid one, and neither `Authorization`
    /// nor `Cookie`.
    pub(crate) fn new(source: &CertificateSource) -> Result<Self, ConfigError> {
        Ok(match &source.0 {
            Kind::Extension => Self::Extension,
            Kind::Header(name) => {
                let invalid = |problem| ConfigError::InvalidCertificateHeader {
                    name: name.clone(),
                    problem,
                };
                let header = HeaderName::try_from(name.as_str())
                    .map_err(|_| invalid("not a valid header name"))?;
                if header == AUTHORIZATION || header == COOKIE {
                    return Err(invalid(
                        "Authorization and Cookie carry credentials; name the header your proxy sets, such as Client-Cert",
                    ));
                }
                Self::Header(header)
            }
            Kind::Function(find) => Self::Function(Arc::clone(find)),
        })
    }

    /// The client certificate of `request`, if it came with one.
    pub(crate) fn read(&self, request: &Parts) -> Result<Option<ClientCertificate>, MtlsError> {
        match self {
            Self::Extension => Ok(request.extensions.get::<ClientCertificate>().cloned()),
            Self::Header(name) => {
                let mut values = request.headers.get_all(name).iter();
                let Some(value) = values.next() else {
                    return Ok(None);
                };
                if values.next().is_some() {
                    return Err(MtlsError::MalformedCertificate);
                }
                ClientCertificate::from_rfc9440(value.as_bytes()).map(Some)
            }
            Self::Function(find) => Ok(find(request)),
        }
    }

    /// What it reads, for `Debug`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Extension => "extension".to_owned(),
            Self::Header(name) => format!("header {name}"),
            Self::Function(_) => "function".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut request = http::Request::builder();
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn header_names_are_checked_at_build() {
        for (name, problem) in [
            ("client cert", "not a valid header name"),
            ("", "not a valid header name"),
            ("Authorization", "Authorization and Cookie"),
            ("cookie", "Authorization and Cookie"),
        ] {
            let err = CertificateReader::new(&CertificateSource::header(name))
                .err()
                .unwrap();
            assert!(err.to_string().contains(problem), "{name}: {err}");
            assert!(err.to_string().contains(&format!("{name:?}")), "{err}");
        }
        assert!(CertificateReader::new(&CertificateSource::header("Client-Cert")).is_ok());
    }

    #[test]
    fn a_header_is_read_once_in_rfc9440_form() {
        let reader = CertificateReader::new(&CertificateSource::header("Client-Cert")).unwrap();
        let read = |headers| {
            reader
                .read(&parts(headers))
                .map(|c| c.map(|c| c.der().to_vec()))
        };
        assert_eq!(read(&[]), Ok(None));
        assert_eq!(
            read(&[("client-cert", ":MAMCAQE=:")]),
            Ok(Some(vec![0x30, 3, 2, 1, 1]))
        );
        assert_eq!(
            read(&[("client-cert", "")]),
            Err(MtlsError::MalformedCertificate)
        );
        assert_eq!(
            read(&[("client-cert", ":!!:")]),
            Err(MtlsError::MalformedCertificate)
        );
        assert_eq!(
            read(&[("client-cert", ":MAMCAQE=:"), ("client-cert", ":MAMCAQE=:")]),
            Err(MtlsError::MalformedCertificate)
        );
        // Another header is no certificate.
        assert_eq!(read(&[("x-client-cert", ":MAMCAQE=:")]), Ok(None));
    }

    #[test]
    fn the_extension_and_the_function_are_read_as_they_are() {
        let certificate = ClientCertificate::from_der(vec![0x30, 0]);
        let mut with = parts(&[]);
        with.extensions.insert(certificate.clone());
        let extension = CertificateReader::new(&CertificateSource::extension()).unwrap();
        assert_eq!(
            extension
                .read(&with)
                .unwrap()
                .map(|c| c.thumbprint().to_owned()),
            Some(certificate.thumbprint().to_owned())
        );
        assert!(extension.read(&parts(&[])).unwrap().is_none());
        // A header never stands in for the extension.
        assert!(
            extension
                .read(&parts(&[("client-cert", ":MAMCAQE=:")]))
                .unwrap()
                .is_none()
        );

        let function = CertificateReader::new(&CertificateSource::from_fn(|request| {
            request
                .headers
                .contains_key("x-test")
                .then(|| ClientCertificate::from_der(vec![1]))
        }))
        .unwrap();
        assert_eq!(
            function
                .read(&parts(&[("x-test", "1")]))
                .unwrap()
                .map(|c| c.der().to_vec()),
            Some(vec![1])
        );
        assert!(function.read(&parts(&[])).unwrap().is_none());
    }
}
