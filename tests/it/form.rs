//! Tokens in form-encoded bodies (RFC 6750 §2.2) through `FormTokenLayer`.

use crate::common::*;
use axum::body::Body;
use axum::{Router, routing::post};
use bearer_guard::{BearerGuardLayer, ResourceServer, VerifiedToken};
use http::Request;
use serde_json::json;

fn app() -> Router {
    let guard = BearerGuardLayer::builder(ResourceServer::new(AUDIENCE, SECRET))
        .build()
        .unwrap();
    Router::new()
        .route(
            "/messages",
            post(|token: VerifiedToken, body: String| async move {
                format!("{} posted {body}", token.subject().unwrap_or("-"))
            }),
        )
        .layer(guard.clone())
        .layer(guard.form_token_layer().max_body_len(1024))
}

fn form(method: &str, content_type: &str, body: String) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri("/messages")
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap()
}

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
async fn form_body_token_is_accepted_and_the_body_passed_on() {
    let token = token(&claims("", json!({})));
    let body = format!("text=hello+world&access_token={token}");
    let answer = send(&app(), form("POST", FORM, body.clone())).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, format!("client-1@clients posted {body}"));
    let with_charset = form(
        "POST",
        "Application/X-WWW-Form-Urlencoded; charset=utf-8",
        body,
    );
    assert_eq!(send(&app(), with_charset).await.status, 200);
}

#[tokio::test]
async fn get_bodies_are_never_read() {
    let token = token(&claims("", json!({})));
    let guard = BearerGuardLayer::builder(ResourceServer::new(AUDIENCE, SECRET))
        .build()
        .unwrap();
    let app = Router::new()
        .route("/messages", axum::routing::get(|| async { "read" }))
        .layer(guard.clone())
        .layer(guard.form_token_layer());
    let answer = send(&app, form("GET", FORM, format!("access_token={token}"))).await;
    assert_eq!(answer.status, 401);
}

#[tokio::test]
async fn form_token_is_checked_like_any_other() {
    let expired = token(&claims("", json!({ "exp": now() - 3600 })));
    let answer = send(
        &app(),
        form("POST", FORM, format!("access_token={expired}")),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(invalid_token("The access token expired").as_str())
    );
}

#[tokio::test]
async fn other_content_types_are_not_read() {
    let token = token(&claims("", json!({})));
    for content_type in [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/json",
    ] {
        let answer = send(
            &app(),
            form("POST", content_type, format!("access_token={token}")),
        )
        .await;
        assert_eq!(answer.status, 401, "{content_type}");
        assert_eq!(
            answer.challenge.as_deref(),
            Some(r#"Bearer realm="https://my-api-urn""#)
        );
    }
}

#[tokio::test]
async fn token_in_the_header_and_the_body_is_400() {
    let token = token(&claims("", json!({})));
    let body = format!("access_token={token}");
    let mut request = form("POST", FORM, body.clone());
    let headers = request.headers_mut();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    headers.insert("content-length", body.len().into());
    let answer = send(&app(), request).await;
    assert_eq!(answer.status, 400);
    assert!(answer.challenge.unwrap().contains("more than one method"));
}

#[tokio::test]
async fn bad_form_bodies_are_400_invalid_request() {
    let token = token(&claims("", json!({})));
    for (body, description) in [
        (
            format!("access_token={token}&access_token={token}"),
            "Only one access_token parameter is allowed",
        ),
        ("access_token=".to_owned(), "The bearer token is missing"),
        (
            "access_token=a%zz".to_owned(),
            "The bearer credentials are malformed",
        ),
        (
            format!("pad={}&access_token={token}", "x".repeat(2000)),
            "The form body is too large to read an access token from",
        ),
    ] {
        let answer = send(&app(), form("POST", FORM, body)).await;
        assert_eq!(answer.status, 400, "{description}");
        assert!(
            answer.challenge.unwrap().contains(description),
            "{description}"
        );
    }
}

#[tokio::test]
async fn large_bodies_with_a_header_token_pass_unread() {
    let token = token(&claims("", json!({})));
    let body = format!("data={}", "x".repeat(5000));
    let mut request = form("POST", FORM, body.clone());
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
        .headers_mut()
        .insert("content-length", body.len().into());
    let answer = send(&app(), request).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, format!("client-1@clients posted {body}"));
}

#[tokio::test]
async fn requests_without_a_form_token_fall_through_to_the_header() {
    let token = token(&claims("", json!({})));
    let mut request = form("POST", FORM, "text=hi".to_owned());
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let answer = send(&app(), request).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, "client-1@clients posted text=hi")
    );
}

/// The guard with the form layer at its default body limit.
fn default_limit_app() -> Router {
    let guard = BearerGuardLayer::builder(ResourceServer::new(AUDIENCE, SECRET))
        .build()
        .unwrap();
    Router::new()
        .route("/messages", post(|_: VerifiedToken| async { "ok" }))
        .layer(guard.clone())
        .layer(guard.form_token_layer())
}

#[tokio::test]
async fn the_default_limit_reads_bodies_up_to_64_kib() {
    let token = token(&claims("", json!({})));
    let suffix = format!("&access_token={token}");
    let body_of = |len: usize| format!("pad={}{suffix}", "x".repeat(len - 4 - suffix.len()));
    let at_limit = send(&default_limit_app(), form("POST", FORM, body_of(64 * 1024))).await;
    assert_eq!(at_limit.status, 200, "{:?}", at_limit.challenge);
    let over = send(
        &default_limit_app(),
        form("POST", FORM, body_of(64 * 1024 + 1)),
    )
    .await;
    assert_eq!(over.status, 400);
    assert!(over.challenge.unwrap().contains("too large"));
}

#[derive(Debug, Clone)]
struct Inner;

/// A service that is never ready.
#[derive(Debug, Clone)]
struct NeverReady;

impl tower::Service<Request<Body>> for NeverReady {
    type Response = http::Response<Body>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<http::Response<Body>, std::convert::Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Pending
    }

    fn call(&mut self, _: Request<Body>) -> Self::Future {
        std::future::ready(Ok(http::Response::new(Body::empty())))
    }
}

#[test]
fn the_form_layer_is_ready_only_when_its_service_is() {
    use tower::{Layer as _, Service as _};
    let guard = BearerGuardLayer::builder(ResourceServer::new(AUDIENCE, SECRET))
        .build()
        .unwrap();
    let mut service = guard.form_token_layer().layer(NeverReady);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(service.poll_ready(&mut cx).is_pending());
}

#[test]
fn form_futures_debug_say_whether_the_body_is_being_read() {
    use tower::{Layer as _, Service as _};
    let guard = BearerGuardLayer::builder(ResourceServer::new(AUDIENCE, SECRET))
        .build()
        .unwrap();
    let mut service = guard.form_token_layer().layer(NeverReady);
    let token = token(&claims("", json!({})));
    let reading = service.call(form("POST", FORM, format!("access_token={token}")));
    assert_eq!(format!("{reading:?}"), r#"FormTokenFuture("Reading")"#);
    let passing = service.call(form("GET", FORM, String::new()));
    assert_eq!(format!("{passing:?}"), r#"FormTokenFuture("Inner")"#);
}

#[test]
fn form_layer_and_service_debug_show_the_limit_and_never_the_secret() {
    use tower::Layer as _;
    let guard = BearerGuardLayer::builder(ResourceServer::new(AUDIENCE, SECRET))
        .build()
        .unwrap();
    let layer = guard.form_token_layer().max_body_len(2048);
    for printed in [format!("{layer:?}"), format!("{:?}", layer.layer(Inner))] {
        assert!(printed.contains("FormToken"), "{printed}");
        assert!(printed.contains("2048"), "{printed}");
        assert!(!printed.contains(SECRET), "{printed}");
    }
    assert!(format!("{:?}", layer.layer(Inner)).contains("Inner"));
}
