//! A client certificate as the guard sees it: [`ClientCertificate`], its DER and the
//! SHA-256 thumbprint a certificate-bound token names.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use sha2::{Digest as _, Sha256};

use crate::mtls::MtlsError;

/// The client certificate of a request's TLS connection: the DER its client presented, and
/// the thumbprint a certificate-bound token carries as `cnf["x5t#S256"]` (RFC 8705 §3.1),
/// computed once when it is made.
///
/// A TLS acceptor makes one per connection from the peer's end-entity certificate and
/// inserts a clone into the extensions of each request it serves: the guard reads it there
/// when the builder says [`CertificateSource::extension`](crate::mtls::CertificateSource::extension).
/// No client can put one there: only the server's own code can. Cloning is one reference
/// count. The certificate is not parsed: the TLS stack has already checked it against its
/// trust anchors, and the binding is a hash of its bytes.
///
/// # Example
///
/// ```
/// use bearer_guard::mtls::ClientCertificate;
///
/// // In a TLS acceptor: `connection.peer_certificates()` gives the client's chain, end-entity first.
/// # let der: Vec<u8> = vec![0x30, 0x03, 0x02, 0x01, 0x01];
/// let certificate = ClientCertificate::from_der(der.as_slice());
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(certificate.clone());
///
/// assert_eq!(certificate.der(), der.as_slice());
/// assert_eq!(certificate.thumbprint().len(), 43); // base64url of 32 bytes, no padding
/// ```
#[derive(Clone)]
pub struct ClientCertificate(Arc<Inner>);

struct Inner {
    der: Box<[u8]>,
    /// base64url(SHA-256(der)), without padding: always 43 ASCII bytes.
    thumbprint: [u8; THUMBPRINT_LEN],
}

/// The length of a SHA-256 thumbprint in unpadded base64url.
const THUMBPRINT_LEN: usize = 43;

/// The most base64 a client certificate header may hold: 16 KiB, several times the largest
/// end-entity certificates in use (chains go in RFC 9440's `Client-Cert-Chain`, not read).
const MAX_HEADER_LEN: usize = 16 * 1024;

/// RFC 8941's base64 for byte sequences: the standard alphabet, padding optional (§4.2.7:
/// parsers SHOULD NOT fail when it is missing).
const SF_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl ClientCertificate {
    /// The certificate whose DER encoding is `der`, as the TLS stack gives it (rustls's
    /// `CertificateDer`, OpenSSL's `i2d_X509`). Hashes it once (SHA-256).
    #[must_use]
    pub fn from_der(der: impl Into<Box<[u8]>>) -> Self {
        let der = der.into();
        let digest = Sha256::digest(&der);
        let mut thumbprint = [0; THUMBPRINT_LEN];
        // 32 bytes are always 43 unpadded base64url characters.
        let _ = URL_SAFE_NO_PAD.encode_slice(digest, &mut thumbprint);
        Self(Arc::new(Inner { der, thumbprint }))
    }

    /// The certificate in an RFC 9440 `Client-Cert` header value: an RFC 8941 byte sequence,
    /// `:` base64 of the DER `:` (padding optional, spaces around it allowed), as a
    /// TLS-terminating proxy sets it.
    ///
    /// # Errors
    ///
    /// [`MtlsError::MalformedCertificate`]: no colons around it, nothing between them,
    /// anything after it (RFC 9440 defines no parameters), a character outside base64's
    /// alphabet, more than 16 KiB.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::mtls::{ClientCertificate, MtlsError};
    ///
    /// let certificate = ClientCertificate::from_rfc9440(b":MAMCAQE=:")?;
    /// assert_eq!(certificate.der(), [0x30, 0x03, 0x02, 0x01, 0x01]);
    ///
    /// for bad in [&b""[..], b"::", b"MAMCAQE=", b":MAMCAQE=", b":MA MCAQE=:", b":MAMCAQE=:;a=1"] {
    ///     assert_eq!(ClientCertificate::from_rfc9440(bad).err(), Some(MtlsError::MalformedCertificate));
    /// }
    /// # Ok::<(), MtlsError>(())
    /// ```
    pub fn from_rfc9440(value: &[u8]) -> Result<Self, MtlsError> {
        let value = value.trim_ascii();
        let base64 = value
            .strip_prefix(b":")
            .and_then(|rest| rest.strip_suffix(b":"))
            .filter(|base64| !base64.is_empty() && base64.len() <= MAX_HEADER_LEN)
            .ok_or(MtlsError::MalformedCertificate)?;
        let der = SF_BASE64
            .decode(base64)
            .map_err(|_| MtlsError::MalformedCertificate)?;
        Ok(Self::from_der(der))
    }

    /// The certificate's DER encoding, as given.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.0.der
    }

    /// Its SHA-256 thumbprint as a certificate-bound token carries it in `cnf["x5t#S256"]`:
    /// base64url of the SHA-256 of the DER, without padding (RFC 8705 §3.1).
    #[must_use]
    pub fn thumbprint(&self) -> &str {
        // Base64url is ASCII.
        std::str::from_utf8(&self.0.thumbprint).unwrap_or_default()
    }

    /// Whether `x5t_s256`, a token's `cnf["x5t#S256"]`, is this certificate's thumbprint,
    /// compared in constant time (the length, always 43 here, is not secret).
    pub(crate) fn is_named_by(&self, x5t_s256: &str) -> bool {
        constant_time_eq(&self.0.thumbprint, x5t_s256.as_bytes())
    }
}

/// `a == b`, in time that depends on the length only (`subtle`, as `hmac` compares tags).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(subtle::ConstantTimeEq::ct_eq(a, b))
}

/// The thumbprint only: the DER is long and says nothing a log needs.
impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.thumbprint())
            .field("der_len", &self.0.der.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DER and its thumbprint, computed apart: `python3 -c "import hashlib, base64;
    /// print(base64.urlsafe_b64encode(hashlib.sha256(bytes([0x30,3,2,1,1])).digest()))"`.
    const DER: [u8; 5] = [0x30, 0x03, 0x02, 0x01, 0x01];
    const DER_X5T: &str = "G2X2ilIshYcV9d2VHNBALcFmkXeIFL8HWYIreiV0IdA";

    #[test]
    fn thumbprint_is_base64url_sha256_of_the_der() {
        let certificate = ClientCertificate::from_der(DER.as_slice());
        assert_eq!(certificate.thumbprint(), DER_X5T);
        assert!(certificate.is_named_by(DER_X5T));
        assert_eq!(certificate.der(), DER);
    }

    #[test]
    fn another_thumbprint_does_not_name_it() {
        let certificate = ClientCertificate::from_der(DER.as_slice());
        let mut other = DER_X5T.to_owned().into_bytes();
        other[42] = b'B';
        for x5t in [
            std::str::from_utf8(&other).unwrap(),
            "",
            &DER_X5T[..42],
            &format!("{DER_X5T}="),
            &DER_X5T.to_lowercase(),
        ] {
            assert!(!certificate.is_named_by(x5t), "{x5t}");
        }
    }

    #[test]
    fn rfc9440_header_is_a_byte_sequence_of_base64_der() {
        for good in [&b":MAMCAQE=:"[..], b":MAMCAQE:", b"  :MAMCAQE=:\t"] {
            let certificate = ClientCertificate::from_rfc9440(good).unwrap();
            assert_eq!(certificate.thumbprint(), DER_X5T, "{good:?}");
        }
        let long = format!(":{}:", "A".repeat(MAX_HEADER_LEN + 4));
        for bad in [
            &b""[..],
            b":",
            b"::",
            b"MAMCAQE=",
            b":MAMCAQE=",
            b"MAMCAQE=:",
            b":MAMCAQE=:;x=1",
            b":MAMC AQE=:",
            b":MAMCAQE_:",
            b":MAMCAQE-:",
            b":MAMC:AQE=:",
            b"-----BEGIN CERTIFICATE-----",
            long.as_bytes(),
        ] {
            assert_eq!(
                ClientCertificate::from_rfc9440(bad).err(),
                Some(MtlsError::MalformedCertificate),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn debug_shows_the_thumbprint_and_not_the_der() {
        let shown = format!("{:?}", ClientCertificate::from_der(DER.as_slice()));
        assert!(
            shown.contains(DER_X5T) && shown.contains("der_len: 5"),
            "{shown}"
        );
    }
}
