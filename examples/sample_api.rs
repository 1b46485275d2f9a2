//! Run with: cargo run --example sample_api
//!
//! A sample API protected by bearer-guard, on 127.0.0.1 (port from `PORT`, default 3000):
//!
//! - `GET /api/public`: no token needed;
//! - `GET /api/private`: any valid token; the answer includes the token's `sub`;
//! - `GET /api/private-scoped`: a valid token with the scope `read:messages`;
//! - `GET /api/private-mfa`: a valid token whose `acr` is Auth0's MFA policy
//!   (`http://schemas.openid.net/pape/policies/2007/06/multi-factor`); any other token gets
//!   RFC 9470's 401 `insufficient_user_authentication` with that policy in `acr_values`.
//!
//! Configuration: `RESOURCE_SERVER_JSON`, the path of a resource server as the Management API
//! returns it; `TOKEN_ISSUER`, the expected `iss` (optional for HS256). With no
//! `RESOURCE_SERVER_JSON` it runs on an embedded demo resource server and prints `curl` lines
//! with fresh demo tokens. `RUST_LOG` sets what it logs (default `info`; `bearer_guard=debug`
//! shows each rejection with its reason).
//!
//! An API signed with public keys (`signing_alg` RS256, RS512, PS256, ES256, EdDSA, …; no
//! `signing_secret`) needs `TOKEN_ISSUER`: its keys come from discovery at
//! `/.well-known/openid-configuration` after `TOKEN_ISSUER` (with or without its trailing
//! slash), or from `JWKS_URI` when that is set (`https`, or `http` to a loopback host). The API listens at once, even while the issuer is
//! unreachable: tokens are answered 503 until its keys load.
//!
//! `TOKEN_ISSUER` may name several issuers separated by spaces: an Auth0 tenant's canonical
//! domain and its custom domains (`"https://tenant.eu.auth0.com/ https://login.example.com/"`).
//! A token's `iss` must be one of them; each issuer's keys come from its own discovery
//! document (`JWKS_URI` names one issuer's keys, so it is refused with several).
//!
//! With `TOKEN_ISSUER` set, it serves its RFC 9728 metadata at
//! `/.well-known/oauth-protected-resource` (plus the identifier's path). When the
//! registration's `proof_of_possession` asks for DPoP (RFC 9449), it takes DPoP-bound tokens
//! as it says, their proofs naming `EXTERNAL_URL` (default `http://127.0.0.1:$PORT`) and the
//! path; without it, the API is Bearer-only.
//!
//! Several instances behind a load balancer, for an API that takes DPoP:
//!
//! - `REDIS_URL` (`redis://host:6379/`): the DPoP replay store is that Redis, shared by every
//!   instance, so a proof replayed to another instance is refused there too (by default, each
//!   instance remembers proofs in its own memory);
//! - `DPOP_NONCE=required`: every proof must carry a fresh server nonce (RFC 9449 §9); a proof
//!   without one is answered 401 `error="use_dpop_nonce"` with one in `DPoP-Nonce`. Nonces are
//!   made with `DPOP_NONCE_SECRET` (at least 32 bytes, e.g. `openssl rand -base64 32`):
//!   instances that share it take each other's nonces, with no store. `required` is the one
//!   value taken; unset, there are no nonces.
//!
//! The sample fails at startup, saying what to set, for either variable on an API that takes
//! no DPoP, for `DPOP_NONCE=required` without a `DPOP_NONCE_SECRET` of 32 bytes, for any other
//! `DPOP_NONCE` value, and for a Redis it cannot reach.
//!
//! Encrypted tokens: when the registration has `token_encryption` (Auth0's JWE access
//! tokens), `TOKEN_DECRYPTION_KEY` is the path of the PEM (unencrypted PKCS#8, `BEGIN PRIVATE
//! KEY`) private key matching its `encryption_key`; every token must then be a JWE, which the
//! API decrypts and verifies. The sample fails at startup without the variable, with a key
//! that does not match the registration's `pem`, and with the variable set for a registration
//! without `token_encryption`.
//! Certificate-bound tokens (RFC 8705 §3), for a registration whose `proof_of_possession` is
//! `{"mechanism": "mtls", …}`: the sample has no TLS of its own, so it runs behind a
//! TLS-terminating proxy that asks clients for certificates and passes each one on in a
//! header, in RFC 9440 form (`Client-Cert: :<base64 DER>:`).
//!
//! - `CLIENT_CERT_HEADER` (`Client-Cert`): the name of that header. Without it no header is
//!   trusted. Set it only behind a proxy that removes the header from every client request:
//!   otherwise any client can name any certificate.
//!
//! The sample fails at startup, naming `CLIENT_CERT_HEADER`, for a registration with `mtls`
//! and no `CLIENT_CERT_HEADER` (it could never see a certificate, so it would refuse every
//! certificate-bound token), and for `CLIENT_CERT_HEADER` on an API that takes no
//! certificate-bound tokens.

use std::time::Duration;

use axum::{Json, Router, routing::get};
use bearer_guard::dpop::{DpopMode, NonceMode, NonceSettings, RedisReplayStore};
use bearer_guard::issuer::TokenIssuer;
use bearer_guard::mtls::{CertificateSource, MtlsMode};
use bearer_guard::registration::SigningSecret;
use bearer_guard::{Algorithm, BearerGuardLayer, ConfigError, ResourceServer, VerifiedToken};
use serde_json::{Value, json};

#[path = "support/serve.rs"]
mod serve;

/// The demo registration: a resource server as the Management API would return it.
/// Its secret is public, so tokens for it prove nothing outside this demo.
pub(crate) const DEMO_RESOURCE_SERVER: &str = r#"{
  "id": "56f0131ffdf1c311694f4cc7",
  "name": "My Sample API",
  "identifier": "https://my-api-urn",
  "scopes": [
    { "value": "sample-scope", "description": "Description for Sample Scope" },
    { "value": "read:messages", "description": "Read messages" }
  ],
  "signing_alg": "HS256",
  "signing_secret": "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5",
  "token_lifetime": 86400
}"#;

/// Auth0's MFA policy: the `acr` of a login with multi-factor authentication, which
/// `/api/private-mfa` requires.
pub(crate) const MFA_POLICY: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

/// The issuer of demo tokens when `TOKEN_ISSUER` is not set.
pub(crate) const DEMO_ISSUER: &str = "https://demo.bearer-guard.invalid/";

/// The sample API's routes, protected for `api`; `jwks_uri` overrides discovery for an API
/// signed with public keys. (The tests' entry point; `main` says where clients reach it.)
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn app(
    api: ResourceServer,
    issuer: Option<String>,
    jwks_uri: Option<String>,
) -> Result<Router, ConfigError> {
    app_at(api, issuer, jwks_uri, None)
}

/// [`app`], reached by clients at `external_url` (the base of DPoP proofs' `htu`, for a
/// registration whose `proof_of_possession` asks for DPoP; by default the identifier's
/// origin). With an issuer and an identifier that is a URL, it also serves its RFC 9728
/// metadata and names it in its challenges.
pub(crate) fn app_at(
    api: ResourceServer,
    issuer: Option<String>,
    jwks_uri: Option<String>,
    external_url: Option<String>,
) -> Result<Router, ConfigError> {
    app_in_fleet(api, issuer, jwks_uri, external_url, Fleet::default())
}

/// What instances of one API share, for DPoP: the replay store (`REDIS_URL`) and the server
/// nonces (`DPOP_NONCE`, `DPOP_NONCE_SECRET`). By default, neither: each instance remembers
/// proofs in its own memory, and there are no nonces.
#[derive(Debug, Default)]
pub(crate) struct Fleet {
    pub(crate) replay_store: Option<RedisReplayStore>,
    pub(crate) nonces: Option<NonceSettings>,
    /// The API's private key for encrypted tokens (`TOKEN_DECRYPTION_KEY`'s file), which
    /// every instance of an API with `token_encryption` holds.
    pub(crate) decryption_key: Option<Vec<u8>>,
    /// The header the TLS-terminating proxy in front of every instance sets to the client
    /// certificate (`CLIENT_CERT_HEADER`), for certificate-bound tokens.
    pub(crate) client_cert_header: Option<String>,
}

/// [`app_at`], as one instance of a `fleet`.
pub(crate) fn app_in_fleet(
    api: ResourceServer,
    issuer: Option<String>,
    jwks_uri: Option<String>,
    external_url: Option<String>,
    fleet: Fleet,
) -> Result<Router, ConfigError> {
    let publish_metadata = issuer.is_some()
        && (api.identifier().starts_with("https://") || api.identifier().starts_with("http://"));
    let takes_dpop = api.dpop_mode() != DpopMode::Disabled;
    let mut builder = BearerGuardLayer::builder(api);
    if let Some(store) = fleet.replay_store {
        builder = builder.dpop_replay_store(store);
    }
    if let Some(nonces) = fleet.nonces {
        builder = builder.dpop_nonces(nonces);
    }
    if let Some(key) = fleet.decryption_key {
        builder = builder.token_decryption_key(key);
    }
    // `TOKEN_ISSUER`: one issuer, or several separated by spaces (custom domains).
    if let Some(issuer) = issuer {
        let issuers: Vec<&str> = issuer.split_whitespace().collect();
        builder = match issuers[..] {
            [one] => builder.issuer(one),
            _ => builder.issuers(issuers),
        };
    }
    if let Some(jwks_uri) = jwks_uri {
        builder = builder.jwks_uri(jwks_uri);
    }
    if let Some(external_url) = external_url.filter(|_| takes_dpop) {
        builder = builder.external_url(external_url);
    }
    if publish_metadata {
        builder = builder.resource_metadata();
    }
    if let Some(header) = fleet.client_cert_header {
        builder = builder.client_certificate_from(CertificateSource::header(header));
    }
    let guard = builder.build()?;
    let read_messages = guard.require_all(["read:messages"])?;
    let mfa = guard.require_acr([MFA_POLICY])?;
    let mut router = Router::new()
        .route("/api/private", get(private))
        .route(
            "/api/private-scoped",
            get(private_scoped).route_layer(read_messages),
        )
        .route("/api/private-mfa", get(private_mfa).route_layer(mfa))
        // Only the routes above; unknown paths stay 404.
        .route_layer(guard.clone())
        .route("/api/public", get(public));
    if let Some(metadata) = guard.resource_metadata() {
        let path = metadata.path().to_owned();
        router = router.route_service(&path, metadata);
    }
    Ok(router)
}

async fn public() -> Json<Value> {
    Json(
        json!({ "message": "Hello from a public endpoint! You don't need to be authenticated to see this." }),
    )
}

async fn private(token: VerifiedToken) -> Json<Value> {
    Json(json!({
        "message": "Hello from a private endpoint! You need to be authenticated to see this.",
        "sub": token.subject(),
    }))
}

async fn private_scoped(token: VerifiedToken) -> Json<Value> {
    Json(json!({
        "message": "Hello from a private endpoint! You need to be authenticated and have a scope of read:messages to see this.",
        "sub": token.subject(),
    }))
}

async fn private_mfa(token: VerifiedToken) -> Json<Value> {
    Json(json!({
        "message": "Hello from a private endpoint! You need to be authenticated with multi-factor authentication to see this.",
        "sub": token.subject(),
    }))
}

/// A demo access token for the demo resource server, as a client-credentials grant would get,
/// valid for an hour.
pub(crate) fn demo_token(issuer: &str, scope: &str) -> Result<String, Box<dyn std::error::Error>> {
    let api = ResourceServer::from_json(DEMO_RESOURCE_SERVER)?;
    Ok(TokenIssuer::new(&api, issuer)?
        .client_token("demo-client")
        .scope(scope)
        .expires_in(Duration::from_secs(3600))
        .sign()?)
}

/// A demo access token of a user's multi-factor login (`acr` [`MFA_POLICY`]), valid for an
/// hour: what `/api/private-mfa` takes.
pub(crate) fn demo_mfa_token(issuer: &str) -> Result<String, Box<dyn std::error::Error>> {
    let api = ResourceServer::from_json(DEMO_RESOURCE_SERVER)?;
    Ok(TokenIssuer::new(&api, issuer)?
        .token("auth0|demo-user")
        .acr(MFA_POLICY)
        .auth_time(std::time::SystemTime::now())
        .expires_in(Duration::from_secs(3600))
        .sign()?)
}

/// The shortest `DPOP_NONCE_SECRET` taken, in bytes (bearer-guard's minimum).
const MIN_NONCE_SECRET: usize = 32;

/// What the fleet variables ask for, read with `var` for an API that does or does not take
/// DPoP (`takes_dpop`): the `REDIS_URL` to connect to, and the nonce settings. The error says
/// what to set, and never quotes the secret.
pub(crate) fn fleet_settings(
    takes_dpop: bool,
    var: impl Fn(&str) -> Option<String>,
) -> Result<(Option<String>, Option<NonceSettings>), String> {
    let redis_url = var("REDIS_URL");
    let nonces = match (var("DPOP_NONCE").as_deref(), var("DPOP_NONCE_SECRET")) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(
                "DPOP_NONCE_SECRET is set, and DPOP_NONCE is not: set DPOP_NONCE=required to use it"
                    .to_owned(),
            );
        }
        (Some("required"), Some(secret)) if secret.len() >= MIN_NONCE_SECRET => Some(
            NonceSettings::default()
                .mode(NonceMode::Required)
                .secret(SigningSecret::from(secret)),
        ),
        (Some("required"), Some(secret)) => {
            return Err(format!(
                "DPOP_NONCE_SECRET has {} bytes; at least {MIN_NONCE_SECRET} are needed (e.g. `openssl rand -base64 32`), the same on every instance",
                secret.len()
            ));
        }
        (Some("required"), None) => {
            return Err(format!(
                "DPOP_NONCE=required needs DPOP_NONCE_SECRET: at least {MIN_NONCE_SECRET} bytes (e.g. `openssl rand -base64 32`), the same on every instance"
            ));
        }
        (Some(other), _) => {
            return Err(format!(
                "DPOP_NONCE={other:?} is not taken: the accepted values are `required` (server nonces on every proof), or unset (none)"
            ));
        }
    };
    if !takes_dpop {
        let set = match (&redis_url, &nonces) {
            (Some(_), Some(_)) => Some(("REDIS_URL and DPOP_NONCE are", "them")),
            (Some(_), None) => Some(("REDIS_URL is", "it")),
            (None, Some(_)) => Some(("DPOP_NONCE is", "it")),
            (None, None) => None,
        };
        if let Some((set, them)) = set {
            return Err(format!(
                "{set} for DPoP, and this API takes no DPoP: register it with \"proof_of_possession\": {{\"mechanism\": \"dpop\"}} in RESOURCE_SERVER_JSON, or unset {them}"
            ));
        }
    }
    Ok((redis_url, nonces))
}

/// The private key `TOKEN_DECRYPTION_KEY` names, for a registration with
/// `token_encryption`; none for one without. The variable is required with
/// `token_encryption`, refused without it, and its file read here; the key is checked
/// against the registration when the layer is built.
pub(crate) fn decryption_key(
    api: &ResourceServer,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<Vec<u8>>, String> {
    match (api.token_encryption(), var("TOKEN_DECRYPTION_KEY")) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(
            "the registration's token_encryption needs TOKEN_DECRYPTION_KEY: the path of the PEM (PKCS#8) private key of its encryption_key"
                .to_owned(),
        ),
        (None, Some(_)) => Err(
            "TOKEN_DECRYPTION_KEY is set, and the registration has no token_encryption: register its public key as token_encryption.encryption_key in RESOURCE_SERVER_JSON, or unset it"
                .to_owned(),
        ),
        (Some(_), Some(path)) => std::fs::read(&path)
            .map(Some)
            .map_err(|err| format!("TOKEN_DECRYPTION_KEY: cannot read {path}: {err}")),
    }
}

/// `CLIENT_CERT_HEADER` (read with `var`) for an API whose certificate-bound tokens are
/// `mtls`: the header's name, required exactly when the API takes such tokens. The error
/// says what to set.
pub(crate) fn client_cert_header(
    mtls: MtlsMode,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, String> {
    match (var("CLIENT_CERT_HEADER"), mtls) {
        (None, MtlsMode::Disabled) => Ok(None),
        (Some(_), MtlsMode::Disabled) => Err(
            "CLIENT_CERT_HEADER is set, and this API takes no certificate-bound tokens: register it with \"proof_of_possession\": {\"mechanism\": \"mtls\"} in RESOURCE_SERVER_JSON, or unset CLIENT_CERT_HEADER".to_owned(),
        ),
        (None, _) => Err(
            "the registration's proof_of_possession asks for certificate-bound tokens (mtls), and this sample has no TLS of its own: run it behind a TLS-terminating proxy that sets the client certificate in an RFC 9440 header (Client-Cert: :<base64 DER>:) and strips that header from client requests, and set CLIENT_CERT_HEADER to the header's name".to_owned(),
        ),
        (Some(name), _) => Ok(Some(name)),
    }
}

const PROGRAM: &str = "sample_api";

fn fail(message: impl std::fmt::Display) -> ! {
    serve::fail(PROGRAM, message)
}

#[tokio::main]
async fn main() {
    // The library's warnings (a discovery document naming another issuer, a replay store
    // that fails) reach the console; `RUST_LOG=bearer_guard=debug` shows every rejection.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let issuer = std::env::var("TOKEN_ISSUER").ok();
    let json_path = std::env::var("RESOURCE_SERVER_JSON").ok();
    let api = match &json_path {
        Some(path) => ResourceServer::from_file(path),
        None => ResourceServer::from_json(DEMO_RESOURCE_SERVER),
    }
    .unwrap_or_else(|err| fail(format!("RESOURCE_SERVER_JSON: {err}")));
    let identifier = api.identifier().to_owned();
    let asymmetric = Algorithm::from_name(api.signing_alg()).is_some_and(Algorithm::is_asymmetric);
    if asymmetric && issuer.is_none() {
        fail(format!(
            "signing_alg {} needs TOKEN_ISSUER: its keys come from the issuer's discovery document (or JWKS_URI)",
            api.signing_alg()
        ));
    }
    let jwks_uri = std::env::var("JWKS_URI").ok();
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
    // Where clients reach this API: what their DPoP proofs name.
    let external_url = std::env::var("EXTERNAL_URL")
        .ok()
        .or_else(|| issuer.is_some().then(|| format!("http://127.0.0.1:{port}")));
    let takes_dpop = api.dpop_mode() != DpopMode::Disabled;
    let (redis_url, nonces) =
        fleet_settings(takes_dpop, |name| std::env::var(name).ok()).unwrap_or_else(|err| fail(err));
    let client_cert_header = client_cert_header(api.mtls_mode(), |name| std::env::var(name).ok())
        .unwrap_or_else(|err| fail(err));
    let replay_store = match redis_url {
        Some(url) => Some(
            RedisReplayStore::connect(&url)
                .await
                .unwrap_or_else(|err| fail(format!("REDIS_URL: {err}"))),
        ),
        None => None,
    };
    let fleet_notes = [
        replay_store
            .as_ref()
            .map(|_| "DPoP replays kept in Redis (REDIS_URL)"),
        nonces
            .as_ref()
            .map(|_| "server nonces required (DPOP_NONCE)"),
        client_cert_header
            .as_ref()
            .map(|_| "client certificates read from the proxy's header (CLIENT_CERT_HEADER)"),
    ];
    let decryption_key =
        decryption_key(&api, |name| std::env::var(name).ok()).unwrap_or_else(|err| fail(err));
    let fleet = Fleet {
        replay_store,
        nonces,
        decryption_key,
        client_cert_header,
    };
    let router = app_in_fleet(api, issuer.clone(), jwks_uri, external_url, fleet)
        .unwrap_or_else(|err| fail(err));

    let (listener, base) = serve::listen(PROGRAM, 3000).await;
    println!("sample_api: protecting {identifier} on {base}");
    for note in fleet_notes.into_iter().flatten() {
        println!("sample_api: {note}");
    }
    if json_path.is_none() {
        let issuer = issuer
            .as_deref()
            .and_then(|issuers| issuers.split_whitespace().next())
            .unwrap_or(DEMO_ISSUER);
        let (Ok(reader), Ok(plain), Ok(mfa)) = (
            demo_token(issuer, "read:messages sample-scope"),
            demo_token(issuer, "sample-scope"),
            demo_mfa_token(issuer),
        ) else {
            fail("could not mint the demo tokens")
        };
        println!("Demo resource server (its secret is public: demo only). Paste into a shell:");
        println!("export TOKEN={plain}");
        println!("export READER_TOKEN={reader}");
        println!("export MFA_TOKEN={mfa}");
        println!("curl -i {base}/api/public                                               # 200");
        println!("curl -i {base}/api/private                                              # 401");
        println!(
            "curl -i -H \"Authorization: Bearer $TOKEN\" {base}/api/private                # 200"
        );
        println!(
            "curl -i -H \"Authorization: Bearer $TOKEN\" {base}/api/private-scoped         # 403"
        );
        println!(
            "curl -i -H \"Authorization: Bearer $READER_TOKEN\" {base}/api/private-scoped  # 200"
        );
        println!(
            "curl -i -H \"Authorization: Bearer $TOKEN\" {base}/api/private-mfa            # 401"
        );
        println!(
            "curl -i -H \"Authorization: Bearer $MFA_TOKEN\" {base}/api/private-mfa        # 200"
        );
    }
    serve::serve(PROGRAM, listener, router).await;
}
