//! Encrypted access tokens (RFC 7516): the compact JWE that Auth0 issues, as a nested JWT
//! (RFC 7519 §5.2), for a resource server registered with `token_encryption` (feature `jwks`).
//!
//! [`decrypt`] turns such a token into the signed JWT inside it, which the validator then
//! verifies like any other: encryption proves nothing about who signed (RFC 8725 §3.2 and
//! the RFC checklist's item 29).
//!
//! Everything the token says is checked before the private key is used: five base64url
//! segments; a protected header whose `alg` is the registration's (RSA-OAEP-256, -384 or
//! -512; never `RSA1_5`, `dir` or SHA-1 `RSA-OAEP`), whose `enc` is A256GCM (unless the rules
//! widen it), with no `zip` (no decompression bombs), no `crit`, `cty` `JWT` or absent, and
//! the `kid` the keys expect; an IV of 12 bytes, a tag of 16, an encrypted key of the
//! modulus's size. Then one RSA-OAEP private operation, and AES-GCM with the protected
//! header's base64url text as the AAD (RFC 7516 §5.2 step 14).
//!
//! Every failure from the RSA step on is [`TokenErrorKind::Undecryptable`] with one
//! description; which step failed is kept in [`JweFailure`] for debug logs only. A CEK that
//! does not unwrap (or has the wrong length) is replaced by a random one and AES-GCM still
//! runs, so the answer and the work are the same whether the RSA step or the tag failed
//! (RFC 7516 §11.5): no padding oracle.
//!
//! With the `issuer` feature too, [`TokenEncryptionKey`] encrypts a signed token the way
//! Auth0 does, for tests and local authorization servers.
//!
//! The validator runs [`decrypt`] after its size cap and cache lookup, for an API whose
//! registration has `token_encryption` (`token/decryption.rs`).

use std::fmt;

use aws_lc_rs::aead::{AES_128_GCM, AES_192_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{
    OAEP_SHA256_MGF1SHA256, OAEP_SHA384_MGF1SHA384, OAEP_SHA512_MGF1SHA512, OaepAlgorithm,
    OaepPrivateDecryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer as _};
use zeroize::Zeroizing;

use crate::keys::der::der_element;
use crate::token::TokenErrorKind;
use crate::token::claims::JsonStr;
use crate::token::header::is_media_type;
use crate::token::jws;

/// Protected headers are tens of bytes (`alg`, `enc`, `kid`, `cty`); longer ones are refused
/// before they are decoded, as JWS headers are.
const MAX_HEADER_LEN: usize = 512;

/// At most this many decryption keys (a current one and those being rotated out).
pub(crate) const MAX_KEYS: usize = 4;

/// AES-GCM's IV (RFC 7518 §5.3: 96 bits) and tag (128 bits).
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The largest RSA modulus aws-lc-rs accepts, in bytes: 8192 bits.
const MAX_MODULUS_LEN: usize = 1024;

// ---------------------------------------------------------------------------------------------
// Algorithms

/// How the content-encryption key is wrapped (RFC 7518 §4.3): RSA-OAEP with SHA-2 for the
/// hash and MGF1, Auth0's three choices. SHA-1 `RSA-OAEP`, `RSA1_5` and `dir` are not here
/// (RFC 8725 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyManagement {
    RsaOaep256,
    RsaOaep384,
    RsaOaep512,
}

impl KeyManagement {
    const ALL: [Self; 3] = [Self::RsaOaep256, Self::RsaOaep384, Self::RsaOaep512];

    /// The algorithm named exactly `name` (case-sensitive, as JOSE names are).
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.name() == name)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::RsaOaep256 => "RSA-OAEP-256",
            Self::RsaOaep384 => "RSA-OAEP-384",
            Self::RsaOaep512 => "RSA-OAEP-512",
        }
    }

    fn oaep(self) -> &'static OaepAlgorithm {
        match self {
            Self::RsaOaep256 => &OAEP_SHA256_MGF1SHA256,
            Self::RsaOaep384 => &OAEP_SHA384_MGF1SHA384,
            Self::RsaOaep512 => &OAEP_SHA512_MGF1SHA512,
        }
    }
}

/// How an encrypted token's content is encrypted (its JWE `enc`, RFC 7518 §5.3): AES-GCM.
/// Auth0 uses A256GCM, the one accepted by default; an authorization server that uses
/// another needs [`also_accept_content_encryption`](crate::BearerGuardBuilder::also_accept_content_encryption)
/// (feature `jwks`).
///
/// # Example
///
/// ```
/// use bearer_guard::registration::ContentEncryption;
/// assert_ne!(ContentEncryption::A128Gcm, ContentEncryption::A256Gcm);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContentEncryption {
    /// `A256GCM`: AES-GCM with a 256-bit key (Auth0's).
    A256Gcm,
    /// `A192GCM`: AES-GCM with a 192-bit key.
    A192Gcm,
    /// `A128GCM`: AES-GCM with a 128-bit key.
    A128Gcm,
}

impl ContentEncryption {
    const ALL: [Self; 3] = [Self::A256Gcm, Self::A192Gcm, Self::A128Gcm];

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|enc| enc.name() == name)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::A256Gcm => "A256GCM",
            Self::A192Gcm => "A192GCM",
            Self::A128Gcm => "A128GCM",
        }
    }

    fn aead(self) -> &'static aws_lc_rs::aead::Algorithm {
        match self {
            Self::A256Gcm => &AES_256_GCM,
            Self::A192Gcm => &AES_192_GCM,
            Self::A128Gcm => &AES_128_GCM,
        }
    }

    /// The CEK's length in bytes.
    fn key_len(self) -> usize {
        match self {
            Self::A256Gcm => 32,
            Self::A192Gcm => 24,
            Self::A128Gcm => 16,
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// What a JWE's header may say beyond its keys: the content encryptions accepted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct JweRules {
    enc: u8,
}

impl JweRules {
    /// A256GCM only: what Auth0 issues.
    pub(crate) const AUTH0: Self = Self {
        enc: 1 << ContentEncryption::A256Gcm as u8,
    };

    /// These rules, accepting `enc` too: for an authorization server that does not use
    /// A256GCM.
    #[must_use]
    pub(crate) fn widen(self, enc: ContentEncryption) -> Self {
        Self {
            enc: self.enc | enc.bit(),
        }
    }

    fn accepts(self, enc: ContentEncryption) -> bool {
        self.enc & enc.bit() != 0
    }
}

impl Default for JweRules {
    fn default() -> Self {
        Self::AUTH0
    }
}

impl fmt::Debug for JweRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(
                ContentEncryption::ALL
                    .into_iter()
                    .filter(|enc| self.accepts(*enc))
                    .map(ContentEncryption::name),
            )
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Keys

/// One RSA private key that decrypts access tokens, checked against the resource server's
/// `token_encryption.encryption_key` registration: its `alg`, its optional `kid`, and its
/// `pem`, whose public key must be this key's.
///
/// The key lives in aws-lc-rs, which clears it when dropped; the PKCS#8 bytes decoded from
/// PEM are zeroized here. `Debug` shows the `kid`, the algorithm and the size only.
pub(crate) struct DecryptionKey {
    kid: Option<Box<str>>,
    alg: KeyManagement,
    key: OaepPrivateDecryptingKey,
    /// The modulus's length in bytes, which is the encrypted key's.
    modulus_len: usize,
}

impl DecryptionKey {
    /// The key in a PEM `PRIVATE KEY` block (unencrypted PKCS#8), for the registration whose
    /// `alg`, `kid` and `pem` are given.
    ///
    /// # Errors
    ///
    /// [`JweKeyError::NotPrivateKeyPem`] when `private_pem` holds no `PRIVATE KEY` block; then
    /// as [`from_pkcs8_der`](Self::from_pkcs8_der).
    pub(crate) fn from_pkcs8_pem(
        private_pem: &str,
        alg: &str,
        kid: Option<&str>,
        registration_pem: &str,
    ) -> Result<Self, JweKeyError> {
        let der = match pem_block(private_pem) {
            Some(("PRIVATE KEY", der)) => der,
            _ => return Err(JweKeyError::NotPrivateKeyPem),
        };
        Self::from_pkcs8_der(&der, alg, kid, registration_pem)
    }

    /// The key in an unencrypted PKCS#8 document (DER), for the registration whose `alg`,
    /// `kid` and `pem` are given. `pem` is a `PUBLIC KEY` (SubjectPublicKeyInfo) or a
    /// `CERTIFICATE` block, with LF or CRLF line ends.
    ///
    /// # Errors
    ///
    /// [`JweKeyError::UnsupportedAlgorithm`] for an `alg` other than RSA-OAEP-256, -384 or
    /// -512; [`JweKeyError::EmptyKeyId`]; [`JweKeyError::Rejected`] when `der` is not an RSA
    /// private key of 2048 to 8192 bits; [`JweKeyError::NotPublicKeyPem`] and
    /// [`JweKeyError::PublicKeyRejected`] for a registration `pem` that holds no RSA public
    /// key; [`JweKeyError::PublicKeyMismatch`] when it holds another key than this one's.
    pub(crate) fn from_pkcs8_der(
        der: &[u8],
        alg: &str,
        kid: Option<&str>,
        registration_pem: &str,
    ) -> Result<Self, JweKeyError> {
        let (private, alg) = parse_private(der, alg, kid)?;
        let registered = public_key_from_pem(registration_pem)?;
        let ours = private.public_key().as_der();
        let theirs = registered.as_der();
        match (ours, theirs) {
            (Ok(ours), Ok(theirs)) if ours.as_ref() == theirs.as_ref() => {}
            _ => return Err(JweKeyError::PublicKeyMismatch),
        }
        Self::of(private, alg, kid)
    }

    /// The key in `pkcs8`: a PEM `PRIVATE KEY` block (when it begins with `-----BEGIN`) or
    /// the DER of an unencrypted PKCS#8 document. With `registration_pem`, the registration's
    /// `pem`, whose public key must be this key's; without it (a key rotated out, which the
    /// registration no longer names), only the key itself is checked.
    ///
    /// # Errors
    ///
    /// As [`from_pkcs8_pem`](Self::from_pkcs8_pem) and [`from_pkcs8_der`](Self::from_pkcs8_der).
    pub(crate) fn from_pkcs8(
        pkcs8: &[u8],
        alg: &str,
        kid: Option<&str>,
        registration_pem: Option<&str>,
    ) -> Result<Self, JweKeyError> {
        let decoded;
        let der = if pkcs8.trim_ascii_start().starts_with(b"-----BEGIN") {
            let text = std::str::from_utf8(pkcs8).map_err(|_| JweKeyError::NotPrivateKeyPem)?;
            decoded = match pem_block(text) {
                Some(("PRIVATE KEY", der)) => der,
                _ => return Err(JweKeyError::NotPrivateKeyPem),
            };
            &decoded[..]
        } else {
            pkcs8
        };
        match registration_pem {
            Some(registration) => Self::from_pkcs8_der(der, alg, kid, registration),
            None => {
                let (private, alg) = parse_private(der, alg, kid)?;
                Self::of(private, alg, kid)
            }
        }
    }

    fn of(
        private: PrivateDecryptingKey,
        alg: KeyManagement,
        kid: Option<&str>,
    ) -> Result<Self, JweKeyError> {
        let modulus_len = private.key_size_bytes();
        let key = OaepPrivateDecryptingKey::new(private).map_err(|_| JweKeyError::Rejected)?;
        Ok(Self {
            kid: kid.map(Box::from),
            alg,
            key,
            modulus_len,
        })
    }

    /// The CEK the encrypted key `wrapped` holds; `None` when RSA-OAEP fails. Runs the one
    /// private-key operation of a decryption.
    fn unwrap_cek(&self, wrapped: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        #[cfg(test)]
        tests::count_private_key_operation();
        let mut out = Zeroizing::new(vec![0u8; self.key.min_output_size()]);
        let len = self
            .key
            .decrypt(self.alg.oaep(), wrapped, &mut out, None)
            .ok()?
            .len();
        out.truncate(len);
        Some(out)
    }
}

/// The algorithm named `alg`, the `kid` checked, and the RSA private key in the PKCS#8 DER
/// `der`.
fn parse_private(
    der: &[u8],
    alg: &str,
    kid: Option<&str>,
) -> Result<(PrivateDecryptingKey, KeyManagement), JweKeyError> {
    let alg = KeyManagement::from_name(alg).ok_or_else(|| JweKeyError::UnsupportedAlgorithm {
        alg: alg.to_owned(),
    })?;
    if kid.is_some_and(str::is_empty) {
        return Err(JweKeyError::EmptyKeyId);
    }
    let private = PrivateDecryptingKey::from_pkcs8(der).map_err(|_| JweKeyError::Rejected)?;
    Ok((private, alg))
}

impl fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptionKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg.name())
            .field("bits", &(self.modulus_len * 8))
            .field("private_key", &"<redacted>")
            .finish()
    }
}

/// The keys that decrypt a resource server's tokens: one per `encryption_key` it has had,
/// the current one first.
///
/// A key with a `kid` decrypts only tokens whose header names it exactly; a key without one
/// only tokens that name none (or any, when no key has a `kid`: then it cannot change which
/// key is tried, as with HS256 secrets).
#[derive(Debug)]
pub(crate) struct JweDecryptionKeys {
    keys: Box<[DecryptionKey]>,
    /// Whether some key has a `kid`, so that the header's `kid` picks the key.
    labelled: bool,
}

impl JweDecryptionKeys {
    /// The keys, tried in this order when several could decrypt a token.
    ///
    /// # Errors
    ///
    /// [`JweKeyError::NoKeys`], [`JweKeyError::TooManyKeys`] (over [`MAX_KEYS`]), or
    /// [`JweKeyError::DuplicateKeyId`] when two keys have the same `kid`.
    pub(crate) fn new(keys: Vec<DecryptionKey>) -> Result<Self, JweKeyError> {
        if keys.is_empty() {
            return Err(JweKeyError::NoKeys);
        }
        if keys.len() > MAX_KEYS {
            return Err(JweKeyError::TooManyKeys { max: MAX_KEYS });
        }
        for (i, key) in keys.iter().enumerate() {
            if let Some(kid) = &key.kid
                && keys[..i]
                    .iter()
                    .any(|other| other.kid.as_ref() == Some(kid))
            {
                return Err(JweKeyError::DuplicateKeyId {
                    kid: kid.to_string(),
                });
            }
        }
        let labelled = keys.iter().any(|key| key.kid.is_some());
        Ok(Self {
            keys: keys.into_boxed_slice(),
            labelled,
        })
    }

    fn accepts_alg(&self, alg: KeyManagement) -> bool {
        self.keys.iter().any(|key| key.alg == alg)
    }

    /// The keys that may decrypt a token whose header names `kid` (when labelled keys make
    /// it read), in order.
    fn candidates<'k>(
        &'k self,
        kid: Option<&str>,
    ) -> Result<impl Iterator<Item = &'k DecryptionKey>, JweFailure> {
        let wanted: Option<Option<&str>> = match kid {
            Some(kid) if self.labelled => {
                if !self.keys.iter().any(|key| key.kid.as_deref() == Some(kid)) {
                    return Err(JweFailure::UnknownKid);
                }
                Some(Some(kid))
            }
            // No key has a kid: the header's cannot change which key is tried.
            Some(_) => None,
            None => {
                if !self.keys.iter().any(|key| key.kid.is_none()) {
                    return Err(JweFailure::MissingKid);
                }
                Some(None)
            }
        };
        Ok(self
            .keys
            .iter()
            .filter(move |key| wanted.is_none_or(|kid| key.kid.as_deref() == kid)))
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Why a JWE was refused: the [`TokenErrorKind`] that answers the request, and the
/// [`JweFailure`] behind it, for debug logs only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JweError {
    failure: JweFailure,
}

impl JweError {
    /// The answer: one kind per header check, and [`TokenErrorKind::Undecryptable`] for every
    /// failure from the RSA step on, whichever step it was.
    pub(crate) fn kind(self) -> TokenErrorKind {
        use JweFailure as F;
        match self.failure {
            F::Form
            | F::Base64
            | F::HeaderJson
            | F::EncryptedKeyLength
            | F::IvLength
            | F::TagLength => TokenErrorKind::Malformed,
            F::Algorithm | F::Encryption | F::Compressed | F::ContentType => {
                TokenErrorKind::UnsupportedEncryption
            }
            F::Critical => TokenErrorKind::CriticalHeader,
            F::Signed => TokenErrorKind::NotEncrypted,
            F::UnknownKid | F::MissingKid => TokenErrorKind::UnknownKeyId,
            F::KeyUnwrap | F::CekLength | F::Tag | F::NotUtf8 | F::NotJws | F::NestedJwe => {
                TokenErrorKind::Undecryptable
            }
        }
    }

    /// Which check failed. Past the header, for debug logs only: never in an answer.
    pub(crate) fn failure(self) -> JweFailure {
        self.failure
    }
}

impl From<JweFailure> for JweError {
    fn from(failure: JweFailure) -> Self {
        Self { failure }
    }
}

impl From<JweError> for TokenErrorKind {
    fn from(err: JweError) -> Self {
        err.kind()
    }
}

/// The check a JWE failed. Those from [`KeyUnwrap`](Self::KeyUnwrap) on all answer
/// [`TokenErrorKind::Undecryptable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum JweFailure {
    /// Not five segments, an empty one (but the encrypted key), or a header over 512
    /// characters.
    Form,
    /// Three segments: a signed token (JWS) that is not encrypted, where this API's tokens
    /// all are.
    Signed,
    /// A segment that is not strict base64url.
    Base64,
    /// The protected header is not a JSON object, has a member of the wrong type, or one of
    /// those read twice.
    HeaderJson,
    /// `alg` is absent or not a decryption key's (`RSA1_5`, `dir`, `RSA-OAEP`, …).
    Algorithm,
    /// `enc` is absent or not accepted.
    Encryption,
    /// A `zip` member (RFC 8725 §3.6).
    Compressed,
    /// A `crit` member.
    Critical,
    /// `cty` is there and is not `JWT`.
    ContentType,
    /// `kid` names no key.
    UnknownKid,
    /// No `kid`, and every key has one.
    MissingKid,
    /// The encrypted key is not the modulus's size.
    EncryptedKeyLength,
    /// The IV is not 12 bytes.
    IvLength,
    /// The tag is not 16 bytes.
    TagLength,
    /// RSA-OAEP failed.
    KeyUnwrap,
    /// The CEK is not the length `enc` needs.
    CekLength,
    /// The AES-GCM tag does not verify.
    Tag,
    /// The plaintext is not UTF-8.
    NotUtf8,
    /// The plaintext is not a compact JWS.
    NotJws,
    /// The plaintext is another JWE.
    NestedJwe,
}

/// Why a decryption or encryption key could not be made. Its message says what to change; it
/// never quotes key material.
///
/// # Example
///
/// ```
/// use bearer_guard::issuer::TokenEncryptionKey;
/// use bearer_guard::jwks::JweKeyError;
///
/// let err = TokenEncryptionKey::from_pem("MIIBIjANBgkq", None).unwrap_err();
/// assert_eq!(err, JweKeyError::NotPublicKeyPem);
/// assert!(err.to_string().contains("PUBLIC KEY or CERTIFICATE"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JweKeyError {
    /// The `alg` is not RSA-OAEP-256, RSA-OAEP-384 or RSA-OAEP-512.
    #[error(
        "token_encryption's alg {alg:?} is not supported: use RSA-OAEP-256, RSA-OAEP-384 or RSA-OAEP-512"
    )]
    UnsupportedAlgorithm {
        /// The `alg` given.
        alg: String,
    },
    /// A `kid` that is empty.
    #[error("the key id (kid) is empty: give the registration's kid, or none")]
    EmptyKeyId,
    /// No PEM `PRIVATE KEY` block.
    #[error(
        "no PEM PRIVATE KEY block (unencrypted PKCS#8); convert other keys with `openssl pkcs8 -topk8 -nocrypt`"
    )]
    NotPrivateKeyPem,
    /// The private key is not one that decrypts tokens.
    #[error("the private key is not an unencrypted PKCS#8 RSA key of 2048 to 8192 bits")]
    Rejected,
    /// The registration's `pem` has no `PUBLIC KEY` or `CERTIFICATE` block.
    #[error(
        "the encryption key's pem holds no PEM PUBLIC KEY or CERTIFICATE block: copy the registration's pem whole"
    )]
    NotPublicKeyPem,
    /// The registration's `pem` is not an RSA public key, or a certificate of one.
    #[error(
        "the encryption key's pem is not an RSA public key of 2048 to 8192 bits, or a certificate for one"
    )]
    PublicKeyRejected,
    /// The private key's public half is not the registration's.
    #[error(
        "the private key does not match the encryption key's pem: give the private key of the registered encryption_key, or register its public key"
    )]
    PublicKeyMismatch,
    /// Two keys have one `kid`.
    #[error("two decryption keys have the kid {kid:?}: each needs its own")]
    DuplicateKeyId {
        /// The `kid` (a label, not key material).
        kid: String,
    },
    /// No key at all.
    #[error("token encryption needs at least one decryption key")]
    NoKeys,
    /// More keys than are tried.
    #[error("at most {max} decryption keys: remove keys that no longer encrypt tokens")]
    TooManyKeys {
        /// The most accepted.
        max: usize,
    },
    /// What was given to encrypt is not a compact JWS.
    #[error("only a signed token (a compact JWS) is encrypted")]
    NotSigned,
    /// The crypto library could not encrypt.
    #[error("the crypto library could not encrypt the token")]
    Encryption,
}

// ---------------------------------------------------------------------------------------------
// Decryption

/// The five segments of a compact JWE (RFC 7516 §7.1).
struct Segments<'a> {
    header: &'a str,
    encrypted_key: &'a str,
    iv: &'a str,
    ciphertext: &'a str,
    tag: &'a str,
}

/// Splits a compact JWE into exactly five segments, all but the encrypted key non-empty.
fn split(token: &str) -> Result<Segments<'_>, JweFailure> {
    let mut parts = token.split('.');
    let (Some(header), Some(encrypted_key), Some(iv), Some(ciphertext), Some(tag), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(if token.bytes().filter(|byte| *byte == b'.').count() == 2 {
            JweFailure::Signed
        } else {
            JweFailure::Form
        });
    };
    // An empty encrypted key (`dir`'s) is left to the header check and the length check.
    let segments = [header, iv, ciphertext, tag];
    if segments.iter().any(|segment| segment.is_empty()) || header.len() > MAX_HEADER_LEN {
        return Err(JweFailure::Form);
    }
    Ok(Segments {
        header,
        encrypted_key,
        iv,
        ciphertext,
        tag,
    })
}

/// Whether the protected header of the compact JWE `token` is one these keys take (form,
/// header rules, and a key for its `alg` and `kid`): what chooses, of several APIs, the one
/// an encrypted token is for, with no private-key operation.
pub(crate) fn header_fits(token: &str, keys: &JweDecryptionKeys, rules: JweRules) -> bool {
    let Ok(segments) = split(token) else {
        return false;
    };
    let mut buf = [0u8; MAX_HEADER_LEN];
    let Ok(header) = check_header(segments.header, &mut buf, keys, rules) else {
        return false;
    };
    keys.candidates(header.kid.as_deref())
        .is_ok_and(|mut candidates| candidates.any(|key| key.alg == header.alg))
}

/// Decrypts the compact JWE `token` with `keys`, under `rules`, and returns the compact JWS
/// inside it, still to be verified.
///
/// The caller caps the token's size first, as the validator does for every token. Nothing
/// of the token is trusted until AES-GCM's tag has verified; nothing the header says is
/// used before it has been checked.
///
/// # Errors
///
/// A [`JweError`]: before the private key is used, the header check or the segment that
/// failed (`Malformed`, `UnsupportedEncryption`, `CriticalHeader`, `UnknownKeyId`); from then
/// on, `Undecryptable` whatever failed.
pub(crate) fn decrypt(
    token: &str,
    keys: &JweDecryptionKeys,
    rules: JweRules,
) -> Result<String, JweError> {
    let segments = split(token)?;
    let mut buf = [0u8; MAX_HEADER_LEN];
    let header = check_header(segments.header, &mut buf, keys, rules)?;
    let candidates = keys.candidates(header.kid.as_deref())?;
    // A key of another algorithm than the header's never tries the token.
    let mut candidates = candidates.filter(|key| key.alg == header.alg).peekable();
    if candidates.peek().is_none() {
        return Err(JweFailure::Algorithm.into());
    }

    let wrapped = decode_key(segments.encrypted_key)?;
    let mut candidates = candidates
        .filter(|key| key.modulus_len == wrapped.len())
        .peekable();
    if candidates.peek().is_none() {
        return Err(JweFailure::EncryptedKeyLength.into());
    }
    let mut iv = [0u8; IV_LEN];
    if decode_into(segments.iv, &mut iv)? != IV_LEN {
        return Err(JweFailure::IvLength.into());
    }
    let mut tag = [0u8; TAG_LEN];
    if decode_into(segments.tag, &mut tag)? != TAG_LEN {
        return Err(JweFailure::TagLength.into());
    }
    let mut sealed = URL_SAFE_NO_PAD
        .decode(segments.ciphertext)
        .map_err(|_| JweFailure::Base64)?;

    // From here on, every failure is the same answer, and the work is the same: a CEK that
    // does not unwrap is replaced by a random one, whose tag then fails (RFC 7516 §11.5).
    let mut failure = None;
    let cek_len = header.enc.key_len();
    let unwrapped = candidates.find_map(|key| key.unwrap_cek(&wrapped));
    let mut cek = Zeroizing::new([0u8; 32]);
    match unwrapped {
        Some(unwrapped) if unwrapped.len() == cek_len => {
            cek[..cek_len].copy_from_slice(&unwrapped);
        }
        other => {
            failure = Some(if other.is_some() {
                JweFailure::CekLength
            } else {
                JweFailure::KeyUnwrap
            });
            if aws_lc_rs::rand::fill(&mut cek[..]).is_err() {
                return Err(JweFailure::KeyUnwrap.into());
            }
        }
    }
    sealed.extend_from_slice(&tag);
    let opened = open(
        header.enc,
        &cek[..cek_len],
        iv,
        segments.header,
        &mut sealed,
    );
    drop(cek);
    if let Some(failure) = failure {
        return Err(failure.into());
    }
    let Some(len) = opened else {
        return Err(JweFailure::Tag.into());
    };
    sealed.truncate(len);
    let plaintext = String::from_utf8(sealed).map_err(|_| JweFailure::NotUtf8)?;
    if jws::split(&plaintext).is_err() {
        let dots = plaintext.bytes().filter(|byte| *byte == b'.').count();
        return Err(if dots == 4 {
            JweFailure::NestedJwe
        } else {
            JweFailure::NotJws
        }
        .into());
    }
    Ok(plaintext)
}

/// AES-GCM: opens `sealed` (ciphertext and tag) in place with `cek`, authenticating the
/// encoded protected header `header` (RFC 7516 §5.2 step 14: the AAD is its ASCII). The
/// plaintext's length, `None` when the tag does not verify.
fn open(
    enc: ContentEncryption,
    cek: &[u8],
    iv: [u8; IV_LEN],
    header: &str,
    sealed: &mut [u8],
) -> Option<usize> {
    #[cfg(test)]
    tests::count_content_decryption();
    let key = LessSafeKey::new(UnboundKey::new(enc.aead(), cek).ok()?);
    key.open_in_place(
        Nonce::assume_unique_for_key(iv),
        Aad::from(header.as_bytes()),
        sealed,
    )
    .ok()
    .map(|plaintext| plaintext.len())
}

/// The encrypted key `segment` decoded, if it is strict base64url and no longer than the
/// largest modulus.
fn decode_key(segment: &str) -> Result<Vec<u8>, JweFailure> {
    if segment.len() > (MAX_MODULUS_LEN * 4).div_ceil(3) {
        return Err(JweFailure::EncryptedKeyLength);
    }
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JweFailure::Base64)
}

/// Decodes `segment` into `out`; its length, or one more than `out` holds when it is longer.
fn decode_into(segment: &str, out: &mut [u8]) -> Result<usize, JweFailure> {
    // Three characters more than `out` needs would still decode into it.
    if segment.len() > (out.len() * 4).div_ceil(3) {
        return Ok(out.len() + 1);
    }
    URL_SAFE_NO_PAD
        .decode_slice(segment, out)
        .map_err(|_| JweFailure::Base64)
}

/// A checked protected header.
struct Header<'b> {
    alg: KeyManagement,
    enc: ContentEncryption,
    kid: Option<std::borrow::Cow<'b, str>>,
}

/// Checks the protected header `segment`, decoding it into `buf`.
fn check_header<'b>(
    segment: &str,
    buf: &'b mut [u8; MAX_HEADER_LEN],
    keys: &JweDecryptionKeys,
    rules: JweRules,
) -> Result<Header<'b>, JweFailure> {
    let len = URL_SAFE_NO_PAD
        .decode_slice(segment, &mut buf[..])
        .map_err(|_| JweFailure::Base64)?;
    let json = std::str::from_utf8(&buf[..len]).map_err(|_| JweFailure::HeaderJson)?;
    let mut de = serde_json::Deserializer::from_str(json);
    let parsed = de
        .deserialize_map(HeaderVisitor {
            read_kid: keys.labelled,
        })
        .and_then(|parsed| de.end().map(|()| parsed))
        .map_err(|_| JweFailure::HeaderJson)?;
    if parsed.crit {
        return Err(JweFailure::Critical);
    }
    let alg = parsed
        .alg
        .filter(|alg| keys.accepts_alg(*alg))
        .ok_or(JweFailure::Algorithm)?;
    let enc = parsed
        .enc
        .filter(|enc| rules.accepts(*enc))
        .ok_or(JweFailure::Encryption)?;
    if parsed.zip {
        return Err(JweFailure::Compressed);
    }
    if parsed.cty_other {
        return Err(JweFailure::ContentType);
    }
    Ok(Header {
        alg,
        enc,
        kid: parsed.kid,
    })
}

/// The header parameters read; all others are ignored.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Param {
    Alg,
    Enc,
    Zip,
    Crit,
    Cty,
    Kid,
    #[serde(other)]
    Other,
}

#[derive(Default)]
struct Parsed<'de> {
    /// `None` when absent or not an algorithm of [`KeyManagement`].
    alg: Option<KeyManagement>,
    alg_seen: bool,
    enc: Option<ContentEncryption>,
    enc_seen: bool,
    zip: bool,
    crit: bool,
    /// `cty` is present and not `JWT`.
    cty_other: bool,
    cty_seen: bool,
    kid: Option<std::borrow::Cow<'de, str>>,
}

/// Parses the protected header as `header.rs` parses a JWS header: the members read are
/// refused twice, `kid` is read only when a key has one.
struct HeaderVisitor {
    read_kid: bool,
}

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = Parsed<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed<'de>, A::Error> {
        let duplicate = || de::Error::custom("duplicate header parameter");
        let mut header = Parsed::default();
        while let Some(param) = map.next_key::<Param>()? {
            match param {
                Param::Alg if !header.alg_seen => {
                    let JsonStr(alg) = map.next_value()?;
                    header.alg = KeyManagement::from_name(&alg);
                    header.alg_seen = true;
                }
                Param::Enc if !header.enc_seen => {
                    let JsonStr(enc) = map.next_value()?;
                    header.enc = ContentEncryption::from_name(&enc);
                    header.enc_seen = true;
                }
                Param::Zip if !header.zip => {
                    map.next_value::<IgnoredAny>()?;
                    header.zip = true;
                }
                Param::Crit if !header.crit => {
                    map.next_value::<IgnoredAny>()?;
                    header.crit = true;
                }
                Param::Cty if !header.cty_seen => {
                    let JsonStr(cty) = map.next_value()?;
                    header.cty_other = !is_media_type(&cty, "jwt");
                    header.cty_seen = true;
                }
                Param::Kid if self.read_kid => {
                    if header.kid.is_some() {
                        return Err(duplicate());
                    }
                    let JsonStr(kid) = map.next_value()?;
                    header.kid = Some(kid);
                }
                Param::Alg | Param::Enc | Param::Zip | Param::Crit | Param::Cty => {
                    return Err(duplicate());
                }
                Param::Kid | Param::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(header)
    }
}

// ---------------------------------------------------------------------------------------------
// PEM and DER

/// The label and the bytes of the first PEM block (RFC 7468) in `pem`, zeroized when
/// dropped. Line ends may be LF or CRLF.
fn pem_block(pem: &str) -> Option<(&str, Zeroizing<Vec<u8>>)> {
    const BEGIN: &str = "-----BEGIN ";
    const DASHES: &str = "-----";
    let start = pem.find(BEGIN)? + BEGIN.len();
    let label_len = pem[start..].find(DASHES)?;
    let label = &pem[start..start + label_len];
    let body_start = start + label_len + DASHES.len();
    let end = format!("-----END {label}-----");
    let body_end = body_start + pem[body_start..].find(&end)?;
    let base64: Zeroizing<String> = Zeroizing::new(
        pem[body_start..body_end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect(),
    );
    let der = STANDARD.decode(base64.as_bytes()).ok()?;
    Some((label, Zeroizing::new(der)))
}

/// The RSA public key of a registration's `pem`: a `PUBLIC KEY` block (SubjectPublicKeyInfo)
/// or a `CERTIFICATE` (the SubjectPublicKeyInfo of its TBSCertificate, RFC 5280 §4.1).
fn public_key_from_pem(pem: &str) -> Result<PublicEncryptingKey, JweKeyError> {
    let (label, der) = pem_block(pem).ok_or(JweKeyError::NotPublicKeyPem)?;
    let spki = match label {
        "PUBLIC KEY" => &der[..],
        "CERTIFICATE" => certificate_spki(&der).ok_or(JweKeyError::PublicKeyRejected)?,
        _ => return Err(JweKeyError::NotPublicKeyPem),
    };
    PublicEncryptingKey::from_der(spki).map_err(|_| JweKeyError::PublicKeyRejected)
}

/// The DER of a certificate's SubjectPublicKeyInfo: the seventh element of its
/// TBSCertificate, or the sixth when the version is left out.
fn certificate_spki(der: &[u8]) -> Option<&[u8]> {
    let (certificate, _) = der_element(der, 0x30)?;
    let (tbs, _) = der_element(certificate.contents, 0x30)?;
    let mut rest = tbs.contents;
    if rest.first() == Some(&0xa0) {
        rest = der_element(rest, 0xa0)?.1;
    }
    // serialNumber, signature, issuer, validity, subject.
    for tag in [0x02, 0x30, 0x30, 0x30, 0x30] {
        rest = der_element(rest, tag)?.1;
    }
    Some(der_element(rest, 0x30)?.0.whole)
}

// ---------------------------------------------------------------------------------------------
// Encryption (feature `issuer`)

#[cfg(feature = "issuer")]
pub use encryption::TokenEncryptionKey;

#[cfg(feature = "issuer")]
mod encryption {
    use std::fmt;
    use std::sync::Arc;

    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use aws_lc_rs::rsa::OaepPublicEncryptingKey;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use zeroize::Zeroizing;

    use super::{IV_LEN, JweKeyError, KeyManagement, public_key_from_pem};
    use crate::token::jws;

    /// An RSA public key that encrypts signed access tokens into compact JWEs, as Auth0 does
    /// for a resource server with `token_encryption` (features `issuer` and `jwks`): for your
    /// tests and local authorization servers.
    ///
    /// The token becomes a nested JWT (RFC 7519 §5.2): RSA-OAEP-256 (or the algorithm of
    /// [`with_alg`](Self::with_alg)) wraps a random 256-bit content key, A256GCM encrypts the
    /// signed token under it with a random IV, and the protected header is
    /// `{"alg":"RSA-OAEP-256","cty":"JWT","enc":"A256GCM"}`, with the `kid` when there is
    /// one. Cloning shares the key.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::ResourceServer;
    /// use bearer_guard::issuer::{TokenEncryptionKey, TokenIssuer};
    ///
    /// # let pem = include_str!("../../tests/data/jwe/rsa2048_enc.pub.pem");
    /// // `pem`: the registration's encryption_key.pem, a PUBLIC KEY or a CERTIFICATE.
    /// let key = TokenEncryptionKey::from_pem(pem, Some("enc-2026"))?;
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let signed = TokenIssuer::new(&api, "https://tenant.example/")?.token("alice").sign()?;
    /// let encrypted = key.encrypt(&signed)?;
    /// assert_eq!(encrypted.split('.').count(), 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[derive(Clone)]
    pub struct TokenEncryptionKey {
        key: Arc<OaepPublicEncryptingKey>,
        kid: Option<Arc<str>>,
        alg: KeyManagement,
    }

    impl TokenEncryptionKey {
        /// The key in a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) or `CERTIFICATE` block, as
        /// a resource server's `token_encryption.encryption_key.pem` holds it (LF or CRLF
        /// line ends), named `kid` in each token's header when given.
        ///
        /// # Errors
        ///
        /// [`JweKeyError::NotPublicKeyPem`] without such a block,
        /// [`JweKeyError::PublicKeyRejected`] when it is not an RSA key of 2048 to 8192 bits,
        /// [`JweKeyError::EmptyKeyId`] for `Some("")`.
        ///
        /// # Example
        ///
        /// ```
        /// # use bearer_guard::issuer::TokenEncryptionKey;
        /// # let pem = include_str!("../../tests/data/jwe/rsa2048_enc.crt.pem");
        /// let key = TokenEncryptionKey::from_pem(pem, None)?; // a certificate, CRLF
        /// assert_eq!(key.kid(), None);
        /// # Ok::<(), bearer_guard::jwks::JweKeyError>(())
        /// ```
        pub fn from_pem(pem: &str, kid: Option<&str>) -> Result<Self, JweKeyError> {
            if kid.is_some_and(str::is_empty) {
                return Err(JweKeyError::EmptyKeyId);
            }
            let public = public_key_from_pem(pem)?;
            let key =
                OaepPublicEncryptingKey::new(public).map_err(|_| JweKeyError::PublicKeyRejected)?;
            Ok(Self {
                key: Arc::new(key),
                kid: kid.map(Arc::from),
                alg: KeyManagement::RsaOaep256,
            })
        }

        /// This key, wrapping each token's content key with `alg` (`RSA-OAEP-256`, the
        /// default, `RSA-OAEP-384` or `RSA-OAEP-512`, as a registration's
        /// `encryption_key.alg` says) and naming it in the header.
        ///
        /// # Errors
        ///
        /// [`JweKeyError::UnsupportedAlgorithm`] for any other name.
        ///
        /// # Example
        ///
        /// ```
        /// # use bearer_guard::issuer::TokenEncryptionKey;
        /// # use bearer_guard::jwks::JweKeyError;
        /// # let pem = include_str!("../../tests/data/jwe/rsa2048_enc.pub.pem");
        /// let key = TokenEncryptionKey::from_pem(pem, None)?.with_alg("RSA-OAEP-512")?;
        /// assert_eq!(key.alg(), "RSA-OAEP-512");
        /// assert!(TokenEncryptionKey::from_pem(pem, None)?.with_alg("RSA1_5").is_err());
        /// # Ok::<(), JweKeyError>(())
        /// ```
        pub fn with_alg(mut self, alg: &str) -> Result<Self, JweKeyError> {
            self.alg =
                KeyManagement::from_name(alg).ok_or_else(|| JweKeyError::UnsupportedAlgorithm {
                    alg: alg.to_owned(),
                })?;
            Ok(self)
        }

        /// The key management algorithm each token's header names.
        ///
        /// # Example
        ///
        /// ```
        /// # use bearer_guard::issuer::TokenEncryptionKey;
        /// # let pem = include_str!("../../tests/data/jwe/rsa2048_enc.pub.pem");
        /// assert_eq!(TokenEncryptionKey::from_pem(pem, None)?.alg(), "RSA-OAEP-256");
        /// # Ok::<(), bearer_guard::jwks::JweKeyError>(())
        /// ```
        #[must_use]
        pub fn alg(&self) -> &'static str {
            self.alg.name()
        }

        /// The key id written in each token's header, if any.
        ///
        /// # Example
        ///
        /// ```
        /// # use bearer_guard::issuer::TokenEncryptionKey;
        /// # let pem = include_str!("../../tests/data/jwe/rsa2048_enc.pub.pem");
        /// let key = TokenEncryptionKey::from_pem(pem, Some("enc-1"))?;
        /// assert_eq!(key.kid(), Some("enc-1"));
        /// # Ok::<(), bearer_guard::jwks::JweKeyError>(())
        /// ```
        #[must_use]
        pub fn kid(&self) -> Option<&str> {
            self.kid.as_deref()
        }

        /// The compact JWE of the signed token `signed` (a compact JWS), for this key.
        ///
        /// # Errors
        ///
        /// [`JweKeyError::NotSigned`] when `signed` is not three segments;
        /// [`JweKeyError::Encryption`] if the crypto library fails.
        ///
        /// # Example
        ///
        /// ```
        /// # use bearer_guard::issuer::TokenEncryptionKey;
        /// # use bearer_guard::jwks::JweKeyError;
        /// # let pem = include_str!("../../tests/data/jwe/rsa2048_enc.pub.pem");
        /// let key = TokenEncryptionKey::from_pem(pem, None)?;
        /// assert_eq!(key.encrypt("not a token"), Err(JweKeyError::NotSigned));
        /// # Ok::<(), JweKeyError>(())
        /// ```
        pub fn encrypt(&self, signed: &str) -> Result<String, JweKeyError> {
            if jws::split(signed).is_err() {
                return Err(JweKeyError::NotSigned);
            }
            let mut header = serde_json::Map::new();
            header.insert("alg".into(), self.alg.name().into());
            header.insert("cty".into(), "JWT".into());
            header.insert("enc".into(), "A256GCM".into());
            if let Some(kid) = &self.kid {
                header.insert("kid".into(), (**kid).into());
            }
            let header = URL_SAFE_NO_PAD.encode(serde_json::Value::Object(header).to_string());

            let mut cek = Zeroizing::new([0u8; 32]);
            let mut iv = [0u8; IV_LEN];
            aws_lc_rs::rand::fill(&mut cek[..]).map_err(|_| JweKeyError::Encryption)?;
            aws_lc_rs::rand::fill(&mut iv).map_err(|_| JweKeyError::Encryption)?;
            let mut wrapped = vec![0u8; self.key.ciphertext_size()];
            let wrapped = self
                .key
                .encrypt(self.alg.oaep(), &cek[..], &mut wrapped, None)
                .map_err(|_| JweKeyError::Encryption)?;
            let key = UnboundKey::new(&AES_256_GCM, &cek[..])
                .map(LessSafeKey::new)
                .map_err(|_| JweKeyError::Encryption)?;
            let mut ciphertext = signed.as_bytes().to_vec();
            let tag = key
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(iv),
                    Aad::from(header.as_bytes()),
                    &mut ciphertext,
                )
                .map_err(|_| JweKeyError::Encryption)?;
            Ok([
                header.as_str(),
                &URL_SAFE_NO_PAD.encode(wrapped),
                &URL_SAFE_NO_PAD.encode(iv),
                &URL_SAFE_NO_PAD.encode(ciphertext),
                &URL_SAFE_NO_PAD.encode(tag.as_ref()),
            ]
            .join("."))
        }
    }

    impl fmt::Debug for TokenEncryptionKey {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("TokenEncryptionKey")
                .field("kid", &self.kid)
                .field("alg", &self.alg.name())
                .field("bits", &self.key.key_size_bits())
                .finish_non_exhaustive()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// For benches/jwe.rs

/// Not API: what `benches/jwe.rs` times until the builder takes decryption keys (issue 22).
/// An RSA-OAEP-256 key without `kid`, decrypting A256GCM tokens.
#[doc(hidden)]
#[derive(Debug)]
pub struct JweBench(JweDecryptionKeys);

impl JweBench {
    /// The PKCS#8 PEM `private_pem`, whose public key `public_pem` holds.
    ///
    /// # Errors
    ///
    /// As the keys' constructors.
    pub fn new(private_pem: &str, public_pem: &str) -> Result<Self, JweKeyError> {
        let key = DecryptionKey::from_pkcs8_pem(private_pem, "RSA-OAEP-256", None, public_pem)?;
        JweDecryptionKeys::new(vec![key]).map(Self)
    }

    /// The inner JWS, or the reason the token was refused.
    ///
    /// # Errors
    ///
    /// As [`decrypt`].
    pub fn decrypt(&self, token: &str) -> Result<String, TokenErrorKind> {
        decrypt(token, &self.0, JweRules::AUTH0).map_err(JweError::kind)
    }
}

#[cfg(test)]
pub(crate) use tests::private_key_operations;

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    use serde_json::Value;

    use crate::test_support::{NOW, validator};
    use crate::token::TokenError;

    thread_local! {
        static PRIVATE_KEY_OPERATIONS: Cell<usize> = const { Cell::new(0) };
        static CONTENT_DECRYPTIONS: Cell<usize> = const { Cell::new(0) };
    }

    /// Called by every RSA private-key operation, so tests can tell whether one ran.
    pub(super) fn count_private_key_operation() {
        PRIVATE_KEY_OPERATIONS.with(|count| count.set(count.get() + 1));
    }

    /// How many RSA private-key operations this thread has run.
    pub(crate) fn private_key_operations() -> usize {
        PRIVATE_KEY_OPERATIONS.with(Cell::get)
    }

    /// Called by every AES-GCM opening.
    pub(super) fn count_content_decryption() {
        CONTENT_DECRYPTIONS.with(|count| count.set(count.get() + 1));
    }

    const KID: &str = "enc-2026";
    const KEY: &str = include_str!("../../tests/data/jwe/rsa2048_enc.pem");
    const SPKI: &str = include_str!("../../tests/data/jwe/rsa2048_enc.pub.pem");
    const CERTIFICATE: &str = include_str!("../../tests/data/jwe/rsa2048_enc.crt.pem");

    fn fixtures() -> Value {
        serde_json::from_str(include_str!("../../tests/data/jwe/fixtures.json")).unwrap()
    }

    fn fixture(group: &str, name: &str) -> String {
        fixtures()[group][name].as_str().unwrap().to_owned()
    }

    fn inner_jws() -> String {
        fixtures()["inner_jws"].as_str().unwrap().to_owned()
    }

    fn repo_key(name: &str) -> String {
        let path = format!("{}/tests/data/keys/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).unwrap()
    }

    /// The fixture key, registered with `alg` and `kid`.
    fn key(alg: &str, kid: Option<&str>) -> DecryptionKey {
        DecryptionKey::from_pkcs8_pem(KEY, alg, kid, SPKI).unwrap()
    }

    fn keys(alg: &str, kid: Option<&str>) -> JweDecryptionKeys {
        JweDecryptionKeys::new(vec![key(alg, kid)]).unwrap()
    }

    /// Decrypts `token`, and counts the private-key operations that took.
    fn run(
        token: &str,
        keys: &JweDecryptionKeys,
        rules: JweRules,
    ) -> (Result<String, JweError>, usize) {
        let before = PRIVATE_KEY_OPERATIONS.with(Cell::get);
        let result = decrypt(token, keys, rules);
        (result, PRIVATE_KEY_OPERATIONS.with(Cell::get) - before)
    }

    /// The failure of `token` under the fixture key registered with RSA-OAEP-256 and `KID`,
    /// which must come before any private-key operation.
    fn refused_before_rsa(token: &str) -> JweFailure {
        let (result, operations) = run(token, &keys("RSA-OAEP-256", Some(KID)), JweRules::AUTH0);
        assert_eq!(operations, 0, "{token}");
        result.unwrap_err().failure()
    }

    fn b64(bytes: impl AsRef<[u8]>) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn unb64(segment: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(segment).unwrap()
    }

    /// `token` with its segment `index` replaced by `segment`.
    fn with_segment(token: &str, index: usize, segment: &str) -> String {
        let mut segments: Vec<&str> = token.split('.').collect();
        segments[index] = segment;
        segments.join(".")
    }

    /// A valid token (RSA-OAEP-256, A256GCM, `KID`) with the protected header `json` instead:
    /// its tag no longer verifies, so only a refusal before the RSA step is a pass.
    fn with_header(json: &str) -> String {
        with_segment(&fixture("valid", "oaep256_kid_cty"), 0, &b64(json))
    }

    /// The PEM `PUBLIC KEY` block of the key in the PKCS#8 PEM `private_pem`.
    fn spki_pem_of(private_pem: &str) -> String {
        let (_, der) = pem_block(private_pem).unwrap();
        let public = PrivateDecryptingKey::from_pkcs8(&der).unwrap().public_key();
        pem("PUBLIC KEY", public.as_der().unwrap().as_ref(), "\n")
    }

    fn pem(label: &str, der: &[u8], newline: &str) -> String {
        let body = STANDARD.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|line| std::str::from_utf8(line).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----{newline}{}{newline}-----END {label}-----{newline}",
            lines.join(newline)
        )
    }

    /// A fresh RSA-2048 key: its PKCS#8 PEM and its PUBLIC KEY PEM.
    fn fresh_key() -> (String, String) {
        let private = PrivateDecryptingKey::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 = pem("PRIVATE KEY", private.as_der().unwrap().as_ref(), "\n");
        let spki = spki_pem_of(&pkcs8);
        (pkcs8, spki)
    }

    #[test]
    fn python_made_tokens_decrypt_to_the_inner_jws() {
        // jwcrypto's (RSA-OAEP-256) and cryptography's (-384, -512), each with and without
        // kid and cty.
        for (name, token) in fixtures()["valid"].as_object().unwrap() {
            let token = token.as_str().unwrap();
            let header: Value =
                serde_json::from_slice(&unb64(token.split('.').next().unwrap())).unwrap();
            let alg = header["alg"].as_str().unwrap();
            let kid = header["kid"].as_str();
            let (result, operations) = run(token, &keys(alg, kid), JweRules::AUTH0);
            assert_eq!(result, Ok(inner_jws()), "{name}");
            assert_eq!(operations, 1, "{name}");
            // With no kid registered, a token's kid cannot change which key is tried.
            let (result, _) = run(token, &keys(alg, None), JweRules::AUTH0);
            assert_eq!(result, Ok(inner_jws()), "{name}");
        }
    }

    #[test]
    fn the_inner_jws_is_then_verified_like_any_token() {
        // Decryption proves nothing about the signer: the validator still checks the JWS.
        let inner = decrypt(
            &fixture("valid", "oaep256_kid_cty"),
            &keys("RSA-OAEP-256", Some(KID)),
            JweRules::AUTH0,
        )
        .unwrap();
        let verified = validator().verify(&inner, NOW, None).unwrap();
        assert_eq!(verified.subject(), Some("client@clients"));
        let forged = format!("{}x", &inner[..inner.len() - 1]);
        assert!(validator().verify(&forged, NOW, None).is_err());
    }

    #[test]
    fn the_registration_pem_may_be_spki_or_a_certificate_with_crlf() {
        assert!(CERTIFICATE.contains("-----BEGIN CERTIFICATE-----\r\n"));
        let lf_certificate = CERTIFICATE.replace("\r\n", "\n");
        let crlf_spki = SPKI.replace('\n', "\r\n");
        for registration in [SPKI, &crlf_spki, CERTIFICATE, &lf_certificate] {
            let key = DecryptionKey::from_pkcs8_pem(KEY, "RSA-OAEP-256", Some(KID), registration)
                .unwrap();
            let keys = JweDecryptionKeys::new(vec![key]).unwrap();
            let token = fixture("valid", "oaep256_kid_cty");
            assert_eq!(decrypt(&token, &keys, JweRules::AUTH0), Ok(inner_jws()));
        }
    }

    #[test]
    fn a_private_key_that_is_not_the_registrations_is_refused() {
        let other = spki_pem_of(&repo_key("rsa2048.pem"));
        assert_eq!(
            DecryptionKey::from_pkcs8_pem(KEY, "RSA-OAEP-256", None, &other).unwrap_err(),
            JweKeyError::PublicKeyMismatch
        );
        assert_eq!(
            DecryptionKey::from_pkcs8_pem(&repo_key("rsa2048.pem"), "RSA-OAEP-256", None, SPKI)
                .unwrap_err(),
            JweKeyError::PublicKeyMismatch
        );
        assert!(
            JweKeyError::PublicKeyMismatch
                .to_string()
                .contains("does not match")
        );
    }

    #[test]
    fn keys_and_registrations_that_do_not_fit_are_refused() {
        let made = |private: &str, alg: &str, kid: Option<&str>, registration: &str| {
            DecryptionKey::from_pkcs8_pem(private, alg, kid, registration).map(|_| ())
        };
        for alg in [
            "RSA-OAEP",
            "RSA1_5",
            "dir",
            "rsa-oaep-256",
            "RSA-OAEP-256 ",
            "RS256",
            "",
        ] {
            assert_eq!(
                made(KEY, alg, None, SPKI),
                Err(JweKeyError::UnsupportedAlgorithm { alg: alg.into() }),
                "{alg}"
            );
        }
        assert_eq!(
            made(KEY, "RSA-OAEP-256", Some(""), SPKI),
            Err(JweKeyError::EmptyKeyId)
        );
        let pkcs1 = KEY.replace("PRIVATE KEY", "RSA PRIVATE KEY");
        for not_pem in ["", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", SPKI, &pkcs1] {
            assert_eq!(
                made(not_pem, "RSA-OAEP-256", None, SPKI),
                Err(JweKeyError::NotPrivateKeyPem)
            );
        }
        for small_or_not_rsa in ["rsa1024.pem", "p256.pem", "ed25519.pem"] {
            assert_eq!(
                made(&repo_key(small_or_not_rsa), "RSA-OAEP-256", None, SPKI),
                Err(JweKeyError::Rejected),
                "{small_or_not_rsa}"
            );
        }
        let pkcs1_public = SPKI.replace("PUBLIC KEY", "RSA PUBLIC KEY");
        for not_pem in ["", "MIIBIjANBgkq", KEY, &pkcs1_public] {
            assert_eq!(
                made(KEY, "RSA-OAEP-256", None, not_pem),
                Err(JweKeyError::NotPublicKeyPem)
            );
        }
        let (_, cert_der) = pem_block(CERTIFICATE).unwrap();
        let truncated = pem("CERTIFICATE", &cert_der[..cert_der.len() / 2], "\r\n");
        let ec = spki_of_ec();
        for rejected in [
            truncated.as_str(),
            &ec,
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        ] {
            assert_eq!(
                made(KEY, "RSA-OAEP-256", None, rejected),
                Err(JweKeyError::PublicKeyRejected),
                "{rejected}"
            );
        }
    }

    /// The PUBLIC KEY PEM of the repository's P-256 key.
    fn spki_of_ec() -> String {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
        let (_, der) = pem_block(&repo_key("p256.pem")).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).unwrap();
        pem(
            "PUBLIC KEY",
            pair.public_key().as_der().unwrap().as_ref(),
            "\n",
        )
    }

    #[test]
    fn key_sets_need_one_to_four_keys_with_distinct_kids() {
        assert_eq!(
            JweDecryptionKeys::new(vec![]).unwrap_err(),
            JweKeyError::NoKeys
        );
        let five = (0..5)
            .map(|i| key("RSA-OAEP-256", Some(&format!("k{i}"))))
            .collect();
        assert_eq!(
            JweDecryptionKeys::new(five).unwrap_err(),
            JweKeyError::TooManyKeys { max: 4 }
        );
        let four = (0..4)
            .map(|i| key("RSA-OAEP-256", Some(&format!("k{i}"))))
            .collect();
        assert!(JweDecryptionKeys::new(four).is_ok());
        assert_eq!(
            JweDecryptionKeys::new(vec![
                key("RSA-OAEP-256", Some("a")),
                key("RSA-OAEP-256", None),
                key("RSA-OAEP-384", Some("a")),
            ])
            .unwrap_err(),
            JweKeyError::DuplicateKeyId { kid: "a".into() }
        );
        assert!(
            JweDecryptionKeys::new(vec![key("RSA-OAEP-256", None), key("RSA-OAEP-256", None)])
                .is_ok()
        );
    }

    #[test]
    fn a_plain_jws_is_refused_as_not_encrypted_before_any_private_key_operation() {
        for jws in [inner_jws(), "a.b.c".to_owned(), "..".to_owned()] {
            let failure = refused_before_rsa(&jws);
            assert_eq!(failure, JweFailure::Signed, "{jws}");
            assert_eq!(JweError::from(failure).kind(), TokenErrorKind::NotEncrypted);
        }
    }

    #[test]
    fn the_form_is_checked_before_any_private_key_operation() {
        let valid = fixture("valid", "oaep256_kid_cty");
        let segments: Vec<&str> = valid.split('.').collect();
        let mut cases: Vec<(String, String)> = vec![
            ("empty".into(), String::new()),
            ("four segments".into(), segments[..4].join(".")),
            ("six segments".into(), format!("{valid}.AAAA")),
            ("a trailing dot".into(), format!("{valid}.")),
            (
                "a header over 512 characters".into(),
                with_header(&format!(
                    r#"{{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"{KID}","x":"{}"}}"#,
                    "a".repeat(400)
                )),
            ),
        ];
        for index in 0..5 {
            cases.push((
                format!("segment {index} empty"),
                with_segment(&valid, index, ""),
            ));
        }
        for (index, segment) in segments.iter().enumerate() {
            for bad in ["+", "/", "=", " ", "!"] {
                let mut broken = segment.to_string();
                broken.replace_range(1..2, bad);
                cases.push((
                    format!("{bad:?} in segment {index}"),
                    with_segment(&valid, index, &broken),
                ));
            }
            // Padding is not base64url's: the same bytes with `=` are refused.
            cases.push((
                format!("padding on segment {index}"),
                with_segment(&valid, index, &format!("{segment}==")),
            ));
        }
        for (name, token) in cases {
            let failure = refused_before_rsa(&token);
            assert!(
                matches!(
                    failure,
                    JweFailure::Form
                        | JweFailure::Base64
                        | JweFailure::TagLength
                        | JweFailure::IvLength
                        | JweFailure::EncryptedKeyLength
                ),
                "{name}: {failure:?}"
            );
            assert_eq!(
                JweError::from(failure).kind(),
                TokenErrorKind::Malformed,
                "{name}"
            );
        }
    }

    #[test]
    fn the_header_is_checked_before_any_private_key_operation() {
        use JweFailure as F;
        use TokenErrorKind as K;
        let ok =
            |rest: &str| format!(r#"{{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"{KID}"{rest}}}"#);
        for (json, failure, kind) in [
            // alg: exactly the registration's; never RSA1_5, dir or SHA-1 RSA-OAEP.
            (
                r#"{"alg":"RSA1_5","enc":"A256GCM","kid":"enc-2026"}"#.to_owned(),
                F::Algorithm,
                K::UnsupportedEncryption,
            ),
            (
                r#"{"alg":"dir","enc":"A256GCM","kid":"enc-2026"}"#.to_owned(),
                F::Algorithm,
                K::UnsupportedEncryption,
            ),
            (
                r#"{"alg":"RSA-OAEP","enc":"A256GCM","kid":"enc-2026"}"#.to_owned(),
                F::Algorithm,
                K::UnsupportedEncryption,
            ),
            (
                r#"{"alg":"RSA-OAEP-384","enc":"A256GCM","kid":"enc-2026"}"#.to_owned(),
                F::Algorithm,
                K::UnsupportedEncryption,
            ),
            (
                r#"{"alg":"rsa-oaep-256","enc":"A256GCM","kid":"enc-2026"}"#.to_owned(),
                F::Algorithm,
                K::UnsupportedEncryption,
            ),
            (
                r#"{"alg":"none","enc":"A256GCM","kid":"enc-2026"}"#.to_owned(),
                F::Algorithm,
                K::UnsupportedEncryption,
            ),
            (
                r#"{"alg":"HS256","enc":"A256GCM","kid":"enc-2026"}"#.to_owned(),
                F::Algorithm,
                K::UnsupportedEncryption,
            ),
            (
                r#"{"enc":"A256GCM","kid":"enc-2026"}"#.to_owned(),
                F::Algorithm,
                K::UnsupportedEncryption,
            ),
            // enc: A256GCM unless widened.
            (
                r#"{"alg":"RSA-OAEP-256","enc":"A128GCM","kid":"enc-2026"}"#.to_owned(),
                F::Encryption,
                K::UnsupportedEncryption,
            ),
            (
                r#"{"alg":"RSA-OAEP-256","enc":"A192GCM","kid":"enc-2026"}"#.to_owned(),
                F::Encryption,
                K::UnsupportedEncryption,
            ),
            (
                r#"{"alg":"RSA-OAEP-256","enc":"A128CBC-HS256","kid":"enc-2026"}"#.to_owned(),
                F::Encryption,
                K::UnsupportedEncryption,
            ),
            (
                r#"{"alg":"RSA-OAEP-256","enc":"a256gcm","kid":"enc-2026"}"#.to_owned(),
                F::Encryption,
                K::UnsupportedEncryption,
            ),
            (
                r#"{"alg":"RSA-OAEP-256","kid":"enc-2026"}"#.to_owned(),
                F::Encryption,
                K::UnsupportedEncryption,
            ),
            // zip, whatever its value; crit, whatever it lists.
            (
                ok(r#","zip":"DEF""#),
                F::Compressed,
                K::UnsupportedEncryption,
            ),
            (
                ok(r#","zip":null"#),
                F::Compressed,
                K::UnsupportedEncryption,
            ),
            (
                ok(r#","crit":["exp"],"exp":1"#),
                F::Critical,
                K::CriticalHeader,
            ),
            (ok(r#","crit":[]"#), F::Critical, K::CriticalHeader),
            // crit is refused before alg is looked at, as for a JWS.
            (
                r#"{"alg":"RSA1_5","enc":"A256GCM","crit":["x"]}"#.to_owned(),
                F::Critical,
                K::CriticalHeader,
            ),
            // cty: JWT or absent.
            (
                ok(r#","cty":"json""#),
                F::ContentType,
                K::UnsupportedEncryption,
            ),
            (
                ok(r#","cty":"JWS""#),
                F::ContentType,
                K::UnsupportedEncryption,
            ),
            (ok(r#","cty":"""#), F::ContentType, K::UnsupportedEncryption),
            // kid: exactly the registration's.
            (
                r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"enc-2025"}"#.to_owned(),
                F::UnknownKid,
                K::UnknownKeyId,
            ),
            (
                r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"ENC-2026"}"#.to_owned(),
                F::UnknownKid,
                K::UnknownKeyId,
            ),
            (
                r#"{"alg":"RSA-OAEP-256","enc":"A256GCM"}"#.to_owned(),
                F::MissingKid,
                K::UnknownKeyId,
            ),
            // Not JSON, not an object, a member of the wrong type, a member read twice.
            ("{".to_owned(), F::HeaderJson, K::Malformed),
            ("[]".to_owned(), F::HeaderJson, K::Malformed),
            (ok("} "), F::HeaderJson, K::Malformed),
            (
                r#"{"alg":["RSA-OAEP-256"],"enc":"A256GCM"}"#.to_owned(),
                F::HeaderJson,
                K::Malformed,
            ),
            (
                r#"{"alg":"RSA-OAEP-256","enc":256}"#.to_owned(),
                F::HeaderJson,
                K::Malformed,
            ),
            (ok(r#","kid":1"#), F::HeaderJson, K::Malformed),
            (ok(r#","cty":1"#), F::HeaderJson, K::Malformed),
            (ok(r#","alg":"RSA-OAEP-256""#), F::HeaderJson, K::Malformed),
            (ok(r#","enc":"A256GCM""#), F::HeaderJson, K::Malformed),
            (ok(r#","kid":"enc-2026""#), F::HeaderJson, K::Malformed),
            (
                ok(r#","cty":"JWT","cty":"JWT""#),
                F::HeaderJson,
                K::Malformed,
            ),
            (
                ok(r#","zip":"DEF","zip":"DEF""#),
                F::HeaderJson,
                K::Malformed,
            ),
            (ok(r#","crit":[],"crit":[]"#), F::HeaderJson, K::Malformed),
        ] {
            assert_eq!(refused_before_rsa(&with_header(&json)), failure, "{json}");
            assert_eq!(JweError::from(failure).kind(), kind, "{json}");
        }
        let invalid_utf8 = with_segment(
            &fixture("valid", "oaep256_kid_cty"),
            0,
            &b64(b"{\"alg\":\"\xff\"}"),
        );
        assert_eq!(refused_before_rsa(&invalid_utf8), F::HeaderJson);
    }

    #[test]
    fn headers_that_pass_the_checks() {
        // Accepted headers: the decryption then fails only at the tag, because the header
        // is the AAD, and that is the proof that the header check let them through.
        let keys = keys("RSA-OAEP-256", Some(KID));
        for json in [
            format!(r#"{{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"{KID}"}}"#),
            format!(r#"{{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"{KID}","cty":"JWT"}}"#),
            format!(r#"{{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"{KID}","cty":"jwt"}}"#),
            format!(
                r#"{{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"{KID}","cty":"application/JWT"}}"#
            ),
            r#"{"enc":"A256GCM","kid":"enc-\u0032026","alg":"RSA-OAEP-256"}"#.to_owned(),
            // Unknown members are ignored, twice too, and so are jku, jwk and x5u.
            format!(r#"{{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"{KID}","x":1,"x":2}}"#),
            format!(
                r#"{{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"{KID}","jku":"https://evil.example/","jwk":{{}},"x5u":"x"}}"#
            ),
            format!(r#"{{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"{KID}","typ":"JWT"}}"#),
        ] {
            let (result, operations) = run(&with_header(&json), &keys, JweRules::AUTH0);
            assert_eq!(result.unwrap_err().failure(), JweFailure::Tag, "{json}");
            assert_eq!(operations, 1, "{json}");
        }
        // Without a registered kid, the token's is not read, whatever its shape.
        let unlabelled = keys_without_kid();
        for json in [
            r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":1}"#,
            r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"a","kid":"b"}"#,
            r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"anything"}"#,
        ] {
            let (result, _) = run(&with_header(json), &unlabelled, JweRules::AUTH0);
            assert_eq!(result.unwrap_err().failure(), JweFailure::Tag, "{json}");
        }
    }

    fn keys_without_kid() -> JweDecryptionKeys {
        keys("RSA-OAEP-256", None)
    }

    #[test]
    fn python_made_refusals_come_before_any_private_key_operation() {
        use JweFailure as F;
        let expected = [
            ("alg_rsa1_5", F::Algorithm),
            ("alg_dir", F::Algorithm),
            ("alg_rsa_oaep_sha1", F::Algorithm),
            ("enc_a128gcm", F::Encryption),
            ("zip_def", F::Compressed),
            ("crit", F::Critical),
            ("cty_json", F::ContentType),
            ("duplicate_alg", F::HeaderJson),
            ("duplicate_enc", F::HeaderJson),
            ("wrong_kid", F::UnknownKid),
            ("iv_16_bytes", F::IvLength),
            ("encrypted_key_3072_bits", F::EncryptedKeyLength),
        ];
        let fixtures = fixtures();
        let all = fixtures["refused_before_rsa"].as_object().unwrap();
        assert_eq!(all.len(), expected.len());
        for (name, failure) in expected {
            assert_eq!(
                refused_before_rsa(all[name].as_str().unwrap()),
                failure,
                "{name}"
            );
        }
    }

    #[test]
    fn rfc7516_a1_is_refused_by_its_header_and_its_content_step_matches() {
        let a1: Value =
            serde_json::from_str(include_str!("../../tests/data/jwe/rfc7516_a1.json")).unwrap();
        let token = a1["token"].as_str().unwrap();
        // RSA-OAEP with SHA-1 is not one of Auth0's algorithms: refused unread, even
        // without a registered kid.
        assert_eq!(refused_before_rsa(token), JweFailure::Algorithm);
        let (result, operations) = run(token, &keys_without_kid(), JweRules::AUTH0);
        assert_eq!(
            (result.unwrap_err().kind(), operations),
            (TokenErrorKind::UnsupportedEncryption, 0)
        );
        // The content step against the published CEK (A.1.2), IV, ciphertext and tag.
        let cek = unb64(fixtures()["rfc7516_a1_cek"].as_str().unwrap());
        assert_eq!(cek[..4], [177, 161, 244, 128]);
        let segments: Vec<&str> = token.split('.').collect();
        let iv: [u8; IV_LEN] = unb64(segments[2]).try_into().unwrap();
        let mut sealed = [unb64(segments[3]), unb64(segments[4])].concat();
        let len = open(
            ContentEncryption::A256Gcm,
            &cek,
            iv,
            segments[0],
            &mut sealed,
        )
        .unwrap();
        assert_eq!(&sealed[..len], a1["plaintext"].as_str().unwrap().as_bytes());
        // The AAD is the header's encoded text: the same JSON encoded otherwise fails.
        let mut sealed = [unb64(segments[3]), unb64(segments[4])].concat();
        let other = b64(unb64(segments[0]));
        assert_eq!(other, segments[0]);
        assert_eq!(
            open(
                ContentEncryption::A256Gcm,
                &cek,
                iv,
                &format!("{other}A"),
                &mut sealed
            ),
            None
        );
    }

    #[test]
    fn every_failure_after_the_header_gives_one_answer() {
        use JweFailure as F;
        let expected = [
            ("wrapped_with_sha1", F::KeyUnwrap),
            ("wrapped_for_other_key", F::KeyUnwrap),
            ("cek_16_bytes", F::CekLength),
            ("cek_24_bytes", F::CekLength),
            ("aad_of_another_header", F::Tag),
            ("plaintext_not_jws", F::NotJws),
            ("plaintext_json", F::NotJws),
            ("plaintext_two_segments", F::NotJws),
            ("plaintext_not_utf8", F::NotUtf8),
            ("plaintext_jwe", F::NestedJwe),
        ];
        let fixtures = fixtures();
        let all = fixtures["undecryptable"].as_object().unwrap();
        assert_eq!(all.len(), expected.len());
        let keys = keys("RSA-OAEP-256", Some(KID));
        for (name, failure) in expected {
            let (result, operations) = run(all[name].as_str().unwrap(), &keys, JweRules::AUTH0);
            let err = result.unwrap_err();
            assert_eq!((err.failure(), operations), (failure, 1), "{name}");
            assert_eq!(err.kind(), TokenErrorKind::Undecryptable, "{name}");
            assert_eq!(
                TokenError::from(err.kind()).to_string(),
                "The access token cannot be decrypted"
            );
        }
    }

    #[test]
    fn a_tampered_byte_in_any_segment_is_undecryptable() {
        let valid = fixture("valid", "oaep256_kid_cty");
        let keys = keys("RSA-OAEP-256", Some(KID));
        let segments: Vec<&str> = valid.split('.').collect();
        // The header: one byte more (a space), still a header that passes every check.
        let header = String::from_utf8(unb64(segments[0]))
            .unwrap()
            .replacen(':', ": ", 1);
        let mut tampered = vec![(0, with_segment(&valid, 0, &b64(header)), JweFailure::Tag)];
        for (index, failure) in [
            (1, JweFailure::KeyUnwrap),
            (2, JweFailure::Tag),
            (3, JweFailure::Tag),
            (4, JweFailure::Tag),
        ] {
            for at in [0, unb64(segments[index]).len() - 1] {
                let mut bytes = unb64(segments[index]);
                bytes[at] ^= 0x01;
                tampered.push((index, with_segment(&valid, index, &b64(bytes)), failure));
            }
        }
        for (index, token, failure) in tampered {
            let (result, operations) = run(&token, &keys, JweRules::AUTH0);
            let err = result.unwrap_err();
            assert_eq!((err.failure(), operations), (failure, 1), "segment {index}");
            assert_eq!(err.kind(), TokenErrorKind::Undecryptable, "segment {index}");
        }
    }

    #[test]
    fn lengths_are_checked_before_any_private_key_operation() {
        let valid = fixture("valid", "oaep256_kid_cty");
        let segments: Vec<&str> = valid.split('.').collect();
        let resized = |index: usize, len: usize| {
            let mut bytes = unb64(segments[index]);
            bytes.resize(len, 7);
            with_segment(&valid, index, &b64(bytes))
        };
        for (token, failure) in [
            (resized(1, 255), JweFailure::EncryptedKeyLength),
            (resized(1, 257), JweFailure::EncryptedKeyLength),
            (resized(1, 1), JweFailure::EncryptedKeyLength),
            (resized(1, 2000), JweFailure::EncryptedKeyLength),
            (resized(2, 11), JweFailure::IvLength),
            (resized(2, 13), JweFailure::IvLength),
            (resized(2, 16), JweFailure::IvLength),
            (resized(2, 1), JweFailure::IvLength),
            (resized(4, 15), JweFailure::TagLength),
            (resized(4, 17), JweFailure::TagLength),
            (resized(4, 12), JweFailure::TagLength),
            (resized(4, 64), JweFailure::TagLength),
        ] {
            assert_eq!(refused_before_rsa(&token), failure);
        }
    }

    #[test]
    fn garbage_of_the_right_shape_costs_one_private_key_operation() {
        let valid = fixture("valid", "oaep256_kid_cty");
        let garbage = with_segment(&valid, 1, &b64([0x5a; 256]));
        let (result, operations) = run(&garbage, &keys("RSA-OAEP-256", Some(KID)), JweRules::AUTH0);
        assert_eq!(
            (result.unwrap_err().failure(), operations),
            (JweFailure::KeyUnwrap, 1)
        );
    }

    #[test]
    fn a_key_that_does_not_unwrap_still_runs_aes_gcm() {
        // The same work whether RSA-OAEP, the CEK's length or the tag failed: a random CEK
        // stands in, and AES-GCM runs once either way (RFC 7516 §11.5).
        let keys = keys("RSA-OAEP-256", Some(KID));
        let valid = fixture("valid", "oaep256_kid_cty");
        let garbage = with_segment(&valid, 1, &b64([0x5a; 256]));
        let undecryptable = fixtures()["undecryptable"].clone();
        for token in [
            garbage.as_str(),
            undecryptable["wrapped_for_other_key"].as_str().unwrap(),
            undecryptable["cek_16_bytes"].as_str().unwrap(),
            undecryptable["aad_of_another_header"].as_str().unwrap(),
            &valid,
        ] {
            let before = CONTENT_DECRYPTIONS.with(Cell::get);
            let _ = decrypt(token, &keys, JweRules::AUTH0);
            assert_eq!(CONTENT_DECRYPTIONS.with(Cell::get) - before, 1, "{token}");
        }
        let before = CONTENT_DECRYPTIONS.with(Cell::get);
        assert!(decrypt(&with_header("{}"), &keys, JweRules::AUTH0).is_err());
        assert_eq!(CONTENT_DECRYPTIONS.with(Cell::get), before);
    }

    #[test]
    fn a_widened_enc_is_accepted_only_when_asked_for() {
        let token = fixture("refused_before_rsa", "enc_a128gcm");
        let keys = keys_without_kid();
        let (result, operations) = run(&token, &keys, JweRules::AUTH0);
        assert_eq!(
            (result.unwrap_err().failure(), operations),
            (JweFailure::Encryption, 0)
        );
        let widened = JweRules::AUTH0.widen(ContentEncryption::A128Gcm);
        assert_eq!(decrypt(&token, &keys, widened), Ok(inner_jws()));
        assert_eq!(format!("{widened:?}"), r#"{"A256GCM", "A128GCM"}"#);
        // A 32-byte CEK under an A128GCM header is the wrong length.
        let a256 = fixture("valid", "oaep256_no_kid");
        let header = b64(r#"{"alg":"RSA-OAEP-256","enc":"A128GCM"}"#);
        let (result, _) = run(&with_segment(&a256, 0, &header), &keys, widened);
        assert_eq!(result.unwrap_err().failure(), JweFailure::CekLength);
    }

    #[cfg(feature = "issuer")]
    #[test]
    fn the_kid_picks_the_key_and_keys_are_tried_in_order() {
        let (old_private, old_public) = fresh_key();
        let old = |kid: Option<&str>| {
            DecryptionKey::from_pkcs8_pem(&old_private, "RSA-OAEP-256", kid, &old_public).unwrap()
        };
        let for_old = TokenEncryptionKey::from_pem(&old_public, Some("old"))
            .unwrap()
            .encrypt(&inner_jws())
            .unwrap();
        let for_old_no_kid = TokenEncryptionKey::from_pem(&old_public, None)
            .unwrap()
            .encrypt(&inner_jws())
            .unwrap();
        let current = fixture("valid", "oaep256_kid_cty");
        let current_no_kid = fixture("valid", "oaep256_no_kid");

        // Both labelled: the kid picks the one key, and only it is tried.
        let labelled =
            JweDecryptionKeys::new(vec![key("RSA-OAEP-256", Some(KID)), old(Some("old"))]).unwrap();
        for token in [&current, &for_old] {
            let (result, operations) = run(token, &labelled, JweRules::AUTH0);
            assert_eq!((result, operations), (Ok(inner_jws()), 1));
        }
        assert_eq!(
            refused_in(&labelled, &for_old_no_kid),
            JweFailure::MissingKid
        );

        // Unlabelled: tried in order; the second key's token costs two operations.
        let unlabelled =
            JweDecryptionKeys::new(vec![key("RSA-OAEP-256", None), old(None)]).unwrap();
        for (token, cost) in [(&current_no_kid, 1), (&for_old_no_kid, 2), (&for_old, 2)] {
            let (result, operations) = run(token, &unlabelled, JweRules::AUTH0);
            assert_eq!((result, operations), (Ok(inner_jws()), cost));
        }

        // Mixed: a token without kid goes to the unlabelled key only.
        let mixed =
            JweDecryptionKeys::new(vec![key("RSA-OAEP-256", Some(KID)), old(None)]).unwrap();
        let (result, operations) = run(&for_old_no_kid, &mixed, JweRules::AUTH0);
        assert_eq!((result, operations), (Ok(inner_jws()), 1));
        let (result, operations) = run(&current_no_kid, &mixed, JweRules::AUTH0);
        assert_eq!(
            (result.unwrap_err().failure(), operations),
            (JweFailure::KeyUnwrap, 1)
        );
        assert_eq!(refused_in(&mixed, &for_old), JweFailure::UnknownKid);

        // A key of another algorithm than the header's is never tried.
        let other_alg =
            JweDecryptionKeys::new(vec![key("RSA-OAEP-384", Some(KID)), old(Some("old"))]).unwrap();
        assert_eq!(refused_in(&other_alg, &current), JweFailure::Algorithm);
        let (result, operations) = run(&for_old, &other_alg, JweRules::AUTH0);
        assert_eq!((result, operations), (Ok(inner_jws()), 1));
    }

    /// The failure of `token` with `keys`, which must come before any private-key operation.
    fn refused_in(keys: &JweDecryptionKeys, token: &str) -> JweFailure {
        let (result, operations) = run(token, keys, JweRules::AUTH0);
        assert_eq!(operations, 0);
        result.unwrap_err().failure()
    }

    #[cfg(feature = "issuer")]
    #[test]
    fn our_encryption_round_trips_and_has_auth0s_header() {
        for (registration, kid) in [(SPKI, Some(KID)), (CERTIFICATE, None)] {
            let key = TokenEncryptionKey::from_pem(registration, kid).unwrap();
            let first = key.encrypt(&inner_jws()).unwrap();
            let second = key.encrypt(&inner_jws()).unwrap();
            // A fresh CEK and IV each time.
            let parts = |token: &str| token.split('.').map(str::to_owned).collect::<Vec<_>>();
            let (a, b) = (parts(&first), parts(&second));
            assert_eq!(a[0], b[0]);
            assert!(a[1] != b[1] && a[2] != b[2] && a[3] != b[3]);
            let header: Value = serde_json::from_slice(&unb64(&a[0])).unwrap();
            let mut expected =
                serde_json::json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "JWT"});
            if let Some(kid) = kid {
                expected["kid"] = kid.into();
            }
            assert_eq!(header, expected);
            assert_eq!(
                (unb64(&a[1]).len(), unb64(&a[2]).len(), unb64(&a[4]).len()),
                (256, 12, 16)
            );
            let keys = keys("RSA-OAEP-256", kid);
            assert_eq!(decrypt(&first, &keys, JweRules::AUTH0), Ok(inner_jws()));
            assert_eq!(decrypt(&second, &keys, JweRules::AUTH0), Ok(inner_jws()));
        }
        // RSA-OAEP-384 and -512, for registrations that name them.
        for alg in ["RSA-OAEP-384", "RSA-OAEP-512"] {
            let key = TokenEncryptionKey::from_pem(SPKI, None)
                .unwrap()
                .with_alg(alg)
                .unwrap();
            let token = key.encrypt(&inner_jws()).unwrap();
            let header: Value =
                serde_json::from_slice(&unb64(token.split('.').next().unwrap())).unwrap();
            assert_eq!(header["alg"], alg);
            assert_eq!(
                decrypt(&token, &keys(alg, None), JweRules::AUTH0),
                Ok(inner_jws())
            );
            // Not with a key registered for another algorithm.
            assert!(decrypt(&token, &keys("RSA-OAEP-256", None), JweRules::AUTH0).is_err());
        }
        let key = TokenEncryptionKey::from_pem(SPKI, None).unwrap();
        let nested = fixture("valid", "oaep256_no_kid");
        for not_signed in ["", "a.b", nested.as_str()] {
            assert_eq!(key.encrypt(not_signed), Err(JweKeyError::NotSigned));
        }
        // A kid that needs escaping is written as JSON.
        let quoted = TokenEncryptionKey::from_pem(SPKI, Some("a\"b")).unwrap();
        let token = quoted.encrypt(&inner_jws()).unwrap();
        let header: Value =
            serde_json::from_slice(&unb64(token.split('.').next().unwrap())).unwrap();
        assert_eq!(header["kid"], "a\"b");
        assert_eq!(
            decrypt(&token, &keys("RSA-OAEP-256", Some("a\"b")), JweRules::AUTH0),
            Ok(inner_jws())
        );
        assert_eq!(
            TokenEncryptionKey::from_pem(SPKI, Some("")).unwrap_err(),
            JweKeyError::EmptyKeyId
        );
        assert_eq!(
            TokenEncryptionKey::from_pem(KEY, None).unwrap_err(),
            JweKeyError::NotPublicKeyPem
        );
        assert_eq!(
            TokenEncryptionKey::from_pem(&spki_of_ec(), None).unwrap_err(),
            JweKeyError::PublicKeyRejected
        );
    }

    #[cfg(feature = "issuer")]
    #[test]
    fn debug_never_shows_key_material() {
        let keys = JweDecryptionKeys::new(vec![key("RSA-OAEP-256", None)]).unwrap();
        let key = key("RSA-OAEP-256", Some(KID));
        let encrypting = TokenEncryptionKey::from_pem(SPKI, Some(KID)).unwrap();
        let private_body: String = KEY.lines().nth(1).unwrap().chars().take(16).collect();
        let public_body: String = SPKI.lines().nth(1).unwrap().chars().take(16).collect();
        for shown in [
            format!("{key:?}"),
            format!("{keys:?}"),
            format!("{encrypting:?}"),
        ] {
            assert!(
                !shown.contains(&private_body) && !shown.contains(&public_body),
                "{shown}"
            );
            assert!(shown.contains("2048"), "{shown}");
        }
        assert_eq!(
            format!("{key:?}"),
            r#"DecryptionKey { kid: Some("enc-2026"), alg: "RSA-OAEP-256", bits: 2048, private_key: "<redacted>" }"#
        );
    }

    #[test]
    fn hostile_tokens_never_panic() {
        let valid = fixture("valid", "oaep256_kid_cty");
        let keys = keys("RSA-OAEP-256", Some(KID));
        for len in 0..valid.len() {
            assert!(
                decrypt(&valid[..len], &keys, JweRules::AUTH0).is_err(),
                "{len}"
            );
        }
        for at in 0..valid.len() {
            for replacement in [".", "A", "\u{e9}"] {
                let mut token = valid.clone();
                token.replace_range(at..=at, replacement);
                if token != valid {
                    assert!(decrypt(&token, &keys, JweRules::AUTH0).is_err(), "{at}");
                }
            }
        }
    }

    #[test]
    fn certificate_reading_refuses_truncated_or_foreign_der() {
        let (_, der) = pem_block(CERTIFICATE).unwrap();
        let spki = certificate_spki(&der).unwrap();
        let (_, expected) = pem_block(SPKI).unwrap();
        assert_eq!(spki, &expected[..]);
        for len in 0..der.len() / 2 {
            assert_eq!(certificate_spki(&der[..len]), None, "{len}");
        }
        assert_eq!(certificate_spki(&expected), None);
        assert!(der_element(&[0x30, 0x84, 0, 0, 0, 1, 0], 0x30).is_none());
        let (element, rest) = der_element(&[0x02, 0x01, 7, 9], 0x02).unwrap();
        assert_eq!(
            (element.whole, element.contents, rest),
            (&[2u8, 1, 7][..], &[7u8][..], &[9u8][..])
        );
    }

    #[test]
    fn the_bench_entry_decrypts_and_refuses_like_decrypt() {
        let bench = JweBench::new(KEY, SPKI).unwrap();
        assert_eq!(
            bench.decrypt(&fixture("valid", "oaep256_no_kid")),
            Ok(inner_jws())
        );
        assert_eq!(
            bench.decrypt(&fixture("undecryptable", "plaintext_jwe")),
            Err(TokenErrorKind::Undecryptable)
        );
    }

    #[test]
    fn algorithm_names_are_exact() {
        for alg in KeyManagement::ALL {
            assert_eq!(KeyManagement::from_name(alg.name()), Some(alg));
        }
        for enc in ContentEncryption::ALL {
            assert_eq!(ContentEncryption::from_name(enc.name()), Some(enc));
        }
        for other in [
            "RSA-OAEP",
            "RSA1_5",
            "dir",
            "RSA-OAEP-256 ",
            "ECDH-ES",
            "A256KW",
        ] {
            assert_eq!(KeyManagement::from_name(other), None, "{other}");
        }
        for other in ["A128CBC-HS256", "A256CBC-HS512", "a256gcm", ""] {
            assert_eq!(ContentEncryption::from_name(other), None, "{other}");
        }
    }
}
