//! Configurations bearer-guard refuses: [`ConfigError`].

use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration that bearer-guard refuses, found at startup: when the resource server is
/// read, or the layer built.
///
/// Messages name the problem and what to do; they never include the signing secret. `Debug`
/// prints the message too, so `main() -> Result<(), Box<dyn Error>>` shows it as it is.
///
/// # Example
///
/// ```
/// use bearer_guard::{BearerGuardLayer, ConfigError, ResourceServer};
///
/// let api = ResourceServer::new("https://my-api-urn", "too short");
/// let err = BearerGuardLayer::builder(api).build().unwrap_err();
/// assert!(matches!(err, ConfigError::SecretTooShort { len: 9, min: 32 }));
/// assert!(format!("{err:?}").starts_with("the signing secret has 9 bytes"));
/// ```
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    // The registration: reading and parsing the resource server (`ResourceServer`).
    /// The resource-server file could not be read.
    #[error("cannot read the resource server file {}: {problem}", path.display())]
    ReadFile {
        /// The file as given.
        path: PathBuf,
        /// What the operating system said.
        problem: String,
    },
    /// The resource-server JSON could not be read.
    #[error("resource server JSON{}, line {line} column {column}: {problem}", in_file(path.as_deref()))]
    Json {
        /// The file it came from, when read with
        /// [`ResourceServer::from_file`](crate::ResourceServer::from_file).
        path: Option<PathBuf>,
        /// Line of the problem, from 1.
        line: usize,
        /// Column of the problem, from 1.
        column: usize,
        /// What is wrong: serde's message when it names only fields, a general one when it
        /// would quote a value (which could be the secret).
        problem: String,
    },
    /// The identifier (the tokens' audience) is empty.
    #[error(
        "the resource server's identifier is empty; it must be the API's audience, an absolute URI such as https://my-api"
    )]
    EmptyIdentifier,
    /// The identifier is not an absolute URI.
    #[error(
        "the resource server's identifier {identifier:?} is not an absolute URI (scheme:rest, no spaces, no fragment)"
    )]
    IdentifierNotAbsoluteUri {
        /// The identifier as configured.
        identifier: String,
    },
    /// The signing algorithm is not one bearer-guard verifies, or not one the operation can
    /// use (an asymmetric one where a secret signs).
    #[error(
        "signing_alg {alg:?} is not one bearer-guard verifies: HS256, HS384, HS512, and with the jwks feature RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA and Ed25519 (exact, case-sensitive names)"
    )]
    UnsupportedAlgorithm {
        /// The algorithm as configured.
        alg: String,
    },
    /// There is no signing secret (an RS256 resource server has none).
    #[error(
        "the resource server has no signing_secret; HS256 (HS384, HS512) APIs get one from the authorization server"
    )]
    MissingSecret,
    /// A base64url secret did not decode.
    #[error("the signing secret is not unpadded base64url")]
    SecretNotBase64Url,
    /// The resource server's `token_lifetime` is zero.
    #[error("token_lifetime is 0: no token could be valid")]
    ZeroTokenLifetime,
    /// The resource server's `token_dialect` is none of Auth0's four.
    #[error(
        "the resource server's token_dialect is not one of access_token, access_token_authz, rfc9068_profile, rfc9068_profile_authz (exact, lowercase names)"
    )]
    UnknownTokenDialect {
        /// The dialect as registered; the message does not quote it, as it never quotes the
        /// registration's values.
        dialect: String,
    },
    /// The registration is one of Auth0's own APIs (`is_system`), such as the Management API:
    /// its tokens are meant for Auth0, and a guard built from it would take them.
    #[error(
        "the resource server {identifier:?} is one of Auth0's own APIs (is_system: true), whose tokens are for Auth0: export your API's registration instead"
    )]
    SystemApi {
        /// The identifier of the system API.
        identifier: String,
    },

    // HMAC secrets (HS256, HS384, HS512): the registration's and those added to it.
    /// The signing secret is empty.
    #[error("the signing secret is empty")]
    EmptySecret,
    /// The signing secret is shorter than RFC 7518 §3.2 asks: the size of the algorithm's
    /// hash (32 bytes for HS256, 48 for HS384, 64 for HS512).
    #[error(
        "the signing secret has {len} bytes; its algorithm needs at least {min} (RFC 7518 §3.2: HS256 32, HS384 48, HS512 64). Rotate it, or call allow_short_secret() for a legacy secret"
    )]
    SecretTooShort {
        /// The secret's length in bytes.
        len: usize,
        /// The shortest the algorithm takes: the size of its hash.
        min: usize,
    },
    /// More signing secrets than a validator tries (current plus previous ones).
    #[error(
        "{count} signing secrets configured; at most {max} are accepted at once. Drop secrets whose tokens have all expired"
    )]
    TooManySecrets {
        /// The number configured, the resource server's own included.
        count: usize,
        /// The most allowed.
        max: usize,
    },
    /// Two signing secrets are labelled with the same key id.
    #[error("key id {kid:?} labels more than one signing secret; give each secret its own key id")]
    DuplicateKeyId {
        /// The key id as configured.
        kid: String,
    },
    /// A signing secret is labelled with an empty key id.
    #[error(
        "a key id must not be empty; label the secret with a non-empty kid, or add it with previous_secret"
    )]
    EmptyKeyId,
    /// A secret setting was given for an API whose tokens are signed with public keys.
    #[error(
        "{setting} is a setting of HMAC signing secrets (HS256, HS384, HS512), but the API's signing_alg is {alg:?}: its keys come from its JWK set"
    )]
    SecretSettingWithoutHs256 {
        /// The builder method.
        setting: &'static str,
        /// The algorithm as configured.
        alg: String,
    },
    /// A key-set setting was given for an HMAC (HS256, HS384, HS512) API, whose key is its
    /// `signing_secret`.
    #[error(
        "{setting} is for APIs signed with public keys; this API's signing_alg is an HMAC one (HS256, HS384, HS512), whose key is its signing_secret"
    )]
    KeySetSettingForHs256 {
        /// The builder method.
        setting: &'static str,
    },

    // Public keys and the key cache (feature `jwks`).
    /// The signing algorithm verifies with public keys, which need the `jwks` feature (on
    /// by default, through `reqwest`).
    #[error(
        "signing_alg {alg:?} verifies with public keys from a JWK set, and this build has turned off the default features that do it: add the reqwest feature, which brings jwks and the HTTP client that fetches the keys (bearer-guard = {{ version = \"0.1\", default-features = false, features = [\"axum\", \"reqwest\"] }}, or the default features); jwks alone is enough with static_jwks(…) or your own jwks_fetcher(…)"
    )]
    AlgorithmNeedsJwksFeature {
        /// The algorithm as configured.
        alg: String,
    },
    /// The signing algorithm verifies with public keys, and no key set was given.
    #[error(
        "signing_alg {alg:?} verifies with public keys, and none were given: set the issuer (keys by discovery), a jwks_uri(…), or static_jwks(…)"
    )]
    NoKeySource {
        /// The algorithm as configured.
        alg: String,
    },
    /// A JWK set given to the builder gives no usable key.
    #[error("the JWK set cannot be used: {problem}")]
    InvalidJwks {
        /// What is wrong with it; never key material.
        problem: String,
    },
    /// A URL keys would be fetched from is neither `https` nor `http` to a loopback host.
    #[error(
        "{setting} {url:?} cannot be fetched: keys come over https (or http to 127.0.0.1, [::1] or localhost, for local development)"
    )]
    NotFetchable {
        /// Where the URL came from.
        setting: &'static str,
        /// The URL as configured.
        url: String,
    },
    /// Keys are to be fetched, and there is no HTTP client to fetch them with.
    #[error(
        "keys for signing_alg {alg:?} are to be fetched, and no fetcher is set: add bearer-guard's reqwest feature, on by default (bearer-guard = {{ version = \"0.1\", default-features = false, features = [\"axum\", \"reqwest\"] }}), or pass your own to jwks_fetcher(…)"
    )]
    NoFetcher {
        /// The algorithm as configured.
        alg: String,
    },
    /// The built-in HTTP client could not be set up.
    #[error("the HTTP client for fetching keys could not be set up: {problem}")]
    HttpClient {
        /// What the TLS or HTTP library said.
        problem: String,
    },
    /// A key cache setting is out of its bounds.
    #[error("the key cache's {setting}: {problem}")]
    KeyCacheSetting {
        /// The setting.
        setting: &'static str,
        /// What is wrong with it.
        problem: String,
    },

    // The token checks the validator runs.
    /// The expected issuer is empty.
    #[error("the expected issuer is empty; leave it unset to skip the issuer check")]
    EmptyIssuer,
    /// The expected issuer names an Auth0 domain in another form than its tokens' `iss`,
    /// which is exactly `https://{domain}/`: every token would fail.
    #[error(
        "issuer {issuer:?} names an Auth0 domain, whose tokens carry iss {expected:?} exactly (https:// and a trailing slash): configure {expected:?}"
    )]
    Auth0IssuerForm {
        /// The issuer as configured.
        issuer: String,
        /// The issuer its tokens carry.
        expected: String,
    },
    /// The scope claim name is empty or names a registered claim.
    #[error(
        "scope claim {claim:?} must be a non-empty name other than a registered claim (exp, nbf, iat, aud, iss, sub, azp, client_id, jti, acr, auth_time)"
    )]
    InvalidScopeClaim {
        /// The claim name as configured.
        claim: String,
    },
    /// A claim named for step-up (`acr_claim`, `auth_time_claim`) is empty, another
    /// registered claim, the scope claim, or the other step-up claim.
    #[error(
        "step-up claim {claim:?} must be a non-empty name of its own: not a registered claim (exp, nbf, iat, aud, iss, sub, azp, client_id, jti), not the scope claim, and acr_claim and auth_time_claim different"
    )]
    InvalidStepUpClaim {
        /// The claim name as configured.
        claim: String,
    },
    /// A builder setting contradicts the registration's `token_dialect`: every token would
    /// be refused, or checked against a claim its authorization server does not fill.
    #[error(
        "{setting} contradicts the resource server's token_dialect {dialect}, whose tokens {expected}: drop {setting} (the dialect sets it), or fix the registration's token_dialect"
    )]
    TokenDialectConflict {
        /// The builder setting, as called.
        setting: String,
        /// The registration's dialect.
        dialect: crate::registration::TokenDialect,
        /// What the dialect's tokens are.
        expected: &'static str,
    },
    /// The leeway is larger than bearer-guard allows.
    #[error(
        "leeway of {seconds} s is over the {max} s maximum; clocks that far apart need fixing, not tolerating"
    )]
    LeewayTooLarge {
        /// The leeway as configured, in seconds.
        seconds: u64,
        /// The largest leeway allowed, in seconds.
        max: u64,
    },
    /// The maximum token age is zero.
    #[error("max_token_age must be more than zero")]
    ZeroMaxTokenAge,
    /// The maximum token size is outside the allowed range.
    #[error("max_token_len {len} is outside {min}..={max} bytes")]
    MaxTokenLenOutOfRange {
        /// The size as configured.
        len: usize,
        /// The smallest size allowed.
        min: usize,
        /// The largest size allowed.
        max: usize,
    },
    /// A verified-token cache setting is out of its bounds.
    #[error("the token cache's {setting}: {problem}")]
    TokenCacheSetting {
        /// The setting.
        setting: &'static str,
        /// What is wrong with it.
        problem: String,
    },

    // Scope requirements, checked against the scopes the resource server declares.
    /// A required scope is not among the scopes the resource server declares.
    #[error(
        "scope {scope:?} is required but the resource server does not declare it: fix the name, or add the scope to the API's registration"
    )]
    UndeclaredScope {
        /// The scope as required.
        scope: String,
    },
    /// A required scope breaks the scope-token grammar of RFC 6749 §3.3.
    #[error("scope {scope:?} is not a valid scope token (printable ASCII, no space, '\"' or '\\')")]
    InvalidScope {
        /// The scope as required.
        scope: String,
    },
    /// A scope requirement lists no scope.
    #[error("a scope requirement must name at least one scope")]
    EmptyScopeRequirement,

    // Step-up requirements (RFC 9470): the `acr` values and the maximum age of authentication.
    /// A step-up requirement lists no `acr` value.
    #[error("an acr requirement must name at least one acr value")]
    EmptyAcrRequirement,
    /// An `acr` value cannot be named in a challenge's `acr_values` (space-separated, quoted).
    #[error(
        "acr value {value:?} cannot go in a challenge's acr_values: it must be non-empty printable ASCII without space, '\"' or '\\'"
    )]
    InvalidAcrValue {
        /// The value as required.
        value: String,
    },
    /// The maximum age of the user's authentication is under a second or over a year.
    #[error(
        "a maximum authentication age of {seconds} s is out of range: from 1 s to {max} s (a year), in whole seconds as challenges' max_age names it"
    )]
    MaxAuthAgeOutOfRange {
        /// The age as configured, in whole seconds.
        seconds: u64,
        /// The largest allowed, in seconds.
        max: u64,
    },

    // HTTP: where tokens are found, how refusals are answered, several APIs, RFC 9728 metadata.
    /// A token source (a cookie or header to read the token from) cannot be used.
    #[error("token source {source_name:?}: {problem}")]
    InvalidTokenSource {
        /// The cookie or header name as configured.
        source_name: String,
        /// What is wrong with it, and what to do.
        problem: &'static str,
    },
    /// The realm cannot be sent in a `WWW-Authenticate` header.
    #[error("realm {realm:?} must be printable ASCII without '\"' or '\\'")]
    InvalidRealm {
        /// The realm as configured.
        realm: String,
    },
    /// The APIs given to [`MultiApiLayer`](crate::MultiApiLayer) cannot share one layer.
    #[error("several APIs in one layer: {problem}")]
    InvalidApiSet {
        /// What is wrong, and what to do.
        problem: String,
    },
    /// The protected resource's metadata (RFC 9728) cannot be published as configured.
    #[error("resource_metadata: {problem}")]
    ResourceMetadata {
        /// What is missing or wrong.
        problem: String,
    },

    // DPoP (RFC 9449).
    /// The resource server requires DPoP (`proof_of_possession.required`), which needs the
    /// `jwks` feature to verify proofs.
    #[error(
        "the resource server requires DPoP-bound tokens (proof_of_possession); verifying DPoP proofs needs bearer-guard's `jwks` feature"
    )]
    DpopNeedsJwksFeature,
    /// A DPoP setting is out of its bounds.
    #[error("the DPoP setting {setting}: {problem}")]
    DpopSetting {
        /// The setting.
        setting: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The external URL DPoP proofs are checked against is not an http(s) URL.
    #[error(
        "external_url {url:?}: DPoP proofs name the API by its http(s) URL; set external_url(\"https://api.example.com\") to where clients reach it"
    )]
    ExternalUrl {
        /// The URL as configured or derived from the identifier.
        url: String,
    },
    /// `external_url` is set, but DPoP, the one thing it is for, is not taken.
    #[error(
        "external_url names the URL DPoP proofs are checked against, but this API takes no DPoP: call dpop(DpopMode::Allowed) (or Required), or register proof_of_possession {{\"mechanism\": \"dpop\"}}, or drop external_url"
    )]
    ExternalUrlWithoutDpop,
    /// Server nonces are on (`dpop_nonces`), but DPoP, whose proofs carry them, is not taken.
    #[error(
        "dpop_nonces turns on DPoP server nonces, but this API takes no DPoP: call dpop(DpopMode::Allowed) (or Required), or register proof_of_possession {{\"mechanism\": \"dpop\"}}, or drop dpop_nonces"
    )]
    DpopNoncesWithoutDpop,

    // Several issuers for one API.
    /// The list given to [`issuers`](crate::BearerGuardBuilder::issuers) cannot be used: it
    /// is empty, names an issuer twice, is longer than the bound (16), comes with
    /// [`issuer`](crate::BearerGuardBuilder::issuer) as well, or with a key setting that
    /// names one issuer's keys (`jwks_uri`).
    #[error("issuers: {problem}")]
    InvalidIssuers {
        /// What is wrong, and what to do.
        problem: String,
    },
    // Encrypted tokens (RFC 7516): the registration's `token_encryption` and the private keys
    // that decrypt its tokens.
    /// The registration's `token_encryption.format` is not Auth0's one format.
    #[error(
        "token_encryption's format {format:?} is not supported: compact-nested-jwe is the one accepted"
    )]
    UnknownTokenEncryptionFormat {
        /// The format as registered.
        format: String,
    },
    /// The registration's `token_encryption.encryption_key.alg` is not RSA-OAEP with SHA-2.
    #[error(
        "token_encryption's alg {alg:?} is not supported: RSA-OAEP-256, RSA-OAEP-384, RSA-OAEP-512 (exact names; RSA1_5, dir and RSA-OAEP never)"
    )]
    UnsupportedTokenEncryptionAlgorithm {
        /// The algorithm as registered.
        alg: String,
    },
    /// The registration's `token_encryption.encryption_key.kid` is empty.
    #[error("token_encryption's kid is empty: register a key id, or none")]
    EmptyTokenEncryptionKid,
    /// The registration has `token_encryption`, and no private key decrypts its tokens.
    #[error(
        "the resource server's tokens are encrypted (token_encryption), and no private key decrypts them: call token_decryption_key with the PKCS#8 private key of its encryption_key (the sample API reads it from TOKEN_DECRYPTION_KEY)"
    )]
    MissingDecryptionKey,
    /// Settings of encrypted tokens are given (decryption keys, or
    /// `also_accept_content_encryption`), and the registration has no `token_encryption`.
    #[error(
        "settings of encrypted tokens are given (token_decryption_key, previous_token_decryption_key or also_accept_content_encryption), but the resource server's tokens are not encrypted: register token_encryption (ResourceServer::with_token_encryption, or the registration's JSON), or drop those settings"
    )]
    DecryptionKeyWithoutTokenEncryption,
    /// The private key's public half is not the registration's `encryption_key.pem`.
    #[error(
        "the token decryption key does not match token_encryption's pem: give the private key of the registered encryption_key, or register its public key"
    )]
    DecryptionKeyMismatch,
    /// A decryption key, or the registration's `pem`, cannot be used.
    #[error("token decryption: {problem}")]
    InvalidDecryptionKey {
        /// What is wrong (never key material).
        problem: String,
    },
    /// The registration has `token_encryption`; decrypting needs the `jwks` feature.
    #[error(
        "the resource server's tokens are encrypted (token_encryption); decrypting them needs bearer-guard's `jwks` feature"
    )]
    TokenEncryptionNeedsJwksFeature,
    // Certificate-bound tokens (RFC 8705 §3).
    /// The API takes certificate-bound tokens (the registration's `proof_of_possession`
    /// `mtls`, or the builder's `mtls`), and nothing says where client certificates come
    /// from.
    #[error(
        "this API takes certificate-bound tokens (proof_of_possession mtls, or mtls(MtlsMode::Allowed/Required)), and no client certificate source is set: call client_certificate_from(CertificateSource::extension()) when your TLS acceptor inserts a ClientCertificate, CertificateSource::header(\"client-cert\") behind a TLS-terminating proxy that sets it (RFC 9440) and strips it from client requests, or CertificateSource::from_fn"
    )]
    MtlsWithoutCertificateSource,
    /// A client certificate source is set, but the API takes no certificate-bound tokens, the
    /// one thing it is for.
    #[error(
        "client_certificate_from names where client certificates come from, but this API takes no certificate-bound tokens: call mtls(MtlsMode::Allowed) (or Required), or register proof_of_possession {{\"mechanism\": \"mtls\"}}, or drop client_certificate_from"
    )]
    CertificateSourceWithoutMtls,
    /// The header named by `CertificateSource::header` cannot carry client certificates.
    #[error("the client certificate header {name:?}: {problem}")]
    InvalidCertificateHeader {
        /// The name as configured.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// `, file F`, naming the file a JSON error came from.
fn in_file(path: Option<&Path>) -> String {
    path.map(|path| format!(" in {}", path.display()))
        .unwrap_or_default()
}

/// The message, as [`Display`](fmt::Display) gives it: what `main` prints for an error.
impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_the_message() {
        let err = ConfigError::SecretTooShort { len: 10, min: 48 };
        assert_eq!(format!("{err:?}"), err.to_string());
        assert!(err.to_string().contains("allow_short_secret()"));
        assert!(err.to_string().contains("needs at least 48"), "{err}");
    }

    #[test]
    fn an_unsupported_algorithm_lists_every_supported_name() {
        let message = ConfigError::UnsupportedAlgorithm {
            alg: "RS1024".into(),
        }
        .to_string();
        for alg in crate::Algorithm::ALL {
            assert!(message.contains(&format!(" {alg}")), "{alg}: {message}");
        }
    }

    #[test]
    fn json_error_names_its_file_when_it_has_one() {
        let err = |path: Option<&str>| ConfigError::Json {
            path: path.map(PathBuf::from),
            line: 3,
            column: 7,
            problem: "not valid JSON".into(),
        };
        assert_eq!(
            err(None).to_string(),
            "resource server JSON, line 3 column 7: not valid JSON"
        );
        assert_eq!(
            err(Some("api.json")).to_string(),
            "resource server JSON in api.json, line 3 column 7: not valid JSON"
        );
    }
}
