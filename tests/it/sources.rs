//! Token sources besides `Authorization: Bearer`: a cookie (a browser app's session), a
//! custom header (a gateway's), a function of the request parts; RFC 6750's one-method rule
//! across all of them.

use crate::common::*;
use axum::body::Body;
use axum::{Router, routing::get};
use bearer_guard::answer::RequestErrorKind;
use bearer_guard::{BearerGuardLayer, Rejection, RejectionKind, ResourceServer, VerifiedToken};
use http::Request;
use http::request::Parts;
use serde_json::json;

async fn whoami(token: VerifiedToken) -> String {
    token.subject().unwrap_or_default().to_owned()
}

/// The token in `Sec-WebSocket-Protocol: access_token, <token>`, as browsers' WebSocket API
/// can send it.
fn websocket_protocol(parts: &Parts) -> Option<String> {
    let value = parts.headers.get("sec-websocket-protocol")?.to_str().ok()?;
    let token = value.strip_prefix("access_token,")?.trim();
    Some(token.to_owned())
}

fn app() -> Router {
    let api = ResourceServer::new(AUDIENCE, SECRET);
    let guard = BearerGuardLayer::builder(api)
        .token_cookie("__Host-access_token")
        .token_header("x-access-token")
        .token_from(websocket_protocol)
        .build()
        .unwrap();
    Router::new().route("/me", get(whoami)).layer(guard)
}

fn me_with(headers: &[(&str, String)]) -> Request<Body> {
    let mut builder = Request::get("/me");
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    builder.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn each_source_alone_lets_a_valid_token_in() {
    let token = token(&claims("", json!({})));
    for (case, headers) in [
        (
            "authorization",
            vec![("authorization", format!("Bearer {token}"))],
        ),
        (
            "cookie",
            vec![("cookie", format!("theme=dark; __Host-access_token={token}"))],
        ),
        ("custom header", vec![("x-access-token", token.clone())]),
        (
            "function",
            vec![("sec-websocket-protocol", format!("access_token, {token}"))],
        ),
        // A cookie cleared at sign-out is no token, so the header's is the only one.
        (
            "cleared cookie and header",
            vec![
                ("cookie", "__Host-access_token=".to_owned()),
                ("authorization", format!("Bearer {token}")),
            ],
        ),
    ] {
        let answer = send(&app(), me_with(&headers)).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "client-1@clients"),
            "{case}"
        );
    }
}

#[tokio::test]
async fn a_token_from_two_sources_is_400_invalid_request() {
    let token = token(&claims("", json!({})));
    let cookie = ("cookie", format!("__Host-access_token={token}"));
    let bearer = ("authorization", format!("Bearer {token}"));
    let header = ("x-access-token", token.clone());
    let websocket = ("sec-websocket-protocol", format!("access_token, {token}"));
    for (case, headers, kind) in [
        (
            "cookie and authorization",
            vec![cookie.clone(), bearer.clone()],
            RequestErrorKind::MultipleMethods,
        ),
        (
            "cookie and header",
            vec![cookie.clone(), header.clone()],
            RequestErrorKind::MultipleMethods,
        ),
        (
            "header and function",
            vec![header.clone(), websocket.clone()],
            RequestErrorKind::MultipleMethods,
        ),
        (
            "function and authorization",
            vec![websocket, bearer],
            RequestErrorKind::MultipleMethods,
        ),
        (
            "cookie twice",
            vec![(
                "cookie",
                format!("__Host-access_token={token}; __Host-access_token=x"),
            )],
            RequestErrorKind::RepeatedSource,
        ),
        (
            "header twice",
            vec![header.clone(), header],
            RequestErrorKind::RepeatedSource,
        ),
        (
            "function's token breaks the grammar",
            vec![("sec-websocket-protocol", "access_token, a b".to_owned())],
            RequestErrorKind::MalformedCredentials,
        ),
    ] {
        let answer = send(&app(), me_with(&headers)).await;
        assert_eq!(answer.status, 400, "{case}");
        assert!(
            answer
                .challenge
                .as_deref()
                .unwrap()
                .contains(r#"error="invalid_request""#),
            "{case}"
        );
        let rejection = answer.response.extensions().get::<Rejection>().unwrap();
        assert_eq!(
            rejection.kind(),
            RejectionKind::InvalidRequest(kind),
            "{case}"
        );
    }
}

#[tokio::test]
async fn an_invalid_token_from_a_cookie_is_401_and_no_token_at_all_is_the_challenge() {
    let expired = token(&claims("", json!({ "exp": now() - 3600 })));
    let answer = send(
        &app(),
        me_with(&[("cookie", format!("__Host-access_token={expired}"))]),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(invalid_token("The access token expired").as_str())
    );
    let answer = send(&app(), me_with(&[("cookie", "theme=dark".to_owned())])).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(format!(r#"Bearer realm="{REALM}""#).as_str())
    );
}

#[tokio::test]
async fn without_sources_a_cookie_or_custom_header_is_not_read() {
    let api = ResourceServer::new(AUDIENCE, SECRET);
    let guard = BearerGuardLayer::builder(api).build().unwrap();
    let app = Router::new().route("/me", get(whoami)).layer(guard);
    let token = token(&claims("", json!({})));
    for headers in [
        vec![("cookie", format!("__Host-access_token={token}"))],
        vec![("x-access-token", token.clone())],
    ] {
        assert_eq!(send(&app, me_with(&headers)).await.status, 401);
    }
}

#[tokio::test]
async fn with_sources_only_the_cookie_is_read_and_authorization_is_not() {
    let api = ResourceServer::new(AUDIENCE, SECRET);
    let guard = BearerGuardLayer::builder(api)
        .token_cookie("__Host-access_token")
        .token_sources_only()
        .build()
        .unwrap();
    let app = Router::new().route("/me", get(whoami)).layer(guard);
    let token = token(&claims("", json!({})));
    let cookie = ("cookie", format!("__Host-access_token={token}"));
    let bearer = ("authorization", format!("Bearer {token}"));
    let answer = send(&app, me_with(std::slice::from_ref(&cookie))).await;
    assert_eq!(answer.status, 200);
    // `Authorization` alone is no credentials at all here.
    let answer = send(&app, me_with(std::slice::from_ref(&bearer))).await;
    assert_eq!(
        (answer.status, answer.challenge.as_deref()),
        (401, Some(format!(r#"Bearer realm="{REALM}""#).as_str()))
    );
    // Both: `Authorization` is not read, so there is one method, not two.
    assert_eq!(send(&app, me_with(&[cookie, bearer])).await.status, 200);
}
