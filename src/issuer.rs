//! Minting HS256 access tokens for a resource server (feature `issuer`).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::config::ResourceServer;
use crate::error::ConfigError;
use crate::keys::Hs256Key;
use crate::token::is_scope_token;

/// Auth0's default `token_lifetime`, used when the resource server has none.
///
/// # Example
///
/// ```
/// use bearer_guard::{DEFAULT_TOKEN_LIFETIME, ResourceServer, TokenIssuer};
///
/// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
/// let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
/// assert_eq!(tokens.lifetime(), DEFAULT_TOKEN_LIFETIME);
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);

/// Claims that [`AccessTokenBuilder`] sets itself; [`AccessTokenBuilder::claim`] refuses them.
const SET_BY_BUILDER: [&str; 9] = [
    "iss",
    "sub",
    "aud",
    "iat",
    "exp",
    "azp",
    "client_id",
    "jti",
    "scope",
];

/// Mints HS256 access tokens for one resource server: for your API's own tests, and for
/// local authorization servers (feature `issuer`).
///
///
/// The tokens are shaped like an Auth0 access token: `iss`, `sub`, `aud` (the resource server's
/// identifier), `iat`, `exp` (`iat` + the resource server's `token_lifetime`, 24 hours when it
/// has none), and as you ask `azp`, `scope`, `client_id`, `jti`, `typ: at+jwt` and claims of
/// your own. They are signed with the resource server's `signing_secret`, so a
/// [`BearerGuardLayer`](crate::BearerGuardLayer) built from the same registration accepts them.
///
/// # Example
///
/// How to test a protected route: mint a token with the scopes the test needs and call the
/// router, here without any network.
///
/// ```
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use bearer_guard::{BearerGuardLayer, ResourceServer, TokenIssuer};
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
/// let reader = tokens.client_token("test-client").scope("read:messages").sign()?;
/// let nobody = tokens.client_token("test-client").sign()?;
///
/// let call = |token: String| {
///     Request::get("/api/messages")
///         .header("authorization", format!("Bearer {token}"))
///         .body(Body::empty())
/// };
/// assert_eq!(app.clone().oneshot(call(reader)?).await?.status(), 200);
/// assert_eq!(app.oneshot(call(nobody)?).await?.status(), 403);
/// # Ok(())
/// # }
/// ```
///
/// Holds the signing key; its `Debug` never shows it.
#[derive(Clone)]
pub struct TokenIssuer {
    key: Hs256Key,
    issuer: Box<str>,
    audience: Box<str>,
    lifetime: Duration,
    declared: Box<[Box<str>]>,
}

impl TokenIssuer {
    /// An issuer named `issuer` (the tokens' `iss`, usually a URL ending in `/`) for
    /// `resource_server`.
    ///
    /// # Errors
    ///
    /// The resource server cannot be signed for: [`ConfigError::EmptyIdentifier`] or
    /// [`ConfigError::IdentifierNotAbsoluteUri`],
    /// [`ConfigError::UnsupportedAlgorithm`] (not HS256), [`ConfigError::MissingSecret`],
    /// [`ConfigError::EmptySecret`] or [`ConfigError::ZeroTokenLifetime`]; or `issuer` is empty
    /// ([`ConfigError::EmptyIssuer`]).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{ConfigError, ResourceServer, TokenIssuer};
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
        let secret = resource_server.hs256_secret()?;
        if secret.is_empty() {
            return Err(ConfigError::EmptySecret);
        }
        let lifetime = match resource_server.token_lifetime() {
            Some(0) => return Err(ConfigError::ZeroTokenLifetime),
            Some(seconds) => Duration::from_secs(seconds),
            None => DEFAULT_TOKEN_LIFETIME,
        };
        let key = Hs256Key::new(secret);
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
        })
    }

    /// Starts a token for `subject` (the `sub` claim).
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{ResourceServer, TokenIssuer};
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
            azp: None,
            client_id: None,
            jti: None,
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
    /// # use bearer_guard::{ResourceServer, TokenIssuer};
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
    /// #     .with_scope("read:messages", "Read messages");
    /// let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let token = tokens.client_token("my-m2m-app").scope("read:messages").sign()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn client_token(&self, client_id: &str) -> AccessTokenBuilder<'_> {
        self.token(format!("{client_id}@clients"))
            .azp(client_id)
            .claim("gty", "client-credentials")
    }

    /// The lifetime of the tokens unless [`AccessTokenBuilder::expires_in`] says otherwise:
    /// the resource server's `token_lifetime`, or [`DEFAULT_TOKEN_LIFETIME`].
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{ResourceServer, TokenIssuer};
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

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("lifetime", &self.lifetime)
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
    azp: Option<String>,
    client_id: Option<String>,
    jti: Option<String>,
    extra: Map<String, Value>,
    at_jwt: bool,
    issued_at: Option<SystemTime>,
    lifetime: Option<Duration>,
}

impl AccessTokenBuilder<'_> {
    /// Adds scopes: one scope, or several separated by spaces as in the `scope` claim.
    pub fn scope(mut self, scopes: &str) -> Self {
        self.scopes.extend(
            scopes
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
        self
    }

    /// Adds each of `scopes`.
    pub fn scopes<I>(mut self, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Sets `azp`, the authorized party: the client the token was issued to.
    pub fn azp(mut self, client_id: impl Into<String>) -> Self {
        self.azp = Some(client_id.into());
        self
    }

    /// Sets `client_id` (RFC 9068 §2.2).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Sets `jti`, the token's unique identifier.
    pub fn jti(mut self, jti: impl Into<String>) -> Self {
        self.jti = Some(jti.into());
        self
    }

    /// Adds a claim of your own, such as `gty`, `permissions` or a namespaced claim. The
    /// claims this builder sets itself (`iss`, `sub`, `aud`, `iat`, `exp`, `azp`, `client_id`,
    /// `jti`, `scope`) are refused by [`sign`](Self::sign): use their own methods.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }

    /// Sets the header's `typ` to `at+jwt`, as RFC 9068 access tokens have it.
    pub fn at_jwt(mut self) -> Self {
        self.at_jwt = true;
        self
    }

    /// Sets `iat`, the time of issue (default: now). `exp` follows it by the lifetime, so an
    /// `issued_at` far enough in the past makes an expired token for a test.
    pub fn issued_at(mut self, at: SystemTime) -> Self {
        self.issued_at = Some(at);
        self
    }

    /// Sets the lifetime (`exp` − `iat`), whole seconds; default [`TokenIssuer::lifetime`].
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self
    }

    /// Signs the token with the resource server's secret and returns its compact form.
    ///
    /// # Errors
    ///
    /// [`IssueError::ReservedClaim`] when [`claim`](Self::claim) named a claim set by its own
    /// method; [`IssueError::InvalidScope`] for a scope that is not a valid scope token (RFC
    /// 6749 §3.3); [`IssueError::UndeclaredScope`] for a scope the resource server does not
    /// declare; [`IssueError::InvalidTime`] when `iat` is before 1970 or `exp` overflows.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{IssueError, ResourceServer, TokenIssuer};
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// # let tokens = TokenIssuer::new(&api, "https://my-tenant.example.com/")?;
    /// let err = tokens.token("alice").scope("delete:everything").sign().unwrap_err();
    /// assert_eq!(err, IssueError::UndeclaredScope { scope: "delete:everything".into() });
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn sign(self) -> Result<String, IssueError> {
        if let Some(name) = SET_BY_BUILDER
            .iter()
            .find(|name| self.extra.contains_key(**name))
        {
            return Err(IssueError::ReservedClaim {
                name: (*name).to_owned(),
            });
        }
        for scope in &self.scopes {
            if !is_scope_token(scope) {
                return Err(IssueError::InvalidScope {
                    scope: scope.clone(),
                });
            }
            if !self.issuer.declared.iter().any(|d| **d == **scope) {
                return Err(IssueError::UndeclaredScope {
                    scope: scope.clone(),
                });
            }
        }
        let issued_at = self
            .issued_at
            .unwrap_or_else(SystemTime::now)
            .duration_since(UNIX_EPOCH)
            .map_err(|_| IssueError::InvalidTime)?
            .as_secs();
        let expires_at = issued_at
            .checked_add(self.lifetime.unwrap_or(self.issuer.lifetime).as_secs())
            .ok_or(IssueError::InvalidTime)?;
        let mut claims = Map::new();
        let mut set = |name: &str, value: Value| claims.insert(name.to_owned(), value);
        set("iss", self.issuer.issuer.as_ref().into());
        set("sub", self.subject.into());
        set("aud", self.issuer.audience.as_ref().into());
        set("iat", issued_at.into());
        set("exp", expires_at.into());
        for (name, value) in [
            ("azp", self.azp),
            ("client_id", self.client_id),
            ("jti", self.jti),
            (
                "scope",
                (!self.scopes.is_empty()).then(|| self.scopes.join(" ")),
            ),
        ] {
            if let Some(value) = value {
                set(name, value.into());
            }
        }
        // None of these names is set above: `claim` refuses them.
        claims.extend(self.extra);
        let header: &[u8] = if self.at_jwt {
            br#"{"alg":"HS256","typ":"at+jwt"}"#
        } else {
            br#"{"alg":"HS256","typ":"JWT"}"#
        };
        let mut token = URL_SAFE_NO_PAD.encode(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(Value::Object(claims).to_string(), &mut token);
        let tag = self.issuer.key.sign(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut token);
        Ok(token)
    }
}

/// Why [`AccessTokenBuilder::sign`] made no token. Its message says what to change.
///
/// # Example
///
/// ```
/// use bearer_guard::{IssueError, ResourceServer, TokenIssuer};
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
    /// `iat` is before 1970, or `iat` + lifetime is past what a JSON number holds.
    #[error(
        "the token's times are out of range (iat before 1970, or exp overflowing): use a later issued_at or a shorter expires_in"
    )]
    InvalidTime,
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
                .claim("nbf", 5)
                .sign()
                .unwrap(),
        );
        assert_eq!(claims["permissions"][0], "read:messages");
        assert_eq!(claims["nbf"], 5);
    }

    #[test]
    fn refuses_what_it_should_not_sign() {
        let tokens = issuer();
        for name in SET_BY_BUILDER {
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
