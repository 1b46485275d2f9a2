//! The public documents a verifier reads: OpenID Connect discovery and the JWK set, at the
//! issuer's well-known places (Auth0's layout).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use super::management::{SharedTenant, lock};
use super::tenant::SIGNING_ALGS;
use super::token_endpoint::dpop_settings;

/// How long verifiers may keep either document: a minute, so a revoked key stops verifying
/// within about a minute (bearer-guard's key cache honours `max-age`, 1 minute at least by
/// default).
pub(crate) const CACHE_CONTROL_VALUE: &str = "public, max-age=60";

pub(crate) fn router() -> Router<SharedTenant> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/.well-known/jwks.json", get(jwks))
}

fn cacheable(body: Value) -> impl IntoResponse {
    (
        [(CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL_VALUE))],
        Json(body),
    )
}

/// The same documents for the tenant's custom domain: its discovery names `issuer` (and the
/// token endpoint and JWK set under it); its JWK set is the tenant's, as on Auth0.
pub(crate) fn router_as(issuer: String) -> Router<SharedTenant> {
    let issuer = std::sync::Arc::<str>::from(issuer);
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || {
                let issuer = std::sync::Arc::clone(&issuer);
                async move { configuration(&issuer) }
            }),
        )
        .route("/.well-known/jwks.json", get(jwks))
}

async fn openid_configuration(State(tenant): State<SharedTenant>) -> impl IntoResponse {
    let issuer = lock(&tenant).issuer().to_owned();
    configuration(&issuer)
}

fn configuration(issuer: &str) -> impl IntoResponse + use<> {
    cacheable(json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}oauth/token"),
        "jwks_uri": format!("{issuer}.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        // Auth0 lists the algorithms it signs with here; this server signs access tokens only.
        "id_token_signing_alg_values_supported": SIGNING_ALGS,
        // RFC 9449 §5.1: the algorithms the token endpoint accepts DPoP proofs signed with.
        "dpop_signing_alg_values_supported": dpop_settings()
            .accepted_algorithms()
            .map(|alg| alg.name())
            .collect::<Vec<_>>(),
    }))
}

async fn jwks(State(tenant): State<SharedTenant>) -> impl IntoResponse {
    cacheable(lock(&tenant).keys().jwks())
}
