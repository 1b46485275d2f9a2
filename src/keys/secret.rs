//! The resource server's HMAC signing secret: redacted in `Debug`, zeroized on drop.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

use crate::config::ConfigError;

/// The secret that signs and verifies HS256, HS384 and HS512 tokens.
///
/// It never prints: `Debug` shows `SigningSecret(<redacted>)`, and there is no `Display`,
/// `Serialize` or (timing-leaky) `PartialEq`. Its bytes are overwritten with zeros when it is dropped.
///
/// # Example
///
/// ```
/// use bearer_guard::registration::SigningSecret;
///
/// // The Management API's `signing_secret` is used as its UTF-8 bytes.
/// let secret = SigningSecret::from("FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
/// assert_eq!(secret.len(), 32);
/// assert_eq!(format!("{secret:?}"), "SigningSecret(<redacted>)");
///
/// // A JWK's `k` value is base64url of raw bytes, which need not be UTF-8.
/// let raw = SigningSecret::from_base64url("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")?;
/// assert_eq!(raw.len(), 64);
/// assert!(SigningSecret::from_base64url("padded==").is_err());
/// assert!(SigningSecret::from("").is_empty());
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct SigningSecret(Zeroizing<Vec<u8>>);

impl SigningSecret {
    /// A secret made of raw bytes.
    #[must_use]
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self(Zeroizing::new(bytes.into()))
    }

    /// A secret from the base64url text of its bytes, as in a JWK's `k` member.
    ///
    /// Padding is not allowed, as in JWK.
    ///
    /// # Errors
    ///
    /// [`ConfigError::SecretNotBase64Url`] when the text is not unpadded base64url.
    pub fn from_base64url(text: &str) -> Result<Self, ConfigError> {
        URL_SAFE_NO_PAD
            .decode(text)
            .map(Self::from_bytes)
            .map_err(|_| ConfigError::SecretNotBase64Url)
    }

    /// The secret's length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret has no bytes at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for SigningSecret {
    fn from(text: &str) -> Self {
        Self::from_bytes(text.as_bytes())
    }
}

impl From<String> for SigningSecret {
    fn from(text: String) -> Self {
        // `into_bytes` moves the buffer, so no unzeroized copy is left behind.
        Self::from_bytes(text.into_bytes())
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for SigningSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = SigningSecret::from("FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
        let printed = format!("{secret:?} {secret:#?}");
        assert!(!printed.contains("FF1prn"), "{printed}");
    }

    #[test]
    fn base64url_secret_decodes_to_raw_bytes() {
        let secret = SigningSecret::from_base64url("_-8").unwrap();
        assert_eq!(secret.as_bytes(), &[0xff, 0xef]);
    }

    #[test]
    fn padded_or_standard_base64_secret_fails() {
        for text in ["_-8=", "/+8", "a b"] {
            assert!(
                matches!(
                    SigningSecret::from_base64url(text),
                    Err(ConfigError::SecretNotBase64Url)
                ),
                "{text}"
            );
        }
    }
}
