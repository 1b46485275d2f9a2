//! jwt-authorizer's layer, checking `aud`, `iss` and `exp` (`exp` by default), on axum 0.7,
//! which jwt-authorizer 0.15 is built for.

use axum07::routing::get;
use axum07::{Json, Router};
use jwt_authorizer::{Authorizer, AuthorizerBuilder, IntoLayer, JwtAuthorizer, JwtClaims};
use serde_json::Value;

use crate::{AUDIENCE, Claims, ISSUER, SECRET, private_answer};

/// From the demo secret, for the demo issuer (for a secret it accepts only the HMAC
/// algorithms).
pub(crate) fn hs256() -> AuthorizerBuilder<Claims> {
    JwtAuthorizer::from_secret(SECRET).validation(
        jwt_authorizer::Validation::new()
            .aud(&[AUDIENCE])
            .iss(&[ISSUER]),
    )
}

/// From `issuer`'s JWK set over loopback http (reqwest needs no TLS feature for it), fetched
/// on the first token and kept: its default refresh fetches again only for an unknown `kid`.
/// The key's `alg` RS256 is the only algorithm it accepts.
pub(crate) fn rs256(issuer: &str) -> AuthorizerBuilder<Claims> {
    let jwks_url = format!("{issuer}.well-known/jwks.json");
    JwtAuthorizer::from_jwks_url(&jwks_url).validation(
        jwt_authorizer::Validation::new()
            .aud(&[AUDIENCE])
            .iss(&[issuer]),
    )
}

async fn private(JwtClaims(claims): JwtClaims<Claims>) -> Json<Value> {
    Json(private_answer(claims.sub.as_deref()))
}

pub(crate) async fn run(port: u16, builder: AuthorizerBuilder<Claims>) -> std::io::Result<()> {
    let authorizer: Authorizer<Claims> = builder.build().await.map_err(std::io::Error::other)?;
    let app = Router::new()
        .route("/api/private", get(private))
        .layer(authorizer.into_layer());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum07::serve(listener, app).await
}
