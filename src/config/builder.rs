//! Building a [`BearerGuardLayer`] or a [`TokenValidator`]: every setting is checked here, at
//! startup.

use std::fmt;
#[cfg(feature = "jwks")]
use std::sync::Arc;
use std::time::Duration;

use crate::config::ConfigError;
use crate::config::ResourceServer;
#[cfg(feature = "jwks")]
use crate::dpop::{DpopMode, DpopSettings, NonceSettings, ReplayStore};
use crate::http::BearerGuardLayer;
use crate::http::answer::body::DefaultRejection;
use crate::http::credentials::sources::SourceSetting;
#[cfg(feature = "jwks")]
use crate::http::dpop::{DpopGuard, DpopGuardSettings};
use crate::http::guard::api::{Api, HttpSettings};
use crate::http::metadata::ResourceMetadata;
#[cfg(feature = "jwks")]
use crate::keys::{Algorithm, Fetcher, JwksFetcher, KeyCacheSettings};
use crate::keys::{KeySettings, KeySource, SigningSecret};
use crate::mtls::{CertificateSource, MtlsMode};
use crate::token::IssuerKeys;
use crate::token::{
    AuthenticationRequirement, ScopeRequirement, TokenCacheSettings, TokenValidator,
    ValidatorSettings,
};
#[cfg(feature = "jwks")]
use crate::token::{ContentEncryption, PrivateKeyBytes};

/// Configures a [`BearerGuardLayer`] (or a [`TokenValidator`] alone), from
/// [`BearerGuardLayer::builder`]. Every setting has a safe default, and every problem is a
/// [`ConfigError`] from [`build`](Self::build), at startup.
///
/// | setting | default |
/// |---|---|
/// | [`issuer`](BearerGuardBuilder::issuer) | none: `iss` is not checked |
/// | [`issuers`](BearerGuardBuilder::issuers) | none: the one `issuer`, if set (at most 16 issuers) |
/// | [`leeway`](BearerGuardBuilder::leeway) | 60 s (at most 300 s) |
/// | [`max_token_len`](BearerGuardBuilder::max_token_len) | 8192 bytes |
/// | [`scope_claim`](BearerGuardBuilder::scope_claim) | the registration's `token_dialect`: `permissions` under the `_authz` dialects, else `scope` |
/// | [`require_scopes_for_every_request`](BearerGuardBuilder::require_scopes_for_every_request) | no scope needed |
/// | [`realm`](BearerGuardBuilder::realm) | the resource server's identifier |
/// | [`allow_anonymous`](BearerGuardBuilder::allow_anonymous) | off: a token is required |
/// | [`allow_query_token`](BearerGuardBuilder::allow_query_token) | off |
/// | [`allow_short_secret`](BearerGuardBuilder::allow_short_secret) | off: secrets shorter than the hash (32, 48, 64 bytes for HS256, HS384, HS512) are refused |
/// | [`rfc9068_profile`](BearerGuardBuilder::rfc9068_profile) | the registration's `token_dialect`: on under `rfc9068_profile*`, else off |
/// | [`max_token_age`](BearerGuardBuilder::max_token_age) | none |
/// | [`require_authentication_for_every_request`](BearerGuardBuilder::require_authentication_for_every_request) | no step-up requirement (RFC 9470) |
/// | [`acr_claim`](BearerGuardBuilder::acr_claim), [`auth_time_claim`](BearerGuardBuilder::auth_time_claim) | `acr`, `auth_time` |
/// | [`previous_secret`](BearerGuardBuilder::previous_secret), [`secret_with_kid`](BearerGuardBuilder::secret_with_kid) | none: only the resource server's secret (at most 4 in all) |
/// | [`signing_secret_kid`](BearerGuardBuilder::signing_secret_kid) | none: the resource server's secret has no key id |
/// | [`token_cache`](BearerGuardBuilder::token_cache) | on: verified tokens kept for up to 5 min, in at most 8 MiB |
/// | [`token_cookie`](BearerGuardBuilder::token_cookie), [`token_header`](BearerGuardBuilder::token_header), [`token_from`](BearerGuardBuilder::token_from) | none: only `Authorization: Bearer` (and the query or form if enabled) |
/// | [`on_rejection`](BearerGuardBuilder::on_rejection) | the RFC 6750 answer (`DefaultRejection`) |
/// | `static_jwks`, `jwks_uri`, `jwks_fetcher` (feature `jwks`) | none: the JWK set is found by discovery from the issuer, with the `reqwest` feature's client |
/// | `key_cache` (feature `jwks`) | `KeyCacheSettings::default()`, whose docs list each default |
/// | `also_accept_algorithm` (feature `jwks`) | none: the algorithm is pinned to the registration's `signing_alg` |
/// | [`resource_metadata`](BearerGuardBuilder::resource_metadata) | off: no RFC 9728 metadata, no `resource_metadata` in challenges |
/// | [`advertise_scopes`](BearerGuardBuilder::advertise_scopes) | none: no `scope` in 401 challenges |
/// | `dpop` (feature `jwks`) | the registration's `proof_of_possession`, else `Allowed` once the guard knows its external URL; Bearer alone until then |
/// | `dpop_settings` (feature `jwks`) | `DpopSettings::default()`, whose docs list each default |
/// | `dpop_replay_store` (feature `jwks`) | a `MemoryReplayStore` of this process |
/// | `dpop_nonces` (feature `jwks`) | none: no server nonces (`NonceMode::Off`) |
/// | `external_url` (feature `jwks`) | the origin of the resource server's identifier |
/// | `token_decryption_key`, `previous_token_decryption_key` (feature `jwks`) | none: needed, and only allowed, when the registration has `token_encryption` |
/// | `also_accept_content_encryption` (feature `jwks`) | none: A256GCM only, as Auth0 encrypts |
/// | [`mtls`](BearerGuardBuilder::mtls) | the registration's `proof_of_possession`, else `Disabled` (a certificate-bound token is refused) |
/// | [`client_certificate_from`](BearerGuardBuilder::client_certificate_from) | none: required when certificate-bound tokens are taken, refused otherwise |
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

/// Everything the builder collects but the rejection hook, whose type it changes: one part
/// per subsystem, each of which builds itself from its part and checks it.
#[derive(Debug)]
struct Settings {
    resource_server: ResourceServer,
    /// The token checks: [`TokenValidator::from_settings`].
    token: ValidatorSettings,
    /// The secrets or public keys: [`KeySource::from_settings`].
    keys: KeySettings,
    /// Finding the token and answering: [`Api::from_settings`].
    http: HttpSettings,
    /// DPoP (RFC 9449): `DpopGuard::from_settings`.
    #[cfg(feature = "jwks")]
    dpop: DpopGuardSettings,
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
                token: ValidatorSettings::default(),
                keys: KeySettings::default(),
                http: HttpSettings::default(),
                #[cfg(feature = "jwks")]
                dpop: DpopGuardSettings::default(),
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
        self.settings.token.issuer = Some(issuer.into());
        self
    }

    /// Accepts tokens from each of several issuers, as an Auth0 tenant with Multiple Custom
    /// Domains issues them: `iss` is the custom domain a client signed in through, or the
    /// canonical domain. `iss` must equal one of `issuers` exactly, and each is checked as
    /// [`issuer`](Self::issuer) checks its one. `issuer(x)` is the one-issuer form, the same
    /// as `issuers([x])`; setting both is a [`ConfigError::InvalidIssuers`]. Defaults to none
    /// (as `issuer`).
    ///
    /// A token's unverified `iss` picks its issuer before any signature work; a token whose
    /// `iss` is none of them is 401 `invalid_token` (`InvalidIssuer`, or `MissingIssuer`
    /// without one) and never makes a key fetch. Then every check runs against the issuer
    /// chosen, `iss` compared exactly.
    ///
    /// The keys: an API signed with public keys and no `static_jwks` gets a key cache per
    /// issuer, each found by that issuer's own discovery document, refreshed, refetched for
    /// an unknown `kid` and reported on its own
    /// (`BearerGuardLayer::key_cache_statuses`, feature `jwks`), so one
    /// issuer's outage answers 503 to its tokens only. `static_jwks` is one set for every
    /// issuer, and an HS256/384/512 API's secret signs for every issuer (Auth0's custom
    /// domains sign with the tenant's keys). `jwks_uri` names one issuer's set, so with
    /// several issuers it is a [`ConfigError::InvalidIssuers`]. RFC 9728 metadata lists
    /// every issuer in `authorization_servers`.
    ///
    /// `build` refuses an empty list, an issuer given twice, or more than 16 (each is a key
    /// cache with its own refreshes; an API with more authorization servers than that is
    /// several APIs, [`MultiApiLayer`](crate::MultiApiLayer)).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer, TokenErrorKind};
    /// use bearer_guard::issuer::TokenIssuer;
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api.clone())
    ///     .issuers(["https://my-tenant.eu.auth0.com/", "https://login.example.com/"])
    ///     .build()?;
    ///
    /// for issuer in ["https://my-tenant.eu.auth0.com/", "https://login.example.com/"] {
    ///     let token = TokenIssuer::new(&api, issuer)?.token("alice").sign()?;
    ///     assert_eq!(guard.validator().validate(&token)?.issuer(), Some(issuer));
    /// }
    /// let foreign = TokenIssuer::new(&api, "https://evil.example/")?.token("mallory").sign()?;
    /// let err = guard.validator().validate(&foreign).unwrap_err();
    /// assert_eq!(err.kind(), TokenErrorKind::InvalidIssuer);
    ///
    /// // An empty list, a duplicate or more than 16 fail at startup:
    /// let err = BearerGuardLayer::builder(api).issuers(Vec::<String>::new()).build().unwrap_err();
    /// assert!(err.to_string().contains("issuers"), "{err}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn issuers<I>(mut self, issuers: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.settings.token.issuers = Some(issuers.into_iter().map(Into::into).collect());
        self
    }

    /// Clock skew tolerated on `exp` and `nbf`. Defaults to 60 seconds; at most 300.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.settings.token.leeway = leeway;
        self
    }

    /// Longest token accepted, in bytes, checked before any decoding. Defaults to 8192;
    /// from 256 to 65536.
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.settings.token.max_token_len = bytes;
        self
    }

    /// The claim that holds the token's scopes: `scope` (RFC 9068), `scp`, or Auth0's
    /// `permissions`. It may be a space-delimited string or an array of strings. Defaults to
    /// the registration's `token_dialect`: `permissions` under `access_token_authz` and
    /// `rfc9068_profile_authz`, `scope` otherwise ([`TokenDialect`](crate::registration::TokenDialect));
    /// a claim its dialect contradicts is a [`ConfigError::TokenDialectConflict`].
    pub fn scope_claim(mut self, claim: impl Into<String>) -> Self {
        self.settings.token.scope_claim = Some(claim.into());
        self
    }

    /// Scopes every request through this layer needs. For per-route needs, see
    /// [`BearerGuardLayer::require_scopes`]. Defaults to none.
    pub fn require_scopes_for_every_request(mut self, requirement: ScopeRequirement) -> Self {
        self.settings.http.required = Some(requirement);
        self
    }

    /// The `realm` of the `WWW-Authenticate` challenge. Defaults to the identifier.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.settings.http.realm = Some(realm.into());
        self
    }

    /// Accepts a signing secret shorter than 32 bytes. Only for legacy secrets you cannot
    /// rotate yet: short HMAC keys can be brute-forced offline from a single token.
    pub fn allow_short_secret(mut self) -> Self {
        self.settings.keys.allow_short_secret = true;
        self
    }

    /// Lets requests without bearer credentials through as anonymous (no token in the
    /// extensions). Requests with an invalid token are still rejected. Defaults to off.
    pub fn allow_anonymous(mut self) -> Self {
        self.settings.http.allow_anonymous = true;
        self
    }

    /// Also reads the token from the `access_token` query parameter (RFC 6750 §2.3). Off by
    /// default: URLs end up in logs and browser history. A token sent both ways is a 400.
    pub fn allow_query_token(mut self) -> Self {
        self.settings.http.allow_query_token = true;
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
    /// `build` refuses a name that is not a cookie-name token, or a cookie named twice. To
    /// take the cookie alone and ignore `Authorization`, add
    /// [`token_sources_only`](Self::token_sources_only).
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
            .http
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
            .http
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
            .http
            .sources
            .push(SourceSetting::Function(std::sync::Arc::new(find)));
        self
    }

    /// Reads the token only from the sources set with [`token_cookie`](Self::token_cookie),
    /// [`token_header`](Self::token_header) or [`token_from`](Self::token_from): an
    /// `Authorization` header is then not read at all (a request with only that header has no
    /// credentials, 401). For a browser-facing API whose token is in a cookie, and nothing
    /// else. The cookie's CSRF advice holds all the more: every request that carries the
    /// cookie is authenticated. Defaults to off: `Authorization` is always read.
    ///
    /// `build` refuses it without a source, and with DPoP (whose requests come as
    /// `Authorization: DPoP`).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let cookie_only = BearerGuardLayer::builder(api.clone())
    ///     .token_cookie("access_token")
    ///     .token_sources_only()
    ///     .build()?;
    /// // Nothing to read from: refused at startup.
    /// assert!(BearerGuardLayer::builder(api).token_sources_only().build().is_err());
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn token_sources_only(mut self) -> Self {
        self.settings.http.sources_only = true;
        self
    }

    /// Applies the JWT access token profile of RFC 9068: the header's `typ` must be `at+jwt`
    /// (or `application/at+jwt`), `sub`, `client_id`, `iat` and `jti` are required (and `iss`,
    /// even with no [`issuer`](Self::issuer) to match), and an `iat` after now plus leeway is
    /// refused. Defaults to the registration's `token_dialect`: on under `rfc9068_profile`
    /// and `rfc9068_profile_authz`, off otherwise, since Auth0-profile tokens are typed `JWT`
    /// and carry `azp` rather than `client_id` (so with an `access_token*` dialect this is a
    /// [`ConfigError::TokenDialectConflict`]).
    pub fn rfc9068_profile(mut self) -> Self {
        self.settings.token.rfc9068 = Some(true);
        self
    }

    /// Refuses tokens issued (`iat`) more than `max_age` ago, whatever their `exp`; `iat`
    /// becomes required. Defaults to none.
    pub fn max_token_age(mut self, max_age: Duration) -> Self {
        self.settings.token.max_token_age = Some(max_age);
        self
    }

    /// What every request through this layer needs of the user's authentication (step-up,
    /// RFC 9470): an `acr` among a set, an `auth_time` recent enough, or both; a token that
    /// falls short gets 401 `insufficient_user_authentication` naming `acr_values` and
    /// `max_age`. Checked at [`build`](Self::build) ([`ConfigError::EmptyAcrRequirement`],
    /// [`ConfigError::InvalidAcrValue`], [`ConfigError::MaxAuthAgeOutOfRange`]); with
    /// [`allow_anonymous`](Self::allow_anonymous), it still needs a token. For per-route needs,
    /// see [`BearerGuardLayer::require_authentication`]. Defaults to none.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// use bearer_guard::step_up::AuthenticationRequirement;
    ///
    /// let api = ResourceServer::new("https://admin-api", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let admin = BearerGuardLayer::builder(api)
    ///     .require_authentication_for_every_request(
    ///         AuthenticationRequirement::acr(["http://schemas.openid.net/pape/policies/2007/06/multi-factor"])
    ///             .with_max_age(Duration::from_secs(900)),
    ///     )
    ///     .build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn require_authentication_for_every_request(
        mut self,
        requirement: AuthenticationRequirement,
    ) -> Self {
        self.settings.http.step_up = Some(requirement);
        self
    }

    /// The claim step-up requirements read the `acr` from. Defaults to `acr`. Auth0 puts no
    /// `acr` in access tokens, and its Actions cannot set one (`acr` is on its list of
    /// restricted claims): an Action writes it under a namespace, and this names that claim
    /// (see the README's "Step-up authentication"). `build` refuses an empty name, a
    /// registered claim, the scope claim or the [`auth_time_claim`](Self::auth_time_claim)
    /// ([`ConfigError::InvalidStepUpClaim`]).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api)
    ///     .acr_claim("https://my-api.example.com/acr")
    ///     .auth_time_claim("https://my-api.example.com/auth_time")
    ///     .build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn acr_claim(mut self, claim: impl Into<String>) -> Self {
        self.settings.token.acr_claim = Some(claim.into());
        self
    }

    /// The claim step-up requirements read the `auth_time` from (a NumericDate). Defaults to
    /// `auth_time`; as [`acr_claim`](Self::acr_claim), for Auth0's namespaced claims.
    pub fn auth_time_claim(mut self, claim: impl Into<String>) -> Self {
        self.settings.token.auth_time_claim = Some(claim.into());
        self
    }

    /// Also accepts tokens signed with `secret`, tried after the resource server's
    /// `signing_secret` when a token names no key id. For rotation: configure the new secret
    /// as the resource server's and the old one here until the tokens it signed have expired.
    /// At most 4 secrets in all; each is held to the same length rule as the main one.
    /// Defaults to none.
    pub fn previous_secret(mut self, secret: impl Into<SigningSecret>) -> Self {
        self.settings.keys.other_secrets.push((None, secret.into()));
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
            .keys
            .other_secrets
            .push((Some(kid.into()), secret.into()));
        self
    }

    /// Labels the resource server's own `signing_secret` with key id `kid`, for tokens whose
    /// header carries one; see [`secret_with_kid`](Self::secret_with_kid). Defaults to none.
    pub fn signing_secret_kid(mut self, kid: impl Into<String>) -> Self {
        self.settings.keys.signing_secret_kid = Some(kid.into());
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
        self.settings.http.resource_metadata = true;
        self
    }

    /// Names `scopes` in the `scope` parameter of every 401 challenge (RFC 6750 §3): the
    /// scopes a client should ask for to use the API. The MCP authorization spec (2025-11-25)
    /// asks a server to name them so, and its clients request what the 401 names. A 403
    /// `insufficient_scope` still names the scopes its route needs. Checked at
    /// [`build`](Self::build) against the resource server's scopes
    /// ([`ConfigError::UndeclaredScope`], [`ConfigError::InvalidScope`],
    /// [`ConfigError::EmptyScopeRequirement`]). Defaults to none: no `scope` on a 401.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    ///
    /// let api = ResourceServer::new("https://api.example.com/mcp", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
    ///     .with_scope("tools:read", "List and call read-only tools");
    /// let guard = BearerGuardLayer::builder(api.clone()).advertise_scopes(["tools:read"]).build()?;
    /// // A typo fails at startup:
    /// assert!(BearerGuardLayer::builder(api).advertise_scopes(["tools:raed"]).build().is_err());
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn advertise_scopes<I>(mut self, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.settings.http.advertised = Some(ScopeRequirement::all(scopes));
        self
    }

    /// Sizes or disables the cache of verified tokens, which lets a repeated token skip its
    /// signature and claims parsing; see [`TokenCacheSettings`] for what a hit still checks
    /// and the revocation trade-off. Defaults to on, at 8 MiB and 5 minutes.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// use bearer_guard::cache::TokenCacheSettings;
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api)
    ///     .token_cache(TokenCacheSettings::disabled())
    ///     .build()?;
    /// assert!(guard.token_cache_status().is_none());
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn token_cache(mut self, settings: TokenCacheSettings) -> Self {
        self.settings.token.token_cache = settings;
        self
    }
}

/// Public keys (feature `jwks`): where the JWK set comes from, and how it is cached.
#[cfg(feature = "jwks")]
impl<R> BearerGuardBuilder<R> {
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
    pub fn static_jwks(mut self, document: impl Into<String>) -> Self {
        self.settings.keys.public.static_jwks = Some(document.into());
        self
    }

    /// Fetches the JWK set from `url` rather than finding it by discovery from the
    /// [`issuer`](Self::issuer). `https`, or `http` to a loopback host. Feature `jwks`.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use bearer_guard::{Algorithm, BearerGuardLayer, ResourceServer};
    /// use bearer_guard::jwks::KeyCacheSettings;
    ///
    /// let api = ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "RS256"}"#)?;
    /// let layer = BearerGuardLayer::builder(api)
    ///     .issuer("https://login.example.com/")
    ///     .jwks_uri("https://login.example.com/keys")
    ///     .also_accept_algorithm(Algorithm::Es256) // the issuer signs with both
    ///     .key_cache(KeyCacheSettings::default().stale_for(Duration::from_secs(3600)))
    ///     .build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.settings.keys.public.jwks_uri = Some(url.into());
        self
    }

    /// Fetches discovery documents and JWK sets with `fetcher` (your HTTP client, a proxy,
    /// mTLS, a custom CA, a test double). Defaults to the `reqwest` feature's client.
    /// Feature `jwks`.
    pub fn jwks_fetcher(mut self, fetcher: impl JwksFetcher) -> Self {
        self.settings.keys.public.fetcher = Some(Fetcher(Arc::new(fetcher)));
        self
    }

    /// The key cache's timeouts, lifetimes, backoff and refetch budget; see
    /// [`KeyCacheSettings`] for the defaults. Feature `jwks`.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// use bearer_guard::jwks::KeyCacheSettings;
    ///
    /// let api = ResourceServer::from_json(r#"{"identifier": "https://my-api-urn", "signing_alg": "RS256"}"#)?;
    /// let guard = BearerGuardLayer::builder(api)
    ///     .issuer("https://my-tenant.eu.auth0.com/")
    ///     .key_cache(KeyCacheSettings::default().fetch_timeout(Duration::from_secs(2)))
    ///     .build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn key_cache(mut self, settings: KeyCacheSettings) -> Self {
        self.settings.keys.public.cache = settings;
        self
    }

    /// Also accepts tokens signed with `alg`, besides the resource server's `signing_alg`:
    /// an explicit widening, for an issuer that signs with more than one algorithm. Only
    /// algorithms that verify with public keys can be added. Feature `jwks`. Defaults to
    /// none: the algorithm is pinned to the resource server's.
    pub fn also_accept_algorithm(mut self, alg: Algorithm) -> Self {
        self.settings.keys.public.also_accepted.push(alg);
        self
    }
}

/// DPoP (RFC 9449, feature `jwks`): proofs, their replay store and server nonces.
#[cfg(feature = "jwks")]
impl<R> BearerGuardBuilder<R> {
    /// DPoP (RFC 9449): `Disabled`, `Allowed` (Bearer and DPoP tokens both taken) or
    /// `Required`. Defaults to what the registration's `proof_of_possession` says, `Disabled`
    /// when it says nothing ([`ResourceServer::dpop_mode`]): DPoP is taken only when asked
    /// for, here or there, and an API that never mentions it answers, challenges and
    /// publishes its metadata as a Bearer-only API. Proofs name the API by
    /// [`external_url`](Self::external_url), by default the identifier's origin. Feature
    /// `jwks`.
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
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// use bearer_guard::dpop::DpopMode;
    ///
    /// let api = ResourceServer::new("https://api.example.com", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api).dpop(DpopMode::Required).build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn dpop(mut self, mode: DpopMode) -> Self {
        self.settings.dpop.mode = Some(mode);
        self
    }

    /// The algorithms, `iat` window and leeway DPoP proofs are checked with; see
    /// [`DpopSettings`]. Feature `jwks`.
    pub fn dpop_settings(mut self, settings: DpopSettings) -> Self {
        self.settings.dpop.proofs = settings;
        self
    }

    /// Where DPoP proofs' `jti`s are remembered. Defaults to a [`MemoryReplayStore`](crate::dpop::MemoryReplayStore) of this
    /// process; an API with several instances behind a load balancer needs a shared one, such
    /// as the `redis` feature's `RedisReplayStore`, or a proof replayed to another instance
    /// is accepted there. Feature `jwks`.
    pub fn dpop_replay_store(mut self, store: impl ReplayStore + 'static) -> Self {
        self.settings.dpop.store = Some(Arc::new(store));
        self
    }

    /// Server nonces (RFC 9449 §8, §9): the API issues nonces in `DPoP-Nonce` and checks the
    /// `nonce` of every proof, as [`NonceSettings`] say. Defaults to none (`NonceMode::Off`);
    /// [`NonceSettings`]' own defaults: a 30 s slot (a nonce lives 30 s to 60 s), no secret
    /// (one of at least 32 bytes is required unless off). Checked at [`build`](Self::build)
    /// by [`DpopNonces::new`](crate::dpop::DpopNonces::new); nonces on for an API that takes
    /// no DPoP are [`ConfigError::DpopNoncesWithoutDpop`] (but `dpop(DpopMode::Disabled)`
    /// switches DPoP off with its nonces). Feature `jwks`.
    ///
    /// With [`NonceMode::Required`](crate::dpop::NonceMode::Required), a proof without a
    /// fresh nonce (none, a stale one, or one not made with the secret) is answered 401 with
    /// `error="use_dpop_nonce"` on the DPoP challenge and a fresh nonce in `DPoP-Nonce`; the
    /// client signs a new proof with it and retries. With `NonceMode::On`, a proof without a
    /// nonce passes and its answer carries one. Whenever the proof's nonce is from a slot that
    /// has turned, the inner service's answer gets a new one in `DPoP-Nonce` (§8.2). Nonces
    /// are stateless: every instance given the same secret takes every other's, so a fleet
    /// needs no store for them (see [`DpopNonces`](crate::dpop::DpopNonces), and for
    /// browsers, expose `DPoP-Nonce` in CORS: `docs/recipes.md`).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// use bearer_guard::dpop::{DpopMode, NonceMode, NonceSettings};
    /// use bearer_guard::registration::SigningSecret;
    ///
    /// let api = ResourceServer::new("https://api.example.com", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let fleet_secret = SigningSecret::from_bytes([7; 32]); // the same for every instance, from your secret store
    /// let guard = BearerGuardLayer::builder(api.clone())
    ///     .dpop(DpopMode::Required)
    ///     .dpop_nonces(NonceSettings::default().mode(NonceMode::Required).secret(fleet_secret))
    ///     .build()?;
    ///
    /// // Required nonces with no secret fail here, at startup.
    /// let err = BearerGuardLayer::builder(api)
    ///     .dpop(DpopMode::Required)
    ///     .dpop_nonces(NonceSettings::default().mode(NonceMode::Required))
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("nonce secret"), "{err}");
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn dpop_nonces(mut self, settings: NonceSettings) -> Self {
        self.settings.dpop.nonces = Some(settings);
        self
    }

    /// The URL clients reach this API at, up to where a request's path begins (scheme, host,
    /// port, and any prefix a proxy strips): a DPoP proof's `htu` must be this followed by
    /// the request's path. Defaults to the origin of the resource server's identifier. Never
    /// taken from `Host` or `X-Forwarded-*`, which a client controls. Only for an API that
    /// takes DPoP: set without [`dpop`](Self::dpop) or a registration's `proof_of_possession`,
    /// it is [`ConfigError::ExternalUrlWithoutDpop`]. Feature `jwks`.
    ///
    /// # Example
    ///
    /// An API behind a proxy that serves it at `https://api.example.com/orders-api/` and
    /// strips the prefix, its proofs checked with ES256 and EdDSA only, its replays kept in
    /// this process (a fleet would pass a shared `RedisReplayStore`):
    ///
    /// ```
    /// use std::time::Duration;
    /// use bearer_guard::{Algorithm, BearerGuardLayer, ResourceServer};
    /// use bearer_guard::dpop::{DpopMode, DpopSettings, MemoryReplayStore};
    ///
    /// let api = ResourceServer::new("https://orders-api", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api)
    ///     .dpop(DpopMode::Allowed)
    ///     .external_url("https://api.example.com/orders-api")
    ///     .dpop_settings(DpopSettings::default().algorithms([Algorithm::Es256, Algorithm::EdDsa]))
    ///     .dpop_replay_store(MemoryReplayStore::with_capacity(10_000))
    ///     .build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn external_url(mut self, url: impl Into<String>) -> Self {
        self.settings.dpop.external_url = Some(url.into());
        self
    }
}

/// Encrypted tokens (RFC 7516, feature `jwks`): the private keys that decrypt the tokens of
/// an API whose registration has `token_encryption`.
#[cfg(feature = "jwks")]
impl<R> BearerGuardBuilder<R> {
    /// The private key that decrypts the API's tokens: the key whose public half is the
    /// registration's `token_encryption.encryption_key.pem`. An unencrypted PKCS#8 RSA key of
    /// 2048 to 8192 bits, as a PEM `PRIVATE KEY` block (when it begins with `-----BEGIN`) or
    /// as DER. Its `alg` and `kid` are the registration's. Feature `jwks`. Defaults to none.
    ///
    /// Checked at [`build`](Self::build): a registration with `token_encryption` and no
    /// key is [`ConfigError::MissingDecryptionKey`]; a key whose public half is not the
    /// registration's `pem` is [`ConfigError::DecryptionKeyMismatch`]; a key given for a
    /// registration without `token_encryption` is
    /// [`ConfigError::DecryptionKeyWithoutTokenEncryption`] (register it, in the JSON or with
    /// [`ResourceServer::with_token_encryption`]: the registration says whether tokens are
    /// encrypted, and then every token must be). Once built, a token that is not a JWE is
    /// refused (`NotEncrypted`); a JWE is decrypted, then verified as any signed token.
    /// Calling it again replaces the key.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{Algorithm, BearerGuardLayer, ConfigError, ResourceServer, TokenErrorKind};
    /// use bearer_guard::registration::TokenEncryption;
    ///
    /// # let public_pem = include_str!("../../tests/data/jwe/rsa2048_enc.pub.pem");
    /// # let private_pem = include_str!("../../tests/data/jwe/rsa2048_enc.pem");
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
    ///     .with_token_encryption(TokenEncryption::compact_nested_jwe("RSA-OAEP-256", public_pem));
    /// let validator = BearerGuardLayer::builder(api.clone())
    ///     .token_decryption_key(private_pem) // e.g. std::fs::read("enc.pem")?
    ///     .build_validator()?;
    /// let plain = "eyJhbGciOiJIUzI1NiJ9.e30.c2ln";
    /// assert_eq!(validator.validate(plain).unwrap_err().kind(), TokenErrorKind::NotEncrypted);
    ///
    /// let err = BearerGuardLayer::builder(api).build().unwrap_err();
    /// assert_eq!(err, ConfigError::MissingDecryptionKey);
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn token_decryption_key(mut self, private_key: impl AsRef<[u8]>) -> Self {
        self.settings.token.decryption.current = Some(private_key_bytes(private_key));
        self
    }

    /// A private key rotated out: tokens encrypted to it before the registration's
    /// `encryption_key` changed still decrypt, until they expire. Its tokens must name `kid`
    /// in their header, and it uses the registration's `alg`; the registration no longer
    /// holds its public key, so only the key itself is checked. PKCS#8 PEM or DER, as
    /// [`token_decryption_key`](Self::token_decryption_key). Feature `jwks`. Defaults to
    /// none; at most 3, tried after the current key when their `kid`s allow (each `kid` its
    /// own).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// use bearer_guard::registration::TokenEncryption;
    ///
    /// # let public_pem = include_str!("../../tests/data/jwe/rsa2048_enc.pub.pem");
    /// # let private_pem = include_str!("../../tests/data/jwe/rsa2048_enc.pem");
    /// # let old_private_pem = include_str!("../../tests/data/keys/rsa2048.pem");
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
    ///     .with_token_encryption(
    ///         TokenEncryption::compact_nested_jwe("RSA-OAEP-256", public_pem).with_kid("enc-2027"),
    ///     );
    /// let layer = BearerGuardLayer::builder(api)
    ///     .token_decryption_key(private_pem)
    ///     .previous_token_decryption_key("enc-2026", old_private_pem)
    ///     .build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn previous_token_decryption_key(
        mut self,
        kid: impl Into<String>,
        private_key: impl AsRef<[u8]>,
    ) -> Self {
        self.settings
            .token
            .decryption
            .previous
            .push((kid.into(), private_key_bytes(private_key)));
        self
    }

    /// Also takes encrypted tokens whose content is encrypted with `enc` (their JWE `enc`),
    /// beside A256GCM, Auth0's and the only one taken by default (RFC 8725 §3.1: accept only
    /// what the API needs). For an authorization server that encrypts with A128GCM or
    /// A192GCM. Feature `jwks`. Given for a registration without `token_encryption`, it is
    /// [`ConfigError::DecryptionKeyWithoutTokenEncryption`].
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// use bearer_guard::registration::{ContentEncryption, TokenEncryption};
    ///
    /// # let public_pem = include_str!("../../tests/data/jwe/rsa2048_enc.pub.pem");
    /// # let private_pem = include_str!("../../tests/data/jwe/rsa2048_enc.pem");
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
    ///     .with_token_encryption(TokenEncryption::compact_nested_jwe("RSA-OAEP-256", public_pem));
    /// let layer = BearerGuardLayer::builder(api)
    ///     .token_decryption_key(private_pem)
    ///     .also_accept_content_encryption(ContentEncryption::A128Gcm)
    ///     .build()?;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn also_accept_content_encryption(mut self, enc: ContentEncryption) -> Self {
        self.settings.token.decryption.also_accept.push(enc);
        self
    }
}

/// Certificate-bound tokens (RFC 8705 §3): the mode, and where client certificates come from.
impl<R> BearerGuardBuilder<R> {
    /// Certificate-bound tokens (RFC 8705 §3): `Disabled`, `Allowed` (a token with
    /// `cnf["x5t#S256"]` passes with its certificate, an unbound one as before) or
    /// `Required` (every token certificate-bound). Defaults to what the registration's
    /// `proof_of_possession` says ([`ResourceServer::mtls_mode`]), `Disabled` when it says
    /// nothing; under `Disabled` a certificate-bound token is refused, as nothing could check
    /// it. Taking them needs [`client_certificate_from`](Self::client_certificate_from); the
    /// [`mtls`](crate::mtls) module says how this goes with DPoP.
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ConfigError, ResourceServer};
    /// use bearer_guard::mtls::{CertificateSource, MtlsMode};
    ///
    /// let api = ResourceServer::new("https://api.example.com", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let guard = BearerGuardLayer::builder(api.clone())
    ///     .mtls(MtlsMode::Required)
    ///     .client_certificate_from(CertificateSource::extension())
    ///     .build()?;
    ///
    /// // Taking certificate-bound tokens without saying where certificates come from fails here.
    /// let err = BearerGuardLayer::builder(api).mtls(MtlsMode::Allowed).build().unwrap_err();
    /// assert_eq!(err, ConfigError::MtlsWithoutCertificateSource);
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn mtls(mut self, mode: MtlsMode) -> Self {
        self.settings.http.mtls.mode = Some(mode);
        self
    }

    /// Where the client certificate of a request comes from, for certificate-bound tokens:
    /// the TLS acceptor's [`ClientCertificate`](crate::mtls::ClientCertificate) in the
    /// request extensions, a header a trusted proxy sets (RFC 9440), or a function; see
    /// [`CertificateSource`]. No header is ever trusted unless named here. Defaults to none;
    /// set for an API that takes no certificate-bound tokens, it is
    /// [`ConfigError::CertificateSourceWithoutMtls`] (but [`mtls`](Self::mtls)
    /// `(MtlsMode::Disabled)` switches mTLS off with its source).
    ///
    /// # Example
    ///
    /// ```
    /// use bearer_guard::{BearerGuardLayer, ConfigError, ResourceServer};
    /// use bearer_guard::mtls::CertificateSource;
    ///
    /// let api = ResourceServer::from_json(r#"{"identifier": "https://api.example.com",
    ///     "signing_alg": "HS256", "signing_secret": "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5",
    ///     "proof_of_possession": {"mechanism": "mtls", "required": false}}"#)?;
    /// // Behind a proxy that terminates TLS, sets Client-Cert and strips it from requests:
    /// let guard = BearerGuardLayer::builder(api.clone())
    ///     .client_certificate_from(CertificateSource::header("Client-Cert"))
    ///     .build()?;
    ///
    /// let err = BearerGuardLayer::builder(api)
    ///     .client_certificate_from(CertificateSource::header("client cert"))
    ///     .build()
    ///     .unwrap_err();
    /// assert!(matches!(err, ConfigError::InvalidCertificateHeader { .. }), "{err}");
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn client_certificate_from(mut self, source: CertificateSource) -> Self {
        self.settings.http.mtls.source = Some(source);
        self
    }
}

/// A copy of the key given, zeroized when the settings are dropped.
#[cfg(feature = "jwks")]
fn private_key_bytes(key: impl AsRef<[u8]>) -> PrivateKeyBytes {
    PrivateKeyBytes(zeroize::Zeroizing::new(key.as_ref().to_vec()))
}

impl<R> BearerGuardBuilder<R> {
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
    /// [`DefaultRejection`]: crate::answer::DefaultRejection
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
        self.settings.http.custom_rejection = true;
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
        let api = &settings.resource_server;
        let validator = settings.validator()?;
        // The first of several issuers; every one is in the validator.
        let issuer = validator.issuer.clone();
        let issuer = issuer.as_deref();
        // A wrong identifier is the one error reported, before DPoP's URL derived from it.
        if settings.http.resource_metadata {
            ResourceMetadata::check(api.identifier(), issuer)?;
        }
        #[cfg(feature = "jwks")]
        let dpop = DpopGuard::from_settings(api, &settings.dpop)?;
        #[cfg(not(feature = "jwks"))]
        if api.dpop_mode() == crate::dpop::DpopMode::Required {
            return Err(ConfigError::DpopNeedsJwksFeature);
        }
        let api = Api::from_settings(
            api,
            &settings.http,
            issuer,
            validator,
            #[cfg(feature = "jwks")]
            dpop,
            on_rejection,
        )?;
        Ok(BearerGuardLayer::new(api))
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
    /// The keys, then the validator that verifies with them.
    fn validator(&self) -> Result<TokenValidator, ConfigError> {
        let api = &self.resource_server;
        api.check_not_system()?;
        let issuers = self.token.issuer_list()?;
        let (keys, accepted) = KeySource::from_settings(api, &self.keys, issuers.first().copied())?;
        // Each further issuer (`issuers([…])`) with its own keys, or the first's.
        let more_issuers = issuers
            .iter()
            .skip(1)
            .map(|issuer| {
                let own = keys.for_another_issuer(api, &self.keys, issuer)?;
                Ok(IssuerKeys {
                    issuer: (*issuer).into(),
                    keys: own,
                })
            })
            .collect::<Result<_, ConfigError>>()?;
        TokenValidator::from_settings(api, &self.token, keys, accepted, more_issuers)
    }
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
    use crate::config::TokenDialect;
    use crate::keys::MAX_KEYS;
    use crate::test_support::{SECRET, resource_server};
    use crate::token::MAX_LEEWAY;

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
        assert_eq!(
            &*layer.api().responder.challenge.realm,
            "https://my-api-urn"
        );
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
    fn advertised_scopes_are_checked_at_startup() {
        let advertising = |scopes: &[&str]| {
            build_err(builder_for(resource_server()).advertise_scopes(scopes.iter().copied()))
        };
        assert_eq!(
            advertising(&["read:mesages"]),
            ConfigError::UndeclaredScope {
                scope: "read:mesages".into()
            }
        );
        assert_eq!(advertising(&[]), ConfigError::EmptyScopeRequirement);
    }

    #[test]
    fn advertised_scopes_go_on_every_401_challenge_and_nowhere_else() {
        use crate::RejectionKind as K;
        use crate::http::RequestErrorKind;
        let guard = builder_for(resource_server())
            .issuer("https://issuer.example/")
            .resource_metadata()
            .advertise_scopes(["openid", "read:messages"])
            .build()
            .unwrap();
        let metadata =
            r#"resource_metadata="https://my-api-urn/.well-known/oauth-protected-resource""#;
        let challenge = |kind| {
            let value = guard.api().reject(kind).www_authenticate().unwrap();
            value.to_str().unwrap().to_owned()
        };
        assert_eq!(
            challenge(K::MissingCredentials),
            format!(
                r#"Bearer realm="https://my-api-urn", scope="openid read:messages", {metadata}"#
            )
        );
        assert_eq!(
            challenge(K::InvalidToken(crate::TokenErrorKind::Expired)),
            format!(
                r#"Bearer realm="https://my-api-urn", error="invalid_token", error_description="The access token expired", scope="openid read:messages", {metadata}"#
            )
        );
        // A 400 is about the request's form, not about what the token may do.
        assert_eq!(
            challenge(K::InvalidRequest(RequestErrorKind::EmptyToken)),
            format!(
                r#"Bearer realm="https://my-api-urn", error="invalid_request", error_description="The bearer token is missing", {metadata}"#
            )
        );
        // A 403 names what its route needs, not what the guard advertises.
        let forbidden = crate::http::answer::rejection::Rejection::insufficient_scope_for(
            &guard.api().responder.challenge,
            "read:messages".into(),
        );
        assert!(
            forbidden
                .www_authenticate()
                .unwrap()
                .to_str()
                .unwrap()
                .contains(r#"scope="read:messages", resource_metadata"#)
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

    fn with_dialect(dialect: TokenDialect) -> ResourceServer {
        resource_server().with_token_dialect(dialect)
    }

    #[test]
    fn the_dialect_sets_the_scope_claim_and_the_rfc9068_profile() {
        let built = |api| {
            let validator = builder_for(api).build_validator().unwrap();
            (validator.scope_claim.to_string(), validator.rfc9068)
        };
        let claim = |claim: &str| claim.to_owned();
        assert_eq!(built(resource_server()), (claim("scope"), false));
        for (dialect, expected) in [
            (TokenDialect::AccessToken, (claim("scope"), false)),
            (
                TokenDialect::AccessTokenAuthz,
                (claim("permissions"), false),
            ),
            (TokenDialect::Rfc9068Profile, (claim("scope"), true)),
            (
                TokenDialect::Rfc9068ProfileAuthz,
                (claim("permissions"), true),
            ),
        ] {
            assert_eq!(built(with_dialect(dialect)), expected, "{dialect}");
        }
    }

    #[test]
    fn settings_that_agree_with_the_dialect_build() {
        for dialect in TokenDialect::ALL {
            let mut builder = builder_for(with_dialect(dialect)).scope_claim(dialect.scope_claim());
            if dialect.is_rfc9068() {
                builder = builder.rfc9068_profile();
            }
            assert!(builder.build().is_ok(), "{dialect}");
        }
        // Without a dialect in the registration, the builder decides alone, as before.
        let free = builder_for(resource_server())
            .scope_claim("permissions")
            .rfc9068_profile()
            .build_validator()
            .unwrap();
        assert_eq!((&*free.scope_claim, free.rfc9068), ("permissions", true));
    }

    #[test]
    fn a_setting_the_dialect_contradicts_fails_naming_both() {
        let conflicts = [
            (TokenDialect::AccessTokenAuthz, "scope"),
            (TokenDialect::Rfc9068ProfileAuthz, "scope"),
            (TokenDialect::AccessTokenAuthz, "scp"),
            (TokenDialect::AccessToken, "permissions"),
            (TokenDialect::Rfc9068Profile, "permissions"),
        ];
        for (dialect, claim) in conflicts {
            let err = build_err(builder_for(with_dialect(dialect)).scope_claim(claim));
            assert!(
                matches!(&err, ConfigError::TokenDialectConflict { setting, dialect: d, .. }
                    if *setting == format!("scope_claim({claim:?})") && *d == dialect),
                "{err}"
            );
            let message = err.to_string();
            assert!(
                message.contains(&format!("scope_claim({claim:?})")),
                "{message}"
            );
            assert!(message.contains(dialect.name()), "{message}");
        }
        for dialect in [TokenDialect::AccessToken, TokenDialect::AccessTokenAuthz] {
            let err = build_err(builder_for(with_dialect(dialect)).rfc9068_profile());
            assert!(
                matches!(&err, ConfigError::TokenDialectConflict { setting, .. } if setting == "rfc9068_profile()"),
                "{err}"
            );
            assert!(err.to_string().contains(dialect.name()), "{err}");
            // build_validator checks it too.
            let validator = builder_for(with_dialect(dialect))
                .rfc9068_profile()
                .build_validator();
            assert!(validator.is_err(), "{dialect}");
        }
    }

    #[test]
    fn an_unknown_dialect_deserialized_past_from_json_fails_at_build() {
        let api: ResourceServer = serde_json::from_str(&format!(
            r#"{{"identifier": "https://my-api-urn", "signing_alg": "HS256", "signing_secret": "{SECRET}", "token_dialect": "rbac"}}"#
        ))
        .unwrap();
        assert_eq!(
            build_err(builder_for(api)),
            ConfigError::UnknownTokenDialect {
                dialect: "rbac".into()
            }
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

    #[cfg(feature = "jwks")]
    #[test]
    fn external_url_without_dpop_is_refused_and_dpop_stays_off_unless_asked() {
        let api = || ResourceServer::new("https://api.example.com", SECRET);
        let err = BearerGuardLayer::builder(api())
            .external_url("https://api.example.com")
            .build()
            .unwrap_err();
        assert_eq!(err, ConfigError::ExternalUrlWithoutDpop);
        // Metadata and an issuer do not switch DPoP on.
        let silent = BearerGuardLayer::builder(api())
            .issuer("https://tenant.example/")
            .resource_metadata()
            .build()
            .unwrap();
        assert!(silent.api().dpop.is_none());
        assert!(silent.api().responder.challenge.dpop_algs.is_none());
        assert!(silent.api().schemes.bearer && !silent.api().schemes.dpop);
        let asked = BearerGuardLayer::builder(api())
            .dpop(DpopMode::Allowed)
            .external_url("https://api.example.com")
            .build()
            .unwrap();
        assert!(asked.api().dpop.is_some());
    }

    #[cfg(feature = "jwks")]
    #[test]
    fn nonces_without_dpop_are_refused_and_their_settings_checked_at_build() {
        use crate::dpop::NonceMode;
        let api = || ResourceServer::new("https://api.example.com", SECRET);
        let nonces = |mode| {
            NonceSettings::default()
                .mode(mode)
                .secret(SigningSecret::from_bytes([4; 32]))
        };
        let err = BearerGuardLayer::builder(api())
            .dpop_nonces(nonces(NonceMode::Required))
            .build()
            .unwrap_err();
        assert_eq!(err, ConfigError::DpopNoncesWithoutDpop);
        assert!(err.to_string().contains("dpop(DpopMode::Allowed)"), "{err}");
        // Nonces off ask nothing of DPoP; a switched-off DPoP keeps its settings quiet.
        assert!(
            BearerGuardLayer::builder(api())
                .dpop_nonces(nonces(NonceMode::Off))
                .build()
                .is_ok()
        );
        let switched_off = BearerGuardLayer::builder(api())
            .dpop(DpopMode::Disabled)
            .dpop_nonces(nonces(NonceMode::Required))
            .build()
            .unwrap();
        assert!(switched_off.api().dpop.is_none());
        // With DPoP, the nonce settings are checked: a short secret names the setting.
        let err = BearerGuardLayer::builder(api())
            .dpop(DpopMode::Allowed)
            .dpop_nonces(
                NonceSettings::default()
                    .mode(NonceMode::On)
                    .secret(SigningSecret::from("too short")),
            )
            .build()
            .unwrap_err();
        assert!(
            matches!(
                &err,
                ConfigError::DpopSetting {
                    setting: "nonce secret",
                    ..
                }
            ),
            "{err}"
        );
        let on = BearerGuardLayer::builder(api())
            .dpop(DpopMode::Allowed)
            .dpop_nonces(nonces(NonceMode::Required))
            .build()
            .unwrap();
        let dpop = on.api().dpop.as_ref().unwrap();
        assert_eq!(dpop.fresh_nonce().map(|nonce| nonce.len()), Some(32));
        let off = BearerGuardLayer::builder(api())
            .dpop(DpopMode::Allowed)
            .dpop_nonces(nonces(NonceMode::Off))
            .build()
            .unwrap();
        assert_eq!(off.api().dpop.as_ref().unwrap().fresh_nonce(), None);
    }

    #[cfg(feature = "jwks")]
    #[test]
    fn resource_metadata_reports_a_urn_identifier_first_and_alone() {
        let urn = ResourceServer::new("urn:my-api", SECRET);
        // DPoP asked for too, whose URL the identifier cannot give: the identifier is named.
        let err = BearerGuardLayer::builder(urn)
            .dpop(DpopMode::Allowed)
            .resource_metadata()
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, ConfigError::ResourceMetadata { problem } if problem.contains("identifier must be the API's https URL")),
            "{err}"
        );
    }
}
