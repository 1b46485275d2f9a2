//! The verified token that the layer puts in the request extensions.
//!
//! # Example
//!
//! ```
//! use bearer_guard::{BearerGuardLayer, ResourceServer};
//! # use base64::Engine as _;
//! # use hmac::{KeyInit, Mac};
//! # fn mint(secret: &[u8], claims: &str) -> String {
//! #     let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
//! #     let input = format!("{}.{}", b64(br#"{"alg":"HS256","typ":"JWT"}"#), b64(claims.as_bytes()));
//! #     let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
//! #     mac.update(input.as_bytes());
//! #     format!("{input}.{}", b64(&mac.finalize().into_bytes()))
//! # }
//!
//! let secret = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
//! let layer = BearerGuardLayer::builder(ResourceServer::new("https://my-api-urn", secret)).build()?;
//! let token = mint(secret.as_bytes(), r#"{"aud":"https://my-api-urn","exp":4102444800,
//!     "sub":"client@clients","scope":"read:messages openid","tenant":"acme"}"#);
//!
//! let verified = layer.validator().validate(&token)?;
//! assert_eq!(verified.subject(), Some("client@clients"));
//! assert!(verified.scopes().contains("read:messages"));
//!
//! #[derive(serde::Deserialize)]
//! struct MyClaims { tenant: String }
//! assert_eq!(verified.claims::<MyClaims>()?.tenant, "acme");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::claims::{Claims, ScopeClaim, Str};
use crate::error::TokenErrorKind;
use crate::jws::Payload;
use crate::scope::Scopes;

/// A token whose signature, algorithm, audience, issuer and lifetime have been checked.
/// See the [module docs](self).
///
/// Cloning is cheap (one reference count). `Debug` shows the time claims only: subjects,
/// scopes and custom claims are personal or sensitive data and stay out of logs.
#[derive(Clone)]
pub struct VerifiedToken(Arc<Inner>);

struct Inner {
    /// The decoded payload, checked to be UTF-8; string claims are ranges of it. Kept inline
    /// when short, so that a verified token is one allocation.
    payload: Payload,
    claims: ClaimSpans,
    /// The realm of the layer that verified it, for the scope layer's and extractors'
    /// rejections.
    realm: Arc<str>,
    /// The [`TokenValidator`](crate::TokenValidator) that verified it.
    validator_id: u64,
}

/// The claims bearer-guard keeps, with strings as ranges of the payload.
#[derive(Debug, Default)]
pub(crate) struct ClaimSpans {
    exp: f64,
    nbf: Option<f64>,
    iat: Option<f64>,
    iss: Option<Text>,
    sub: Option<Text>,
    azp: Option<Text>,
    client_id: Option<Text>,
    jti: Option<Text>,
    scopes: ScopeList,
}

/// A string claim: a byte range of the payload, or owned when its JSON had escapes.
#[derive(Clone, Debug)]
pub(crate) enum Text {
    Span(usize, usize),
    Owned(Box<str>),
}

impl Text {
    fn new(payload: &str, s: Str<'_>) -> Self {
        match s {
            Str::Borrowed(borrowed) => {
                // The parser borrowed `borrowed` from `payload`; should that ever not hold, the
                // string is copied rather than mis-addressed.
                let start = (borrowed.as_ptr() as usize).wrapping_sub(payload.as_ptr() as usize);
                let end = start.wrapping_add(borrowed.len());
                match payload.get(start..end) {
                    Some(span) if span.as_ptr() == borrowed.as_ptr() => Self::Span(start, end),
                    _ => Self::Owned(borrowed.into()),
                }
            }
            Str::Owned(owned) => Self::Owned(owned),
        }
    }

    /// The string, from the payload it was parsed from. Spans lie on character boundaries of
    /// UTF-8 text, so only the span's own bytes are checked again.
    pub(crate) fn resolve<'a>(&'a self, payload: &'a [u8]) -> &'a str {
        match self {
            Self::Span(start, end) => payload
                .get(*start..*end)
                .and_then(|span| std::str::from_utf8(span).ok())
                .unwrap_or_default(),
            Self::Owned(owned) => owned,
        }
    }
}

/// The token's scopes, as stored.
#[derive(Clone, Debug, Default)]
pub(crate) enum ScopeList {
    #[default]
    None,
    Delimited(Text),
    List(Vec<Text>),
}

impl ClaimSpans {
    /// Turns the parsed claims' borrowed strings into ranges of `payload`.
    pub(crate) fn new(payload: &str, claims: Claims<'_>, exp: f64) -> Self {
        let text = |s: Option<Str<'_>>| s.map(|s| Text::new(payload, s));
        let scopes = match claims.scope {
            None => ScopeList::None,
            Some(ScopeClaim::Delimited(s)) => ScopeList::Delimited(Text::new(payload, s)),
            Some(ScopeClaim::List(list)) => {
                ScopeList::List(list.into_iter().map(|s| Text::new(payload, s)).collect())
            }
        };
        Self {
            exp,
            nbf: claims.nbf,
            iat: claims.iat,
            iss: text(claims.iss),
            sub: text(claims.sub),
            azp: text(claims.azp),
            client_id: text(claims.client_id),
            jti: text(claims.jti),
            scopes,
        }
    }
}

impl VerifiedToken {
    /// Decodes the payload `segment` straight into the token's one allocation, where it stays
    /// (moving a 640-byte payload in afterwards would copy it), and keeps the claims that
    /// `check` returns for its text. Called once the signature has verified.
    pub(crate) fn build(
        segment: &str,
        realm: Arc<str>,
        validator_id: u64,
        check: impl FnOnce(&str) -> Result<ClaimSpans, TokenErrorKind>,
    ) -> Result<Self, TokenErrorKind> {
        let mut token = Arc::new(Inner {
            payload: Payload::new(),
            claims: ClaimSpans::default(),
            realm,
            validator_id,
        });
        // Always `Some`: the token was made on the line above and is not shared yet.
        let inner = Arc::get_mut(&mut token).ok_or(TokenErrorKind::Malformed)?;
        inner.payload.decode(segment)?;
        inner.claims = check(inner.payload.text()?)?;
        Ok(Self(token))
    }

    pub(crate) fn validator_id(&self) -> u64 {
        self.0.validator_id
    }

    pub(crate) fn realm(&self) -> &Arc<str> {
        &self.0.realm
    }

    fn text<'a>(&'a self, text: Option<&'a Text>) -> Option<&'a str> {
        text.map(|text| text.resolve(self.0.payload.as_bytes()))
    }

    /// `sub`: whom the token is about (a user id, or `<client_id>@clients` for machines).
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let secret = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
    /// # let claims = serde_json::json!({"iss": "https://tenant.example/", "sub": "client@clients",
    /// #     "aud": "https://my-api-urn", "azp": "client", "client_id": "client", "jti": "id-1",
    /// #     "iat": 1700000000, "nbf": 1700000000, "exp": 4102444800u64,
    /// #     "scope": "read:messages openid", "tenant": "acme"});
    /// # let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims,
    /// #     &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()))?;
    /// # let layer = BearerGuardLayer::builder(ResourceServer::new("https://my-api-urn", secret)).build()?;
    /// let verified = layer.validator().validate(&token)?;
    /// assert_eq!(verified.subject(), Some("client@clients"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.text(self.0.claims.sub.as_ref())
    }

    /// `iss`: who issued the token.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let secret = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
    /// # let claims = serde_json::json!({"iss": "https://tenant.example/", "sub": "client@clients",
    /// #     "aud": "https://my-api-urn", "azp": "client", "client_id": "client", "jti": "id-1",
    /// #     "iat": 1700000000, "nbf": 1700000000, "exp": 4102444800u64,
    /// #     "scope": "read:messages openid", "tenant": "acme"});
    /// # let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims,
    /// #     &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()))?;
    /// # let layer = BearerGuardLayer::builder(ResourceServer::new("https://my-api-urn", secret)).build()?;
    /// let verified = layer.validator().validate(&token)?;
    /// assert_eq!(verified.issuer(), Some("https://tenant.example/"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.text(self.0.claims.iss.as_ref())
    }

    /// `azp`: the client the token was issued to.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let secret = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
    /// # let claims = serde_json::json!({"iss": "https://tenant.example/", "sub": "client@clients",
    /// #     "aud": "https://my-api-urn", "azp": "client", "client_id": "client", "jti": "id-1",
    /// #     "iat": 1700000000, "nbf": 1700000000, "exp": 4102444800u64,
    /// #     "scope": "read:messages openid", "tenant": "acme"});
    /// # let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims,
    /// #     &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()))?;
    /// # let layer = BearerGuardLayer::builder(ResourceServer::new("https://my-api-urn", secret)).build()?;
    /// let verified = layer.validator().validate(&token)?;
    /// assert_eq!(verified.authorized_party(), Some("client"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn authorized_party(&self) -> Option<&str> {
        self.text(self.0.claims.azp.as_ref())
    }

    /// `client_id` (RFC 9068): the client the token was issued to.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let secret = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
    /// # let claims = serde_json::json!({"iss": "https://tenant.example/", "sub": "client@clients",
    /// #     "aud": "https://my-api-urn", "azp": "client", "client_id": "client", "jti": "id-1",
    /// #     "iat": 1700000000, "nbf": 1700000000, "exp": 4102444800u64,
    /// #     "scope": "read:messages openid", "tenant": "acme"});
    /// # let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims,
    /// #     &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()))?;
    /// # let layer = BearerGuardLayer::builder(ResourceServer::new("https://my-api-urn", secret)).build()?;
    /// let verified = layer.validator().validate(&token)?;
    /// assert_eq!(verified.client_id(), Some("client"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn client_id(&self) -> Option<&str> {
        self.text(self.0.claims.client_id.as_ref())
    }

    /// `jti`: the token's unique identifier.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let secret = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
    /// # let claims = serde_json::json!({"iss": "https://tenant.example/", "sub": "client@clients",
    /// #     "aud": "https://my-api-urn", "azp": "client", "client_id": "client", "jti": "id-1",
    /// #     "iat": 1700000000, "nbf": 1700000000, "exp": 4102444800u64,
    /// #     "scope": "read:messages openid", "tenant": "acme"});
    /// # let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims,
    /// #     &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()))?;
    /// # let layer = BearerGuardLayer::builder(ResourceServer::new("https://my-api-urn", secret)).build()?;
    /// let verified = layer.validator().validate(&token)?;
    /// assert_eq!(verified.jwt_id(), Some("id-1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn jwt_id(&self) -> Option<&str> {
        self.text(self.0.claims.jti.as_ref())
    }

    /// `exp`, in seconds since the Unix epoch (a NumericDate, fractions allowed).
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let secret = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
    /// # let claims = serde_json::json!({"iss": "https://tenant.example/", "sub": "client@clients",
    /// #     "aud": "https://my-api-urn", "azp": "client", "client_id": "client", "jti": "id-1",
    /// #     "iat": 1700000000, "nbf": 1700000000, "exp": 4102444800u64,
    /// #     "scope": "read:messages openid", "tenant": "acme"});
    /// # let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims,
    /// #     &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()))?;
    /// # let layer = BearerGuardLayer::builder(ResourceServer::new("https://my-api-urn", secret)).build()?;
    /// let verified = layer.validator().validate(&token)?;
    /// assert_eq!(verified.expires_at(), 4_102_444_800.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn expires_at(&self) -> f64 {
        self.0.claims.exp
    }

    /// `nbf`, in seconds since the Unix epoch.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let secret = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
    /// # let claims = serde_json::json!({"iss": "https://tenant.example/", "sub": "client@clients",
    /// #     "aud": "https://my-api-urn", "azp": "client", "client_id": "client", "jti": "id-1",
    /// #     "iat": 1700000000, "nbf": 1700000000, "exp": 4102444800u64,
    /// #     "scope": "read:messages openid", "tenant": "acme"});
    /// # let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims,
    /// #     &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()))?;
    /// # let layer = BearerGuardLayer::builder(ResourceServer::new("https://my-api-urn", secret)).build()?;
    /// let verified = layer.validator().validate(&token)?;
    /// assert_eq!(verified.not_before(), Some(1_700_000_000.0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn not_before(&self) -> Option<f64> {
        self.0.claims.nbf
    }

    /// `iat`, in seconds since the Unix epoch.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let secret = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
    /// # let claims = serde_json::json!({"iss": "https://tenant.example/", "sub": "client@clients",
    /// #     "aud": "https://my-api-urn", "azp": "client", "client_id": "client", "jti": "id-1",
    /// #     "iat": 1700000000, "nbf": 1700000000, "exp": 4102444800u64,
    /// #     "scope": "read:messages openid", "tenant": "acme"});
    /// # let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims,
    /// #     &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()))?;
    /// # let layer = BearerGuardLayer::builder(ResourceServer::new("https://my-api-urn", secret)).build()?;
    /// let verified = layer.validator().validate(&token)?;
    /// assert_eq!(verified.issued_at(), Some(1_700_000_000.0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn issued_at(&self) -> Option<f64> {
        self.0.claims.iat
    }

    /// The scopes the token grants, from the configured scope claim.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let secret = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
    /// # let claims = serde_json::json!({"iss": "https://tenant.example/", "sub": "client@clients",
    /// #     "aud": "https://my-api-urn", "azp": "client", "client_id": "client", "jti": "id-1",
    /// #     "iat": 1700000000, "nbf": 1700000000, "exp": 4102444800u64,
    /// #     "scope": "read:messages openid", "tenant": "acme"});
    /// # let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims,
    /// #     &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()))?;
    /// # let layer = BearerGuardLayer::builder(ResourceServer::new("https://my-api-urn", secret)).build()?;
    /// let verified = layer.validator().validate(&token)?;
    /// assert!(verified.scopes().contains("openid"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn scopes(&self) -> Scopes<'_> {
        Scopes::new(self.0.payload.as_bytes(), &self.0.claims.scopes)
    }

    /// Deserializes the whole claims set into your own type.
    ///
    /// # Errors
    ///
    /// When the claims do not fit `T`.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let secret = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
    /// # let claims = serde_json::json!({"iss": "https://tenant.example/", "sub": "client@clients",
    /// #     "aud": "https://my-api-urn", "azp": "client", "client_id": "client", "jti": "id-1",
    /// #     "iat": 1700000000, "nbf": 1700000000, "exp": 4102444800u64,
    /// #     "scope": "read:messages openid", "tenant": "acme"});
    /// # let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims,
    /// #     &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()))?;
    /// # let layer = BearerGuardLayer::builder(ResourceServer::new("https://my-api-urn", secret)).build()?;
    /// let verified = layer.validator().validate(&token)?;
    /// #[derive(serde::Deserialize)]
    /// struct Tenant { tenant: String }
    /// assert_eq!(verified.claims::<Tenant>()?.tenant, "acme");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn claims<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(self.0.payload.as_bytes())
    }

    /// The claims set as the JSON text the token carried.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let secret = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
    /// # let claims = serde_json::json!({"iss": "https://tenant.example/", "sub": "client@clients",
    /// #     "aud": "https://my-api-urn", "azp": "client", "client_id": "client", "jti": "id-1",
    /// #     "iat": 1700000000, "nbf": 1700000000, "exp": 4102444800u64,
    /// #     "scope": "read:messages openid", "tenant": "acme"});
    /// # let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims,
    /// #     &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()))?;
    /// # let layer = BearerGuardLayer::builder(ResourceServer::new("https://my-api-urn", secret)).build()?;
    /// let verified = layer.validator().validate(&token)?;
    /// let claims: serde_json::Value = serde_json::from_str(verified.claims_json())?;
    /// assert_eq!(claims["tenant"], "acme");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn claims_json(&self) -> &str {
        // Checked to be UTF-8 when the token was verified.
        self.0.payload.text().unwrap_or_default()
    }
}

impl fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("exp", &self.0.claims.exp)
            .field("nbf", &self.0.claims.nbf)
            .field("iat", &self.0.claims.iat)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use crate::test_support::{NOW, claims_json, mint, validator};

    /// A valid token whose decoded payload is exactly `len` bytes, padded with a `pad` claim
    /// holding a multi-byte character next to the claims read back.
    fn token_of_payload_len(len: usize) -> String {
        let short = claims_json(&[("pad", "\"é\"")]);
        let pad = "x".repeat(len - short.len());
        let claims = claims_json(&[("pad", &format!("\"é{pad}\""))]);
        assert_eq!(claims.len(), len);
        mint(&claims)
    }

    #[test]
    fn claims_read_back_the_same_inline_or_on_the_heap() {
        // Around the inline capacity (640 bytes), and well past it.
        for len in [300, 639, 640, 641, 642, 643, 2000] {
            let now = UNIX_EPOCH + Duration::from_secs_f64(NOW);
            let verified = validator()
                .validate_at(&token_of_payload_len(len), now)
                .unwrap_or_else(|err| panic!("{len}: {err:?}"));
            assert_eq!(verified.subject(), Some("client@clients"), "{len}");
            assert_eq!(
                verified.issuer(),
                Some(crate::test_support::ISSUER),
                "{len}"
            );
            assert!(verified.scopes().contains("openid"), "{len}");
            assert_eq!(verified.claims_json().len(), len);
            let claims: serde_json::Value = verified.claims().unwrap();
            assert!(claims["pad"].as_str().unwrap().starts_with('é'), "{len}");
            let clone = verified.clone();
            drop(verified);
            assert_eq!(clone.subject(), Some("client@clients"));
        }
    }
}
