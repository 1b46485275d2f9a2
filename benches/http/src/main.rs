//! Peer servers for the HTTP benchmark: `/api/private` behind the same HS256 check as the
//! sample API (signature, `aud`, `iss`, `exp`), answering the same JSON.
//!
//! Usage: `bearer-guard-http-peers jsonwebtoken PORT`, `… jwt-authorizer PORT`, or `… mint`
//! (prints a token the sample API and both peers accept).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::{Value, json};

/// The sample API's demo resource server: its identifier, secret and demo issuer.
const AUDIENCE: &str = "https://my-api-urn";
const SECRET: &str = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";
const ISSUER: &str = "https://demo.bearer-guard.invalid/";
const MESSAGE: &str = "Hello from a private endpoint! You need to be authenticated to see this.";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = || -> u16 {
        args.get(1)
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| usage())
    };
    match args.first().map(String::as_str) {
        Some("mint") => println!("{}", mint()),
        Some("jsonwebtoken") => serve(jsonwebtoken_peer::run(port())),
        Some("jwt-authorizer") => serve(jwt_authorizer_peer::run(port())),
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("usage: bearer-guard-http-peers (jsonwebtoken PORT | jwt-authorizer PORT | mint)");
    std::process::exit(2)
}

/// Like the sample API: tokio's multi-threaded runtime, one worker per core.
fn serve(server: impl Future<Output = std::io::Result<()>>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(err) = runtime.block_on(server) {
        eprintln!("bearer-guard-http-peers: {err}");
        std::process::exit(1);
    }
}

/// A client-credentials token as the sample API's demo tokens: valid for an hour.
fn mint() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let claims = json!({
        "iss": ISSUER,
        "sub": "demo-client@clients",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "azp": "demo-client",
        "gty": "client-credentials",
        "scope": "read:messages sample-scope",
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("minting a token")
}

/// The answer of the sample API's `/api/private`.
fn private_answer(sub: Option<&str>) -> Value {
    json!({ "message": MESSAGE, "sub": sub })
}

/// What a hand-written middleware decodes: the claims the handler needs.
#[derive(Clone, Deserialize)]
struct Claims {
    sub: Option<String>,
}

/// `axum::middleware::from_fn` around `jsonwebtoken::decode`, as in most axum examples.
mod jsonwebtoken_peer {
    use super::*;

    use axum::extract::{Request, State};
    use axum::http::{StatusCode, header::AUTHORIZATION};
    use axum::middleware::{Next, from_fn_with_state};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use axum::{Extension, Json, Router};

    struct Keys {
        key: DecodingKey,
        validation: Validation,
    }

    async fn authenticate(
        State(keys): State<Arc<Keys>>,
        mut request: Request,
        next: Next,
    ) -> Response {
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

    pub(crate) async fn run(port: u16) -> std::io::Result<()> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "aud", "iss"]);
        let keys = Arc::new(Keys {
            key: DecodingKey::from_secret(SECRET.as_bytes()),
            validation,
        });
        let app = Router::new()
            .route("/api/private", get(private))
            .layer(from_fn_with_state(keys, authenticate));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        axum::serve(listener, app).await
    }
}

/// jwt-authorizer's layer from the same secret, checking `aud`, `iss` and `exp` (and, by
/// default for a secret, accepting only the HMAC algorithms).
mod jwt_authorizer_peer {
    use super::*;

    use axum07::routing::get;
    use axum07::{Json, Router};
    use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, JwtClaims};

    async fn private(JwtClaims(claims): JwtClaims<Claims>) -> Json<Value> {
        Json(private_answer(claims.sub.as_deref()))
    }

    pub(crate) async fn run(port: u16) -> std::io::Result<()> {
        let validation = jwt_authorizer::Validation::new()
            .aud(&[AUDIENCE])
            .iss(&[ISSUER]);
        let authorizer: Authorizer<Claims> = JwtAuthorizer::from_secret(SECRET)
            .validation(validation)
            .build()
            .await
            .map_err(std::io::Error::other)?;
        let app = Router::new()
            .route("/api/private", get(private))
            .layer(authorizer.into_layer());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        axum07::serve(listener, app).await
    }
}
