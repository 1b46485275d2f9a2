//! The guard's certificate-binding step (RFC 8705 §3): a certificate-bound token's
//! `cnf["x5t#S256"]` checked against the request's client certificate, from the configured
//! source.

use std::fmt;

use http::request::Parts;

use crate::config::ConfigError;
use crate::config::ResourceServer;
use crate::mtls::{CertificateReader, CertificateSource, MtlsError, MtlsMode};
use crate::token::VerifiedToken;

/// What a builder collects about certificate-bound tokens.
#[derive(Debug, Default)]
pub(crate) struct MtlsGuardSettings {
    /// The mode, when the builder overrides the registration's `proof_of_possession`.
    pub(crate) mode: Option<MtlsMode>,
    /// Where client certificates come from.
    pub(crate) source: Option<CertificateSource>,
}

/// What a guard that takes certificate-bound tokens needs per request.
pub(crate) struct MtlsGuard {
    mode: MtlsMode,
    reader: CertificateReader,
}

impl MtlsGuard {
    /// The certificate-binding step of `api`, when certificate-bound tokens are taken: the
    /// mode from the builder or else the registration, and a source, which must be set then
    /// and only then (unless the builder switched mTLS off with `MtlsMode::Disabled`).
    pub(crate) fn from_settings(
        api: &ResourceServer,
        settings: &MtlsGuardSettings,
    ) -> Result<Option<Self>, ConfigError> {
        let mode = settings.mode.unwrap_or_else(|| api.mtls_mode());
        match (&settings.source, mode) {
            (Some(_), MtlsMode::Disabled) if settings.mode.is_none() => {
                Err(ConfigError::CertificateSourceWithoutMtls)
            }
            (_, MtlsMode::Disabled) => Ok(None),
            (None, _) => Err(ConfigError::MtlsWithoutCertificateSource),
            (Some(source), mode) => Ok(Some(Self {
                mode,
                reader: CertificateReader::new(source)?,
            })),
        }
    }

    /// Checks `verified`'s certificate binding on `request`: a certificate-bound token needs
    /// the request's certificate to have its thumbprint; an unbound one passes unless
    /// binding is required. The certificate is read only for a bound token.
    pub(crate) fn check(&self, request: &Parts, verified: &VerifiedToken) -> Result<(), MtlsError> {
        let Some(x5t) = verified.certificate_thumbprint() else {
            return match self.mode {
                MtlsMode::Required => Err(MtlsError::UnboundToken),
                _ => Ok(()),
            };
        };
        let certificate = self
            .reader
            .read(request)?
            .ok_or(MtlsError::MissingCertificate)?;
        if certificate.is_named_by(x5t) {
            Ok(())
        } else {
            Err(MtlsError::CertificateMismatch)
        }
    }
}

impl fmt::Debug for MtlsGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MtlsGuard")
            .field("mode", &self.mode)
            .field("source", &self.reader.describe())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const API: &str = "https://my-api-urn";

    fn registration(pop: &str) -> ResourceServer {
        ResourceServer::from_json(&format!(
            r#"{{"identifier": "{API}", "signing_alg": "RS256", "proof_of_possession": {pop}}}"#
        ))
        .unwrap()
    }

    fn built(
        pop: &str,
        mode: Option<MtlsMode>,
        source: Option<CertificateSource>,
    ) -> Result<Option<MtlsMode>, ConfigError> {
        let settings = MtlsGuardSettings { mode, source };
        MtlsGuard::from_settings(&registration(pop), &settings)
            .map(|guard| guard.map(|guard| guard.mode))
    }

    #[test]
    fn mode_and_source_are_set_together_or_refused_at_build() {
        let mtls = r#"{"mechanism": "mtls", "required": true}"#;
        let source = || Some(CertificateSource::extension());
        for (name, result, expected) in [
            (
                "registration with a source",
                built(mtls, None, source()),
                Ok(Some(MtlsMode::Required)),
            ),
            (
                "registration, no source",
                built(mtls, None, None),
                Err(ConfigError::MtlsWithoutCertificateSource),
            ),
            (
                "builder Allowed over the registration",
                built(mtls, Some(MtlsMode::Allowed), source()),
                Ok(Some(MtlsMode::Allowed)),
            ),
            (
                "builder on, no source",
                built("null", Some(MtlsMode::Required), None),
                Err(ConfigError::MtlsWithoutCertificateSource),
            ),
            (
                "a source, no mtls",
                built("null", None, source()),
                Err(ConfigError::CertificateSourceWithoutMtls),
            ),
            (
                "a source, dpop registered",
                built(r#"{"mechanism": "dpop"}"#, None, source()),
                Err(ConfigError::CertificateSourceWithoutMtls),
            ),
            (
                "switched off by the builder",
                built(mtls, Some(MtlsMode::Disabled), source()),
                Ok(None),
            ),
            ("nothing at all", built("null", None, None), Ok(None)),
        ] {
            assert_eq!(result, expected, "{name}");
        }
        let bad = built(mtls, None, Some(CertificateSource::header("bad name")));
        assert!(
            matches!(bad, Err(ConfigError::InvalidCertificateHeader { .. })),
            "{bad:?}"
        );
    }
}
