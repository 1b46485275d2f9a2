//! Minting access tokens for a resource server (feature `issuer`): HS256, HS384 or HS512 with
//! its secret, and with the `jwks` feature too, RS256/384/512, PS256/384/512, ES256/384/512,
//! EdDSA and Ed25519 with a `SigningKey`.

#[cfg(feature = "jwks")]
mod signing_key;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::config::{ConfigError, ResourceServer, TokenDialect};
use crate::keys::{Algorithm, HmacKey};
use crate::token::{REGISTERED, is_scope_token};

#[cfg(feature = "jwks")]
pub use crate::token::TokenEncryptionKey;
#[cfg(feature = "jwks")]
pub use signing_key::{SigningKey, SigningKeyError};

/// Auth0's default `token_lifetime`, used when the resource server has none.
///
/// # Example
///
/// ```
/// use bearer_guard::ResourceServer;
/// use bearer_guard::issuer::{DEFAULT_TOKEN_LIFETIME, TokenIssuer};
///
/// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
/// let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
/// assert_eq!(tokens.lifetime(), DEFAULT_TOKEN_LIFETIME);
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);

/// Claims that [`AccessTokenBuilder`] sets itself; [`AccessTokenBuilder::claim`] refuses them,
/// and the scope claims (`scope`, and `permissions` under the `_authz` dialects, unless
/// [`TokenIssuer::scope_claim`] names another).
const SET_BY_BUILDER: [&str; 11] = [
    "iss",
    "sub",
    "aud",
    "iat",
    "exp",
    "nbf",
    "azp",
    "client_id",
    "jti",
    "acr",
    "auth_time",
];

/// Mints access tokens for one resource server: for your API's own tests, and for local
/// authorization servers (feature `issuer`).
///
/// The tokens are shaped like an Auth0 access token: `iss`, `sub`, `aud` (the resource server's
/// identifier), `iat`, `exp` (`iat` + the resource server's `token_lifetime`, 24 hours when it
/// has none), and as you ask `azp`, `scope`, `client_id`, `jti`, `nbf`, `typ: at+jwt` and
/// claims of your own. The registration's `token_dialect`
/// ([`TokenDialect`]) shapes them as Auth0 does: under
/// `access_token_authz` and `rfc9068_profile_authz` the declared scopes are also in
/// `permissions` (an array, there even when empty), beside `scope`; under `rfc9068_profile*`
/// the header's `typ` is `at+jwt`, every token has a `jti` (unique, made here unless you set
/// one) and needs a `client_id`, which [`client_token`](Self::client_token) sets instead of
/// `azp` and `gty`. [`new`](Self::new) signs HS256, HS384 or HS512 with the resource
/// server's `signing_secret`; `with_signing_key` (features `issuer` and `jwks`) signs any
/// asymmetric algorithm with a private key and names its `kid`. Either
/// way a [`BearerGuardLayer`](crate::BearerGuardLayer) built from the same registration (and,
/// for a private key, its public JWK) accepts them.
///
/// # Example
///
/// How to test a protected route: mint a token with the scopes the test needs and call the
/// router, here without any network.
///
/// ```
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use bearer_guard::{BearerGuardLayer, ResourceServer};
/// use bearer_guard::issuer::TokenIssuer;
/// use tower::ServiceExt as _;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
///     .with_scope("read:messages", "Read messages");
/// let issuer = "https://my-tenant.example.com/";
/// let guard = BearerGuardLayer::builder(api.clone()).issuer(issuer).build()?;
/// let app = Router::new()
///     .route("/api/messages", get(|| async { "messages" }))
///     .route_layer(guard.require_all(["read:messages"])?)
///     .layer(guard);
///
/// let tokens = TokenIssuer::new(&api, issuer)?;
/// let reader = tokens.client_token("test-client").scope("read:messages")
///     .authorize(Request::get("/api/messages"))?.body(Body::empty())?;
/// let nobody = tokens.client_token("test-client")
///     .authorize(Request::get("/api/messages"))?.body(Body::empty())?;
/// assert_eq!(app.clone().oneshot(reader).await?.status(), 200);
/// assert_eq!(app.oneshot(nobody).await?.status(), 403);
/// # Ok(())
/// # }
/// ```
///
/// Holds the signing key; its `Debug` never shows it.
#[derive(Clone)]
pub struct TokenIssuer {
    key: IssuerKey,
    issuer: Box<str>,
    audience: Box<str>,
    lifetime: Duration,
    declared: Box<[Box<str>]>,
    dialect: TokenDialect,
    /// Set by [`scope_claim`](Self::scope_claim): the one claim the scopes go to.
    scope_claim: Option<Box<str>>,
}

/// What signs the tokens.
#[derive(Clone)]
enum IssuerKey {
    /// Boxed: an HMAC-SHA512 key's two hash states are larger than a `SigningKey`.
    Hmac(Box<HmacKey>),
    #[cfg(feature = "jwks")]
    Private(SigningKey),
}

impl TokenIssuer {
    /// An issuer named `issuer` (the tokens' `iss`, usually a URL ending in `/`) for
    /// `resource_server`, signing with its `signing_secret` under its `signing_alg`: HS256,
    /// HS384 or HS512.
    ///
    /// # Errors
    ///
    /// The resource server cannot be signed for: [`ConfigError::EmptyIdentifier`] or
    /// [`ConfigError::IdentifierNotAbsoluteUri`],
    /// [`ConfigError::UnsupportedAlgorithm`] (not an HMAC algorithm: use
    /// `with_signing_key`), [`ConfigError::MissingSecret`],
    /// [`ConfigError::EmptySecret`] or [`ConfigError::ZeroTokenLifetime`]; or `issuer` is empty
    /// ([`ConfigError::EmptyIssuer`]).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{ConfigError, ResourceServer};
    /// use bearer_guard::issuer::TokenIssuer;
    ///
    /// let api = ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "RS256"}"#)?;
    /// let err = TokenIssuer::new(&api, "https://my-tenant.example.com/").unwrap_err();
    /// assert_eq!(err, ConfigError::UnsupportedAlgorithm { alg: "RS256".into() });
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn new(
        resource_server: &ResourceServer,
        issuer: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        let issuer = issuer.into();
        if issuer.is_empty() {
            return Err(ConfigError::EmptyIssuer);
        }
        let (alg, secret) = resource_server.hmac_secret()?;
        if secret.is_empty() {
            return Err(ConfigError::EmptySecret);
        }
        let key = HmacKey::new(alg, secret).ok_or_else(|| ConfigError::UnsupportedAlgorithm {
            alg: alg.name().to_owned(),
        })?;
        Self::assemble(resource_server, issuer, IssuerKey::Hmac(Box::new(key)))
    }

    /// An issuer named `issuer` for `resource_server`, signing with `key` (features `issuer`
    /// and `jwks`): the resource server's `signing_alg` must be the key's algorithm. Each
    /// token's header names the key's `kid`; serve [`SigningKey::jwk_set`] as the issuer's
    /// JWKS and a guard for the same registration accepts the tokens.
    ///
    /// # Errors
    ///
    /// [`SigningKeyError::AlgorithmMismatch`] when the resource server's `signing_alg` is not
    /// the key's; [`SigningKeyError::ResourceServer`] for what [`new`](Self::new) refuses
    /// besides the secret (identifier, lifetime, empty issuer).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{Algorithm, BearerGuardLayer, ResourceServer};
    /// use bearer_guard::issuer::{SigningKey, TokenIssuer};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let api = ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "RS256",
    ///     "scopes": [{"value": "read:messages"}]}"#)?;
    /// let key = SigningKey::generate(Algorithm::Rs256, "test-key-1")?;
    /// let tokens = TokenIssuer::with_signing_key(&api, "https://my-tenant.example.com/", key.clone())?;
    /// let token = tokens.client_token("test-client").scope("read:messages").sign()?;
    ///
    /// // The JWK set a test would serve at the issuer's jwks_uri, given here directly.
    /// let validator = BearerGuardLayer::builder(api)
    ///     .static_jwks(SigningKey::jwk_set([&key]).to_string())
    ///     .build_validator()?;
    /// assert!(validator.validate(&token)?.scopes().contains("read:messages"));
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "jwks")]
    pub fn with_signing_key(
        resource_server: &ResourceServer,
        issuer: impl Into<String>,
        key: SigningKey,
    ) -> Result<Self, SigningKeyError> {
        let issuer = issuer.into();
        if issuer.is_empty() {
            return Err(ConfigError::EmptyIssuer.into());
        }
        let alg = resource_server.algorithm()?;
        if alg != key.alg() {
            return Err(SigningKeyError::AlgorithmMismatch {
                key: key.alg(),
                resource_server: resource_server.signing_alg().to_owned(),
            });
        }
        Ok(Self::assemble(
            resource_server,
            issuer,
            IssuerKey::Private(key),
        )?)
    }

    fn assemble(
        resource_server: &ResourceServer,
        issuer: String,
        key: IssuerKey,
    ) -> Result<Self, ConfigError> {
        let lifetime = match resource_server.token_lifetime() {
            Some(0) => return Err(ConfigError::ZeroTokenLifetime),
            Some(seconds) => Duration::from_secs(seconds),
            None => DEFAULT_TOKEN_LIFETIME,
        };
        Ok(Self {
            key,
            issuer: issuer.into(),
            audience: resource_server.identifier().into(),
            lifetime,
            declared: resource_server
                .declared_scopes()
                .iter()
                .map(|scope| scope.value.clone().into_boxed_str())
                .collect(),
            dialect: resource_server.token_dialect(),
            scope_claim: None,
        })
    }

    /// Writes the scopes to the claim `claim` only, instead of the dialect's (`scope`, and
    /// `permissions` too under the `_authz` dialects): the claim your guard reads
    /// ([`BearerGuardBuilder::scope_claim`](crate::BearerGuardBuilder::scope_claim)), such as
    /// Auth0's `permissions`. `scope` gets them as one space-delimited string, as Auth0 and
    /// RFC 9068 write it; any other claim as a JSON array of strings, as Auth0 writes
    /// `permissions`. [`AccessTokenBuilder::claim`] then refuses `claim` (set the scopes with
    /// their own methods) and accepts `scope`, for a token that carries both, like Auth0's.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidScopeClaim`] for an empty name or a registered claim (`exp`,
    /// `nbf`, `iat`, `aud`, `iss`, `sub`, `azp`, `client_id`, `jti`), as the guard's builder.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// use bearer_guard::issuer::TokenIssuer;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
    ///     .with_scope("read:messages", "Read messages");
    /// let validator = BearerGuardLayer::builder(api.clone())
    ///     .scope_claim("permissions")
    ///     .build_validator()?;
    /// let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?.scope_claim("permissions")?;
    /// let token = tokens.token("auth0|alice").scope("read:messages").claim("scope", "openid profile").sign()?;
    /// assert!(validator.validate(&token)?.scopes().contains("read:messages"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn scope_claim(mut self, claim: impl Into<String>) -> Result<Self, ConfigError> {
        let claim = claim.into();
        if claim.is_empty() || REGISTERED.contains(&claim.as_str()) {
            return Err(ConfigError::InvalidScopeClaim { claim });
        }
        self.scope_claim = Some(claim.into());
        Ok(self)
    }

    /// The algorithm of the tokens: the resource server's HMAC one, or the `SigningKey`'s.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{Algorithm, ResourceServer};
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// assert_eq!(tokens.algorithm(), Algorithm::Hs256);
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        match &self.key {
            IssuerKey::Hmac(key) => key.alg(),
            #[cfg(feature = "jwks")]
            IssuerKey::Private(key) => key.alg(),
        }
    }

    /// Starts a token for `subject` (the `sub` claim).
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let token = tokens.token("auth0|5f7c8ec7c33c6c004bbafe82").sign()?;
    /// assert_eq!(token.split('.').count(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn token(&self, subject: impl Into<String>) -> AccessTokenBuilder<'_> {
        AccessTokenBuilder {
            issuer: self,
            subject: subject.into(),
            scopes: Vec::new(),
            undeclared: Vec::new(),
            audience: None,
            not_before: None,
            azp: None,
            client_id: None,
            jti: None,
            acr: None,
            auth_time: None,
            extra: Map::new(),
            at_jwt: false,
            issued_at: None,
            lifetime: None,
        }
    }

    /// Starts a token as Auth0's client-credentials grant issues it to `client_id`:
    /// `sub` is `<client_id>@clients`, `azp` is `client_id` and `gty` is `client-credentials`.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
    /// #     .with_scope("read:messages", "Read messages");
    /// let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let token = tokens.client_token("my-m2m-app").scope("read:messages").sign()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn client_token(&self, client_id: &str) -> AccessTokenBuilder<'_> {
        let token = self.token(format!("{client_id}@clients"));
        // Auth0's RFC 9068 profile names the client in `client_id`, and has no `gty`.
        if self.dialect.is_rfc9068() {
            token.client_id(client_id)
        } else {
            token.azp(client_id).claim("gty", "client-credentials")
        }
    }

    /// The registration's token dialect, which shapes the tokens.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// use bearer_guard::registration::TokenDialect;
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
    ///     .with_token_dialect(TokenDialect::AccessTokenAuthz);
    /// let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// assert_eq!(tokens.token_dialect(), TokenDialect::AccessTokenAuthz);
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[must_use]
    pub fn token_dialect(&self) -> TokenDialect {
        self.dialect
    }

    /// The lifetime of the tokens unless [`AccessTokenBuilder::expires_in`] says otherwise:
    /// the resource server's `token_lifetime`, or [`DEFAULT_TOKEN_LIFETIME`].
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # use std::time::Duration;
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
    ///     .with_token_lifetime(7200);
    /// let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// assert_eq!(tokens.lifetime(), Duration::from_secs(7200));
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[must_use]
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }
}

impl fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hmac(key) => key.fmt(f),
            #[cfg(feature = "jwks")]
            Self::Private(key) => key.fmt(f),
        }
    }
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("lifetime", &self.lifetime)
            .field("dialect", &self.dialect)
            .field("scope_claim", &self.scope_claim)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// One access token being put together; [`sign`](Self::sign) makes it. From
/// [`TokenIssuer::token`] or [`TokenIssuer::client_token`].
#[must_use = "a token is made only by `sign`"]
#[derive(Debug, Clone)]
pub struct AccessTokenBuilder<'a> {
    issuer: &'a TokenIssuer,
    subject: String,
    scopes: Vec<String>,
    undeclared: Vec<String>,
    audience: Option<Value>,
    not_before: Option<SystemTime>,
    azp: Option<String>,
    client_id: Option<String>,
    jti: Option<String>,
    /// `acr` and `auth_time` (RFC 9470), for step-up tests.
    acr: Option<String>,
    auth_time: Option<SystemTime>,
    extra: Map<String, Value>,
    at_jwt: bool,
    issued_at: Option<SystemTime>,
    lifetime: Option<Duration>,
}

impl AccessTokenBuilder<'_> {
    /// Adds scopes: one scope, or several separated by spaces as in the `scope` claim. Each
    /// must be declared by the resource server ([`sign`](Self::sign) refuses others; see
    /// [`undeclared_scope`](Self::undeclared_scope)).
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
    /// #     .with_scope("read:messages", "").with_scope("write:messages", "");
    /// let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let token = tokens.token("alice").scope("read:messages write:messages").sign()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scope(mut self, scopes: &str) -> Self {
        self.scopes.extend(split_scopes(scopes));
        self
    }

    /// Adds each of `scopes`, which must be declared, as [`scope`](Self::scope).
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
    /// #     .with_scope("read:messages", "").with_scope("write:messages", "");
    /// # let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let token = tokens.token("alice").scopes(["read:messages", "write:messages"]).sign()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scopes<I>(mut self, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Adds scopes the resource server does not declare, on purpose: Auth0 puts `openid
    /// profile email` beside an API's own scopes in a user's token. One scope, or several
    /// separated by spaces; they go to the same claim as the others, and must still be valid
    /// scope tokens.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
    /// #     .with_scope("read:messages", "");
    /// # let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let token = tokens.token("auth0|alice")
    ///     .undeclared_scope("openid profile")
    ///     .scope("read:messages")
    ///     .sign()?;
    /// assert!(tokens.token("auth0|alice").scope("openid").sign().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn undeclared_scope(mut self, scopes: &str) -> Self {
        self.undeclared.extend(split_scopes(scopes));
        self
    }

    /// Sets `aud` to `audience` instead of the resource server's identifier: for the tests of
    /// a token meant for another API.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer, TokenErrorKind};
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let validator = BearerGuardLayer::builder(api.clone()).build_validator()?;
    /// let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let elsewhere = tokens.token("alice").audience("https://another-api").sign()?;
    /// assert_eq!(validator.validate(&elsewhere).unwrap_err().kind(), TokenErrorKind::InvalidAudience);
    /// # Ok(())
    /// # }
    /// ```
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(Value::String(audience.into()));
        self
    }

    /// Sets `aud` to an array of `audiences`, as Auth0 writes it for a token that is also
    /// good at its `/userinfo` endpoint. An empty array makes a token every guard refuses.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let validator = BearerGuardLayer::builder(api.clone()).build_validator()?;
    /// let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let both = tokens.token("alice")
    ///     .audiences(["https://my-api-urn", "https://my-tenant.example.com/userinfo"])
    ///     .sign()?;
    /// assert!(validator.validate(&both).is_ok());
    /// # Ok(())
    /// # }
    /// ```
    pub fn audiences<I>(mut self, audiences: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.audience = Some(Value::Array(
            audiences
                .into_iter()
                .map(|audience| Value::String(audience.into()))
                .collect(),
        ));
        self
    }

    /// Sets `nbf`: the token is not valid before `at` (whole seconds).
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer, TokenErrorKind};
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # use std::time::{Duration, SystemTime};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let validator = BearerGuardLayer::builder(api.clone()).build_validator()?;
    /// let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let in_an_hour = SystemTime::now() + Duration::from_secs(3600);
    /// let early = tokens.token("alice").not_before(in_an_hour).sign()?;
    /// assert_eq!(validator.validate(&early).unwrap_err().kind(), TokenErrorKind::NotYetValid);
    /// # Ok(())
    /// # }
    /// ```
    pub fn not_before(mut self, at: SystemTime) -> Self {
        self.not_before = Some(at);
        self
    }

    /// Sets `azp`, the authorized party: the client the token was issued to.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// # let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let token = tokens.token("auth0|alice").azp("my-spa").sign()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn azp(mut self, client_id: impl Into<String>) -> Self {
        self.azp = Some(client_id.into());
        self
    }

    /// Sets `client_id` (RFC 9068 §2.2).
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// # let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let token = tokens.token("auth0|alice").client_id("my-spa").jti("t-1").at_jwt().sign()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Sets `jti`, the token's unique identifier.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// # let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let token = tokens.token("auth0|alice").jti("8d3c2b").sign()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn jti(mut self, jti: impl Into<String>) -> Self {
        self.jti = Some(jti.into());
        self
    }

    /// Sets `acr`, the class of the user's authentication (OpenID Connect Core §2), as an
    /// authorization server that supports step-up (RFC 9470 §6) writes it: for testing routes
    /// with a step-up requirement. (Auth0 writes no `acr` into access tokens; an Action can
    /// write a namespaced one, which [`claim`](Self::claim) makes.)
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// # let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let token = tokens.token("auth0|alice")
    ///     .acr("http://schemas.openid.net/pape/policies/2007/06/multi-factor")
    ///     .sign()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn acr(mut self, acr: impl Into<String>) -> Self {
        self.acr = Some(acr.into());
        self
    }

    /// Sets `auth_time`, when the user authenticated (whole seconds): for testing routes with a
    /// maximum authentication age (RFC 9470).
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # use std::time::{Duration, SystemTime};
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// # let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    /// let token = tokens.token("auth0|alice").auth_time(an_hour_ago).sign()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn auth_time(mut self, at: SystemTime) -> Self {
        self.auth_time = Some(at);
        self
    }

    /// Adds a claim of your own, such as `gty` or a namespaced claim. The claims this builder
    /// sets itself (`iss`, `sub`, `aud`, `iat`, `exp`, `nbf`, `azp`, `client_id`, `jti`, `acr`,
    /// `auth_time`, and the scope claim) are refused by [`sign`](Self::sign): use their own
    /// methods.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// # let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let token = tokens.token("auth0|alice").claim("https://example.com/roles", vec!["admin"]).sign()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }

    /// Binds the token to a client certificate (RFC 8705 §3): `cnf["x5t#S256"]` is the
    /// certificate's SHA-256 thumbprint, added to a `cnf` given before with
    /// [`claim`](Self::claim) (a DPoP `jkt`, say), so that a token can be bound both ways.
    /// A guard that takes certificate-bound tokens lets it through only with that
    /// certificate ([`mtls`](crate::mtls)).
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # use bearer_guard::issuer::TokenIssuer;
    /// use bearer_guard::mtls::ClientCertificate;
    ///
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// # let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let certificate = ClientCertificate::from_der(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
    /// let token = tokens
    ///     .client_token("my-client")
    ///     .claim("cnf", serde_json::json!({ "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" }))
    ///     .bound_to_certificate(&certificate)
    ///     .sign()?;
    /// let verified = BearerGuardLayer::builder(api).build_validator()?.validate(&token)?;
    /// assert_eq!(verified.certificate_thumbprint(), Some(certificate.thumbprint()));
    /// assert_eq!(verified.confirmation_thumbprint(), Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bound_to_certificate(mut self, certificate: &crate::mtls::ClientCertificate) -> Self {
        let x5t = Value::from(certificate.thumbprint());
        match self.extra.get_mut("cnf") {
            Some(Value::Object(cnf)) => {
                cnf.insert("x5t#S256".into(), x5t);
            }
            _ => {
                let mut cnf = Map::new();
                cnf.insert("x5t#S256".into(), x5t);
                self.extra.insert("cnf".into(), Value::Object(cnf));
            }
        }
        self
    }

    /// Sets the header's `typ` to `at+jwt`, as RFC 9068 access tokens have it.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// # let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let token = tokens.token("auth0|alice").at_jwt().sign()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn at_jwt(mut self) -> Self {
        self.at_jwt = true;
        self
    }

    /// Sets `iat`, the time of issue (default: now). `exp` follows it by the lifetime, so an
    /// `issued_at` far enough in the past makes an expired token for a test.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # use std::time::{Duration, SystemTime};
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// # let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 86_400);
    /// let expired = tokens.token("auth0|alice").issued_at(two_days_ago).sign()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn issued_at(mut self, at: SystemTime) -> Self {
        self.issued_at = Some(at);
        self
    }

    /// Sets the lifetime (`exp` − `iat`), whole seconds; default [`TokenIssuer::lifetime`].
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// # use std::time::Duration;
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// # let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let short = tokens.token("auth0|alice").expires_in(Duration::from_secs(60)).sign()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self
    }

    /// Signs the token and adds it to `request` as `Authorization: Bearer <token>`: a test's
    /// request in one line.
    ///
    /// # Errors
    ///
    /// As [`sign`](Self::sign).
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::TokenIssuer;
    /// use http::Request;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// # let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let request = tokens.token("alice").authorize(Request::get("/api/private"))?.body(())?;
    /// assert!(request.headers()["authorization"].to_str()?.starts_with("Bearer ey"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn authorize(
        self,
        request: http::request::Builder,
    ) -> Result<http::request::Builder, IssueError> {
        let token = self.sign()?;
        Ok(request.header(http::header::AUTHORIZATION, format!("Bearer {token}")))
    }

    /// Signs the token and returns its compact form.
    ///
    /// # Errors
    ///
    /// [`IssueError::ReservedClaim`] when [`claim`](Self::claim) named a claim set by its own
    /// method; [`IssueError::InvalidScope`] for a scope that is not a valid scope token (RFC
    /// 6749 §3.3); [`IssueError::UndeclaredScope`] for a scope the resource server does not
    /// declare, given to [`scope`](Self::scope) or [`scopes`](Self::scopes);
    /// [`IssueError::InvalidTime`] when `iat` or `nbf` is before 1970 or `exp` overflows;
    /// [`IssueError::MissingClientId`] under an RFC 9068 dialect without a `client_id`;
    /// [`IssueError::SigningFailed`] if the crypto library failed to sign.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::ResourceServer;
    /// # use bearer_guard::issuer::{IssueError, TokenIssuer};
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// # let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let err = tokens.token("alice").scope("delete:everything").sign().unwrap_err();
    /// assert_eq!(err, IssueError::UndeclaredScope { scope: "delete:everything".into() });
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn sign(self) -> Result<String, IssueError> {
        let dialect = self.issuer.dialect;
        let scope_claims = match (
            self.issuer.scope_claim.as_deref(),
            dialect.has_permissions(),
        ) {
            (Some(claim), _) => [Some(claim), None],
            (None, false) => [Some("scope"), None],
            (None, true) => [Some("scope"), Some("permissions")],
        };
        if let Some(name) = SET_BY_BUILDER
            .iter()
            .chain(scope_claims.iter().flatten())
            .find(|name| self.extra.contains_key(**name))
        {
            return Err(IssueError::ReservedClaim {
                name: (*name).to_owned(),
            });
        }
        for scope in self.scopes.iter().chain(&self.undeclared) {
            if !is_scope_token(scope) {
                return Err(IssueError::InvalidScope {
                    scope: scope.clone(),
                });
            }
        }
        if let Some(scope) = self
            .scopes
            .iter()
            .find(|scope| !self.issuer.declared.iter().any(|d| **d == ***scope))
        {
            return Err(IssueError::UndeclaredScope {
                scope: scope.clone(),
            });
        }
        if dialect.is_rfc9068() && self.client_id.is_none() {
            return Err(IssueError::MissingClientId { dialect });
        }
        let seconds = |at: SystemTime| {
            at.duration_since(UNIX_EPOCH)
                .map(|since| since.as_secs())
                .map_err(|_| IssueError::InvalidTime)
        };
        let issued_at = seconds(self.issued_at.unwrap_or_else(SystemTime::now))?;
        let expires_at = issued_at
            .checked_add(self.lifetime.unwrap_or(self.issuer.lifetime).as_secs())
            .ok_or(IssueError::InvalidTime)?;
        let not_before = self.not_before.map(seconds).transpose()?;
        let auth_time = self.auth_time.map(seconds).transpose()?;
        let jti = match self.jti {
            None if dialect.is_rfc9068() => Some(unique_jti(&self.issuer.issuer, &self.subject)),
            jti => jti,
        };
        let mut claims = Map::new();
        let mut set = |name: &str, value: Value| claims.insert(name.to_owned(), value);
        set("iss", self.issuer.issuer.as_ref().into());
        set("sub", self.subject.into());
        set(
            "aud",
            self.audience
                .unwrap_or_else(|| self.issuer.audience.as_ref().into()),
        );
        set("iat", issued_at.into());
        set("exp", expires_at.into());
        if let Some(not_before) = not_before {
            set("nbf", not_before.into());
        }
        for (name, value) in [
            ("azp", self.azp),
            ("client_id", self.client_id),
            ("jti", jti),
            ("acr", self.acr),
        ] {
            if let Some(value) = value {
                set(name, value.into());
            }
        }
        if let Some(auth_time) = auth_time {
            set("auth_time", auth_time.into());
        }
        match &self.issuer.scope_claim {
            Some(claim) => {
                let mut scopes = self.scopes;
                scopes.extend(self.undeclared);
                if !scopes.is_empty() {
                    // `scope` is one space-delimited string (RFC 9068 §2.2.3, Auth0); other
                    // claims, such as Auth0's `permissions`, an array.
                    let value = if &**claim == "scope" {
                        scopes.join(" ").into()
                    } else {
                        scopes.into()
                    };
                    set(claim, value);
                }
            }
            None => {
                // Auth0's `_authz` dialects: the API's permissions as an array, and `scope`
                // as always, which also holds the scopes the API does not declare (`openid`).
                if dialect.has_permissions() {
                    set("permissions", self.scopes.clone().into());
                }
                let mut scopes = self.scopes;
                scopes.extend(self.undeclared);
                if !scopes.is_empty() {
                    set("scope", scopes.join(" ").into());
                }
            }
        }
        // None of these names is set above: the check at the top refuses them.
        claims.extend(self.extra);

        let mut header = Map::new();
        header.insert("alg".to_owned(), self.issuer.algorithm().name().into());
        header.insert(
            "typ".to_owned(),
            if self.at_jwt || dialect.is_rfc9068() {
                "at+jwt"
            } else {
                "JWT"
            }
            .into(),
        );
        #[cfg(feature = "jwks")]
        if let IssuerKey::Private(key) = &self.issuer.key {
            header.insert("kid".to_owned(), key.kid().into());
        }
        let mut token = URL_SAFE_NO_PAD.encode(Value::Object(header).to_string());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(Value::Object(claims).to_string(), &mut token);
        let signature = match &self.issuer.key {
            IssuerKey::Hmac(key) => key.sign(token.as_bytes()),
            #[cfg(feature = "jwks")]
            IssuerKey::Private(key) => key
                .sign(token.as_bytes())
                .map_err(|_| IssueError::SigningFailed)?,
        };
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }
}

/// A `jti` no other token of this process has, and one of another process only by a
/// collision of SHA-256: the time, the process, a counter, the issuer and the subject,
/// hashed. Unique, not secret.
fn unique_jti(issuer: &str, subject: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let digest = Sha256::new()
        .chain_update(nanos.to_be_bytes())
        .chain_update(std::process::id().to_be_bytes())
        .chain_update(count.to_be_bytes())
        .chain_update(issuer.as_bytes())
        .chain_update([0])
        .chain_update(subject.as_bytes())
        .finalize();
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The scope tokens of a space-separated list.
fn split_scopes(scopes: &str) -> impl Iterator<Item = String> + '_ {
    scopes
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Why [`AccessTokenBuilder::sign`] made no token. Its message says what to change.
///
/// # Example
///
/// ```
/// use bearer_guard::ResourceServer;
/// use bearer_guard::issuer::{IssueError, TokenIssuer};
///
/// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
/// let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
/// let err = tokens.token("alice").claim("exp", 0).sign().unwrap_err();
/// assert_eq!(err, IssueError::ReservedClaim { name: "exp".into() });
/// assert!(err.to_string().contains("use its own method"));
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// `claim` named a claim that the builder sets through its own method.
    #[error(
        "the claim `{name}` is set by the token builder; use its own method instead of `claim`"
    )]
    ReservedClaim {
        /// The claim's name.
        name: String,
    },
    /// A scope is empty or has characters that scope tokens cannot hold (RFC 6749 §3.3).
    #[error("{scope:?} is not a valid scope token (RFC 6749 §3.3)")]
    InvalidScope {
        /// The scope as given.
        scope: String,
    },
    /// The resource server does not declare this scope.
    #[error("the resource server does not declare the scope `{scope}`; add it to its scopes first")]
    UndeclaredScope {
        /// The scope as given.
        scope: String,
    },
    /// `iat` or `nbf` is before 1970, or `iat` + lifetime is past what a JSON number holds.
    #[error(
        "the token's times are out of range (iat or nbf before 1970, or exp overflowing): use a later issued_at or not_before, or a shorter expires_in"
    )]
    InvalidTime,
    /// The resource server's dialect is RFC 9068's, whose tokens need a `client_id`, and
    /// none was set.
    #[error(
        "the token_dialect {dialect} makes RFC 9068 tokens, which name their client in client_id: call client_id(…), or mint with client_token(…)"
    )]
    MissingClientId {
        /// The resource server's dialect.
        dialect: TokenDialect,
    },
    /// The crypto library failed to sign with the private key (it does not, for a key it
    /// accepted).
    #[error("the private key failed to sign the token")]
    SigningFailed,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{AUDIENCE, ISSUER, NOW, resource_server, validator};

    fn at(seconds: f64) -> SystemTime {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let seconds = seconds as u64;
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(&resource_server(), ISSUER).unwrap()
    }

    fn claims_of(token: &str) -> Value {
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    fn header_of(token: &str) -> Value {
        let header = token.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
    }

    #[test]
    fn client_token_has_the_auth0_client_credentials_claims() {
        let token = issuer()
            .client_token("abc123")
            .scope("read:messages openid")
            .issued_at(at(NOW))
            .sign()
            .unwrap();
        let claims = claims_of(&token);
        assert_eq!(
            claims,
            serde_json::json!({
                "iss": ISSUER, "sub": "abc123@clients", "aud": AUDIENCE,
                "iat": 1_700_000_000u64, "exp": 1_700_086_400u64, "azp": "abc123",
                "gty": "client-credentials", "scope": "read:messages openid",
            })
        );
        assert_eq!(
            header_of(&token),
            serde_json::json!({"alg": "HS256", "typ": "JWT"})
        );
    }

    #[test]
    fn the_validator_accepts_what_it_mints() {
        let token = issuer()
            .token("alice")
            .scope("read:messages")
            .issued_at(at(NOW - 10.0))
            .sign()
            .unwrap();
        let verified = validator().validate_at(&token, at(NOW)).unwrap();
        assert_eq!(verified.subject(), Some("alice"));
        assert!(verified.scopes().contains("read:messages"));
    }

    #[test]
    fn hs384_and_hs512_registrations_mint_their_own_algorithm() {
        // A 64-byte secret: long enough for every HMAC algorithm.
        let secret = "a signing secret of sixty-four bytes, long enough for HS512 too!";
        assert_eq!(secret.len(), 64);
        for (name, alg, jwt_alg) in [
            ("HS384", Algorithm::Hs384, jsonwebtoken::Algorithm::HS384),
            ("HS512", Algorithm::Hs512, jsonwebtoken::Algorithm::HS512),
        ] {
            let api = crate::ResourceServer::from_json(&format!(
                r#"{{"identifier": "{AUDIENCE}", "signing_alg": "{name}", "signing_secret": "{secret}",
                    "scopes": [{{"value": "read:messages"}}]}}"#
            ))
            .unwrap();
            let tokens = TokenIssuer::new(&api, ISSUER).unwrap();
            assert_eq!(tokens.algorithm(), alg);
            let token = tokens.token("alice").scope("read:messages").sign().unwrap();
            assert_eq!(
                header_of(&token),
                serde_json::json!({"alg": name, "typ": "JWT"})
            );
            // jsonwebtoken, which shares no code with this crate, verifies it.
            let mut validation = jsonwebtoken::Validation::new(jwt_alg);
            validation.set_audience(&[AUDIENCE]);
            let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes());
            assert!(
                jsonwebtoken::decode::<Value>(&token, &key, &validation).is_ok(),
                "{name}"
            );
            let verified = crate::BearerGuardLayer::builder(api)
                .build_validator()
                .unwrap()
                .validate(&token)
                .unwrap();
            assert_eq!(verified.subject(), Some("alice"));
            // The HS256 API with the same secret refuses it: the algorithm is pinned.
            let hs256 = crate::ResourceServer::new(AUDIENCE, secret);
            let refused = crate::BearerGuardLayer::builder(hs256)
                .build_validator()
                .unwrap()
                .validate(&token)
                .unwrap_err();
            assert_eq!(refused.kind(), crate::TokenErrorKind::UnsupportedAlgorithm);
        }
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let other = crate::ResourceServer::new(AUDIENCE, "another secret, also 32 bytes long")
            .with_scope("read:messages", "");
        let token = TokenIssuer::new(&other, ISSUER)
            .unwrap()
            .token("alice")
            .issued_at(at(NOW))
            .sign()
            .unwrap();
        assert_eq!(
            validator().validate_at(&token, at(NOW)).unwrap_err().kind(),
            crate::TokenErrorKind::InvalidSignature
        );
    }

    #[test]
    fn lifetime_comes_from_the_resource_server_then_the_builder() {
        let api = resource_server().with_token_lifetime(600);
        let tokens = TokenIssuer::new(&api, ISSUER).unwrap();
        let default = claims_of(&tokens.token("a").issued_at(at(NOW)).sign().unwrap());
        assert_eq!(default["exp"], 1_700_000_600u64);
        let custom = tokens
            .token("a")
            .issued_at(at(NOW))
            .expires_in(Duration::from_secs(30))
            .sign()
            .unwrap();
        assert_eq!(claims_of(&custom)["exp"], 1_700_000_030u64);
        assert_eq!(issuer().lifetime(), DEFAULT_TOKEN_LIFETIME);
    }

    #[test]
    fn rfc9068_tokens_pass_the_strict_profile() {
        let token = issuer()
            .token("alice")
            .client_id("spa")
            .jti("t-1")
            .at_jwt()
            .issued_at(at(NOW))
            .sign()
            .unwrap();
        assert_eq!(header_of(&token)["typ"], "at+jwt");
        let mut strict = validator();
        strict.rfc9068 = true;
        assert!(strict.validate_at(&token, at(NOW)).is_ok());
        let plain = issuer().token("alice").issued_at(at(NOW)).sign().unwrap();
        assert!(strict.validate_at(&plain, at(NOW)).is_err());
    }

    #[test]
    fn optional_claims_appear_only_when_set() {
        let claims = claims_of(&issuer().token("alice").sign().unwrap());
        for absent in ["azp", "client_id", "jti", "scope", "gty"] {
            assert!(claims.get(absent).is_none(), "{absent}");
        }
        let claims = claims_of(
            &issuer()
                .token("alice")
                .claim("permissions", serde_json::json!(["read:messages"]))
                .claim("gty", "password")
                .sign()
                .unwrap(),
        );
        assert_eq!(claims["permissions"][0], "read:messages");
        assert_eq!(claims["gty"], "password");
        assert!(claims.get("nbf").is_none());
    }

    #[test]
    fn acr_and_auth_time_are_set_only_when_asked_and_never_by_claim() {
        let claims = claims_of(&issuer().token("alice").sign().unwrap());
        assert!(claims.get("acr").is_none() && claims.get("auth_time").is_none());
        let mfa = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
        let token = issuer()
            .token("alice")
            .acr(mfa)
            .auth_time(at(NOW - 1000.0))
            .sign()
            .unwrap();
        let claims = claims_of(&token);
        assert_eq!(claims["acr"], mfa);
        assert_eq!(claims["auth_time"], 1_699_999_000);
        // The validator reads back what was minted.
        let token = issuer()
            .token("alice")
            .acr(mfa)
            .auth_time(at(NOW - 1000.0))
            .issued_at(at(NOW))
            .sign()
            .unwrap();
        let verified = validator().validate_at(&token, at(NOW)).unwrap();
        assert_eq!(verified.authentication_context_class(), Some(mfa));
        assert_eq!(verified.authenticated_at(), Some(at(NOW - 1000.0)));
        for reserved in ["acr", "auth_time"] {
            assert_eq!(
                issuer().token("alice").claim(reserved, 1).sign(),
                Err(IssueError::ReservedClaim {
                    name: reserved.into()
                })
            );
        }
    }

    #[test]
    fn audience_and_audiences_replace_aud() {
        let tokens = issuer();
        let other = tokens
            .token("a")
            .audience("https://other-api")
            .issued_at(at(NOW))
            .sign()
            .unwrap();
        assert_eq!(claims_of(&other)["aud"], "https://other-api");
        assert_eq!(
            validator().validate_at(&other, at(NOW)).unwrap_err().kind(),
            crate::TokenErrorKind::InvalidAudience
        );
        let both = tokens
            .token("a")
            .audiences([AUDIENCE, "https://issuer.example/userinfo"])
            .issued_at(at(NOW))
            .sign()
            .unwrap();
        assert_eq!(
            claims_of(&both)["aud"],
            serde_json::json!([AUDIENCE, "https://issuer.example/userinfo"])
        );
        assert!(validator().validate_at(&both, at(NOW)).is_ok());
        let none = tokens
            .token("a")
            .audiences(Vec::<String>::new())
            .issued_at(at(NOW))
            .sign()
            .unwrap();
        assert_eq!(claims_of(&none)["aud"], serde_json::json!([]));
        assert!(validator().validate_at(&none, at(NOW)).is_err());
    }

    #[test]
    fn not_before_sets_nbf_in_whole_seconds() {
        let token = issuer()
            .token("a")
            .issued_at(at(NOW))
            .not_before(at(NOW + 3600.0) + Duration::from_millis(900))
            .sign()
            .unwrap();
        assert_eq!(claims_of(&token)["nbf"], 1_700_003_600u64);
        assert_eq!(
            validator().validate_at(&token, at(NOW)).unwrap_err().kind(),
            crate::TokenErrorKind::NotYetValid
        );
        assert!(validator().validate_at(&token, at(NOW + 3600.0)).is_ok());
        assert_eq!(
            issuer()
                .token("a")
                .not_before(UNIX_EPOCH - Duration::from_secs(1))
                .sign(),
            Err(IssueError::InvalidTime)
        );
    }

    #[test]
    fn undeclared_scopes_only_on_explicit_opt_in() {
        let tokens = issuer();
        assert_eq!(
            tokens.token("a").scope("profile").sign(),
            Err(IssueError::UndeclaredScope {
                scope: "profile".into()
            })
        );
        let token = tokens
            .token("a")
            .undeclared_scope("openid  profile")
            .scope("read:messages")
            .issued_at(at(NOW))
            .sign()
            .unwrap();
        assert_eq!(claims_of(&token)["scope"], "read:messages openid profile");
        let verified = validator().validate_at(&token, at(NOW)).unwrap();
        assert!(verified.scopes().contains("profile"));
        assert_eq!(
            tokens.token("a").undeclared_scope("pro\\file").sign(),
            Err(IssueError::InvalidScope {
                scope: "pro\\file".into()
            })
        );
    }

    #[test]
    fn scopes_go_to_the_configured_scope_claim() {
        let tokens = issuer().scope_claim("permissions").unwrap();
        let token = tokens
            .token("a")
            .scope("read:messages")
            .claim("scope", "openid profile")
            .issued_at(at(NOW))
            .sign()
            .unwrap();
        let claims = claims_of(&token);
        assert_eq!(claims["permissions"], serde_json::json!(["read:messages"]));
        assert_eq!(claims["scope"], "openid profile");
        let mut permissions = validator();
        permissions.scope_claim = "permissions".into();
        let verified = permissions.validate_at(&token, at(NOW)).unwrap();
        assert!(verified.scopes().contains("read:messages"));
        assert!(!verified.scopes().contains("openid"));
        // The scope claim is set by its methods only; `scope` stays free for `claim`.
        assert_eq!(
            tokens.token("a").claim("permissions", "x").sign(),
            Err(IssueError::ReservedClaim {
                name: "permissions".into()
            })
        );
        assert_eq!(
            issuer().token("a").claim("scope", "x").sign(),
            Err(IssueError::ReservedClaim {
                name: "scope".into()
            })
        );
        for claim in ["", "aud", "exp", "nbf", "sub"] {
            assert_eq!(
                issuer().scope_claim(claim).unwrap_err(),
                ConfigError::InvalidScopeClaim {
                    claim: claim.into()
                }
            );
        }
    }

    fn issuer_for(dialect: TokenDialect) -> TokenIssuer {
        TokenIssuer::new(&resource_server().with_token_dialect(dialect), ISSUER).unwrap()
    }

    #[test]
    fn authz_dialects_put_the_declared_scopes_in_permissions_beside_scope() {
        for dialect in [
            TokenDialect::AccessTokenAuthz,
            TokenDialect::Rfc9068ProfileAuthz,
        ] {
            let tokens = issuer_for(dialect);
            let token = tokens
                .client_token("abc123")
                .undeclared_scope("openid")
                .scope("read:messages")
                .sign()
                .unwrap();
            let claims = claims_of(&token);
            assert_eq!(claims["permissions"], serde_json::json!(["read:messages"]));
            assert_eq!(claims["scope"], "read:messages openid");
            // No scope at all: `permissions` is there, empty; `scope` is not.
            let bare = claims_of(&tokens.client_token("abc123").sign().unwrap());
            assert_eq!(bare["permissions"], serde_json::json!([]));
            assert!(bare.get("scope").is_none());
            for name in ["scope", "permissions"] {
                assert_eq!(
                    tokens.token("a").client_id("c").claim(name, "x").sign(),
                    Err(IssueError::ReservedClaim { name: name.into() }),
                    "{dialect} {name}"
                );
            }
        }
        let plain = claims_of(&issuer().token("a").scope("read:messages").sign().unwrap());
        assert!(plain.get("permissions").is_none());
    }

    #[test]
    fn rfc9068_dialects_mint_at_jwt_tokens_with_client_id_and_jti() {
        for dialect in [
            TokenDialect::Rfc9068Profile,
            TokenDialect::Rfc9068ProfileAuthz,
        ] {
            let tokens = issuer_for(dialect);
            let first = tokens
                .client_token("abc123")
                .issued_at(at(NOW))
                .sign()
                .unwrap();
            let second = tokens
                .client_token("abc123")
                .issued_at(at(NOW))
                .sign()
                .unwrap();
            assert_eq!(header_of(&first)["typ"], "at+jwt");
            let claims = claims_of(&first);
            assert_eq!(claims["client_id"], "abc123");
            assert_eq!(claims["sub"], "abc123@clients");
            assert!(claims.get("azp").is_none() && claims.get("gty").is_none());
            let jti = claims["jti"].as_str().unwrap();
            assert_eq!(jti.len(), 22);
            assert_ne!(claims_of(&second)["jti"], jti);
            // A jti of one's own is kept; a user's token needs its client named.
            let own = tokens
                .token("alice")
                .client_id("spa")
                .jti("t-1")
                .sign()
                .unwrap();
            assert_eq!(claims_of(&own)["jti"], "t-1");
            assert_eq!(
                tokens.token("alice").sign(),
                Err(IssueError::MissingClientId { dialect })
            );
            let mut strict = validator();
            strict.rfc9068 = true;
            assert!(strict.validate_at(&first, at(NOW)).is_ok(), "{dialect}");
        }
    }

    #[test]
    fn a_guard_built_from_the_same_registration_accepts_each_dialects_tokens() {
        for dialect in TokenDialect::ALL {
            let api = resource_server().with_token_dialect(dialect);
            let tokens = TokenIssuer::new(&api, ISSUER).unwrap();
            let token = tokens
                .client_token("abc123")
                .scope("read:messages")
                .sign()
                .unwrap();
            let verified = crate::BearerGuardLayer::builder(api)
                .issuer(ISSUER)
                .build_validator()
                .unwrap()
                .validate(&token)
                .unwrap();
            assert!(verified.scopes().contains("read:messages"), "{dialect}");
        }
    }

    #[test]
    fn authorize_puts_the_token_in_a_bearer_header() {
        let request = issuer()
            .token("alice")
            .scope("read:messages")
            .authorize(http::Request::post("/api/messages"))
            .unwrap()
            .body(())
            .unwrap();
        assert_eq!(request.method(), http::Method::POST);
        let value = request.headers()[http::header::AUTHORIZATION]
            .to_str()
            .unwrap();
        let token = value.strip_prefix("Bearer ").unwrap();
        assert_eq!(
            validator().validate(token).unwrap().subject(),
            Some("alice")
        );
        assert_eq!(
            issuer()
                .token("a")
                .scope("nope")
                .authorize(http::Request::get("/"))
                .unwrap_err(),
            IssueError::UndeclaredScope {
                scope: "nope".into()
            }
        );
    }

    #[test]
    fn refuses_what_it_should_not_sign() {
        let tokens = issuer();
        for name in SET_BY_BUILDER.into_iter().chain(["scope"]) {
            assert_eq!(
                tokens.token("a").claim(name, "x").sign(),
                Err(IssueError::ReservedClaim {
                    name: name.to_owned()
                })
            );
        }
        assert_eq!(
            tokens.token("a").scopes(["read\"messages"]).sign(),
            Err(IssueError::InvalidScope {
                scope: "read\"messages".into()
            })
        );
        assert_eq!(
            tokens.token("a").scope("write:messages").sign(),
            Err(IssueError::UndeclaredScope {
                scope: "write:messages".into()
            })
        );
        assert_eq!(
            tokens
                .token("a")
                .issued_at(UNIX_EPOCH - Duration::from_secs(1))
                .sign(),
            Err(IssueError::InvalidTime)
        );
        assert_eq!(
            tokens
                .token("a")
                .expires_in(Duration::from_secs(u64::MAX))
                .sign(),
            Err(IssueError::InvalidTime)
        );
    }

    #[test]
    fn refuses_resource_servers_it_cannot_sign_for() {
        let api = resource_server();
        assert_eq!(
            TokenIssuer::new(&api, "").unwrap_err(),
            ConfigError::EmptyIssuer
        );
        assert_eq!(
            TokenIssuer::new(&api.clone().with_token_lifetime(0), ISSUER).unwrap_err(),
            ConfigError::ZeroTokenLifetime
        );
        let no_secret = crate::ResourceServer::from_json(
            r#"{"identifier": "https://my-api-urn", "signing_alg": "HS256"}"#,
        )
        .unwrap();
        assert_eq!(
            TokenIssuer::new(&no_secret, ISSUER).unwrap_err(),
            ConfigError::MissingSecret
        );
        let relative = crate::ResourceServer::new("my-api", crate::test_support::SECRET);
        assert_eq!(
            TokenIssuer::new(&relative, ISSUER).unwrap_err(),
            ConfigError::IdentifierNotAbsoluteUri {
                identifier: "my-api".into()
            }
        );
        let empty = crate::ResourceServer::new(AUDIENCE, "");
        assert_eq!(
            TokenIssuer::new(&empty, ISSUER).unwrap_err(),
            ConfigError::EmptySecret
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let shown = format!("{:?}", issuer());
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains("FF1prn9"));
    }
}
