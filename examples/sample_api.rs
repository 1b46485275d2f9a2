//! Run with: cargo run --example sample_api
//!
//! A sample API protected by bearer-guard, on 127.0.0.1 (port from `PORT`, default 3000):
//!
//! - `GET /api/public`: no token needed;
//! - `GET /api/private`: any valid token; the answer includes the token's `sub`;
//! - `GET /api/private-scoped`: a valid token with the scope `read:messages`.
//!
//! Configuration: `RESOURCE_SERVER_JSON`, the path of a resource server as the Management API
//! returns it; `TOKEN_ISSUER`, the expected `iss` (optional for HS256). With no
//! `RESOURCE_SERVER_JSON` it runs on an embedded demo resource server and prints `curl` lines
//! with fresh demo tokens.
//!
//! An API signed with public keys (`signing_alg` RS256, RS512, PS256, ES256, EdDSA, …; no
//! `signing_secret`) needs `TOKEN_ISSUER`: its keys come from discovery at
//! `${TOKEN_ISSUER}.well-known/openid-configuration`, or from `JWKS_URI` when that is set
//! (`https`, or `http` to a loopback host). The API listens at once, even while the issuer is
//! unreachable: tokens are answered 503 until its keys load.
//!
//! With `TOKEN_ISSUER` set, it serves its RFC 9728 metadata at
//! `/.well-known/oauth-protected-resource` (plus the identifier's path). When the
//! registration's `proof_of_possession` asks for DPoP (RFC 9449), it takes DPoP-bound tokens
//! as it says, their proofs naming `EXTERNAL_URL` (default `http://127.0.0.1:$PORT`) and the
//! path; without it, the API is Bearer-only.

use std::time::Duration;

use axum::{Json, Router, routing::get};
use bearer_guard::dpop::DpopMode;
use bearer_guard::issuer::TokenIssuer;
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
    let publish_metadata = issuer.is_some()
        && (api.identifier().starts_with("https://") || api.identifier().starts_with("http://"));
    let takes_dpop = api.dpop_mode() != DpopMode::Disabled;
    let mut builder = BearerGuardLayer::builder(api);
    if let Some(issuer) = issuer {
        builder = builder.issuer(issuer);
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
    let guard = builder.build()?;
    let read_messages = guard.require_all(["read:messages"])?;
    let mut router = Router::new()
        .route("/api/private", get(private))
        .route(
            "/api/private-scoped",
            get(private_scoped).route_layer(read_messages),
        )
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

const PROGRAM: &str = "sample_api";

fn fail(message: impl std::fmt::Display) -> ! {
    serve::fail(PROGRAM, message)
}

#[tokio::main]
async fn main() {
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
    let router =
        app_at(api, issuer.clone(), jwks_uri, external_url).unwrap_or_else(|err| fail(err));

    let (listener, base) = serve::listen(PROGRAM, 3000).await;
    println!("sample_api: protecting {identifier} on {base}");
    if json_path.is_none() {
        let issuer = issuer.as_deref().unwrap_or(DEMO_ISSUER);
        let (Ok(reader), Ok(plain)) = (
            demo_token(issuer, "read:messages sample-scope"),
            demo_token(issuer, "sample-scope"),
        ) else {
            fail("could not mint the demo tokens")
        };
        println!("Demo resource server (its secret is public: demo only). Paste into a shell:");
        println!("export TOKEN={plain}");
        println!("export READER_TOKEN={reader}");
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
    }
    serve::serve(PROGRAM, listener, router).await;
}
