//! `axum::middleware::from_fn` around `jsonwebtoken::decode`, as in most axum examples: one
//! key given at startup, no `kid` lookup.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header::AUTHORIZATION};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::{AUDIENCE, Claims, ISSUER, SECRET, private_answer, rsa_components};

/// The key and the checks: signature, `exp`, `aud`, `iss`.
pub(crate) struct Keys {
    key: DecodingKey,
    validation: Validation,
}

impl Keys {
    /// The demo secret, HS256, the demo issuer.
    pub(crate) fn hs256() -> Self {
        Self {
            key: DecodingKey::from_secret(SECRET.as_bytes()),
            validation: validation(Algorithm::HS256, ISSUER),
        }
    }

    /// The fixture RSA key from its JWK's `n` and `e`, RS256, tokens from `issuer`.
    pub(crate) fn rs256(issuer: &str) -> Self {
        let (n, e) = rsa_components();
        Self {
            key: DecodingKey::from_rsa_components(&n, &e).expect("the fixture RSA key"),
            validation: validation(Algorithm::RS256, issuer),
        }
    }
}

fn validation(alg: Algorithm, issuer: &str) -> Validation {
    let mut validation = Validation::new(alg);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "aud", "iss"]);
    validation
}

async fn authenticate(State(keys): State<Arc<Keys>>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let Some(token) = token else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match jsonwebtoken::decode::<Claims>(token, &keys.key, &keys.validation) {
        Ok(data) => {
            request.extensions_mut().insert(data.claims);
            next.run(request).await
        }
        Err(_) => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn private(Extension(claims): Extension<Claims>) -> Json<Value> {
    Json(private_answer(claims.sub.as_deref()))
}

pub(crate) async fn run(port: u16, keys: Keys) -> std::io::Result<()> {
    let app = Router::new()
        .route("/api/private", get(private))
        .layer(from_fn_with_state(Arc::new(keys), authenticate));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await
}
