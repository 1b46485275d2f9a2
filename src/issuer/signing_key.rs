//! Private keys that sign RS256/384/512, PS256/384/512, ES256/384/512, EdDSA and Ed25519
//! tokens (features `issuer` and `jwks`), with aws-lc-rs, the library that verifies them,
//! and their public JWKs.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair,
    KeyPair as _, RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512, RSA_PSS_SHA256,
    RSA_PSS_SHA384, RSA_PSS_SHA512, RsaKeyPair, RsaSignatureEncoding,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::config::ConfigError;
use crate::keys::Algorithm;
use crate::keys::der::der_element;

/// A private key that signs access tokens with one asymmetric algorithm, under a key id
/// (`kid`): for [`TokenIssuer::with_signing_key`](crate::issuer::TokenIssuer::with_signing_key)
/// (features `issuer` and `jwks`).
///
/// Made from an unencrypted PKCS#8 private key ([`from_pkcs8_pem`](Self::from_pkcs8_pem),
/// [`from_pkcs8_der`](Self::from_pkcs8_der): `openssl genpkey` writes one), or fresh
/// ([`generate`](Self::generate): RSA-2048, P-256, P-384, P-521 or Ed25519). [`public_jwk`](Self::public_jwk)
/// and [`jwk_set`](Self::jwk_set) give what the issuer publishes, so a test can serve it as a
/// JWKS (or pass it to `static_jwks`).
///
/// The private key lives in aws-lc-rs, which clears it when the last clone is dropped; the
/// PKCS#8 bytes decoded from PEM are zeroized here. `Debug` shows the algorithm and the `kid`
/// only. Cloning shares the key.
///
/// # Example
///
/// ```
/// use bearer_guard::Algorithm;
/// use bearer_guard::issuer::SigningKey;
///
/// let key = SigningKey::generate(Algorithm::Es256, "2024-ec")?;
/// let jwk = key.public_jwk();
/// assert_eq!(jwk["kty"], "EC");
/// assert_eq!(jwk["kid"], "2024-ec");
/// assert!(jwk.get("d").is_none()); // never a private member
/// assert!(!format!("{key:?}").contains("PRIVATE"));
/// # Ok::<(), bearer_guard::issuer::SigningKeyError>(())
/// ```
#[derive(Clone)]
pub struct SigningKey {
    alg: Algorithm,
    kid: Arc<str>,
    pair: Arc<Pair>,
}

enum Pair {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// What kind of key signs `alg`.
#[derive(Clone, Copy)]
enum Kind {
    Rsa(&'static RsaSignatureEncoding),
    /// The curve's signing algorithm, and its JWK `crv`.
    Ecdsa(&'static EcdsaSigningAlgorithm, &'static str),
    Ed25519,
}

impl Kind {
    /// `None` for the HMAC algorithms, which sign with a secret.
    fn of(alg: Algorithm) -> Option<Self> {
        Some(match alg {
            Algorithm::Rs256 => Self::Rsa(&RSA_PKCS1_SHA256),
            Algorithm::Rs384 => Self::Rsa(&RSA_PKCS1_SHA384),
            Algorithm::Rs512 => Self::Rsa(&RSA_PKCS1_SHA512),
            Algorithm::Ps256 => Self::Rsa(&RSA_PSS_SHA256),
            Algorithm::Ps384 => Self::Rsa(&RSA_PSS_SHA384),
            Algorithm::Ps512 => Self::Rsa(&RSA_PSS_SHA512),
            Algorithm::Es256 => Self::Ecdsa(&ECDSA_P256_SHA256_FIXED_SIGNING, "P-256"),
            Algorithm::Es384 => Self::Ecdsa(&ECDSA_P384_SHA384_FIXED_SIGNING, "P-384"),
            Algorithm::Es512 => Self::Ecdsa(&ECDSA_P521_SHA512_FIXED_SIGNING, "P-521"),
            Algorithm::EdDsa | Algorithm::Ed25519 => Self::Ed25519,
            Algorithm::Hs256 | Algorithm::Hs384 | Algorithm::Hs512 => return None,
        })
    }
}

impl SigningKey {
    /// A new random key for `alg`, named `kid`: RSA-2048 for RS256/384/512 and
    /// PS256/384/512, P-256 for ES256, P-384 for ES384, P-521 for ES512, Ed25519 for EdDSA
    /// and Ed25519.
    ///
    /// # Errors
    ///
    /// [`SigningKeyError::NotAsymmetric`] for HS256, HS384 and HS512;
    /// [`SigningKeyError::EmptyKeyId`];
    /// [`SigningKeyError::Generation`] if the crypto library could not make a key.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::Algorithm;
    /// use bearer_guard::issuer::SigningKey;
    ///
    /// let key = SigningKey::generate(Algorithm::Rs256, "key-1")?;
    /// assert_eq!((key.alg(), key.kid()), (Algorithm::Rs256, "key-1"));
    ///
    /// let p521 = SigningKey::generate(Algorithm::Es512, "key-2")?;
    /// assert_eq!(p521.public_jwk()["crv"], "P-521");
    /// # Ok::<(), bearer_guard::issuer::SigningKeyError>(())
    /// ```
    pub fn generate(alg: Algorithm, kid: impl Into<String>) -> Result<Self, SigningKeyError> {
        let kind = Kind::of(alg).ok_or(SigningKeyError::NotAsymmetric)?;
        let kid = check_kid(kid.into())?;
        let pair = match kind {
            Kind::Rsa(_) => RsaKeyPair::generate(KeySize::Rsa2048).map(Pair::Rsa),
            Kind::Ecdsa(signing, _) => EcdsaKeyPair::generate(signing).map(Pair::Ecdsa),
            Kind::Ed25519 => Ed25519KeyPair::generate().map(Pair::Ed25519),
        }
        .map_err(|_| SigningKeyError::Generation)?;
        Ok(Self {
            alg,
            kid,
            pair: Arc::new(pair),
        })
    }

    /// The key in an unencrypted PKCS#8 document (DER), for `alg`, named `kid`. RSA keys
    /// must have 2048 to 8192 bits, as verifiers take them; ES256 needs a P-256 key, ES384 a
    /// P-384 key, ES512 a P-521 key, EdDSA and Ed25519 an Ed25519 key.
    ///
    /// # Errors
    ///
    /// [`SigningKeyError::NotAsymmetric`] for HS256, HS384 and HS512;
    /// [`SigningKeyError::EmptyKeyId`];
    /// [`SigningKeyError::Rejected`] when the document is not a private key that `alg` can use.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::Algorithm;
    /// use bearer_guard::issuer::{SigningKey, SigningKeyError};
    ///
    /// let err = SigningKey::from_pkcs8_der(Algorithm::Rs256, b"not DER", "k").unwrap_err();
    /// assert_eq!(err, SigningKeyError::Rejected { alg: Algorithm::Rs256 });
    /// ```
    pub fn from_pkcs8_der(
        alg: Algorithm,
        der: &[u8],
        kid: impl Into<String>,
    ) -> Result<Self, SigningKeyError> {
        let kind = Kind::of(alg).ok_or(SigningKeyError::NotAsymmetric)?;
        let kid = check_kid(kid.into())?;
        let pair = match kind {
            Kind::Rsa(_) => RsaKeyPair::from_pkcs8(der).map(Pair::Rsa),
            // A key on another curve is refused here: the signing algorithm fixes the curve.
            Kind::Ecdsa(signing, _) => EcdsaKeyPair::from_pkcs8(signing, der).map(Pair::Ecdsa),
            Kind::Ed25519 => Ed25519KeyPair::from_pkcs8(der).map(Pair::Ed25519),
        }
        .map_err(|_| SigningKeyError::Rejected { alg })?;
        Ok(Self {
            alg,
            kid,
            pair: Arc::new(pair),
        })
    }

    /// The key in a PEM `PRIVATE KEY` block (unencrypted PKCS#8, as `openssl genpkey`
    /// writes), for `alg`, named `kid`.
    ///
    /// # Errors
    ///
    /// [`SigningKeyError::NotPem`] when `pem` holds no `-----BEGIN PRIVATE KEY-----` block
    /// (`RSA PRIVATE KEY`, `EC PRIVATE KEY` and encrypted keys are not PKCS#8: convert them
    /// with `openssl pkcs8 -topk8 -nocrypt`); then as
    /// [`from_pkcs8_der`](Self::from_pkcs8_der).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::Algorithm;
    /// use bearer_guard::issuer::SigningKey;
    ///
    /// let pem = "-----BEGIN PRIVATE KEY-----
    /// MC4CAQAwBQYDK2VwBCIEIKUm16VrHnTi00H/784lkVzelnPPWxg9Fc8uznJpBwwC
    /// -----END PRIVATE KEY-----";
    /// let key = SigningKey::from_pkcs8_pem(Algorithm::EdDsa, pem, "ed-1")?;
    /// assert_eq!(key.public_jwk()["crv"], "Ed25519");
    /// # Ok::<(), bearer_guard::issuer::SigningKeyError>(())
    /// ```
    pub fn from_pkcs8_pem(
        alg: Algorithm,
        pem: &str,
        kid: impl Into<String>,
    ) -> Result<Self, SigningKeyError> {
        let der = pem_block(pem, "PRIVATE KEY").ok_or(SigningKeyError::NotPem)?;
        Self::from_pkcs8_der(alg, &der, kid)
    }

    /// The same private key (shared, not copied) signing with `alg` instead: an RSA key signs
    /// every RS and PS algorithm, as a tenant's one key signs for APIs of any of them, and an
    /// Ed25519 key signs under both `EdDSA` and `Ed25519`. Publish its JWK without `alg` (or
    /// once per algorithm) if tokens of several must verify. An EC key signs only the one
    /// algorithm of its curve.
    ///
    /// # Errors
    ///
    /// [`SigningKeyError::Rejected`] when the key's type cannot sign `alg` (an EC key for
    /// RS256, a P-256 key for ES384, any key for HS256, …).
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::Algorithm;
    /// # use bearer_guard::issuer::{SigningKey, SigningKeyError};
    /// let rs256 = SigningKey::generate(Algorithm::Rs256, "tenant-key")?;
    /// let ps256 = rs256.with_algorithm(Algorithm::Ps256)?;
    /// assert_eq!(ps256.public_jwk()["n"], rs256.public_jwk()["n"]);
    /// assert!(rs256.with_algorithm(Algorithm::Es256).is_err());
    /// # Ok::<(), SigningKeyError>(())
    /// ```
    pub fn with_algorithm(&self, alg: Algorithm) -> Result<Self, SigningKeyError> {
        let fits = match (&*self.pair, Kind::of(alg)) {
            (Pair::Rsa(_), Some(Kind::Rsa(_))) | (Pair::Ed25519(_), Some(Kind::Ed25519)) => true,
            // An ECDSA key pair is bound to its curve and hash: only its own algorithm.
            (Pair::Ecdsa(_), Some(Kind::Ecdsa(..))) => alg == self.alg,
            _ => false,
        };
        if !fits {
            return Err(SigningKeyError::Rejected { alg });
        }
        Ok(Self {
            alg,
            kid: Arc::clone(&self.kid),
            pair: Arc::clone(&self.pair),
        })
    }

    /// The algorithm this key signs with.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::Algorithm;
    /// # use bearer_guard::issuer::SigningKey;
    /// let key = SigningKey::generate(Algorithm::Ps256, "pss")?;
    /// assert_eq!(key.alg(), Algorithm::Ps256);
    /// # Ok::<(), bearer_guard::issuer::SigningKeyError>(())
    /// ```
    #[must_use]
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The key id, written as `kid` in each token's header and in the public JWK.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::Algorithm;
    /// # use bearer_guard::issuer::SigningKey;
    /// let key = SigningKey::generate(Algorithm::EdDsa, "ed-2024")?;
    /// assert_eq!(key.kid(), "ed-2024");
    /// # Ok::<(), bearer_guard::issuer::SigningKeyError>(())
    /// ```
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK (RFC 7517, 7518 §6, RFC 8037): `kty`, `use: sig`, `alg`, `kid` and the
    /// public members (`n`, `e`; `crv`, `x`, `y`; `crv`, `x`). Never a private member.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::Algorithm;
    /// # use bearer_guard::issuer::SigningKey;
    /// let key = SigningKey::generate(Algorithm::Rs256, "rsa-1")?;
    /// let jwk = key.public_jwk();
    /// assert_eq!((jwk["kty"].as_str(), jwk["alg"].as_str(), jwk["e"].as_str()), (Some("RSA"), Some("RS256"), Some("AQAB")));
    /// # Ok::<(), bearer_guard::issuer::SigningKeyError>(())
    /// ```
    #[must_use]
    pub fn public_jwk(&self) -> Value {
        let mut jwk = Map::new();
        let mut set = |name: &str, value: &str| jwk.insert(name.to_owned(), value.into());
        let encode = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        match &*self.pair {
            Pair::Rsa(pair) => {
                set("kty", "RSA");
                // aws-lc-rs gives the RSAPublicKey structure; it always parses.
                if let Some((n, e)) = rsa_public_components(pair.public_key().as_ref()) {
                    set("n", &encode(n));
                    set("e", &encode(e));
                }
            }
            Pair::Ecdsa(pair) => {
                set("kty", "EC");
                if let Some(Kind::Ecdsa(_, crv)) = Kind::of(self.alg) {
                    set("crv", crv);
                }
                // The uncompressed point: 0x04 || x || y, each the field's size.
                if let Some((0x04, point)) = pair.public_key().as_ref().split_first() {
                    let (x, y) = point.split_at(point.len() / 2);
                    set("x", &encode(x));
                    set("y", &encode(y));
                }
            }
            Pair::Ed25519(pair) => {
                set("kty", "OKP");
                set("crv", "Ed25519");
                set("x", &encode(pair.public_key().as_ref()));
            }
        }
        set("use", "sig");
        set("alg", self.alg.name());
        set("kid", &self.kid);
        Value::Object(jwk)
    }

    /// A JWK set document (RFC 7517 §5) of these keys' public JWKs: what an issuer serves at
    /// its `jwks_uri`.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::Algorithm;
    /// # use bearer_guard::issuer::SigningKey;
    /// let current = SigningKey::generate(Algorithm::Rs256, "current")?;
    /// let next = SigningKey::generate(Algorithm::Rs256, "next")?;
    /// let jwks = SigningKey::jwk_set([&current, &next]);
    /// assert_eq!(jwks["keys"][1]["kid"], "next");
    /// # Ok::<(), bearer_guard::issuer::SigningKeyError>(())
    /// ```
    #[must_use]
    pub fn jwk_set<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> Value {
        let keys: Vec<Value> = keys.into_iter().map(Self::public_jwk).collect();
        serde_json::json!({ "keys": keys })
    }

    /// The public key as a PEM `PUBLIC KEY` block (X.509 SubjectPublicKeyInfo), as
    /// `openssl pkey -pubout` writes it.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::Algorithm;
    /// # use bearer_guard::issuer::SigningKey;
    /// let key = SigningKey::generate(Algorithm::Rs256, "rsa-1")?;
    /// assert!(key.public_key_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
    /// # Ok::<(), bearer_guard::issuer::SigningKeyError>(())
    /// ```
    #[must_use]
    pub fn public_key_pem(&self) -> String {
        let der = match &*self.pair {
            Pair::Rsa(pair) => pair.public_key().as_der(),
            Pair::Ecdsa(pair) => pair.public_key().as_der(),
            Pair::Ed25519(pair) => pair.public_key().as_der(),
        };
        // Encoding a public key the library holds does not fail; an empty block if it did.
        let der = der.map(|der| der.as_ref().to_vec()).unwrap_or_default();
        let body = STANDARD.encode(der);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// The JWS signature of `signing_input` (RFC 7518 §3.3–3.5, RFC 8037 §3.1): ECDSA in its
    /// fixed `R || S` form.
    pub(crate) fn sign(
        &self,
        signing_input: &[u8],
    ) -> Result<Vec<u8>, aws_lc_rs::error::Unspecified> {
        match &*self.pair {
            Pair::Rsa(pair) => {
                let Some(Kind::Rsa(padding)) = Kind::of(self.alg) else {
                    return Err(aws_lc_rs::error::Unspecified);
                };
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &SystemRandom::new(), signing_input, &mut signature)?;
                Ok(signature)
            }
            Pair::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), signing_input)
                .map(|signature| signature.as_ref().to_vec()),
            Pair::Ed25519(pair) => Ok(pair.sign(signing_input).as_ref().to_vec()),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg.name())
            .field("kid", &self.kid)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

fn check_kid(kid: String) -> Result<Arc<str>, SigningKeyError> {
    if kid.is_empty() {
        return Err(SigningKeyError::EmptyKeyId);
    }
    Ok(kid.into())
}

/// The bytes of the first PEM block labelled `label` (RFC 7468), zeroized when dropped.
fn pem_block(pem: &str, label: &str) -> Option<Zeroizing<Vec<u8>>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let base64: Zeroizing<String> = Zeroizing::new(
        pem[start..stop]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect(),
    );
    STANDARD.decode(base64.as_bytes()).ok().map(Zeroizing::new)
}

/// `n` and `e` of a DER `RSAPublicKey` (RFC 8017 §A.1.1: a SEQUENCE of two INTEGERs), without
/// their sign bytes.
fn rsa_public_components(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (sequence, rest) = der_element(der, 0x30)?;
    let sequence = sequence.contents;
    if !rest.is_empty() {
        return None;
    }
    let (n, rest) = der_element(sequence, 0x02)?;
    let n = n.contents;
    let (e, rest) = der_element(rest, 0x02)?;
    if !rest.is_empty() {
        return None;
    }
    Some((unsigned(n), unsigned(e.contents)))
}

/// A DER INTEGER's bytes without the zero byte that keeps a positive number's sign.
fn unsigned(int: &[u8]) -> &[u8] {
    match int {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => int,
    }
}

/// Why a [`SigningKey`] or an issuer with one could not be made. Its message says what to
/// change; it never quotes key material.
///
/// # Example
///
/// ```
/// use bearer_guard::Algorithm;
/// use bearer_guard::issuer::{SigningKey, SigningKeyError};
///
/// let err = SigningKey::from_pkcs8_pem(Algorithm::Rs256, "-----BEGIN RSA PRIVATE KEY-----", "k").unwrap_err();
/// assert_eq!(err, SigningKeyError::NotPem);
/// assert!(err.to_string().contains("openssl pkcs8 -topk8 -nocrypt"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigningKeyError {
    /// HS256, HS384 and HS512 sign with the resource server's secret, not a private key.
    #[error("HS256, HS384 and HS512 sign with the resource server's secret: use TokenIssuer::new")]
    NotAsymmetric,
    /// The key id is empty.
    #[error("the key id (kid) is empty; every token names its key")]
    EmptyKeyId,
    /// No PEM `PRIVATE KEY` block.
    #[error(
        "no PEM PRIVATE KEY block (unencrypted PKCS#8); convert other keys with `openssl pkcs8 -topk8 -nocrypt`"
    )]
    NotPem,
    /// The document is not a private key the algorithm can use.
    #[error(
        "the key is not an unencrypted PKCS#8 private key for {alg} (RS*/PS*: RSA of 2048 to 8192 bits; ES256: P-256; ES384: P-384; ES512: P-521; EdDSA/Ed25519: Ed25519)"
    )]
    Rejected {
        /// The algorithm the key was meant for.
        alg: Algorithm,
    },
    /// The crypto library could not make a key.
    #[error("the crypto library could not generate a key")]
    Generation,
    /// The resource server's `signing_alg` is not the key's algorithm.
    #[error(
        "the resource server's signing_alg is {resource_server:?} and the key signs {key}: use a key for {resource_server}"
    )]
    AlgorithmMismatch {
        /// The key's algorithm.
        key: Algorithm,
        /// The resource server's `signing_alg`.
        resource_server: String,
    },
    /// The resource server or the issuer cannot be signed for.
    #[error(transparent)]
    ResourceServer(#[from] ConfigError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issuer::TokenIssuer;
    use crate::{BearerGuardLayer, ResourceServer, TokenErrorKind};
    use jsonwebtoken::{DecodingKey, Validation, jwk::Jwk};

    const ISSUER: &str = "https://tenant.example/";
    const AUDIENCE: &str = "https://my-api-urn";

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/data/keys/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap()
    }

    fn api(alg: Algorithm) -> ResourceServer {
        ResourceServer::from_json(&format!(
            r#"{{"identifier": "{AUDIENCE}", "signing_alg": "{}",
                "scopes": [{{"value": "read:messages"}}]}}"#,
            alg.name()
        ))
        .unwrap()
    }

    fn mint(key: &SigningKey) -> String {
        TokenIssuer::with_signing_key(&api(key.alg()), ISSUER, key.clone())
            .unwrap()
            .client_token("client-1")
            .scope("read:messages")
            .sign()
            .unwrap()
    }

    fn header_of(token: &str) -> Value {
        let header = token.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
    }

    /// Verifies `token` with jsonwebtoken and the key's public JWK: an implementation that
    /// shares no code with this crate. `None` for ES512, which jsonwebtoken does not verify.
    /// The `Ed25519` name, which it does not know either, is checked as the EdDSA signature
    /// it is, with the header's `alg` compared apart.
    fn jsonwebtoken_accepts(token: &str, key: &SigningKey) -> Option<bool> {
        let mut jwk = key.public_jwk();
        let alg = match key.alg() {
            Algorithm::Es512 => return None,
            Algorithm::Ed25519 => {
                jwk["alg"] = "EdDSA".into();
                jsonwebtoken::Algorithm::EdDSA
            }
            alg => jsonwebtoken::Algorithm::from_str(alg.name()).unwrap(),
        };
        let jwk: Jwk = serde_json::from_value(jwk).unwrap();
        let decoding = DecodingKey::from_jwk(&jwk).unwrap();
        if key.alg() == Algorithm::Ed25519 {
            assert_eq!(header_of(token)["alg"], "Ed25519");
            let (input, signature) = token.rsplit_once('.').unwrap();
            let verified =
                jsonwebtoken::crypto::verify(signature, input.as_bytes(), &decoding, alg);
            return Some(verified.unwrap_or(false));
        }
        let mut validation = Validation::new(alg);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        Some(jsonwebtoken::decode::<Value>(token, &decoding, &validation).is_ok())
    }

    fn fixture_key(alg: Algorithm) -> SigningKey {
        let name = match alg {
            Algorithm::Es256 => "p256.pem",
            Algorithm::Es384 => "p384.pem",
            Algorithm::Es512 => "p521.pem",
            Algorithm::EdDsa | Algorithm::Ed25519 => "ed25519.pem",
            _ => "rsa2048.pem",
        };
        SigningKey::from_pkcs8_pem(alg, &fixture(name), format!("{alg}-fixture")).unwrap()
    }

    fn asymmetric() -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL.into_iter().filter(|alg| alg.is_asymmetric())
    }

    use std::str::FromStr as _;

    #[test]
    fn jsonwebtoken_verifies_what_each_fixture_key_signs() {
        let mut checked = 0;
        for alg in asymmetric() {
            let key = fixture_key(alg);
            let token = mint(&key);
            assert_eq!(
                header_of(&token),
                serde_json::json!({"alg": alg.name(), "typ": "JWT", "kid": key.kid()}),
            );
            let Some(accepted) = jsonwebtoken_accepts(&token, &key) else {
                continue;
            };
            assert!(accepted, "{alg}");
            // Another key of the same kind does not verify it.
            let other = SigningKey::generate(alg, key.kid()).unwrap();
            assert_eq!(jsonwebtoken_accepts(&token, &other), Some(false), "{alg}");
            checked += 1;
        }
        // All but ES512, which the guard's own tests check against python's signer.
        assert_eq!(checked, 10);
    }

    #[test]
    fn ecdsa_signatures_are_r_and_s_of_the_curves_size() {
        let input = b"eyJhbGciOiJFUzUxMiJ9.e30";
        for (alg, len) in [
            (Algorithm::Es256, 64),
            (Algorithm::Es384, 96),
            (Algorithm::Es512, 132),
            (Algorithm::EdDsa, 64),
            (Algorithm::Ed25519, 64),
            (Algorithm::Rs512, 256),
            (Algorithm::Ps384, 256),
        ] {
            assert_eq!(fixture_key(alg).sign(input).unwrap().len(), len, "{alg}");
        }
    }

    #[test]
    fn the_guard_accepts_tokens_of_generated_keys_through_their_jwk_set() {
        for alg in asymmetric() {
            let current = SigningKey::generate(alg, "current").unwrap();
            let next = SigningKey::generate(alg, "next").unwrap();
            let validator = BearerGuardLayer::builder(api(alg))
                .issuer(ISSUER)
                .static_jwks(SigningKey::jwk_set([&current, &next]).to_string())
                .build_validator()
                .unwrap();
            for key in [&current, &next] {
                let verified = validator.validate(&mint(key)).unwrap();
                assert!(verified.scopes().contains("read:messages"), "{alg}");
            }
            let stranger = SigningKey::generate(alg, "current").unwrap();
            assert_eq!(
                validator.validate(&mint(&stranger)).unwrap_err().kind(),
                TokenErrorKind::InvalidSignature,
                "{alg}"
            );
        }
    }

    #[test]
    fn public_jwks_match_the_fixtures_public_keys() {
        for (alg, name, members) in [
            (Algorithm::Rs256, "rsa2048", &["kty", "n", "e"][..]),
            (Algorithm::Ps512, "rsa2048", &["kty", "n", "e"][..]),
            (Algorithm::Es256, "p256", &["kty", "crv", "x", "y"][..]),
            (Algorithm::Es384, "p384", &["kty", "crv", "x", "y"][..]),
            (Algorithm::Es512, "p521", &["kty", "crv", "x", "y"][..]),
            (Algorithm::EdDsa, "ed25519", &["kty", "crv", "x"][..]),
            (Algorithm::Ed25519, "ed25519", &["kty", "crv", "x"][..]),
        ] {
            let expected: Value =
                serde_json::from_str(&fixture(&format!("{name}.jwk.json"))).unwrap();
            let jwk = fixture_key(alg).public_jwk();
            for member in members {
                assert_eq!(jwk[member], expected[member], "{name} {member}");
            }
            assert_eq!(jwk["use"], "sig");
            assert_eq!(jwk["alg"], alg.name());
            for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
                assert!(jwk.get(private).is_none(), "{name} {private}");
            }
        }
    }

    #[test]
    fn the_public_key_pem_verifies_with_jsonwebtoken() {
        let key = fixture_key(Algorithm::Rs256);
        let token = mint(&key);
        let pem = key.public_key_pem();
        assert!(pem.ends_with("-----END PUBLIC KEY-----\n"));
        assert!(pem.lines().all(|line| line.len() <= 64));
        let decoding = DecodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[AUDIENCE]);
        assert!(jsonwebtoken::decode::<Value>(&token, &decoding, &validation).is_ok());
        let decoding =
            DecodingKey::from_ec_pem(fixture_key(Algorithm::Es256).public_key_pem().as_bytes());
        assert!(decoding.is_ok());
    }

    #[test]
    fn refuses_keys_that_do_not_fit() {
        let rejected = |alg: Algorithm, name: &str| {
            SigningKey::from_pkcs8_pem(alg, &fixture(name), "k").unwrap_err()
        };
        for (alg, name) in [
            (Algorithm::Rs256, "rsa1024.pem"),
            (Algorithm::Rs256, "p256.pem"),
            (Algorithm::Es256, "p384.pem"),
            (Algorithm::Es256, "rsa2048.pem"),
            (Algorithm::Es384, "p256.pem"),
            (Algorithm::Es384, "p521.pem"),
            (Algorithm::Es512, "p384.pem"),
            (Algorithm::Es512, "ed25519.pem"),
            (Algorithm::Rs512, "p521.pem"),
            (Algorithm::Ps384, "rsa1024.pem"),
            (Algorithm::EdDsa, "p256.pem"),
            (Algorithm::Ed25519, "rsa2048.pem"),
        ] {
            assert_eq!(
                rejected(alg, name),
                SigningKeyError::Rejected { alg },
                "{name}"
            );
        }
        let pem = fixture("rsa2048.pem");
        for hmac in [Algorithm::Hs256, Algorithm::Hs384, Algorithm::Hs512] {
            assert_eq!(
                SigningKey::from_pkcs8_pem(hmac, &pem, "k").unwrap_err(),
                SigningKeyError::NotAsymmetric
            );
            assert_eq!(
                SigningKey::generate(hmac, "k").unwrap_err(),
                SigningKeyError::NotAsymmetric
            );
        }
        assert_eq!(
            SigningKey::from_pkcs8_pem(Algorithm::Rs256, &pem, "").unwrap_err(),
            SigningKeyError::EmptyKeyId
        );
        let rsa_label = pem.replace("PRIVATE KEY", "RSA PRIVATE KEY");
        for not_pem in ["", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", &rsa_label] {
            assert_eq!(
                SigningKey::from_pkcs8_pem(Algorithm::Rs256, not_pem, "k").unwrap_err(),
                SigningKeyError::NotPem
            );
        }
        let broken = pem.replacen("MII", "M!I", 1);
        assert_eq!(
            SigningKey::from_pkcs8_pem(Algorithm::Rs256, &broken, "k").unwrap_err(),
            SigningKeyError::NotPem
        );
    }

    #[test]
    fn one_rsa_key_signs_rs256_and_ps256() {
        let rs256 = fixture_key(Algorithm::Rs256);
        let ps256 = rs256.with_algorithm(Algorithm::Ps256).unwrap();
        let token = mint(&ps256);
        assert_eq!(header_of(&token)["alg"], "PS256");
        assert_eq!(jsonwebtoken_accepts(&token, &ps256), Some(true));
        assert_eq!(jsonwebtoken_accepts(&mint(&rs256), &ps256), Some(false));
        for alg in [
            Algorithm::Rs384,
            Algorithm::Rs512,
            Algorithm::Ps384,
            Algorithm::Ps512,
        ] {
            let other = rs256.with_algorithm(alg).unwrap();
            assert_eq!(
                jsonwebtoken_accepts(&mint(&other), &other),
                Some(true),
                "{alg}"
            );
            assert_eq!(
                jsonwebtoken_accepts(&mint(&other), &rs256),
                Some(false),
                "{alg}"
            );
        }
        let eddsa = fixture_key(Algorithm::EdDsa);
        let ed25519 = eddsa.with_algorithm(Algorithm::Ed25519).unwrap();
        assert_eq!(header_of(&mint(&ed25519))["alg"], "Ed25519");
        assert_eq!(ed25519.public_jwk()["x"], eddsa.public_jwk()["x"]);
        for (key, refused) in [
            (
                &rs256,
                &[
                    Algorithm::Hs256,
                    Algorithm::Es256,
                    Algorithm::EdDsa,
                    Algorithm::Ed25519,
                ][..],
            ),
            (
                &fixture_key(Algorithm::Es256),
                &[
                    Algorithm::Rs256,
                    Algorithm::Ps256,
                    Algorithm::EdDsa,
                    Algorithm::Es384,
                    Algorithm::Es512,
                ][..],
            ),
            (
                &fixture_key(Algorithm::Es384),
                &[Algorithm::Es256, Algorithm::Es512, Algorithm::Hs384][..],
            ),
            (
                &eddsa,
                &[
                    Algorithm::Rs256,
                    Algorithm::Es256,
                    Algorithm::Hs256,
                    Algorithm::Hs512,
                ][..],
            ),
        ] {
            for &alg in refused {
                assert_eq!(
                    key.with_algorithm(alg).unwrap_err(),
                    SigningKeyError::Rejected { alg }
                );
            }
        }
    }

    #[test]
    fn the_issuer_refuses_a_key_of_another_algorithm() {
        let key = fixture_key(Algorithm::Ps256);
        assert_eq!(
            TokenIssuer::with_signing_key(&api(Algorithm::Rs256), ISSUER, key.clone()).unwrap_err(),
            SigningKeyError::AlgorithmMismatch {
                key: Algorithm::Ps256,
                resource_server: "RS256".into()
            }
        );
        let hs256 = ResourceServer::new(AUDIENCE, "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
        assert!(matches!(
            TokenIssuer::with_signing_key(&hs256, ISSUER, key.clone()).unwrap_err(),
            SigningKeyError::AlgorithmMismatch { .. }
        ));
        assert_eq!(
            TokenIssuer::with_signing_key(&api(Algorithm::Ps256), "", key.clone()).unwrap_err(),
            SigningKeyError::ResourceServer(ConfigError::EmptyIssuer)
        );
        let relative =
            ResourceServer::from_json(r#"{"identifier": "my-api", "signing_alg": "PS256"}"#)
                .unwrap();
        assert!(matches!(
            TokenIssuer::with_signing_key(&relative, ISSUER, key).unwrap_err(),
            SigningKeyError::ResourceServer(ConfigError::IdentifierNotAbsoluteUri { .. })
        ));
    }

    #[test]
    fn debug_shows_the_kid_and_never_the_private_key() {
        let pem = fixture("rsa2048.pem");
        let key = SigningKey::from_pkcs8_pem(Algorithm::Rs256, &pem, "kid-1").unwrap();
        let tokens =
            TokenIssuer::with_signing_key(&api(Algorithm::Rs256), ISSUER, key.clone()).unwrap();
        for shown in [format!("{key:?}"), format!("{tokens:?}")] {
            assert!(
                shown.contains("kid-1") && shown.contains("<redacted>"),
                "{shown}"
            );
            let body: String = pem.lines().nth(1).unwrap().chars().take(20).collect();
            assert!(!shown.contains(&body), "{shown}");
            assert!(!shown.contains(&key.public_jwk()["n"].as_str().unwrap()[..20]));
        }
    }

    #[test]
    fn der_reading_refuses_truncated_or_trailing_bytes() {
        let key = fixture_key(Algorithm::Rs256);
        let Pair::Rsa(pair) = &*key.pair else {
            unreachable!()
        };
        let der = pair.public_key().as_ref();
        assert!(rsa_public_components(der).is_some());
        for len in [0, 1, 2, 5, der.len() - 1] {
            assert_eq!(rsa_public_components(&der[..len]), None, "{len}");
        }
        let mut trailing = der.to_vec();
        trailing.push(0);
        assert_eq!(rsa_public_components(&trailing), None);
        assert!(der_element(&[0x02, 0x85, 0, 0, 0, 0, 1], 0x02).is_none());
        let (element, rest) = der_element(&[0x02, 0x01, 7], 0x02).unwrap();
        assert_eq!((element.contents, rest), (&[7u8][..], &[][..]));
        assert_eq!(unsigned(&[0]), &[0]);
        assert_eq!(unsigned(&[0, 0x80]), &[0x80]);
    }
}
