//! The resource server registration, as the Management API returns it.

use std::path::Path;

use serde::Deserialize;

use crate::config::{AuthorizationServerSettings, ConfigError, TokenDialect, TokenEncryption};
use crate::dpop::DpopMode;
use crate::keys::{Algorithm, SigningSecret};
use crate::mtls::MtlsMode;

/// An API registered with the authorization server: its identifier (the tokens' audience),
/// signing algorithm and secret, the scopes it declares and the lifetime of its tokens.
///
/// Deserializes verbatim from the Management API's resource-server JSON (unknown fields are
/// ignored), or is built in code with [`ResourceServer::new`]. Nothing is checked here: the
/// checks run when the layer is built, so that every problem surfaces at startup.
///
/// # Example
///
/// ```
/// use bearer_guard::ResourceServer;
///
/// let json = r#"{
///     "id": "56f0131ffdf1c311694f4cc7", "name": "My Sample API",
///     "identifier": "https://my-api-urn",
///     "scopes": [{ "value": "sample-scope", "description": "Description for Sample Scope" }],
///     "signing_alg": "HS256", "signing_secret": "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5",
///     "token_lifetime": 86400
/// }"#;
/// let from_json = ResourceServer::from_json(json)?;
///
/// let in_code = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
///     .with_name("My Sample API")
///     .with_scope("sample-scope", "Description for Sample Scope");
///
/// assert_eq!(from_json.identifier(), in_code.identifier());
/// assert!(from_json.declares_scope("sample-scope"));
/// assert_eq!(from_json.id(), Some("56f0131ffdf1c311694f4cc7"));
/// assert_eq!(from_json.name(), Some("My Sample API"));
/// assert_eq!(from_json.signing_alg(), "HS256");
/// assert_eq!(from_json.token_lifetime(), Some(86400));
/// assert_eq!(from_json.declared_scopes()[0].value, "sample-scope");
/// assert!(!from_json.declares_scope("Sample-scope"));
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
#[derive(Clone, Debug, Deserialize)]
pub struct ResourceServer {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    identifier: String,
    #[serde(default)]
    scopes: Vec<ScopeDefinition>,
    signing_alg: String,
    #[serde(default)]
    signing_secret: Option<SigningSecret>,
    #[serde(default)]
    token_lifetime: Option<u64>,
    #[serde(default)]
    proof_of_possession: Option<ProofOfPossession>,
    /// As registered; one of [`TokenDialect`]'s names once [`parse`](Self::parse) or a
    /// constructor has made it.
    #[serde(default)]
    token_dialect: Option<String>,
    /// The fields that steer the authorization server (and `is_system`).
    #[serde(flatten)]
    authorization_server: AuthorizationServerSettings,
    /// Auth0's encrypted access tokens; `format` and `alg` checked by [`parse`](Self::parse).
    #[serde(default)]
    token_encryption: Option<TokenEncryption>,
}

/// The registration's `proof_of_possession`: which sender-constraining mechanism its tokens
/// use, and whether they must.
#[derive(Clone, Debug, Deserialize)]
struct ProofOfPossession {
    #[serde(default)]
    mechanism: Option<String>,
    #[serde(default)]
    required: bool,
    /// Auth0's `required_for`: `all_clients` or `public_clients`. A resource server cannot
    /// tell a public client's token from another's, so `public_clients` leaves binding
    /// optional here ([`ProofOfPossession::mode_of`]).
    #[serde(default)]
    required_for: Option<String>,
}

impl ProofOfPossession {
    /// Whether this mechanism is `mechanism`, and if so, whether every token must be bound
    /// by it: `Some(true)` when `required` is true for all clients (`required_for` absent or
    /// anything but `public_clients`).
    fn mode_of(&self, mechanism: &str) -> Option<bool> {
        (self.mechanism.as_deref() == Some(mechanism))
            .then(|| self.required && self.required_for.as_deref() != Some("public_clients"))
    }
}

/// One scope that a resource server declares.
///
/// # Example
///
/// ```
/// let scope = bearer_guard::registration::ScopeDefinition::new("read:messages", "Read messages");
/// assert_eq!(scope.value, "read:messages");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ScopeDefinition {
    /// The scope token, as it appears in access tokens.
    pub value: String,
    /// What the scope allows, for people.
    #[serde(default)]
    pub description: Option<String>,
}

impl ScopeDefinition {
    /// A scope with a description.
    #[must_use]
    pub fn new(value: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            description: Some(description.into()),
        }
    }
}

impl ResourceServer {
    /// A resource server with this identifier (the tokens' audience) and HS256 signing secret.
    #[must_use]
    pub fn new(identifier: impl Into<String>, signing_secret: impl Into<SigningSecret>) -> Self {
        Self {
            id: None,
            name: None,
            identifier: identifier.into(),
            scopes: Vec::new(),
            signing_alg: "HS256".to_owned(),
            signing_secret: Some(signing_secret.into()),
            token_lifetime: None,
            proof_of_possession: None,
            token_dialect: None,
            authorization_server: AuthorizationServerSettings::default(),
            token_encryption: None,
        }
    }

    /// A resource server with this identifier (the tokens' audience) whose tokens are signed
    /// with `alg` and a private key of its issuer: Auth0's RS256 default, or any other
    /// algorithm that verifies with public keys. The keys come from the issuer's JWK set
    /// (feature `jwks`), found by discovery from the builder's `issuer`. Use
    /// [`new`](Self::new) or [`hmac`](Self::hmac) for a secret (an HMAC `alg` here has none,
    /// which `build` refuses).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{Algorithm, BearerGuardLayer, ConfigError, ResourceServer};
    ///
    /// let api = ResourceServer::asymmetric("https://my-api-urn", Algorithm::Rs256)
    ///     .with_scope("read:messages", "Read messages");
    /// assert_eq!(api.signing_alg(), "RS256");
    ///
    /// let hmac = ResourceServer::asymmetric("https://my-api-urn", Algorithm::Hs256);
    /// let err = BearerGuardLayer::builder(hmac).build().unwrap_err();
    /// assert_eq!(err, ConfigError::MissingSecret);
    /// ```
    #[must_use]
    pub fn asymmetric(identifier: impl Into<String>, alg: Algorithm) -> Self {
        Self {
            id: None,
            name: None,
            identifier: identifier.into(),
            scopes: Vec::new(),
            signing_alg: alg.name().to_owned(),
            signing_secret: None,
            token_lifetime: None,
            proof_of_possession: None,
            token_dialect: None,
            token_encryption: None,
            authorization_server: AuthorizationServerSettings::default(),
        }
    }

    /// A resource server with this identifier whose tokens are signed with an HMAC `alg`
    /// (HS256, HS384 or HS512) and this secret, which must be at least as long as the hash
    /// (32, 48 or 64 bytes; `build` checks). [`new`](Self::new) is the HS256 form.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{Algorithm, BearerGuardLayer, ConfigError, ResourceServer};
    ///
    /// let secret = "a-64-byte-secret-a-64-byte-secret-a-64-byte-secret-a-64-byte-sec";
    /// let api = ResourceServer::hmac("https://my-api-urn", Algorithm::Hs512, secret);
    /// assert_eq!(api.signing_alg(), "HS512");
    /// assert!(BearerGuardLayer::builder(api).build().is_ok());
    ///
    /// let short = ResourceServer::hmac("https://my-api-urn", Algorithm::Hs512, &secret[..32]);
    /// let err = BearerGuardLayer::builder(short).build().unwrap_err();
    /// assert!(matches!(err, ConfigError::SecretTooShort { len: 32, min: 64 }));
    /// ```
    #[must_use]
    pub fn hmac(
        identifier: impl Into<String>,
        alg: Algorithm,
        signing_secret: impl Into<SigningSecret>,
    ) -> Self {
        Self {
            signing_secret: Some(signing_secret.into()),
            ..Self::asymmetric(identifier, alg)
        }
    }

    /// Parses the Management API's JSON for a resource server.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Json`] with the line and column of the problem. The message never quotes
    /// values from the document, so a secret cannot leak through it.
    ///
    /// # Example
    ///
    /// ```
    /// let err = bearer_guard::ResourceServer::from_json(r#"{"identifier": 5}"#).unwrap_err();
    /// assert!(err.to_string().contains("line 1"));
    /// ```
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        Self::parse(json, None)
    }

    /// Reads the Management API's JSON for a resource server from the file at `path`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ReadFile`] when the file cannot be read, [`ConfigError::Json`] (naming
    /// the file, line and column) when its JSON is wrong; both name `path`.
    ///
    /// # Example
    ///
    /// ```
    /// let err = bearer_guard::ResourceServer::from_file("no/such/api.json").unwrap_err();
    /// assert!(err.to_string().contains("no/such/api.json"));
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|err| ConfigError::ReadFile {
            path: path.to_owned(),
            problem: err.to_string(),
        })?;
        Self::parse(&json, Some(path))
    }

    fn parse(json: &str, path: Option<&Path>) -> Result<Self, ConfigError> {
        let api: Self = serde_json::from_str(json).map_err(|err| {
            let problem = match err.classify() {
                serde_json::error::Category::Syntax => "not valid JSON".to_owned(),
                serde_json::error::Category::Eof => "the JSON ends too early".to_owned(),
                serde_json::error::Category::Io => "unreadable input".to_owned(),
                // serde names fields, never values, in these two messages.
                serde_json::error::Category::Data if is_field_message(&err) => {
                    field_message(&err)
                }
                serde_json::error::Category::Data => "a field has the wrong type (identifier, signing_alg, signing_secret and token_dialect are strings, scopes a list of {value, description}, token_lifetime a number)".to_owned(),
            };
            ConfigError::Json {
                path: path.map(Path::to_owned),
                line: err.line(),
                column: err.column(),
                problem,
            }
        })?;
        api.explicit_token_dialect()?;
        if let Some(encryption) = &api.token_encryption {
            encryption.check()?;
        }
        Ok(api)
    }

    /// Sets the name people know the API by.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Declares one more scope that the API supports.
    #[must_use]
    pub fn with_scope(mut self, value: impl Into<String>, description: impl Into<String>) -> Self {
        self.scopes.push(ScopeDefinition::new(value, description));
        self
    }

    /// Sets the lifetime, in seconds, of the tokens issued for this API. When known, a token
    /// whose `exp` is further from now than this (plus leeway) is refused.
    #[must_use]
    pub fn with_token_lifetime(mut self, seconds: u64) -> Self {
        self.token_lifetime = Some(seconds);
        self
    }

    /// Sets the registration's `token_dialect`: the shape of its tokens, which the guard then
    /// checks them by (see [`TokenDialect`]).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::ResourceServer;
    /// use bearer_guard::registration::TokenDialect;
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
    ///     .with_token_dialect(TokenDialect::Rfc9068ProfileAuthz);
    /// assert_eq!(api.token_dialect(), TokenDialect::Rfc9068ProfileAuthz);
    /// ```
    #[must_use]
    pub fn with_token_dialect(mut self, dialect: TokenDialect) -> Self {
        self.token_dialect = Some(dialect.name().to_owned());
        self
    }

    /// Sets the registration's `token_encryption`: the API's tokens are then encrypted to its
    /// public key, and the guard needs the matching private key
    /// (`BearerGuardBuilder::token_decryption_key`, feature `jwks`).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{Algorithm, ResourceServer};
    /// use bearer_guard::registration::TokenEncryption;
    ///
    /// # let pem = "-----BEGIN PUBLIC KEY-----…";
    /// let api = ResourceServer::asymmetric("https://my-api-urn", Algorithm::Rs256)
    ///     .with_token_encryption(TokenEncryption::compact_nested_jwe("RSA-OAEP-256", pem));
    /// assert_eq!(api.token_encryption().map(TokenEncryption::alg), Some("RSA-OAEP-256"));
    /// ```
    #[must_use]
    pub fn with_token_encryption(mut self, encryption: TokenEncryption) -> Self {
        self.token_encryption = Some(encryption);
        self
    }

    /// The registration's `token_encryption`, if its tokens are encrypted; see
    /// [`TokenEncryption`].
    ///
    /// # Example
    ///
    /// ```
    /// let api = bearer_guard::ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// assert!(api.token_encryption().is_none());
    /// ```
    #[must_use]
    pub fn token_encryption(&self) -> Option<&TokenEncryption> {
        self.token_encryption.as_ref()
    }

    /// The Management API's id of this resource server, if known.
    #[must_use]
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The name people know the API by, if known.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The identifier: the audience (`aud`) that every token for this API carries.
    #[must_use]
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// The scopes this API declares.
    #[must_use]
    pub fn declared_scopes(&self) -> &[ScopeDefinition] {
        &self.scopes
    }

    /// Whether this API declares the scope `value` (exact, case-sensitive match).
    #[must_use]
    pub fn declares_scope(&self, value: &str) -> bool {
        self.scopes.iter().any(|scope| scope.value == value)
    }

    /// The signing algorithm, as registered.
    ///
    /// Any [`Algorithm`] name is accepted when the layer is built (exactly, case-sensitively:
    /// `RS512`, `PS384`, `ES512`, `Ed25519`, …); another is a
    /// [`ConfigError::UnsupportedAlgorithm`] whose message lists the supported names.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ConfigError, ResourceServer};
    ///
    /// let api = ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "RS512"}"#)?;
    /// assert_eq!(api.signing_alg(), "RS512");
    ///
    /// let typo = ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "rs512"}"#)?;
    /// let err = BearerGuardLayer::builder(typo).build().unwrap_err();
    /// assert!(err.to_string().contains("RS256, RS384, RS512"), "{err}");
    /// # Ok::<(), ConfigError>(())
    /// ```
    #[must_use]
    pub fn signing_alg(&self) -> &str {
        &self.signing_alg
    }

    /// The lifetime, in seconds, of tokens issued for this API, if known.
    #[must_use]
    pub fn token_lifetime(&self) -> Option<u64> {
        self.token_lifetime
    }

    /// Whether the API takes DPoP-bound tokens (RFC 9449), from the registration's
    /// `proof_of_possession: {"mechanism": "dpop", "required": …}`:
    /// [`Required`](DpopMode::Required) when `required` is `true`,
    /// [`Allowed`](DpopMode::Allowed) when it is `false`, and [`Disabled`](DpopMode::Disabled)
    /// when the registration has no `proof_of_possession` (DPoP is taken only when asked for:
    /// here, or by the builder's `dpop`) or names another mechanism (`mtls`), whose tokens no
    /// DPoP proof can stand for.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::ResourceServer;
    /// use bearer_guard::dpop::DpopMode;
    ///
    /// let api = ResourceServer::from_json(r#"{
    ///     "identifier": "https://my-api-urn", "signing_alg": "RS256",
    ///     "proof_of_possession": { "mechanism": "dpop", "required": true }
    /// }"#)?;
    /// assert_eq!(api.dpop_mode(), DpopMode::Required);
    ///
    /// let silent = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// assert_eq!(silent.dpop_mode(), DpopMode::Disabled);
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    ///
    /// `required_for: "public_clients"` (Auth0's) reads as `Allowed`: a resource server cannot
    /// tell a public client's token from a confidential one's (see [`mtls`](crate::mtls)).
    #[must_use]
    pub fn dpop_mode(&self) -> DpopMode {
        match &self.proof_of_possession {
            None => DpopMode::Disabled,
            Some(pop) if pop.mechanism.as_deref() != Some("dpop") => DpopMode::Disabled,
            Some(pop) if pop.mode_of("dpop") == Some(false) => DpopMode::Allowed,
            Some(pop) if pop.required => DpopMode::Required,
            Some(_) => DpopMode::Allowed,
        }
    }

    /// Whether the API takes certificate-bound tokens (RFC 8705 §3), from the registration's
    /// `proof_of_possession: {"mechanism": "mtls", "required": …}`:
    /// [`Required`](MtlsMode::Required) when `required` is `true` (for all clients),
    /// [`Allowed`](MtlsMode::Allowed) when it is `false` or `required_for` is
    /// `public_clients` (which a resource server cannot tell apart: see [`mtls`](crate::mtls)),
    /// and [`Disabled`](MtlsMode::Disabled) when the registration has no
    /// `proof_of_possession` or names another mechanism. The builder's
    /// [`mtls`](crate::BearerGuardBuilder::mtls) overrides it; either way the builder must say
    /// where client certificates come from
    /// ([`client_certificate_from`](crate::BearerGuardBuilder::client_certificate_from)).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::ResourceServer;
    /// use bearer_guard::mtls::MtlsMode;
    ///
    /// let api = ResourceServer::from_json(r#"{
    ///     "identifier": "https://my-api-urn", "signing_alg": "RS256",
    ///     "proof_of_possession": { "mechanism": "mtls", "required": true }
    /// }"#)?;
    /// assert_eq!(api.mtls_mode(), MtlsMode::Required);
    ///
    /// let silent = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// assert_eq!(silent.mtls_mode(), MtlsMode::Disabled);
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[must_use]
    pub fn mtls_mode(&self) -> MtlsMode {
        match self
            .proof_of_possession
            .as_ref()
            .and_then(|pop| pop.mode_of("mtls"))
        {
            None => MtlsMode::Disabled,
            Some(true) => MtlsMode::Required,
            Some(false) => MtlsMode::Allowed,
        }
    }

    /// The shape of the API's tokens, from the registration's `token_dialect`:
    /// [`TokenDialect::AccessToken`] when it has none. A name other than Auth0's four is
    /// refused when the registration is read ([`ConfigError::UnknownTokenDialect`]).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{ConfigError, ResourceServer};
    /// use bearer_guard::registration::TokenDialect;
    ///
    /// let api = ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "RS256",
    ///     "token_dialect": "rfc9068_profile"}"#)?;
    /// assert_eq!(api.token_dialect(), TokenDialect::Rfc9068Profile);
    ///
    /// let silent = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// assert_eq!(silent.token_dialect(), TokenDialect::AccessToken);
    ///
    /// let typo = ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "RS256",
    ///     "token_dialect": "access_token_rbac"}"#).unwrap_err();
    /// assert!(matches!(typo, ConfigError::UnknownTokenDialect { .. }));
    /// assert!(typo.to_string().contains("rfc9068_profile_authz"), "{typo}");
    /// # Ok::<(), ConfigError>(())
    /// ```
    #[must_use]
    pub fn token_dialect(&self) -> TokenDialect {
        self.explicit_token_dialect()
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// The dialect the registration names, if it names one: the builder's settings must then
    /// agree with it. A name that is none of the four (possible only for a registration
    /// deserialized by the caller's own serde call) is an error.
    pub(crate) fn explicit_token_dialect(&self) -> Result<Option<TokenDialect>, ConfigError> {
        self.token_dialect
            .as_deref()
            .map(|name| {
                TokenDialect::from_name(name).ok_or_else(|| ConfigError::UnknownTokenDialect {
                    dialect: name.to_owned(),
                })
            })
            .transpose()
    }

    /// The registration's fields that tell the authorization server how to issue tokens
    /// (`enforce_policies`, `token_lifetime_for_web`, `consent_policy`, …): read, and left to
    /// it. [`AuthorizationServerSettings`] has the table of every field and what bearer-guard
    /// does with it.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::ResourceServer;
    ///
    /// let api = ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "RS256",
    ///     "allow_offline_access": true}"#)?;
    /// assert_eq!(api.authorization_server_settings().allow_offline_access(), Some(true));
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[must_use]
    pub fn authorization_server_settings(&self) -> &AuthorizationServerSettings {
        &self.authorization_server
    }

    /// `is_system`: whether this is one of Auth0's own APIs (the Management API, say), which
    /// a guard refuses to protect ([`ConfigError::SystemApi`]): its tokens are meant for Auth0.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ConfigError, ResourceServer};
    ///
    /// let api = ResourceServer::from_json(r#"{"identifier": "https://tenant.example/api/v2/",
    ///     "signing_alg": "RS256", "is_system": true}"#)?;
    /// assert!(api.is_system());
    /// let err = BearerGuardLayer::builder(api).issuer("https://tenant.example/").build().unwrap_err();
    /// assert!(matches!(err, ConfigError::SystemApi { .. }));
    /// # Ok::<(), ConfigError>(())
    /// ```
    #[must_use]
    pub fn is_system(&self) -> bool {
        self.authorization_server.is_system == Some(true)
    }

    /// Refuses one of Auth0's own APIs, whose tokens are for Auth0: a guard built from its
    /// registration would let a token for the Management API into your API.
    pub(crate) fn check_not_system(&self) -> Result<(), ConfigError> {
        if self.is_system() {
            return Err(ConfigError::SystemApi {
                identifier: self.identifier.clone(),
            });
        }
        Ok(())
    }

    pub(crate) fn signing_secret(&self) -> Option<&SigningSecret> {
        self.signing_secret.as_ref()
    }

    /// The signing algorithm, once it and the identifier are checked: what both the layer's
    /// builder and the token issuer need before they can use the registration.
    pub(crate) fn algorithm(&self) -> Result<Algorithm, ConfigError> {
        check_identifier(&self.identifier)?;
        Algorithm::from_name(&self.signing_alg).ok_or_else(|| ConfigError::UnsupportedAlgorithm {
            alg: self.signing_alg.clone(),
        })
    }

    /// The HMAC algorithm (HS256, HS384 or HS512) and the signing secret, once the
    /// identifier and algorithm are checked.
    pub(crate) fn hmac_secret(&self) -> Result<(Algorithm, &SigningSecret), ConfigError> {
        let alg = self.algorithm()?;
        if alg.is_asymmetric() {
            return Err(ConfigError::UnsupportedAlgorithm {
                alg: self.signing_alg.clone(),
            });
        }
        let secret = self.signing_secret().ok_or(ConfigError::MissingSecret)?;
        Ok((alg, secret))
    }
}

/// The identifier must be an absolute URI (RFC 3986 §4.3): `scheme ":" hier-part`, no
/// fragment, no whitespace or characters that URIs never contain.
fn check_identifier(identifier: &str) -> Result<(), ConfigError> {
    if identifier.is_empty() {
        return Err(ConfigError::EmptyIdentifier);
    }
    let absolute = identifier.split_once(':').is_some_and(|(scheme, rest)| {
        let mut scheme = scheme.bytes();
        scheme.next().is_some_and(|b| b.is_ascii_alphabetic())
            && scheme.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
            && !rest.is_empty()
    }) && identifier.bytes().all(|b| {
        b.is_ascii_graphic()
            && !matches!(
                b,
                b'"' | b'#' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
            )
    });
    if absolute {
        Ok(())
    } else {
        Err(ConfigError::IdentifierNotAbsoluteUri {
            identifier: identifier.to_owned(),
        })
    }
}

fn is_field_message(err: &serde_json::Error) -> bool {
    let message = err.to_string();
    message.starts_with("missing field `") || message.starts_with("duplicate field `")
}

/// serde's message without its " at line L column C" suffix, which the error carries apart.
fn field_message(err: &serde_json::Error) -> String {
    let message = err.to_string();
    match message.find(" at line ") {
        Some(end) => message[..end].to_owned(),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANAGEMENT_API_JSON: &str = r#"{ "id": "56f0131ffdf1c311694f4cc7", "name": "My Sample API", "identifier": "https://my-api-urn",
      "scopes": [{ "value": "sample-scope", "description": "Description for Sample Scope" }],
      "signing_alg": "HS256", "signing_secret": "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5", "token_lifetime": 86400,
      "allow_offline_access": false, "skip_consent_for_verifiable_first_party_clients": true }"#;

    #[test]
    fn dpop_mode_follows_proof_of_possession() {
        let with = |pop: &str| {
            let json =
                format!(r#"{{"identifier": "https://my-api-urn", "signing_alg": "RS256"{pop}}}"#);
            ResourceServer::from_json(&json).unwrap().dpop_mode()
        };
        assert_eq!(with(""), DpopMode::Disabled);
        assert_eq!(with(r#", "proof_of_possession": null"#), DpopMode::Disabled);
        for (pop, mode) in [
            (
                r#"{"mechanism": "dpop", "required": true}"#,
                DpopMode::Required,
            ),
            (
                r#"{"mechanism": "dpop", "required": false}"#,
                DpopMode::Allowed,
            ),
            (r#"{"mechanism": "dpop"}"#, DpopMode::Allowed),
            (
                r#"{"mechanism": "mtls", "required": true}"#,
                DpopMode::Disabled,
            ),
            (
                r#"{"mechanism": "DPoP", "required": true}"#,
                DpopMode::Disabled,
            ),
            (r#"{"required": true}"#, DpopMode::Disabled),
        ] {
            assert_eq!(
                with(&format!(r#", "proof_of_possession": {pop}"#)),
                mode,
                "{pop}"
            );
        }
        let wrong = r#"{"identifier": "https://my-api-urn", "signing_alg": "RS256", "proof_of_possession": {"mechanism": "dpop", "required": "yes"}}"#;
        assert!(ResourceServer::from_json(wrong).is_err());
        assert_eq!(
            ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
                .dpop_mode(),
            DpopMode::Disabled
        );
    }

    #[test]
    fn mtls_mode_follows_proof_of_possession() {
        let with = |pop: &str| {
            let json = format!(
                r#"{{"identifier": "https://my-api-urn", "signing_alg": "RS256", "proof_of_possession": {pop}}}"#
            );
            let api = ResourceServer::from_json(&json).unwrap();
            (api.mtls_mode(), api.dpop_mode())
        };
        use {DpopMode as D, MtlsMode as M};
        for (pop, modes) in [
            ("null", (M::Disabled, D::Disabled)),
            (
                r#"{"mechanism": "mtls", "required": true}"#,
                (M::Required, D::Disabled),
            ),
            (
                r#"{"mechanism": "mtls", "required": false}"#,
                (M::Allowed, D::Disabled),
            ),
            (r#"{"mechanism": "mtls"}"#, (M::Allowed, D::Disabled)),
            (
                r#"{"mechanism": "mtls", "required": true, "required_for": "all_clients"}"#,
                (M::Required, D::Disabled),
            ),
            (
                r#"{"mechanism": "mtls", "required": true, "required_for": "public_clients"}"#,
                (M::Allowed, D::Disabled),
            ),
            (
                r#"{"mechanism": "dpop", "required": true, "required_for": "public_clients"}"#,
                (M::Disabled, D::Allowed),
            ),
            (
                r#"{"mechanism": "dpop", "required": true, "required_for": "all_clients"}"#,
                (M::Disabled, D::Required),
            ),
            (
                r#"{"mechanism": "dpop", "required": true}"#,
                (M::Disabled, D::Required),
            ),
            (
                r#"{"mechanism": "MTLS", "required": true}"#,
                (M::Disabled, D::Disabled),
            ),
        ] {
            assert_eq!(with(pop), modes, "{pop}");
        }
        assert_eq!(
            ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
                .mtls_mode(),
            MtlsMode::Disabled
        );
    }

    #[test]
    fn token_dialect_reads_the_four_names_and_refuses_others() {
        let with = |dialect: &str| {
            ResourceServer::from_json(&format!(
                r#"{{"identifier": "https://my-api-urn", "signing_alg": "RS256"{dialect}}}"#
            ))
        };
        assert_eq!(with("").unwrap().token_dialect(), TokenDialect::AccessToken);
        assert_eq!(with("").unwrap().explicit_token_dialect(), Ok(None));
        for dialect in TokenDialect::ALL {
            let api = with(&format!(r#", "token_dialect": "{dialect}""#)).unwrap();
            assert_eq!(api.token_dialect(), dialect);
            assert_eq!(api.explicit_token_dialect(), Ok(Some(dialect)));
        }
        for unknown in ["access-token", "ACCESS_TOKEN", "rfc9068", ""] {
            let err = with(&format!(r#", "token_dialect": "{unknown}""#)).unwrap_err();
            assert_eq!(
                err,
                ConfigError::UnknownTokenDialect {
                    dialect: unknown.into()
                }
            );
            for name in TokenDialect::ALL.map(TokenDialect::name) {
                assert!(err.to_string().contains(name), "{err}");
            }
        }
        assert!(with(r#", "token_dialect": 1"#).is_err());
    }

    #[test]
    fn unknown_dialect_message_never_quotes_it() {
        // It may be anything, the secret included: the message names the field only.
        let json = r#"{"identifier": "https://x", "signing_alg": "HS256", "signing_secret": "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5", "token_dialect": "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5"}"#;
        let message = ResourceServer::from_json(json).unwrap_err().to_string();
        assert!(!message.contains("FF1prn"), "{message}");
        assert!(message.contains("token_dialect"), "{message}");
    }

    #[test]
    fn every_algorithm_name_is_a_signing_alg_and_nothing_else_is() {
        let api = |alg: &str| {
            let json = format!(r#"{{"identifier": "https://my-api-urn", "signing_alg": "{alg}"}}"#);
            ResourceServer::from_json(&json).unwrap()
        };
        for alg in Algorithm::ALL {
            assert_eq!(api(alg.name()).algorithm(), Ok(alg));
            // Only the HMAC ones have a secret to ask for.
            let secret = api(alg.name()).hmac_secret().map(|_| ());
            let expected = if alg.is_asymmetric() {
                Err(ConfigError::UnsupportedAlgorithm {
                    alg: alg.name().into(),
                })
            } else {
                Err(ConfigError::MissingSecret)
            };
            assert_eq!(secret, expected, "{alg}");
        }
        for unknown in ["RS1024", "ES256K", "Ed448", "eddsa", "HS256 ", "none", ""] {
            assert_eq!(
                api(unknown).algorithm(),
                Err(ConfigError::UnsupportedAlgorithm {
                    alg: unknown.into()
                })
            );
        }
    }

    #[test]
    fn declares_exactly_its_scopes() {
        let api = ResourceServer::from_json(MANAGEMENT_API_JSON).unwrap();
        assert!(api.declares_scope("sample-scope"));
        for other in ["sample", "sample-scope ", "Sample-scope", ""] {
            assert!(!api.declares_scope(other), "{other:?}");
        }
    }

    #[test]
    fn management_api_json_deserializes_verbatim() {
        let api = ResourceServer::from_json(MANAGEMENT_API_JSON).unwrap();
        assert_eq!(api.id(), Some("56f0131ffdf1c311694f4cc7"));
        assert_eq!(api.name(), Some("My Sample API"));
        assert_eq!(api.identifier(), "https://my-api-urn");
        assert_eq!(
            api.declared_scopes(),
            [ScopeDefinition::new(
                "sample-scope",
                "Description for Sample Scope"
            )]
        );
        assert_eq!(api.signing_alg(), "HS256");
        assert_eq!(
            api.signing_secret().map(SigningSecret::as_bytes),
            Some(&b"FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5"[..])
        );
        assert_eq!(api.token_lifetime(), Some(86400));
    }

    #[test]
    fn a_whole_management_api_answer_parses_every_field() {
        let json = include_str!("../../tests/data/auth0_resource_server.json");
        let api = ResourceServer::from_json(json).unwrap();
        assert_eq!(api.id(), Some("6745f1c2a9b3d4e5f6071829"));
        assert_eq!(api.name(), Some("Payments API"));
        assert_eq!(api.identifier(), "https://payments.example.com/");
        assert_eq!(api.declared_scopes().len(), 2);
        assert_eq!(api.signing_alg(), "HS256");
        assert!(api.signing_secret().is_some());
        assert_eq!(api.token_lifetime(), Some(86400));
        assert_eq!(api.token_dialect(), TokenDialect::AccessTokenAuthz);
        assert!(!api.is_system());
        let settings = api.authorization_server_settings();
        assert_eq!(settings.enforce_policies(), Some(true));
        assert_eq!(settings.token_lifetime_for_web(), Some(7200));
        assert_eq!(settings.allow_offline_access(), Some(true));
        assert_eq!(
            settings.skip_consent_for_verifiable_first_party_clients(),
            Some(true)
        );
        assert_eq!(
            settings.consent_policy(),
            Some("transactional-authorization-with-mfa")
        );
        assert_eq!(
            settings.authorization_details_types().collect::<Vec<_>>(),
            ["payment_initiation", "account_information"]
        );
        assert_eq!(settings.user_flows_policy(), Some("require_client_grant"));
        assert_eq!(settings.client_flows_policy(), Some("deny_all"));
        assert_eq!(
            settings.client_id(),
            Some("pzSvENtoTn0D5qZqS1Wy3BOY2HoZCmZy")
        );
    }

    #[test]
    fn fields_to_come_and_nulls_keep_a_registration_loading() {
        let json = r#"{"identifier": "https://my-api-urn", "signing_alg": "RS256",
            "consent_policy": null, "authorization_details": null, "proof_of_possession": null,
            "allow_online_access": true, "authorization_policy": {"policy_id": "p"},
            "a_field_auth0_adds_next_year": {"nested": [1, "two"]}}"#;
        let api = ResourceServer::from_json(json).unwrap();
        assert_eq!(api.authorization_server_settings().consent_policy(), None);
        assert!(!api.is_system());
    }

    #[test]
    fn a_system_api_is_refused_naming_it() {
        let json = r#"{"identifier": "https://tenant.example/api/v2/", "signing_alg": "HS256",
            "signing_secret": "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5", "is_system": true}"#;
        let api = ResourceServer::from_json(json).unwrap();
        assert!(api.is_system());
        let err = api.check_not_system().unwrap_err();
        assert!(
            err.to_string().contains("https://tenant.example/api/v2/"),
            "{err}"
        );
        let ours = json.replace("true", "false");
        assert!(
            ResourceServer::from_json(&ours)
                .unwrap()
                .check_not_system()
                .is_ok()
        );
    }

    #[test]
    fn debug_of_resource_server_hides_the_secret() {
        let api = ResourceServer::from_json(MANAGEMENT_API_JSON).unwrap();
        let printed = format!("{api:?}");
        assert!(!printed.contains("FF1prn9U"), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
    }

    #[test]
    fn json_error_names_the_place_but_never_a_value() {
        let json = r#"{"identifier": "https://x", "signing_alg": "HS256", "signing_secret": "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5", "token_lifetime": "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5"}"#;
        let message = ResourceServer::from_json(json).unwrap_err().to_string();
        assert!(message.contains("line 1"), "{message}");
        assert!(!message.contains("FF1prn"), "{message}");
    }

    #[test]
    fn missing_identifier_fails_naming_the_field() {
        let json =
            r#"{"signing_alg": "HS256", "signing_secret": "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5"}"#;
        let err = ResourceServer::from_json(json).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Json { problem, .. } if problem == "missing field `identifier`"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_error_never_quotes_the_value() {
        let json = r#"{"identifier": "https://x", "signing_alg": "HS256", "signing_secret": ["FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5"]}"#;
        let message = ResourceServer::from_json(json).unwrap_err().to_string();
        assert!(!message.contains("FF1prn"), "{message}");
        assert!(message.contains("wrong type"), "{message}");
    }

    #[test]
    fn fuzz_regression_secret_that_is_part_of_the_fixed_text() {
        // Found by the resource_server_json fuzz target: the secret "igning_secret" appears in
        // the message only because the fixed text names the field `signing_secret`.
        let json = r#"{"identifier":5,"888a":"H","signing_secret":"igning_secret"}"#;
        let message = ResourceServer::from_json(json).unwrap_err().to_string();
        let other = json.replace("igning_secret\"}", "#############\"}");
        assert_eq!(
            message,
            ResourceServer::from_json(&other).unwrap_err().to_string()
        );
        assert!(
            message
                .starts_with("resource server JSON, line 1 column 15: a field has the wrong type"),
            "{message}"
        );
    }

    #[test]
    fn from_file_names_the_file_in_its_errors() {
        let dir = std::env::temp_dir().join(format!("bearer-guard-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("api.json");
        std::fs::write(&good, MANAGEMENT_API_JSON).unwrap();
        assert_eq!(
            ResourceServer::from_file(&good).unwrap().identifier(),
            "https://my-api-urn"
        );
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{\n  \"identifier\": ").unwrap();
        let err = ResourceServer::from_file(&bad).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Json { path: Some(path), line: 2, .. } if *path == bad),
            "{err}"
        );
        assert!(err.to_string().contains("bad.json"), "{err}");
        let missing = dir.join("missing.json");
        let err = ResourceServer::from_file(&missing).unwrap_err();
        assert!(
            matches!(&err, ConfigError::ReadFile { path, .. } if *path == missing),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
