//! The registration's `token_encryption`: the RSA public key the authorization server
//! encrypts the API's access tokens to (Auth0's Highly Regulated Identity, RFC 7516).

use serde::Deserialize;

use crate::config::ConfigError;

/// The one format Auth0 has: a compact JWE whose plaintext is the signed JWT (RFC 7519 §5.2).
pub(crate) const FORMAT: &str = "compact-nested-jwe";

/// The key management algorithms a registration may name (RSA-OAEP with SHA-2). `RSA1_5`,
/// `dir` and SHA-1 `RSA-OAEP` are never accepted (RFC 8725 §3.2).
pub(crate) const ALGORITHMS: [&str; 3] = ["RSA-OAEP-256", "RSA-OAEP-384", "RSA-OAEP-512"];

/// A resource server's `token_encryption`, as the Management API returns it:
/// `{"format": "compact-nested-jwe", "encryption_key": {"name", "alg", "kid", "pem"}}`.
///
/// With it, every access token for the API is a compact JWE (`enc` A256GCM) encrypted to
/// `encryption_key.pem`, a `PUBLIC KEY` or `CERTIFICATE` PEM block (LF or CRLF line ends);
/// the guard decrypts it with the matching private key given to
/// `BearerGuardBuilder::token_decryption_key` (feature `jwks`), then verifies the signed
/// token inside as any other. `format` and `alg` are checked when the registration is read
/// ([`ResourceServer::from_json`](crate::ResourceServer::from_json)) and again at `build`;
/// the `pem` at `build`, against the private key.
///
/// # Example
///
/// ```
/// use bearer_guard::{ConfigError, ResourceServer};
/// use bearer_guard::registration::TokenEncryption;
///
/// let api = ResourceServer::from_json(r#"{
///     "identifier": "https://my-api-urn", "signing_alg": "RS256",
///     "token_encryption": {"format": "compact-nested-jwe", "encryption_key": {
///         "name": "enc-2026", "alg": "RSA-OAEP-256", "kid": "enc-2026",
///         "pem": "-----BEGIN PUBLIC KEY-----\nMIIB...\n-----END PUBLIC KEY-----"}}
/// }"#)?;
/// let encryption = api.token_encryption().unwrap();
/// assert_eq!((encryption.alg(), encryption.kid()), ("RSA-OAEP-256", Some("enc-2026")));
///
/// let in_code = TokenEncryption::compact_nested_jwe("RSA-OAEP-512", "-----BEGIN PUBLIC KEY-----…")
///     .with_kid("enc-2027");
/// assert_eq!(in_code.format(), "compact-nested-jwe");
///
/// let err = ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "RS256",
///     "token_encryption": {"format": "compact-nested-jwe",
///         "encryption_key": {"name": "k", "alg": "RSA1_5", "pem": "…"}}}"#).unwrap_err();
/// assert!(err.to_string().contains("RSA-OAEP-256, RSA-OAEP-384, RSA-OAEP-512"), "{err}");
/// # Ok::<(), ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TokenEncryption {
    format: String,
    encryption_key: EncryptionKey,
}

/// The registration's `encryption_key`: a public key, nothing secret.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
struct EncryptionKey {
    #[serde(default)]
    name: Option<String>,
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    pem: String,
}

impl TokenEncryption {
    /// Auth0's `compact-nested-jwe` with the key management algorithm `alg` (`RSA-OAEP-256`,
    /// `-384` or `-512`) and the public key `pem` (a `PUBLIC KEY` or `CERTIFICATE` PEM
    /// block), without `kid` or name: for a registration built in code.
    #[must_use]
    pub fn compact_nested_jwe(alg: impl Into<String>, pem: impl Into<String>) -> Self {
        Self {
            format: FORMAT.to_owned(),
            encryption_key: EncryptionKey {
                name: None,
                alg: alg.into(),
                kid: None,
                pem: pem.into(),
            },
        }
    }

    /// Sets the key id: every encrypted token must then name exactly it in its header.
    /// Without one, a token that names no `kid` is taken.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.encryption_key.kid = Some(kid.into());
        self
    }

    /// Sets the key's name, a label for people.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.encryption_key.name = Some(name.into());
        self
    }

    /// The format, as registered; `compact-nested-jwe` is the one accepted.
    #[must_use]
    pub fn format(&self) -> &str {
        &self.format
    }

    /// The key management algorithm, as registered.
    #[must_use]
    pub fn alg(&self) -> &str {
        &self.encryption_key.alg
    }

    /// The key id every token names, if the registration has one.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.encryption_key.kid.as_deref()
    }

    /// The key's name, if the registration has one.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.encryption_key.name.as_deref()
    }

    /// The public key tokens are encrypted to: a `PUBLIC KEY` or `CERTIFICATE` PEM block.
    #[must_use]
    pub fn pem(&self) -> &str {
        &self.encryption_key.pem
    }

    /// Checks `format` and `alg` (exact, case-sensitive names) and that `kid`, when set, is
    /// not empty; the `pem` is checked against the private key at `build`.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.format != FORMAT {
            return Err(ConfigError::UnknownTokenEncryptionFormat {
                format: self.format.clone(),
            });
        }
        if !ALGORITHMS.contains(&self.alg()) {
            return Err(ConfigError::UnsupportedTokenEncryptionAlgorithm {
                alg: self.alg().to_owned(),
            });
        }
        if self.kid() == Some("") {
            return Err(ConfigError::EmptyTokenEncryptionKid);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(json: &str) -> Result<TokenEncryption, ConfigError> {
        let encryption: TokenEncryption = serde_json::from_str(json).unwrap();
        encryption.check().map(|()| encryption)
    }

    #[test]
    fn auth0s_shape_parses_with_or_without_kid_and_name() {
        let full = parsed(
            r#"{"format": "compact-nested-jwe", "encryption_key": {"name": "n", "alg": "RSA-OAEP-384", "kid": "k", "pem": "p"}}"#,
        )
        .unwrap();
        assert_eq!(
            (full.alg(), full.kid(), full.name(), full.pem()),
            ("RSA-OAEP-384", Some("k"), Some("n"), "p")
        );
        let bare = parsed(
            r#"{"format": "compact-nested-jwe", "encryption_key": {"alg": "RSA-OAEP-512", "pem": "p"}}"#,
        )
        .unwrap();
        assert_eq!((bare.kid(), bare.name()), (None, None));
        assert_eq!(
            bare,
            TokenEncryption::compact_nested_jwe("RSA-OAEP-512", "p")
        );
    }

    #[test]
    fn unknown_formats_and_algorithms_fail_naming_the_accepted_ones() {
        for format in ["compact-jwe", "Compact-Nested-JWE", "", "json-jwe"] {
            let err = TokenEncryption {
                format: format.into(),
                ..TokenEncryption::compact_nested_jwe("RSA-OAEP-256", "p")
            }
            .check()
            .unwrap_err();
            assert_eq!(
                err,
                ConfigError::UnknownTokenEncryptionFormat {
                    format: format.into()
                }
            );
            assert!(err.to_string().contains("compact-nested-jwe"), "{err}");
        }
        for alg in ["RSA1_5", "dir", "RSA-OAEP", "rsa-oaep-256", "A256GCM", ""] {
            let err = TokenEncryption::compact_nested_jwe(alg, "p")
                .check()
                .unwrap_err();
            assert_eq!(
                err,
                ConfigError::UnsupportedTokenEncryptionAlgorithm { alg: alg.into() }
            );
            assert!(
                err.to_string()
                    .contains("RSA-OAEP-256, RSA-OAEP-384, RSA-OAEP-512"),
                "{err}"
            );
        }
        for alg in ALGORITHMS {
            assert_eq!(
                TokenEncryption::compact_nested_jwe(alg, "p").check(),
                Ok(())
            );
        }
        assert_eq!(
            TokenEncryption::compact_nested_jwe("RSA-OAEP-256", "p")
                .with_kid("")
                .check(),
            Err(ConfigError::EmptyTokenEncryptionKid)
        );
    }
}
