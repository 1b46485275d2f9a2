//! A static issuer on loopback: the discovery document and the JWK set that the sample API and
//! the RS256 peers fetch their key from. Nothing is signed here (`mint-rs256` signs).

use axum::http::header::CACHE_CONTROL;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::rsa_jwk;

/// Serves `http://127.0.0.1:PORT/`, whose issuer identifier is that URL, trailing slash
/// included, as Auth0 writes it.
pub(crate) async fn run(port: u16) -> std::io::Result<()> {
    let base = format!("http://127.0.0.1:{port}");
    let discovery = json!({
        "issuer": format!("{base}/"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
    });
    let jwks = json!({ "keys": [rsa_jwk()] });
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(|| async move { Json(discovery) }),
        )
        .route(
            "/.well-known/jwks.json",
            get(|| async move { ([(CACHE_CONTROL, "max-age=600")], Json(jwks)) }),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await
}
