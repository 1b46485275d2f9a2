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
use crate::scope::Scopes;

/// A token whose signature, algorithm, audience, issuer and lifetime have been checked.
/// See the [module docs](self).
///
/// Cloning is cheap (one reference count). `Debug` shows the time claims only: subjects,
/// scopes and custom claims are personal or sensitive data and stay out of logs.
#[derive(Clone)]
pub struct VerifiedToken(Arc<Inner>);

struct Inner {
    /// The decoded payload; string claims point into it.
    payload: String,
    claims: ClaimSpans,
    /// The realm of the layer that verified it, for the scope layer's and extractors'
    /// rejections.
    realm: Arc<str>,
    /// The [`TokenValidator`](crate::TokenValidator) that verified it.
    validator_id: u64,
}

/// The claims bearer-guard keeps, with strings as ranges of the payload.
#[derive(Debug)]
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

    pub(crate) fn resolve<'a>(&'a self, payload: &'a str) -> &'a str {
        match self {
            Self::Span(start, end) => payload.get(*start..*end).unwrap_or_default(),
            Self::Owned(owned) => owned,
        }
    }
}

/// The token's scopes, as stored.
#[derive(Clone, Debug)]
pub(crate) enum ScopeList {
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
    /// Keeps the checked claims with the payload they point into.
    pub(crate) fn new(
        payload: String,
        claims: ClaimSpans,
        realm: Arc<str>,
        validator_id: u64,
    ) -> Self {
        Self(Arc::new(Inner {
            payload,
            claims,
            realm,
            validator_id,
        }))
    }

    pub(crate) fn validator_id(&self) -> u64 {
        self.0.validator_id
    }

    pub(crate) fn realm(&self) -> &Arc<str> {
        &self.0.realm
    }

    fn text<'a>(&'a self, text: Option<&'a Text>) -> Option<&'a str> {
        text.map(|text| text.resolve(&self.0.payload))
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
        Scopes::new(&self.0.payload, &self.0.claims.scopes)
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
        serde_json::from_str(&self.0.payload)
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
        &self.0.payload
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
