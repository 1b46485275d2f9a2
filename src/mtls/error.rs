//! Why a certificate-bound token was refused: [`MtlsError`].

/// Why a token's binding to a client certificate (RFC 8705 §3) did not hold. The guard
/// answers each with 401 `invalid_token`
/// ([`RejectionKind::Mtls`](crate::RejectionKind::Mtls)); the [`reason`](Self::reason) is
/// the typed reason for logs and hooks, the [`description`](Self::description) fixed text
/// that never quotes a certificate or a token.
///
/// # Example
///
/// ```
/// use bearer_guard::mtls::MtlsError;
///
/// assert_eq!(MtlsError::CertificateMismatch.reason(), "mtls_certificate_mismatch");
/// assert_eq!(
///     MtlsError::CertificateMismatch.description(),
///     "The access token is bound to another client certificate"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum MtlsError {
    /// The token is certificate-bound (`cnf["x5t#S256"]`) and the request came with no
    /// client certificate from the configured source.
    #[error("The access token is certificate-bound and the request has no client certificate")]
    MissingCertificate,
    /// The request's client certificate is not the one the token is bound to: the SHA-256
    /// thumbprint of its DER differs from `cnf["x5t#S256"]`.
    #[error("The access token is bound to another client certificate")]
    CertificateMismatch,
    /// The API requires certificate-bound tokens ([`MtlsMode::Required`](crate::mtls::MtlsMode::Required))
    /// and the token has no `cnf["x5t#S256"]`.
    #[error("The access token is not certificate-bound")]
    UnboundToken,
    /// The client certificate header set by the proxy is not one RFC 9440 byte sequence of
    /// base64 DER (`:MIIB…:`): empty, not base64, or sent twice.
    #[error("The client certificate header is malformed")]
    MalformedCertificate,
    /// The token is certificate-bound, and this API takes no certificate-bound tokens
    /// ([`MtlsMode::Disabled`](crate::mtls::MtlsMode::Disabled)): nothing here could check
    /// its certificate, so it is refused rather than taken as a bearer token.
    #[error("The access token is certificate-bound and this API takes no such tokens")]
    NotTaken,
}

impl MtlsError {
    /// The `error_description` sent with it: fixed text.
    #[must_use]
    pub fn description(&self) -> &'static str {
        match self {
            Self::MissingCertificate => {
                "The access token is certificate-bound and the request has no client certificate"
            }
            Self::CertificateMismatch => "The access token is bound to another client certificate",
            Self::UnboundToken => "The access token is not certificate-bound",
            Self::MalformedCertificate => "The client certificate header is malformed",
            Self::NotTaken => {
                "The access token is certificate-bound and this API takes no such tokens"
            }
        }
    }

    /// A short code for logs and metrics, as
    /// [`TokenErrorKind::reason`](crate::TokenErrorKind::reason).
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingCertificate => "mtls_missing_certificate",
            Self::CertificateMismatch => "mtls_certificate_mismatch",
            Self::UnboundToken => "mtls_unbound_token",
            Self::MalformedCertificate => "mtls_malformed_certificate",
            Self::NotTaken => "mtls_not_taken",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [MtlsError; 5] = [
        MtlsError::MissingCertificate,
        MtlsError::CertificateMismatch,
        MtlsError::UnboundToken,
        MtlsError::MalformedCertificate,
        MtlsError::NotTaken,
    ];

    #[test]
    fn each_error_has_its_own_reason_and_its_message_as_description() {
        let reasons: std::collections::HashSet<_> = ALL.iter().map(MtlsError::reason).collect();
        assert_eq!(reasons.len(), ALL.len());
        for error in ALL {
            assert_eq!(error.description(), error.to_string(), "{error:?}");
            assert!(error.reason().starts_with("mtls_"), "{error:?}");
        }
    }
}
