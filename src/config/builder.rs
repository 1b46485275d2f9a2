//! Building a [`BearerGuardLayer`] or a [`TokenValidator`]: every setting is checked here, at
//! startup.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::config::ResourceServer;
use crate::dpop::DpopMode;
#[cfg(feature = "jwks")]
use crate::dpop::{DpopSettings, DpopVerifier, MemoryReplayStore, ReplayStore};
use crate::error::ConfigError;
#[cfg(feature = "jwks")]
use crate::http::DpopGuard;
use crate::http::{
    BearerGuardLayer, DefaultRejection, Guard, Required, Responder, SourceSetting, TokenSources,
    quotable,
};
use crate::http::{MetadataFields, ResourceMetadata, Schemes};
use crate::keys::{Algorithm, Algorithms, HmacKey, HmacKeys, MAX_KEYS, SigningSecret};
#[cfg(feature = "jwks")]
use crate::keys::{JwkSet, JwksFetcher, JwksSettings, KeyCache, Location};
use crate::token::{
    ChallengeParams, GuardMark, KeySource, REGISTERED, ScopeRequirement, TokenCache,
    TokenCacheSettings, TokenValidator,
};

static NEXT_GUARD_ID: AtomicU64 = AtomicU64::new(1);

const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
const MAX_LEEWAY: Duration = Duration::from_secs(300);
const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
const MAX_TOKEN_LEN_RANGE: (usize, usize) = (256, 64 * 1024);

/// Configures a [`BearerGuardLayer`] (or a [`TokenValidator`] alone), from
/// [`BearerGuardLayer::builder`]. Every setting has a safe default, and every problem is a
/// [`ConfigError`] from [`build`](Self::build), at startup.
///
/// | setting | default |
/// |---|---|
/// | [`issuer`](BearerGuardBuilder::issuer) | none: `iss` is not checked |
/// | [`leeway`](BearerGuardBuilder::leeway) | 60 s (at most 300 s) |
/// | [`max_token_len`](BearerGuardBuilder::max_token_len) | 8192 bytes |
/// | [`scope_claim`](BearerGuardBuilder::scope_claim) | `scope` |
/// | [`require_scopes_for_every_request`](BearerGuardBuilder::require_scopes_for_every_request) | no scope needed |
/// | [`realm`](BearerGuardBuilder::realm) | the resource server's identifier |
/// | [`allow_anonymous`](BearerGuardBuilder::allow_anonymous) | off: a token is required |
/// | [`allow_query_token`](BearerGuardBuilder::allow_query_token) | off |
/// | [`allow_short_secret`](BearerGuardBuilder::allow_short_secret) | off: secrets shorter than the hash (32, 48, 64 bytes for HS256, HS384, HS512) are refused |
/// | [`rfc9068_profile`](BearerGuardBuilder::rfc9068_profile) | off |
/// | [`max_token_age`](BearerGuardBuilder::max_token_age) | none |
/// | [`previous_secret`](BearerGuardBuilder::previous_secret), [`secret_with_kid`](BearerGuardBuilder::secret_with_kid) | none: only the resource server's secret (at most 4 in all) |
/// | [`signing_secret_kid`](BearerGuardBuilder::signing_secret_kid) | none: the resource server's secret has no key id |
/// | [`token_cache`](BearerGuardBuilder::token_cache) | on: verified tokens kept for up to 5 min, in at most 8 MiB |
/// | [`token_cookie`](BearerGuardBuilder::token_cookie), [`token_header`](BearerGuardBuilder::token_header), [`token_from`](BearerGuardBuilder::token_from) | none: only `Authorization: Bearer` (and the query or form if enabled) |
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use bearer_guard::{BearerGuardLayer, ResourceServer, ScopeRequirement};
///
/// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
///     .with_scope("read:messages", "Read messages");
/// let layer = BearerGuardLayer::builder(api.clone())
///     .issuer("https://my-tenant.eu.auth0.com/")
///     .leeway(Duration::from_secs(30))
///     .max_token_len(4096)
///     .scope_claim("permissions") // Auth0's RBAC permissions
///     .require_scopes_for_every_request(ScopeRequirement::all(["read:messages"]))
///     .max_token_age(Duration::from_secs(24 * 3600))
///     .previous_secret("the-secret-before-the-last-rotation!") // tried second
///     .build()?;
/// assert!(layer.validator().validate(&"a".repeat(4097)).is_err());
///
/// // Mistakes fail here, at startup, with a message that says what to do:
/// let err = BearerGuardLayer::builder(api).issuer("my-tenant.eu.auth0.com").build().unwrap_err();
/// assert!(err.to_string().contains(r#""https://my-tenant.eu.auth0.com/""#));
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
#[must_use = "a builder does nothing until .build() is called"]
pub struct BearerGuardBuilder<R = DefaultRejection> {
    settings: Settings,
    on_rejection: R,
}

/// Everything the builder collects but the rejection hook, whose type it changes.
#[derive(Debug)]
struct Settings {
    resource_server: ResourceServer,
    issuer: Option<String>,
    leeway: Duration,
    max_token_len: usize,
    scope_claim: String,
    required: Option<ScopeRequirement>,
    realm: Option<String>,
    allow_short_secret: bool,
    allow_anonymous: bool,
    allow_query_token: bool,
    rfc9068: bool,
    max_token_age: Option<Duration>,
    /// The key id of the resource server's own secret.
    signing_secret_kid: Option<String>,
    /// Secrets accepted besides the resource server's, in the order they are tried.
    other_secrets: Vec<(Option<String>, SigningSecret)>,
    /// A JWK set document, for an API signed with public keys.
    #[cfg(feature = "jwks")]
    static_jwks: Option<String>,
    /// Where to fetch the JWK set, instead of discovering it from the issuer.
    #[cfg(feature = "jwks")]
    jwks_uri: Option<String>,
    #[cfg(feature = "jwks")]
    jwks_fetcher: Option<Fetcher>,
    #[cfg(feature = "jwks")]
    jwks_settings: JwksSettings,
    /// Algorithms accepted besides the resource server's `signing_alg`.
    #[cfg(feature = "jwks")]
    also_accepted: Vec<Algorithm>,
    token_cache: TokenCacheSettings,
    /// Whether `on_rejection` set a hook of the user's.
    custom_rejection: bool,
    /// Cookies, headers and functions to read the token from besides `Authorization`.
    sources: Vec<SourceSetting>,
    /// RFC 9728: publish the protected resource's metadata and name it in challenges.
    resource_metadata: bool,
    /// DPoP's mode, when the builder overrides the registration's `proof_of_possession`.
    #[cfg(feature = "jwks")]
    dpop_mode: Option<DpopMode>,
    #[cfg(feature = "jwks")]
    dpop_settings: DpopSettings,
    #[cfg(feature = "jwks")]
    dpop_store: Option<Arc<dyn ReplayStore>>,
    /// Where clients reach the API, up to the request's path: a DPoP proof's `htu` base.
    #[cfg(feature = "jwks")]
    external_url: Option<String>,
}

impl BearerGuardLayer {
    /// Starts configuring a layer for `resource_server`; see [`BearerGuardBuilder`].
    pub fn builder(resource_server: ResourceServer) -> BearerGuardBuilder {
        BearerGuardBuilder::new(resource_server)
    }
}

impl BearerGuardBuilder {
    fn new(resource_server: ResourceServer) -> Self {
        Self {
            settings: Settings {
                resource_server,
                issuer: None,
                leeway: DEFAULT_LEEWAY,
                max_token_len: DEFAULT_MAX_TOKEN_LEN,
                scope_claim: "scope".to_owned(),
                required: None,
                realm: None,
                allow_short_secret: false,
                allow_anonymous: false,
                allow_query_token: false,
                rfc9068: false,
                max_token_age: None,
                signing_secret_kid: None,
                other_secrets: Vec::new(),
                #[cfg(feature = "jwks")]
                static_jwks: None,
                #[cfg(feature = "jwks")]
                jwks_uri: None,
                #[cfg(feature = "jwks")]
                jwks_fetcher: None,
                #[cfg(feature = "jwks")]
                jwks_settings: JwksSettings::default(),
                #[cfg(feature = "jwks")]
                also_accepted: Vec::new(),
                token_cache: TokenCacheSettings::default(),
                custom_rejection: false,
                sources: Vec::new(),
                resource_metadata: false,
                #[cfg(feature = "jwks")]
                dpop_mode: None,
                #[cfg(feature = "jwks")]
                dpop_settings: DpopSettings::default(),
                #[cfg(feature = "jwks")]
                dpop_store: None,
                #[cfg(feature = "jwks")]
                external_url: None,
            },
            on_rejection: DefaultRejection,
        }
    }
}

impl<R> BearerGuardBuilder<R> {
    /// Requires `iss` to equal `issuer` exactly (no trailing-slash or case normalisation).
    /// Defaults to no issuer check.
    ///
    /// `iss` is a StringOrURI (RFC 7519 §4.1.1), so any non-empty string is accepted, but an
    /// Auth0 domain (`*.auth0.com`) must be written as its tokens carry it,
    /// `https://{domain}/`: `build` refuses `my-tenant.eu.auth0.com` or
    /// `https://my-tenant.eu.auth0.com`, naming the value to use.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.settings.issuer = Some(issuer.into());
        self
    }

    /// Clock skew tolerated on `exp` and `nbf`. Defaults to 60 seconds; at most 300.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.settings.leeway = leeway;
        self
    }

    /// Longest token accepted, in bytes, checked before any decoding. Defaults to 8192;
    /// from 256 to 65536.
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.settings.max_token_len = bytes;
        self
    }

    /// The claim that holds the token's scopes: `scope` (the default, RFC 9068), `scp`, or
    /// Auth0's `permissions`. It may be a space-delimited string or an array of strings.
    pub fn scope_claim(mut self, claim: impl Into<String>) -> Self {
        self.settings.scope_claim = claim.into();
        self
    }

    /// Scopes every request through this layer needs. For per-route needs, see
    /// [`BearerGuardLayer::require_scopes`]. Defaults to none.
    pub fn require_scopes_for_every_request(mut self, requirement: ScopeRequirement) -> Self {
        self.settings.required = Some(requirement);
        self
    }

    /// The `realm` of the `WWW-Authenticate` challenge. Defaults to the identifier.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.settings.realm = Some(realm.into());
        self
    }

    /// Accepts a signing secret shorter than 32 bytes. Only for legacy secrets you cannot
    /// rotate yet: short HMAC keys can be brute-forced offline from a single token.
    pub fn allow_short_secret(mut self) -> Self {
        self.settings.allow_short_secret = true;
        self
    }

    /// Lets requests without bearer credentials through as anonymous (no token in the
    /// extensions). Requests with an invalid token are still rejected. Defaults to off.
    pub fn allow_anonymous(mut self) -> Self {
        self.settings.allow_anonymous = true;
        self
    }

    /// Also reads the token from the `access_token` query parameter (RFC 6750 §2.3). Off by
    /// default: URLs end up in logs and browser history. A token sent both ways is a 400.
    pub fn allow_query_token(mut self) -> Self {
        self.settings.allow_query_token = true;
        self
    }

    /// Also reads the token from the cookie `name` (its value is the bare token, optionally
    /// in double quotes; an empty value counts as no token). Defaults to none.
    ///
    /// RFC 6750's rules still hold: a token in the cookie *and* in `Authorization` (or another
    /// source) is a 400 `invalid_request`, as is the cookie sent twice.
    ///
    /// **CSRF.** A browser attaches cookies to every request to your API, including those
    /// another site's page makes it send: with a token in a cookie, a forged cross-site
    /// `POST` arrives authenticated. Set the cookie `Secure; HttpOnly; SameSite=Strict` (or
    /// `Lax`, which still lets top-level `GET` navigations carry it), keep state-changing
    /// routes off `GET`, and for browsers that may not honour `SameSite`, require a header
    /// a cross-site form cannot send (a CSRF token, or any custom header with CORS not
    /// allowing it). `Authorization` headers carry no such risk: prefer them for APIs called
    /// by scripts.
    ///
    /// `build` refuses a name that is not a cookie-name token, or a cookie named twice.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let layer = BearerGuardLayer::builder(api).token_cookie("access_token").build()?;
    /// // A typo fails at startup:
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// assert!(BearerGuardLayer::builder(api).token_cookie("access token").build().is_err());
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn token_cookie(mut self, name: impl Into<String>) -> Self {
        self.settings
            .sources
            .push(SourceSetting::Cookie(name.into()));
        self
    }

    /// Also reads the token from the header `name`, whose value is the bare token (no
    /// `Bearer` prefix), as some gateways forward it (`X-Access-Token`). A token there and
    /// in another source is a 400 `invalid_request`, as is the header sent twice. Defaults
    /// to none; `build` refuses an invalid header name, `Authorization` or `Cookie`.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let layer = BearerGuardLayer::builder(api).token_header("x-access-token").build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn token_header(mut self, name: impl Into<String>) -> Self {
        self.settings
            .sources
            .push(SourceSetting::Header(name.into()));
        self
    }

    /// Also reads the token with `find`, a function of the request's method, URI, headers and
    /// extensions (`http::request::Parts`), for places the other sources do not cover (a
    /// WebSocket subprotocol header, a header with another scheme). It returns the bare token
    /// or `None`; a token that breaks the b64token grammar, or one found while another source
    /// also has one, is a 400 `invalid_request`. Defaults to none; at most 8 sources in all.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// use http::request::Parts;
    ///
    /// // `Authorization: Token <jwt>`, as an older client sends it.
    /// fn token_scheme(parts: &Parts) -> Option<String> {
    ///     let value = parts.headers.get("authorization")?.to_str().ok()?;
    ///     Some(value.strip_prefix("Token ")?.to_owned())
    /// }
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let layer = BearerGuardLayer::builder(api).token_from(token_scheme).build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn token_from<F>(mut self, find: F) -> Self
    where
        F: Fn(&http::request::Parts) -> Option<String> + Send + Sync + 'static,
    {
        self.settings
            .sources
            .push(SourceSetting::Function(Arc::new(find)));
        self
    }

    /// Applies the JWT access token profile of RFC 9068: the header's `typ` must be `at+jwt`
    /// (or `application/at+jwt`), `sub`, `client_id`, `iat` and `jti` are required (and `iss`,
    /// even with no [`issuer`](Self::issuer) to match), and an `iat` after now plus leeway is
    /// refused. Defaults to off, since Auth0-style tokens are
    /// typed `JWT` and carry `azp` rather than `client_id`.
    pub fn rfc9068_profile(mut self) -> Self {
        self.settings.rfc9068 = true;
        self
    }

    /// Refuses tokens issued (`iat`) more than `max_age` ago, whatever their `exp`; `iat`
    /// becomes required. Defaults to none.
    pub fn max_token_age(mut self, max_age: Duration) -> Self {
        self.settings.max_token_age = Some(max_age);
        self
    }

    /// Also accepts tokens signed with `secret`, tried after the resource server's
    /// `signing_secret` when a token names no key id. For rotation: configure the new secret
    /// as the resource server's and the old one here until the tokens it signed have expired.
    /// At most 4 secrets in all; each is held to the same length rule as the main one.
    /// Defaults to none.
    pub fn previous_secret(mut self, secret: impl Into<SigningSecret>) -> Self {
        self.settings.other_secrets.push((None, secret.into()));
        self
    }

    /// Also accepts tokens whose header names key id `kid`, signed with `secret`.
    ///
    /// Once any secret has a key id, a token's `kid` selects its secret: a `kid` that names
    /// none is refused (`invalid_token`) without trying the others. Tokens without `kid`
    /// are still tried against every secret in order. At most 4 secrets in all; key ids must
    /// be distinct and non-empty. Defaults to none.
    pub fn secret_with_kid(
        mut self,
        kid: impl Into<String>,
        secret: impl Into<SigningSecret>,
    ) -> Self {
        self.settings
            .other_secrets
            .push((Some(kid.into()), secret.into()));
        self
    }

    /// Labels the resource server's own `signing_secret` with key id `kid`, for tokens whose
    /// header carries one; see [`secret_with_kid`](Self::secret_with_kid). Defaults to none.
    pub fn signing_secret_kid(mut self, kid: impl Into<String>) -> Self {
        self.settings.signing_secret_kid = Some(kid.into());
        self
    }

    /// The public keys of an API signed with RS*, PS*, ES*, EdDSA or Ed25519: the issuer's JWK
    /// set document (RFC 7517 §5), as `https://{tenant}/.well-known/jwks.json` serves it.
    /// For tests and air-gapped setups; parsed once, at [`build`](Self::build). Feature
    /// `jwks`.
    ///
    /// A key is used only if its `kty` (and `crv`) fit the algorithm, its `alg` (when present)
    /// is accepted, `use` is absent or `sig`, `key_ops` (when present) has `verify`, and an
    /// RSA modulus has 2048 to 8192 bits; a key with private members, or an `oct` key, never
    /// is. Such keys are skipped (and logged with their `kid`); a set with no usable key, more
    /// than 100 keys or over 64 KiB is a [`ConfigError::InvalidJwks`]. A token's `kid` picks
    /// its key; a token without `kid` is verified with the only key of its algorithm, and
    /// refused (`MissingKeyId`) when there are several.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    ///
    /// let api = ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "EdDSA"}"#)?;
    /// let jwks = r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1",
    ///     "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    /// let layer = BearerGuardLayer::builder(api)
    ///     .issuer("https://my-tenant.example.com/")
    ///     .static_jwks(jwks)
    ///     .build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[cfg(feature = "jwks")]
    pub fn static_jwks(mut self, document: impl Into<String>) -> Self {
        self.settings.static_jwks = Some(document.into());
        self
    }

    /// Fetches the JWK set from `url` rather than finding it by discovery from the
    /// [`issuer`](Self::issuer). `https`, or `http` to a loopback host. Feature `jwks`.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use bearer_guard::{Algorithm, BearerGuardLayer, JwksSettings, ResourceServer};
    ///
    /// let api = ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "RS256"}"#)?;
    /// let layer = BearerGuardLayer::builder(api)
    ///     .issuer("https://login.example.com/")
    ///     .jwks_uri("https://login.example.com/keys")
    ///     .also_accept_algorithm(Algorithm::Es256) // the issuer signs with both
    ///     .jwks_settings(JwksSettings::default().stale_for(Duration::from_secs(3600)))
    ///     .build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[cfg(feature = "jwks")]
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.settings.jwks_uri = Some(url.into());
        self
    }

    /// Fetches discovery documents and JWK sets with `fetcher` (your HTTP client, a proxy,
    /// mTLS, a custom CA, a test double). Defaults to the `reqwest` feature's client.
    /// Feature `jwks`.
    #[cfg(feature = "jwks")]
    pub fn jwks_fetcher(mut self, fetcher: impl JwksFetcher) -> Self {
        self.settings.jwks_fetcher = Some(Fetcher(Arc::new(fetcher)));
        self
    }

    /// Publishes the protected resource's metadata (RFC 9728) and names its URL in every
    /// challenge (`resource_metadata="…"`, §5.1), so that a client (an MCP client, say) finds
    /// the authorization server from a 401 alone; serve it with
    /// [`BearerGuardLayer::resource_metadata`]. The resource server's identifier must be the
    /// API's https URL (clients fetch the metadata from its origin) and an
    /// [`issuer`](Self::issuer) must be set. Defaults to off.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, Rejection, RejectionKind, ResourceServer};
    ///
    /// let api = ResourceServer::new("https://api.example.com/mcp", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api)
    ///     .issuer("https://my-tenant.example.com/")
    ///     .resource_metadata()
    ///     .build()?;
    /// assert!(guard.resource_metadata().is_some());
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn resource_metadata(mut self) -> Self {
        self.settings.resource_metadata = true;
        self
    }

    /// DPoP (RFC 9449): `Disabled`, `Allowed` (Bearer and DPoP tokens both taken) or
    /// `Required`. Defaults to what the registration's `proof_of_possession` says, `Allowed`
    /// when it says nothing ([`ResourceServer::dpop_mode`]); DPoP requests are then taken once
    /// the guard knows the URL clients call: this setting, [`external_url`](Self::external_url),
    /// the registration's `proof_of_possession` or [`resource_metadata`](Self::resource_metadata)
    /// (whose identifier is the API's URL). Until then the guard takes Bearer alone, and its
    /// challenges offer Bearer alone. Feature `jwks`.
    ///
    /// A request with `Authorization: DPoP <token>` must carry one `DPoP` proof header:
    /// every check of RFC 9449 §4.3, against the method and
    /// [`external_url`](Self::external_url) plus the path, the token's `cnf.jkt` and a replay
    /// store ([`dpop_replay_store`](Self::dpop_replay_store)); a DPoP-bound token sent as
    /// `Bearer` is refused (§7.1).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, DpopMode, ResourceServer};
    ///
    /// let api = ResourceServer::new("https://api.example.com", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api).dpop(DpopMode::Required).build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[cfg(feature = "jwks")]
    pub fn dpop(mut self, mode: DpopMode) -> Self {
        self.settings.dpop_mode = Some(mode);
        self
    }

    /// The algorithms, `iat` window and leeway DPoP proofs are checked with; see
    /// [`DpopSettings`]. Feature `jwks`.
    #[cfg(feature = "jwks")]
    pub fn dpop_settings(mut self, settings: DpopSettings) -> Self {
        self.settings.dpop_settings = settings;
        self
    }

    /// Where DPoP proofs' `jti`s are remembered. Defaults to a [`MemoryReplayStore`] of this
    /// process; an API with several instances behind a load balancer needs a shared one, such
    /// as the `redis` feature's `RedisReplayStore`, or a proof replayed to another instance
    /// is accepted there. Feature `jwks`.
    #[cfg(feature = "jwks")]
    pub fn dpop_replay_store(mut self, store: impl ReplayStore + 'static) -> Self {
        self.settings.dpop_store = Some(Arc::new(store));
        self
    }

    /// The URL clients reach this API at, up to where a request's path begins (scheme, host,
    /// port, and any prefix a proxy strips): a DPoP proof's `htu` must be this followed by
    /// the request's path. Defaults to the origin of the resource server's identifier. Never
    /// taken from `Host` or `X-Forwarded-*`, which a client controls. Feature `jwks`.
    ///
    /// # Example
    ///
    /// An API behind a proxy that serves it at `https://api.example.com/orders-api/` and
    /// strips the prefix, its proofs checked with ES256 and EdDSA only, its replays kept in
    /// this process (a fleet would pass a shared `RedisReplayStore`):
    ///
    /// ```
    /// use std::time::Duration;
    /// use bearer_guard::{Algorithm, BearerGuardLayer, DpopSettings, MemoryReplayStore, ResourceServer};
    ///
    /// let api = ResourceServer::new("https://orders-api", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api)
    ///     .external_url("https://api.example.com/orders-api")
    ///     .dpop_settings(DpopSettings::default().algorithms([Algorithm::Es256, Algorithm::EdDsa]))
    ///     .dpop_replay_store(MemoryReplayStore::with_capacity(10_000))
    ///     .build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[cfg(feature = "jwks")]
    pub fn external_url(mut self, url: impl Into<String>) -> Self {
        self.settings.external_url = Some(url.into());
        self
    }

    /// Sizes or disables the cache of verified tokens, which lets a repeated token skip its
    /// signature and claims parsing; see [`TokenCacheSettings`] for what a hit still checks
    /// and the revocation trade-off. Defaults to on, at 8 MiB and 5 minutes.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer, TokenCacheSettings};
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api)
    ///     .token_cache(TokenCacheSettings::disabled())
    ///     .build()?;
    /// assert!(guard.token_cache_status().is_none());
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn token_cache(mut self, settings: TokenCacheSettings) -> Self {
        self.settings.token_cache = settings;
        self
    }

    /// The key cache's timeouts, lifetimes, backoff and refetch budget; see
    /// [`JwksSettings`] for the defaults. Feature `jwks`.
    #[cfg(feature = "jwks")]
    pub fn jwks_settings(mut self, settings: JwksSettings) -> Self {
        self.settings.jwks_settings = settings;
        self
    }

    /// Also accepts tokens signed with `alg`, besides the resource server's `signing_alg`:
    /// an explicit widening, for an issuer that signs with more than one algorithm. Only
    /// algorithms that verify with public keys can be added. Feature `jwks`. Defaults to
    /// none: the algorithm is pinned to the resource server's.
    #[cfg(feature = "jwks")]
    pub fn also_accept_algorithm(mut self, alg: Algorithm) -> Self {
        self.settings.also_accepted.push(alg);
        self
    }

    /// Replaces the response sent for rejected requests; see [`OnRejection`]. Defaults to
    /// [`DefaultRejection`]'s RFC 6750 answer.
    ///
    /// One hook for every path: the guard's own answers, those of the scope layers made from
    /// it ([`require_scopes`](BearerGuardLayer::require_scopes)), and those of the axum
    /// extractors behind it ([`VerifiedToken`](crate::VerifiedToken),
    /// `Claims<T>` and their `Option` forms), which find the hook in the
    /// request extensions where the guard leaves it. Only the answers of an extractor or scope
    /// layer with no guard before it (a server bug, 500) stay the default ones.
    ///
    /// [`OnRejection`]: crate::OnRejection
    /// [`DefaultRejection`]: crate::DefaultRejection
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::Rejection;
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5").with_scope("read:messages", "Read messages");
    /// let layer = BearerGuardLayer::builder(api)
    ///     .on_rejection(|rejection: &Rejection| {
    ///         let mut response = http::Response::new(axum::body::Body::from(rejection.reason()));
    ///         *response.status_mut() = rejection.status();
    ///         response
    ///     })
    ///     .build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn on_rejection<R2>(mut self, on_rejection: R2) -> BearerGuardBuilder<R2> {
        self.settings.custom_rejection = true;
        BearerGuardBuilder {
            settings: self.settings,
            on_rejection,
        }
    }

    /// Checks every setting and builds the layer.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first problem found.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ConfigError, ResourceServer};
    /// let api = ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "ES256K"}"#)?;
    /// let err = BearerGuardLayer::builder(api).build().unwrap_err();
    /// assert_eq!(err, ConfigError::UnsupportedAlgorithm { alg: "ES256K".into() });
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn build(self) -> Result<BearerGuardLayer<R>, ConfigError> {
        let Self {
            settings,
            on_rejection,
        } = self;
        let validator = settings.validator()?;
        #[cfg(feature = "jwks")]
        let dpop = settings.dpop_guard()?;
        let api = &settings.resource_server;
        let realm = settings
            .realm
            .unwrap_or_else(|| api.identifier().to_owned());
        if realm.is_empty() || !quotable(&realm) {
            return Err(ConfigError::InvalidRealm { realm });
        }
        let declared: Box<[Box<str>]> = api
            .declared_scopes()
            .iter()
            .map(|scope| scope.value.clone().into_boxed_str())
            .collect();
        let required = settings
            .required
            .clone()
            .map(|requirement| Required::new(requirement, &declared))
            .transpose()?;
        let sources = TokenSources::new(&settings.sources)?;
        #[cfg(not(feature = "jwks"))]
        if api.dpop_mode() == DpopMode::Required {
            return Err(ConfigError::DpopNeedsJwksFeature);
        }
        #[cfg(feature = "jwks")]
        let (schemes, dpop_algs, dpop_required) = match &dpop {
            Some(dpop) => (
                Schemes {
                    bearer: dpop.mode != DpopMode::Required,
                    dpop: true,
                },
                Some(dpop.algs()),
                dpop.mode == DpopMode::Required,
            ),
            None => (Schemes::BEARER, None, false),
        };
        #[cfg(not(feature = "jwks"))]
        let (schemes, dpop_algs, dpop_required) = (Schemes::BEARER, None::<String>, false);
        let metadata = if settings.resource_metadata {
            Some(ResourceMetadata::new(&MetadataFields {
                resource: api.identifier(),
                issuer: settings.issuer.as_deref(),
                scopes: &declared,
                name: api.name(),
                query_tokens: settings.allow_query_token,
                dpop_algs: dpop_algs.as_deref().map(|algs| algs.split(' ').collect()),
                dpop_required,
            })?)
        } else {
            None
        };
        let guard = GuardMark {
            id: NEXT_GUARD_ID.fetch_add(1, Ordering::Relaxed),
            realm: realm.into(),
            challenge: Arc::new(ChallengeParams {
                bearer: schemes.bearer,
                dpop_algs: dpop_algs.map(String::into_boxed_str),
                resource_metadata: metadata.as_ref().map(|metadata| metadata.url().into()),
            }),
        };
        Ok(BearerGuardLayer::new(Arc::new(Guard {
            validator,
            declared,
            required,
            allow_anonymous: settings.allow_anonymous,
            allow_query_token: settings.allow_query_token,
            sources,
            schemes,
            #[cfg(feature = "jwks")]
            dpop,
            metadata,
            responder: Responder::new(guard, on_rejection, settings.custom_rejection),
        })))
    }

    /// Checks the token settings and builds a [`TokenValidator`] alone, for tokens that do not
    /// come through HTTP (a WebSocket handshake, a message queue). The HTTP settings (`realm`,
    /// anonymous and query-token modes, scope requirements, the rejection hook) play no part.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first problem found.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let validator = BearerGuardLayer::builder(api)
    ///     .issuer("https://my-tenant.eu.auth0.com/")
    ///     .build_validator()?;
    /// assert!(validator.validate("not a token").is_err());
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn build_validator(self) -> Result<TokenValidator, ConfigError> {
        self.settings.validator()
    }
}

impl Settings {
    /// The DPoP step, unless DPoP is disabled or nothing asked for it: its settings checked,
    /// its `htu` base known.
    ///
    /// DPoP is asked for by the builder (`dpop`, `external_url`), by the registration
    /// (`proof_of_possession`), or by publishing RFC 9728 metadata, whose identifier is the
    /// API's URL. Otherwise the guard cannot know the URL clients call, and takes Bearer
    /// alone rather than check proofs against a guess.
    #[cfg(feature = "jwks")]
    fn dpop_guard(&self) -> Result<Option<DpopGuard>, ConfigError> {
        let mode = self
            .dpop_mode
            .unwrap_or_else(|| self.resource_server.dpop_mode());
        let asked = self.dpop_mode.is_some()
            || self.external_url.is_some()
            || self.resource_metadata
            || self.resource_server.declares_proof_of_possession();
        if mode == DpopMode::Disabled || !asked {
            return Ok(None);
        }
        let verifier = DpopVerifier::new(self.dpop_settings.clone())?;
        let external_url = match &self.external_url {
            Some(url) => url.clone(),
            None => origin(self.resource_server.identifier()).to_owned(),
        };
        if !(external_url.starts_with("https://") || external_url.starts_with("http://")) {
            return Err(ConfigError::ExternalUrl { url: external_url });
        }
        let store = self
            .dpop_store
            .clone()
            .unwrap_or_else(|| Arc::new(MemoryReplayStore::new()));
        Ok(Some(DpopGuard::new(mode, verifier, store, &external_url)))
    }

    /// Checks every setting the validator uses, and builds it.
    fn validator(&self) -> Result<TokenValidator, ConfigError> {
        let api = &self.resource_server;
        let (keys, accepted) = match api.algorithm()? {
            alg if !alg.is_asymmetric() => (self.secrets()?, Algorithms::of([alg])),
            alg => self.public_keys(alg)?,
        };
        if let Some(issuer) = &self.issuer {
            check_issuer(issuer)?;
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge {
                seconds: self.leeway.as_secs(),
                max: MAX_LEEWAY.as_secs(),
            });
        }
        let (min, max) = MAX_TOKEN_LEN_RANGE;
        if !(min..=max).contains(&self.max_token_len) {
            return Err(ConfigError::MaxTokenLenOutOfRange {
                len: self.max_token_len,
                min,
                max,
            });
        }
        if self.scope_claim.is_empty() || REGISTERED.contains(&self.scope_claim.as_str()) {
            return Err(ConfigError::InvalidScopeClaim {
                claim: self.scope_claim.clone(),
            });
        }
        if self.max_token_age == Some(Duration::ZERO) {
            return Err(ConfigError::ZeroMaxTokenAge);
        }
        if api.token_lifetime() == Some(0) {
            return Err(ConfigError::ZeroTokenLifetime);
        }
        Ok(TokenValidator {
            keys,
            accepted,
            audience: api.identifier().into(),
            issuer: self.issuer.as_deref().map(Box::from),
            leeway: self.leeway.as_secs_f64(),
            max_token_len: self.max_token_len,
            scope_claim: self.scope_claim.as_str().into(),
            rfc9068: self.rfc9068,
            max_age: self.max_token_age.map(|age| age.as_secs_f64()),
            #[allow(clippy::cast_precision_loss)] // Lifetimes are far below 2^53 seconds.
            max_lifetime: api.token_lifetime().map(|seconds| seconds as f64),
            cache: TokenCache::new(&self.token_cache)?.map(Arc::new),
        })
    }
}

impl Settings {
    /// The HMAC secrets, checked, for an HS256, HS384 or HS512 API.
    fn secrets(&self) -> Result<KeySource, ConfigError> {
        #[cfg(feature = "jwks")]
        for (setting, given) in [
            ("static_jwks", self.static_jwks.is_some()),
            ("jwks_uri", self.jwks_uri.is_some()),
            ("jwks_fetcher", self.jwks_fetcher.is_some()),
        ] {
            if given {
                return Err(ConfigError::KeySetSettingForHs256 { setting });
            }
        }
        #[cfg(feature = "jwks")]
        if !self.also_accepted.is_empty() {
            return Err(ConfigError::KeySetSettingForHs256 {
                setting: "also_accept_algorithm",
            });
        }
        let (alg, secret) = self.resource_server.hmac_secret()?;
        let keys = key_set(
            alg,
            (self.signing_secret_kid.as_deref(), secret),
            &self.other_secrets,
            self.allow_short_secret,
        )?;
        Ok(KeySource::Secrets(keys))
    }

    /// The public keys, and the algorithms they verify, for an API signed with `alg`.
    #[cfg(feature = "jwks")]
    fn public_keys(&self, alg: Algorithm) -> Result<(KeySource, Algorithms), ConfigError> {
        self.refuse_secret_settings(alg)?;
        if let Some(added) = self
            .also_accepted
            .iter()
            .find(|added| !added.is_asymmetric())
        {
            return Err(ConfigError::UnsupportedAlgorithm {
                alg: format!(
                    "{added} (from also_accept_algorithm: HS* never verifies with a JWK set)"
                ),
            });
        }
        let accepted =
            Algorithms::of(std::iter::once(alg).chain(self.also_accepted.iter().copied()));
        if let Some(document) = &self.static_jwks {
            let set = JwkSet::parse(document.as_bytes(), accepted).map_err(|err| {
                ConfigError::InvalidJwks {
                    problem: err.to_string(),
                }
            })?;
            return Ok((KeySource::KeySet(Arc::new(set)), accepted));
        }
        // Keys are fetched: from the configured URL, or by discovery from the issuer.
        let location = match (&self.jwks_uri, &self.issuer) {
            (Some(url), _) => Location::JwksUri(url.as_str().into()),
            (None, Some(issuer)) => Location::Discovery {
                issuer: issuer.as_str().into(),
            },
            (None, None) => {
                return Err(ConfigError::NoKeySource {
                    alg: alg.name().to_owned(),
                });
            }
        };
        let fetcher = match &self.jwks_fetcher {
            Some(Fetcher(fetcher)) => Arc::clone(fetcher),
            None => default_fetcher(alg, &self.jwks_settings)?,
        };
        let cache = KeyCache::new(location, accepted, fetcher, self.jwks_settings.clone())?;
        Ok((KeySource::Cache(cache), accepted))
    }

    /// Without the `jwks` feature, an API signed with public keys cannot be verified.
    #[cfg(not(feature = "jwks"))]
    fn public_keys(&self, alg: Algorithm) -> Result<(KeySource, Algorithms), ConfigError> {
        self.refuse_secret_settings(alg)?;
        Err(ConfigError::AlgorithmNeedsJwksFeature {
            alg: alg.name().to_owned(),
        })
    }

    /// Refuses the HS256 secret settings for an API signed with `alg`, which has no secret.
    fn refuse_secret_settings(&self, alg: Algorithm) -> Result<(), ConfigError> {
        let setting = if !self.other_secrets.is_empty() {
            Some("previous_secret / secret_with_kid")
        } else if self.signing_secret_kid.is_some() {
            Some("signing_secret_kid")
        } else if self.allow_short_secret {
            Some("allow_short_secret")
        } else {
            None
        };
        match setting {
            Some(setting) => Err(ConfigError::SecretSettingWithoutHs256 {
                setting,
                alg: alg.name().to_owned(),
            }),
            None => Ok(()),
        }
    }
}

/// `scheme://authority` of `url`, or `url` itself when it has no `//`.
#[cfg(feature = "jwks")]
fn origin(url: &str) -> &str {
    let Some(start) = url.find("://").map(|at| at + 3) else {
        return url;
    };
    let end = url[start..].find('/').map_or(url.len(), |at| start + at);
    &url[..end]
}

/// A fetcher given to the builder; its `Debug` names it only.
#[cfg(feature = "jwks")]
struct Fetcher(Arc<dyn JwksFetcher>);

#[cfg(feature = "jwks")]
impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwksFetcher")
    }
}

/// The `reqwest` feature's fetcher, or, without it, the advice to bring one.
#[cfg(feature = "jwks")]
fn default_fetcher(
    alg: Algorithm,
    settings: &JwksSettings,
) -> Result<Arc<dyn JwksFetcher>, ConfigError> {
    #[cfg(feature = "reqwest")]
    {
        let _ = alg;
        Ok(Arc::new(crate::keys::ReqwestFetcher::new(settings)?))
    }
    #[cfg(not(feature = "reqwest"))]
    {
        let _ = settings;
        Err(ConfigError::NoFetcher {
            alg: alg.name().to_owned(),
        })
    }
}

/// Checks the expected issuer: not empty, and an Auth0 domain in the form its tokens carry.
fn check_issuer(issuer: &str) -> Result<(), ConfigError> {
    if issuer.is_empty() {
        return Err(ConfigError::EmptyIssuer);
    }
    let rest = issuer
        .strip_prefix("https://")
        .or_else(|| issuer.strip_prefix("http://"))
        .unwrap_or(issuer);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let is_auth0 = host
        .to_ascii_lowercase()
        .strip_suffix(".auth0.com")
        .is_some_and(|tenant| !tenant.is_empty());
    let expected = format!("https://{host}/");
    if is_auth0 && issuer != expected {
        return Err(ConfigError::Auth0IssuerForm {
            issuer: issuer.to_owned(),
            expected,
        });
    }
    Ok(())
}

/// Checks every secret and key id, and derives the HMAC keys, the resource server's first.
fn key_set(
    alg: Algorithm,
    current: (Option<&str>, &SigningSecret),
    others: &[(Option<String>, SigningSecret)],
    allow_short_secret: bool,
) -> Result<HmacKeys, ConfigError> {
    let count = 1 + others.len();
    if count > MAX_KEYS {
        return Err(ConfigError::TooManySecrets {
            count,
            max: MAX_KEYS,
        });
    }
    let all =
        std::iter::once(current).chain(others.iter().map(|(kid, secret)| (kid.as_deref(), secret)));
    let mut entries: Vec<(Option<Box<str>>, HmacKey)> = Vec::with_capacity(count);
    let min = alg.hmac_len().unwrap_or_default();
    for (kid, secret) in all {
        if secret.is_empty() {
            return Err(ConfigError::EmptySecret);
        }
        if secret.len() < min && !allow_short_secret {
            return Err(ConfigError::SecretTooShort {
                len: secret.len(),
                min,
            });
        }
        if let Some(kid) = kid {
            if kid.is_empty() {
                return Err(ConfigError::EmptyKeyId);
            }
            if entries.iter().any(|(seen, _)| seen.as_deref() == Some(kid)) {
                return Err(ConfigError::DuplicateKeyId {
                    kid: kid.to_owned(),
                });
            }
        }
        let key = HmacKey::new(alg, secret).ok_or_else(|| ConfigError::UnsupportedAlgorithm {
            alg: alg.name().to_owned(),
        })?;
        entries.push((kid.map(Box::from), key));
    }
    Ok(HmacKeys::new(alg, entries))
}

impl<R> fmt::Debug for BearerGuardBuilder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerGuardBuilder")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{SECRET, resource_server};

    fn build_err(builder: BearerGuardBuilder) -> ConfigError {
        builder.build().map(|_| ()).unwrap_err()
    }

    fn builder_for(api: ResourceServer) -> BearerGuardBuilder {
        BearerGuardLayer::builder(api)
    }

    #[test]
    fn demo_resource_server_builds() {
        assert!(builder_for(resource_server()).build().is_ok());
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let layer = builder_for(resource_server()).build().unwrap();
        let validator = layer.validator();
        assert_eq!(validator.max_token_len, 8192);
        assert_eq!(validator.leeway, 60.0);
        assert_eq!(&*validator.scope_claim, "scope");
        assert_eq!(&*layer.guard().responder.guard.realm, "https://my-api-urn");
        assert_eq!(validator.issuer, None);
        assert!(!validator.rfc9068);
        assert_eq!(validator.max_age, None);
    }

    #[test]
    fn empty_identifier_fails() {
        assert_eq!(
            build_err(builder_for(ResourceServer::new("", SECRET))),
            ConfigError::EmptyIdentifier
        );
    }

    #[test]
    fn identifier_must_be_an_absolute_uri() {
        for identifier in [
            "my-api",
            "/api",
            "://x",
            "1http://x",
            "https://my api",
            "https://x#f",
            "https:",
        ] {
            assert!(
                matches!(
                    build_err(builder_for(ResourceServer::new(identifier, SECRET))),
                    ConfigError::IdentifierNotAbsoluteUri { .. }
                ),
                "{identifier}"
            );
        }
        for identifier in [
            "https://my-api-urn",
            "urn:my:api",
            "https://api.example.com/v1/",
        ] {
            assert!(
                builder_for(ResourceServer::new(identifier, SECRET))
                    .build()
                    .is_ok(),
                "{identifier}"
            );
        }
    }

    fn api_signed_with(alg: &str) -> ResourceServer {
        ResourceServer::from_json(&format!(
            r#"{{"identifier": "https://my-api-urn", "signing_alg": "{alg}", "signing_secret": "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5"}}"#
        ))
        .unwrap()
    }

    #[test]
    fn algorithm_bearer_guard_does_not_verify_fails_naming_it() {
        for alg in ["RS1024", "HS1024", "ES256K", "Ed448", "none", "rs256", ""] {
            let err = build_err(builder_for(api_signed_with(alg)));
            assert_eq!(err, ConfigError::UnsupportedAlgorithm { alg: alg.into() });
            assert!(err.to_string().contains(&format!("{alg:?}")), "{err}");
        }
    }

    #[test]
    fn asymmetric_algorithm_needs_its_keys_and_feature() {
        let err = build_err(builder_for(api_signed_with("RS256")));
        #[cfg(feature = "jwks")]
        assert_eq!(
            err,
            ConfigError::NoKeySource {
                alg: "RS256".into()
            }
        );
        #[cfg(not(feature = "jwks"))]
        assert_eq!(
            err,
            ConfigError::AlgorithmNeedsJwksFeature {
                alg: "RS256".into()
            }
        );
        // A secret in the registration does not make it an HS256 API.
        let previous = builder_for(api_signed_with("ES256")).previous_secret(SECRET);
        assert!(matches!(
            build_err(previous),
            ConfigError::SecretSettingWithoutHs256 { .. }
        ));
    }

    #[test]
    fn missing_secret_fails() {
        let api = ResourceServer::from_json(r#"{"identifier":"https://x","signing_alg":"HS256"}"#)
            .unwrap();
        assert_eq!(build_err(builder_for(api)), ConfigError::MissingSecret);
    }

    #[test]
    fn empty_secret_fails_even_when_short_secrets_are_allowed() {
        let builder = builder_for(ResourceServer::new("https://x", "")).allow_short_secret();
        assert_eq!(build_err(builder), ConfigError::EmptySecret);
    }

    #[test]
    fn short_secret_fails_unless_allowed() {
        let api = ResourceServer::new("https://x", "31 bytes 31 bytes 31 bytes 31 b");
        assert_eq!(
            build_err(builder_for(api.clone())),
            ConfigError::SecretTooShort { len: 31, min: 32 }
        );
        assert!(builder_for(api).allow_short_secret().build().is_ok());
    }

    #[test]
    fn error_messages_never_contain_the_secret() {
        let api = ResourceServer::new("https://x", "short-secret-value");
        let message = build_err(builder_for(api)).to_string();
        assert!(!message.contains("short-secret-value"), "{message}");
    }

    #[test]
    fn undeclared_required_scope_fails_at_startup() {
        let builder = builder_for(resource_server())
            .require_scopes_for_every_request(ScopeRequirement::all(["read:mesages"]));
        assert_eq!(
            build_err(builder),
            ConfigError::UndeclaredScope {
                scope: "read:mesages".into()
            }
        );
    }

    #[test]
    fn empty_issuer_fails() {
        assert_eq!(
            build_err(builder_for(resource_server()).issuer("")),
            ConfigError::EmptyIssuer
        );
    }

    #[test]
    fn leeway_over_five_minutes_fails() {
        let builder = builder_for(resource_server()).leeway(Duration::from_secs(301));
        assert!(matches!(
            build_err(builder),
            ConfigError::LeewayTooLarge { seconds: 301, .. }
        ));
        assert!(
            builder_for(resource_server())
                .leeway(MAX_LEEWAY)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn max_token_len_out_of_range_fails() {
        for len in [0, 255, 65537] {
            let builder = builder_for(resource_server()).max_token_len(len);
            assert!(
                matches!(
                    build_err(builder),
                    ConfigError::MaxTokenLenOutOfRange { .. }
                ),
                "{len}"
            );
        }
    }

    #[test]
    fn scope_claim_cannot_be_a_registered_claim() {
        for claim in ["", "aud", "exp", "sub"] {
            let builder = builder_for(resource_server()).scope_claim(claim);
            assert!(
                matches!(build_err(builder), ConfigError::InvalidScopeClaim { .. }),
                "{claim}"
            );
        }
        assert!(
            builder_for(resource_server())
                .scope_claim("permissions")
                .build()
                .is_ok()
        );
    }

    #[test]
    fn realm_must_be_quotable() {
        for realm in ["", "a\"b", "a\\b", "tab\there", "é"] {
            let builder = builder_for(resource_server()).realm(realm);
            assert!(
                matches!(build_err(builder), ConfigError::InvalidRealm { .. }),
                "{realm:?}"
            );
        }
    }

    #[test]
    fn zero_token_lifetime_fails() {
        let api = resource_server().with_token_lifetime(0);
        assert_eq!(build_err(builder_for(api)), ConfigError::ZeroTokenLifetime);
    }

    #[test]
    fn zero_max_token_age_fails() {
        let builder = builder_for(resource_server()).max_token_age(Duration::ZERO);
        assert_eq!(build_err(builder), ConfigError::ZeroMaxTokenAge);
    }

    #[test]
    fn builder_debug_hides_the_secret() {
        let printed = format!(
            "{:?}",
            builder_for(resource_server())
                .previous_secret("previous secret previous secret !")
                .secret_with_kid("k1", "labelled secret labelled secret !")
        );
        for secret in [SECRET, "previous secret", "labelled secret"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        assert!(printed.contains("k1"), "{printed}");
    }

    const OTHER: &str = "another secret, 32 bytes or more.";

    #[test]
    fn more_secrets_than_the_bound_fail() {
        let builder = (0..MAX_KEYS - 1).fold(builder_for(resource_server()), |builder, i| {
            builder.previous_secret(format!("{OTHER}{i}"))
        });
        assert!(builder.build().is_ok());
        let builder = (0..MAX_KEYS).fold(builder_for(resource_server()), |builder, i| {
            builder.secret_with_kid(format!("k{i}"), format!("{OTHER}{i}"))
        });
        assert_eq!(
            build_err(builder),
            ConfigError::TooManySecrets {
                count: MAX_KEYS + 1,
                max: MAX_KEYS
            }
        );
    }

    #[test]
    fn previous_secrets_follow_the_length_rules() {
        let short = builder_for(resource_server()).previous_secret("short");
        assert_eq!(
            build_err(short),
            ConfigError::SecretTooShort { len: 5, min: 32 }
        );
        let empty = builder_for(resource_server())
            .secret_with_kid("k", "")
            .allow_short_secret();
        assert_eq!(build_err(empty), ConfigError::EmptySecret);
        let allowed = builder_for(resource_server())
            .previous_secret("short")
            .allow_short_secret();
        assert!(allowed.build().is_ok());
    }

    #[test]
    fn key_ids_must_be_distinct_and_non_empty() {
        let duplicate = builder_for(resource_server())
            .signing_secret_kid("k1")
            .secret_with_kid("k2", OTHER)
            .secret_with_kid("k1", OTHER);
        assert_eq!(
            build_err(duplicate),
            ConfigError::DuplicateKeyId { kid: "k1".into() }
        );
        let empty = builder_for(resource_server()).signing_secret_kid("");
        assert_eq!(build_err(empty), ConfigError::EmptyKeyId);
        let distinct = builder_for(resource_server())
            .signing_secret_kid("k1")
            .secret_with_kid("k2", OTHER)
            .previous_secret(OTHER);
        assert!(distinct.build().is_ok());
    }

    #[test]
    fn auth0_issuer_must_be_written_as_its_tokens_carry_it() {
        for (typo, expected) in [
            ("my-tenant.eu.auth0.com", "https://my-tenant.eu.auth0.com/"),
            (
                "https://my-tenant.eu.auth0.com",
                "https://my-tenant.eu.auth0.com/",
            ),
            (
                "http://my-tenant.auth0.com/",
                "https://my-tenant.auth0.com/",
            ),
            ("my-tenant.us.auth0.com/", "https://my-tenant.us.auth0.com/"),
        ] {
            let err = build_err(builder_for(resource_server()).issuer(typo));
            assert_eq!(
                err,
                ConfigError::Auth0IssuerForm {
                    issuer: typo.into(),
                    expected: expected.into()
                },
                "{typo}"
            );
            assert!(err.to_string().contains(expected), "{err}");
        }
        // The exact form, other domains and plain StringOrURI issuers are accepted.
        for fine in [
            "https://my-tenant.eu.auth0.com/",
            "https://login.example.com",
            "my-issuer",
            "https://auth0.com",
            "https://tenant.auth0.com.evil.example/",
        ] {
            assert!(
                builder_for(resource_server()).issuer(fine).build().is_ok(),
                "{fine}"
            );
        }
    }

    #[test]
    fn build_validator_checks_the_token_settings_only() {
        let validator = builder_for(resource_server())
            .issuer(ISSUER_FOR_TESTS)
            .realm("not checked here \"")
            .build_validator()
            .unwrap();
        assert_eq!(validator.issuer.as_deref(), Some(ISSUER_FOR_TESTS));
        let err = builder_for(resource_server())
            .leeway(Duration::from_secs(301))
            .build_validator()
            .unwrap_err();
        assert!(matches!(err, ConfigError::LeewayTooLarge { .. }));
    }

    const ISSUER_FOR_TESTS: &str = "https://issuer.example/";
}
