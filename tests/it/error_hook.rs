//! One rejection hook for every path: the guard's own answers, its scope layers' and those of
//! the extractors behind it, in an app that has strict and optional routes side by side.

use crate::common::*;
use axum::body::Body;
use axum::{Router, routing::get};
use bearer_guard::{
    BearerGuardLayer, Claims, OnRejection, Rejection, RejectionKind, ResourceServer, VerifiedToken,
};
use http::Response;
use serde::Deserialize;
use serde_json::json;

/// The app's own error shape: `{"problem": "<reason>"}` as `application/problem+json`.
fn problem(rejection: &Rejection) -> Response<Body> {
    let mut response = Response::new(Body::from(format!(
        r#"{{"problem":"{}"}}"#,
        rejection.reason()
    )));
    *response.status_mut() = rejection.status();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/problem+json"),
    );
    if let Some(challenge) = rejection.www_authenticate() {
        response
            .headers_mut()
            .insert(http::header::WWW_AUTHENTICATE, challenge);
    }
    response
}

#[derive(Deserialize)]
struct Tenant {
    #[allow(dead_code)]
    tenant: String,
}

async fn strict(token: VerifiedToken) -> String {
    token.subject().unwrap_or_default().to_owned()
}

async fn optional(token: Option<VerifiedToken>) -> &'static str {
    if token.is_some() {
        "signed in"
    } else {
        "anonymous"
    }
}

async fn tenant(_: Claims<Tenant>) -> &'static str {
    "tenant"
}

async fn maybe_tenant(claims: Option<Claims<Tenant>>) -> &'static str {
    if claims.is_some() {
        "tenant"
    } else {
        "no tenant"
    }
}

fn routes<R: OnRejection<Body> + Send + Sync + 'static>(guard: &BearerGuardLayer<R>) -> Router {
    Router::new()
        .route("/strict", get(strict))
        .route("/optional", get(optional))
        .route("/tenant", get(tenant))
        .route("/maybe-tenant", get(maybe_tenant))
        .route(
            "/scoped",
            get(strict).route_layer(guard.require_all(["read:messages"]).unwrap()),
        )
}

/// Strict and optional routes in one app: one guard in anonymous mode, and the handler's
/// extractor says which routes need a token.
fn app(custom: bool) -> Router {
    let api = ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "Read");
    let builder = BearerGuardLayer::builder(api).allow_anonymous();
    if custom {
        let guard = builder.on_rejection(problem).build().unwrap();
        routes(&guard).layer(guard)
    } else {
        let guard = builder.build().unwrap();
        routes(&guard).layer(guard)
    }
}

#[tokio::test]
async fn the_hook_shapes_the_answers_of_the_guard_the_scope_layers_and_the_extractors() {
    let plain = token(&claims("", json!({})));
    let wrong_aud = token(&claims("", json!({ "aud": "https://other-api" })));
    let cases = [
        (
            "guard",
            get_with_token("/optional", &wrong_aud),
            401,
            "wrong_aud",
        ),
        (
            "scope layer, token",
            get_with_token("/scoped", &plain),
            403,
            "insufficient_scope",
        ),
        (
            "scope layer, anonymous",
            request("/scoped", &[]),
            401,
            "missing_credentials",
        ),
        (
            "VerifiedToken, anonymous",
            request("/strict", &[]),
            401,
            "missing_credentials",
        ),
        (
            "Claims<T>, anonymous",
            request("/tenant", &[]),
            401,
            "missing_credentials",
        ),
        (
            "Claims<T> that does not fit",
            get_with_token("/tenant", &plain),
            401,
            "invalid_claim",
        ),
        (
            "Option<Claims<T>> that does not fit",
            get_with_token("/maybe-tenant", &plain),
            401,
            "invalid_claim",
        ),
    ];
    for (case, request, status, reason) in cases {
        let (parts, body) = request.into_parts();
        let again = http::Request::from_parts(parts.clone(), Body::empty());
        drop(body);

        let answer = send(&app(true), http::Request::from_parts(parts, Body::empty())).await;
        assert_eq!(answer.status, status, "{case}");
        assert_eq!(
            answer.body,
            format!(r#"{{"problem":"{reason}"}}"#),
            "{case}"
        );
        assert_eq!(
            answer.response.headers()[http::header::CONTENT_TYPE],
            "application/problem+json",
            "{case}"
        );
        assert!(
            answer.challenge.is_some(),
            "{case}: the hook kept the challenge"
        );
        let rejection = answer.response.extensions().get::<Rejection>().unwrap();
        assert_eq!(rejection.reason(), reason, "{case}");

        // Without a hook of the app's, the same paths give the default RFC 6750 JSON.
        let answer = send(&app(false), again).await;
        assert_eq!(answer.status, status, "{case}");
        assert_eq!(
            answer.json()["error_description"],
            rejection.description(),
            "{case}"
        );
    }
}

#[tokio::test]
async fn optional_routes_pass_without_a_token_and_strict_ones_do_not() {
    let app = app(true);
    let with_tenant = token(&claims("read:messages", json!({ "tenant": "acme" })));
    for (uri, anonymous, signed_in) in [
        ("/optional", (200, "anonymous"), (200, "signed in")),
        ("/maybe-tenant", (200, "no tenant"), (200, "tenant")),
        (
            "/strict",
            (401, r#"{"problem":"missing_credentials"}"#),
            (200, "client-1@clients"),
        ),
        (
            "/scoped",
            (401, r#"{"problem":"missing_credentials"}"#),
            (200, "client-1@clients"),
        ),
    ] {
        let answer = send(&app, request(uri, &[])).await;
        assert_eq!((answer.status, answer.body.as_str()), anonymous, "{uri}");
        let answer = send(&app, get_with_token(uri, &with_tenant)).await;
        assert_eq!((answer.status, answer.body.as_str()), signed_in, "{uri}");
    }
}

#[tokio::test]
async fn an_extractor_without_any_guard_still_answers_500_by_default() {
    // No guard ran, so there is no hook to use: the default answer names the layer to add.
    let app = Router::new().route("/strict", get(strict));
    let answer = send(&app, request("/strict", &[])).await;
    assert_eq!(answer.status, 500);
    assert!(answer.body.contains("BearerGuardLayer"), "{}", answer.body);
    let rejection = answer.response.extensions().get::<Rejection>().unwrap();
    assert_eq!(rejection.kind(), RejectionKind::MissingLayer);
}
