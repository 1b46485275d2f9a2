//! Helpers shared by the black-box tests: tokens minted with jsonwebtoken, never with the
//! code under test, and a way to send one request through a service.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use http::{Request, Response};
use http_body_util::BodyExt as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tower::ServiceExt as _;

// The one signer shared with the unit tests, the benches, the fuzz targets and the soak tool,
// which include it by its path.
mod demo;
pub(crate) mod keys;
#[cfg(feature = "redis")]
pub(crate) mod redis;

pub(crate) use demo::{AUDIENCE, SECRET};
pub(crate) const ISSUER: &str = "https://tenant.example.com/";
pub(crate) const REALM: &str = "https://my-api-urn";

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Claims valid for an hour, with `scope` and any `extra` members merged in (a `null` in
/// `extra` removes the member).
pub(crate) fn claims(scope: &str, extra: Value) -> Value {
    let now = now();
    let mut claims = json!({
        "iss": ISSUER,
        "sub": "client-1@clients",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "azp": "client-1",
        "scope": scope,
    });
    merge(&mut claims, &extra);
    claims
}

/// `extra`'s members merged into the object `claims`; a `null` removes the member.
pub(crate) fn merge(claims: &mut Value, extra: &Value) {
    let map = claims.as_object_mut().unwrap();
    for (name, value) in extra.as_object().unwrap() {
        if value.is_null() {
            map.remove(name);
        } else {
            map.insert(name.clone(), value.clone());
        }
    }
}

/// An HS256 token over `claims`, signed with `secret` by jsonwebtoken.
pub(crate) fn token_with(secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// An HS256 token over `claims`, signed with [`SECRET`].
pub(crate) fn token(claims: &Value) -> String {
    token_with(SECRET.as_bytes(), claims)
}

/// A token with exactly these header and payload bytes, HMAC-signed with [`SECRET`] using
/// `alg` (whatever the header claims).
pub(crate) fn raw_token(header: &str, payload: &str, alg: Algorithm) -> String {
    demo::sign(
        alg,
        SECRET.as_bytes(),
        header.as_bytes(),
        payload.as_bytes(),
    )
}

/// What came back from one request.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) challenge: Option<String>,
    pub(crate) body: String,
    pub(crate) response: Response<()>,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// The typed reason of a rejection, which the layers leave in the response extensions.
    pub(crate) fn kind(&self) -> Option<bearer_guard::RejectionKind> {
        self.response
            .extensions()
            .get::<bearer_guard::Rejection>()
            .map(bearer_guard::Rejection::kind)
    }
}

/// The status of a `GET uri` with `token`, and the typed reason of its rejection, if any.
pub(crate) async fn status_and_reason<S>(
    uri: &str,
    app: &S,
    token: &str,
) -> (u16, Option<bearer_guard::RejectionKind>)
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = std::convert::Infallible>
        + Clone,
{
    let answer = send(app, get_with_token(uri, token)).await;
    let kind = answer.kind();
    (answer.status, kind)
}

/// Sends `request` through a fresh clone of `app`.
pub(crate) async fn send<S>(app: &S, request: Request<Body>) -> Answer
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = std::convert::Infallible>
        + Clone,
{
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status.as_u16(),
        challenge: parts
            .headers
            .get(http::header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned()),
        body: String::from_utf8(bytes.to_vec()).unwrap(),
        response: Response::from_parts(parts, ()),
    }
}

/// `GET uri` with these `Authorization` header values.
pub(crate) fn request(uri: &str, authorization: &[&str]) -> Request<Body> {
    let mut builder = Request::get(uri);
    for value in authorization {
        builder = builder.header(http::header::AUTHORIZATION, *value);
    }
    builder.body(Body::empty()).unwrap()
}

/// `GET uri` with `Authorization: Bearer <token>`.
pub(crate) fn get_with_token(uri: &str, token: &str) -> Request<Body> {
    request(uri, &[&format!("Bearer {token}")])
}

/// The challenge for an `invalid_token` answer with this description.
pub(crate) fn invalid_token(description: &str) -> String {
    format!(r#"Bearer realm="{REALM}", error="invalid_token", error_description="{description}""#)
}
