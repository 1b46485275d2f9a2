//! Run with: cargo run --example authorization_server
//!
//! A local authorization server, in memory, for running the whole OAuth flow on a laptop or
//! in CI: register an API, create a client, grant it scopes, get a token, rotate the signing
//! keys. It follows the Management API's documented behaviour, and its own management
//! endpoints are protected by bearer-guard.
//!
//! It serves on 127.0.0.1 (port from `PORT`, default 4000):
//!
//! - `POST|GET /api/v2/resource-servers`, `GET|PATCH|DELETE /api/v2/resource-servers/{id}`;
//! - `POST /api/v2/clients`;
//! - `POST|GET /api/v2/client-grants`, `DELETE /api/v2/client-grants/{id}`;
//! - `GET /api/v2/keys/signing`, `GET /api/v2/keys/signing/{kid}`,
//!   `POST /api/v2/keys/signing/rotate`, `PUT /api/v2/keys/signing/{kid}/revoke`;
//! - `POST /oauth/token`: the client-credentials grant, JSON or form body; HS256 APIs' tokens
//!   signed with their secret, RS256, RS512 and PS256 APIs' with the tenant's current RSA key;
//!   DPoP-bound (`token_type: "DPoP"`, `cnf.jkt`) when the API has a `proof_of_possession`
//!   and the request a `DPoP` proof (RFC 9449 §5); certificate-bound (`cnf["x5t#S256"]`, RFC
//!   8705 §3) when the API's `proof_of_possession` is `mtls` and the request has a client
//!   certificate in the header named by `CLIENT_CERT_HEADER` (RFC 9440 form, as a
//!   TLS-terminating proxy sets it; unset by default, and then no header is trusted);
//! - `GET /.well-known/openid-configuration` and `GET /.well-known/jwks.json`, public.
//!
//! The `/api/v2` endpoints need a bearer token for the audience `<base URL>/api/v2/` with the
//! endpoint's scope. At startup the server prints, on stdout, a token with all of them and
//! the issuer of every token it signs:
//!
//! ```text
//! MANAGEMENT_API_TOKEN=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...
//! ISSUER=http://127.0.0.1:4000/
//! ```
//!
//! With `CUSTOM_DOMAIN_PORT` set (unset by default), the tenant also answers as a second
//! issuer, as an Auth0 custom domain does: on that port it serves the discovery document of
//! the issuer `http://127.0.0.1:<CUSTOM_DOMAIN_PORT>/`, the tenant's JWK set (the same keys)
//! and a token endpoint whose tokens carry that `iss`; the Management API stays on `PORT`.
//! A third line then names it: `CUSTOM_DOMAIN_ISSUER=http://127.0.0.1:4001/`.

mod api_error;
mod discovery;
mod management;
mod random;
#[path = "../support/serve.rs"]
mod serve;
mod signing_keys;
mod tenant;
mod token_endpoint;

use std::error::Error;
use std::fmt;
use std::sync::{Arc, Mutex};

use axum::Router;
use bearer_guard::{BearerGuardLayer, ResourceServer};

use self::management::MANAGEMENT_SCOPES;
use self::tenant::Tenant;

/// The server's routes, with what to print at startup.
pub(crate) struct AuthorizationServer {
    pub(crate) router: Router,
    /// A token for the management API holding every one of its scopes.
    pub(crate) management_token: String,
    /// The `iss` of every token: the base URL with a trailing slash.
    pub(crate) issuer: String,
    /// The tenant's second issuer name, when it has one.
    pub(crate) custom_domain: Option<CustomDomain>,
}

/// The tenant answering as a second issuer (an Auth0 custom domain): discovery, the JWK set
/// and the token endpoint, on a listener of its own.
pub(crate) struct CustomDomain {
    pub(crate) router: Router,
    /// The `iss` of the tokens its token endpoint issues.
    pub(crate) issuer: String,
}

impl fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// The server for `base_url` (`http://host:port`, no trailing slash), with a fresh
/// management secret.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn app(base_url: &str) -> Result<AuthorizationServer, Box<dyn Error>> {
    app_with(base_url, None)
}

/// [`app`], its token endpoint reading client certificates from the header
/// `client_cert_header` (`CLIENT_CERT_HEADER`), for `mtls` APIs.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn app_with(
    base_url: &str,
    client_cert_header: Option<&str>,
) -> Result<AuthorizationServer, Box<dyn Error>> {
    app_with_custom_domain(base_url, client_cert_header, None)
}

/// [`app_with`], the tenant also answering as the issuer `{custom_domain}/` when
/// `custom_domain` (`http://host:port`, no trailing slash) is set.
pub(crate) fn app_with_custom_domain(
    base_url: &str,
    client_cert_header: Option<&str>,
    custom_domain: Option<&str>,
) -> Result<AuthorizationServer, Box<dyn Error>> {
    let client_cert_header = client_cert_header
        .map(|name| {
            axum::http::HeaderName::try_from(name)
                .map_err(|_| format!("CLIENT_CERT_HEADER {name:?} is not a valid header name"))
        })
        .transpose()?;
    let issuer = format!("{base_url}/");
    let audience = format!("{base_url}/api/v2/");
    let secret = random::signing_secret()?;
    let mut management_api = ResourceServer::new(audience.as_str(), secret.as_str());
    for scope in MANAGEMENT_SCOPES {
        management_api = management_api.with_scope(scope, "");
    }
    let guard = BearerGuardLayer::builder(management_api)
        .issuer(issuer.as_str())
        .build()?;
    let mut tenant = Tenant::new(issuer.clone())?;
    tenant.add_management_api(audience.clone(), secret, &MANAGEMENT_SCOPES)?;
    let management_token = tenant
        .token_issuer(&audience)?
        .client_token("local-admin")
        .scopes(MANAGEMENT_SCOPES)
        .sign()?;
    let tenant = Arc::new(Mutex::new(tenant));
    let custom_domain = custom_domain
        .map(|base_url| {
            let issuer = format!("{base_url}/");
            let router = token_endpoint::router(&issuer, client_cert_header.clone())?
                .merge(discovery::router_as(issuer.clone()))
                .with_state(Arc::clone(&tenant));
            Ok::<_, Box<dyn Error>>(CustomDomain { router, issuer })
        })
        .transpose()?;
    let router = management::router(guard)?
        .merge(token_endpoint::router(&issuer, client_cert_header)?)
        .merge(discovery::router())
        .with_state(tenant);
    Ok(AuthorizationServer {
        router,
        management_token,
        issuer,
        custom_domain,
    })
}

impl AuthorizationServer {
    /// What the server prints on stdout at startup: two `NAME=value` lines, ready for
    /// `export $(...)`, and a third, `CUSTOM_DOMAIN_ISSUER`, with a custom domain.
    pub(crate) fn startup_lines(&self) -> String {
        let mut lines = format!(
            "MANAGEMENT_API_TOKEN={}\nISSUER={}\n",
            self.management_token, self.issuer
        );
        if let Some(custom_domain) = &self.custom_domain {
            lines.push_str(&format!("CUSTOM_DOMAIN_ISSUER={}\n", custom_domain.issuer));
        }
        lines
    }
}

const PROGRAM: &str = "authorization_server";

#[tokio::main]
async fn main() {
    let (listener, base_url) = serve::listen(PROGRAM, 4000).await;
    let client_cert_header = std::env::var("CLIENT_CERT_HEADER").ok();
    let (custom_listener, custom_url) = custom_domain_listener().await.unzip();
    let server = app_with_custom_domain(
        &base_url,
        client_cert_header.as_deref(),
        custom_url.as_deref(),
    )
    .unwrap_or_else(|err| serve::fail(PROGRAM, err));
    eprintln!("{PROGRAM}: listening on {base_url}");
    print!("{}", server.startup_lines());
    let AuthorizationServer {
        router,
        custom_domain,
        ..
    } = server;
    let custom_domain = async move {
        if let (Some(listener), Some(domain)) = (custom_listener, custom_domain) {
            eprintln!("{PROGRAM}: answering as {} too", domain.issuer);
            serve::serve(PROGRAM, listener, domain.router).await;
        }
    };
    tokio::join!(serve::serve(PROGRAM, listener, router), custom_domain);
}

/// The listener of the custom domain, on 127.0.0.1 at the port in `CUSTOM_DOMAIN_PORT`, with
/// its base URL; none when the variable is unset.
async fn custom_domain_listener() -> Option<(tokio::net::TcpListener, String)> {
    let port = std::env::var("CUSTOM_DOMAIN_PORT").ok()?;
    let port: u16 = port.parse().unwrap_or_else(|_| {
        serve::fail(
            PROGRAM,
            format!("CUSTOM_DOMAIN_PORT={port:?} is not a port number"),
        )
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|err| {
            serve::fail(PROGRAM, format!("cannot listen on 127.0.0.1:{port}: {err}"))
        });
    Some((listener, format!("http://127.0.0.1:{port}")))
}
