//! Black-box tests of the options: anonymous mode, extractors, query tokens, the rejection
//! hook, other scope claims, missing layers, and use outside axum.

use std::convert::Infallible;
use std::task::{Context, Poll};

use crate::common::*;
use axum::body::Body;
use axum::{Router, routing::get};
use bearer_guard::{BearerGuardLayer, Claims, Rejection, ResourceServer, VerifiedToken};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::json;
use tower::{Layer, Service, ServiceExt as _};

fn resource_server() -> ResourceServer {
    ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "Read messages")
}

async fn maybe(token: Option<VerifiedToken>) -> String {
    token.map_or_else(|| "anonymous".to_owned(), |t| format!("{:?}", t.subject()))
}

async fn must(token: VerifiedToken) -> &'static str {
    let _ = token;
    "token"
}

fn anonymous_app() -> Router {
    let guard = BearerGuardLayer::builder(resource_server())
        .allow_anonymous()
        .build()
        .unwrap();
    let read = guard.require_all(["read:messages"]).unwrap();
    Router::new()
        .route("/maybe", get(maybe))
        .route("/must", get(must))
        .route("/scoped", get(maybe).route_layer(read))
        .layer(guard)
}

#[tokio::test]
async fn anonymous_mode_lets_requests_without_credentials_through() {
    let answer = send(&anonymous_app(), request("/maybe", &[])).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "anonymous"));
}

#[tokio::test]
async fn anonymous_mode_still_rejects_invalid_tokens() {
    let expired = token(&claims("", json!({ "exp": now() - 3600 })));
    let answer = send(&anonymous_app(), get_with_token("/maybe", &expired)).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(invalid_token("The access token expired").as_str())
    );
    let answer = send(&anonymous_app(), request("/maybe", &["Bearer"])).await;
    assert_eq!(answer.status, 400);
}

#[tokio::test]
async fn anonymous_mode_passes_valid_tokens_to_option_extractor() {
    let answer = send(
        &anonymous_app(),
        get_with_token("/maybe", &token(&claims("", json!({})))),
    )
    .await;
    assert_eq!(answer.body, r#"Some("client-1@clients")"#);
}

#[tokio::test]
async fn required_extractor_and_scope_layer_answer_401_for_anonymous_requests() {
    for uri in ["/must", "/scoped"] {
        let answer = send(&anonymous_app(), request(uri, &[])).await;
        assert_eq!(answer.status, 401, "{uri}");
        assert_eq!(
            answer.challenge.as_deref(),
            Some(r#"Bearer realm="https://my-api-urn""#),
            "{uri}"
        );
    }
}

#[derive(Deserialize)]
struct MyClaims {
    sub: String,
    tenant: String,
}

async fn my_claims(Claims(claims): Claims<MyClaims>) -> String {
    format!("{} of {}", claims.sub, claims.tenant)
}

async fn my_optional_claims(claims: Option<Claims<MyClaims>>) -> String {
    claims.map_or_else(|| "none".to_owned(), |Claims(c)| c.tenant)
}

fn claims_app() -> Router {
    let guard = BearerGuardLayer::builder(resource_server())
        .allow_anonymous()
        .build()
        .unwrap();
    Router::new()
        .route("/claims", get(my_claims))
        .route("/optional", get(my_optional_claims))
        .layer(guard)
}

#[tokio::test]
async fn claims_extractor_deserializes_the_users_type() {
    let token = token(&claims("", json!({ "tenant": "acme" })));
    let answer = send(&claims_app(), get_with_token("/claims", &token)).await;
    assert_eq!(answer.body, "client-1@clients of acme");
    let answer = send(&claims_app(), get_with_token("/optional", &token)).await;
    assert_eq!(answer.body, "acme");
    let answer = send(&claims_app(), request("/optional", &[])).await;
    assert_eq!(answer.body, "none");
}

#[tokio::test]
async fn claims_that_do_not_fit_the_type_are_401_invalid_token() {
    let token = token(&claims("", json!({})));
    let answer = send(&claims_app(), get_with_token("/claims", &token)).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(invalid_token("The access token has an invalid claim").as_str())
    );
}

#[tokio::test]
async fn extractors_without_the_layer_are_500_naming_it() {
    let app = Router::new()
        .route("/must", get(must))
        .route("/maybe", get(maybe));
    for uri in ["/must", "/maybe"] {
        let answer = send(&app, request(uri, &[])).await;
        assert_eq!(answer.status, 500, "{uri}");
        assert!(answer.body.contains("BearerGuardLayer"), "{}", answer.body);
    }
}

#[tokio::test]
async fn scope_layer_without_the_guard_is_500_naming_it() {
    let guard = BearerGuardLayer::builder(resource_server())
        .build()
        .unwrap();
    let app = Router::new().route(
        "/scoped",
        get(|| async { "unreachable" }).route_layer(guard.require_all(["read:messages"]).unwrap()),
    );
    let answer = send(
        &app,
        get_with_token("/scoped", &token(&claims("read:messages", json!({})))),
    )
    .await;
    assert_eq!(answer.status, 500);
    assert!(answer.body.contains("BearerGuardLayer"), "{}", answer.body);
    assert_eq!(answer.challenge, None);
}

fn query_app() -> Router {
    let guard = BearerGuardLayer::builder(resource_server())
        .allow_query_token()
        .build()
        .unwrap();
    Router::new().route("/private", get(must)).layer(guard)
}

#[tokio::test]
async fn query_tokens_are_ignored_by_default() {
    let guard = BearerGuardLayer::builder(resource_server())
        .build()
        .unwrap();
    let app = Router::new().route("/private", get(must)).layer(guard);
    let token = token(&claims("", json!({})));
    let answer = send(
        &app,
        request(&format!("/private?access_token={token}"), &[]),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(r#"Bearer realm="https://my-api-urn""#)
    );
}

#[tokio::test]
async fn query_tokens_work_when_enabled() {
    let token = token(&claims("", json!({})));
    let answer = send(
        &query_app(),
        request(&format!("/private?x=1&access_token={token}"), &[]),
    )
    .await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn answers_to_query_tokens_are_cache_control_private() {
    let token = token(&claims("", json!({})));
    let by_query = send(
        &query_app(),
        request(&format!("/private?access_token={token}"), &[]),
    )
    .await;
    assert_eq!(by_query.response.headers()["cache-control"], "private");
    let by_header = send(&query_app(), get_with_token("/private", &token)).await;
    assert!(by_header.response.headers().get("cache-control").is_none());
}

#[tokio::test]
async fn rfc9068_profile_through_the_layer() {
    let guard = BearerGuardLayer::builder(resource_server())
        .rfc9068_profile()
        .build()
        .unwrap();
    let app = Router::new().route("/private", get(must)).layer(guard);
    let claims = claims("", json!({ "client_id": "client-1", "jti": "a1" }));
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some("at+jwt".to_owned());
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    let at_jwt = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    assert_eq!(
        send(&app, get_with_token("/private", &at_jwt)).await.status,
        200
    );
    let answer = send(&app, get_with_token("/private", &token(&claims))).await;
    assert_eq!(answer.status, 401);
    assert!(answer.challenge.unwrap().contains("at+jwt"));
}

#[tokio::test]
async fn token_by_header_and_query_is_400() {
    let token = token(&claims("", json!({})));
    let answer = send(
        &query_app(),
        get_with_token(&format!("/private?access_token={token}"), &token),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(answer.challenge.unwrap().contains("more than one method"));
}

#[tokio::test]
async fn permissions_claim_can_hold_the_scopes() {
    let guard = BearerGuardLayer::builder(resource_server())
        .scope_claim("permissions")
        .build()
        .unwrap();
    let read = guard.require_all(["read:messages"]).unwrap();
    let app = Router::new()
        .route("/scoped", get(must).route_layer(read))
        .layer(guard);
    let with = token(&claims("", json!({ "permissions": ["read:messages"] })));
    let only_scope = token(&claims("read:messages", json!({})));
    assert_eq!(
        send(&app, get_with_token("/scoped", &with)).await.status,
        200
    );
    assert_eq!(
        send(&app, get_with_token("/scoped", &only_scope))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn global_requirement_applies_to_every_route() {
    let guard = BearerGuardLayer::builder(resource_server())
        .require_scopes_for_every_request(bearer_guard::ScopeRequirement::all(["read:messages"]))
        .build()
        .unwrap();
    let app = Router::new().route("/a", get(must)).layer(guard);
    assert_eq!(
        send(
            &app,
            get_with_token("/a", &token(&claims("openid", json!({}))))
        )
        .await
        .status,
        403
    );
    assert_eq!(
        send(
            &app,
            get_with_token("/a", &token(&claims("read:messages", json!({}))))
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn rejection_hook_replaces_the_response_and_keeps_the_typed_error() {
    let guard = BearerGuardLayer::builder(resource_server())
        .on_rejection(|rejection: &Rejection| {
            let mut response = Response::new(Body::from(format!("custom:{}", rejection.reason())));
            *response.status_mut() = rejection.status();
            response
        })
        .build()
        .unwrap();
    let app = Router::new().route("/private", get(must)).layer(guard);
    let answer = send(
        &app,
        get_with_token("/private", &token(&claims("", json!({ "aud": "x:y" })))),
    )
    .await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (401, "custom:wrong_aud")
    );
    assert!(answer.response.extensions().get::<Rejection>().is_some());
}

/// A plain tower service with its own body types, and readiness it controls.
#[derive(Clone)]
struct Plain {
    ready: bool,
}

impl Service<Request<String>> for Plain {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if self.ready {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    fn call(&mut self, request: Request<String>) -> Self::Future {
        let sub = request
            .extensions()
            .get::<VerifiedToken>()
            .and_then(VerifiedToken::subject)
            .unwrap_or("-")
            .to_owned();
        std::future::ready(Ok(Response::new(Full::new(Bytes::from(sub)))))
    }
}

#[tokio::test]
async fn layer_works_with_any_body_type_outside_axum() {
    let guard = BearerGuardLayer::builder(resource_server())
        .build()
        .unwrap();
    let service = guard.layer(Plain { ready: true });
    let token = token(&claims("", json!({})));
    let ok = Request::get("/")
        .header("authorization", format!("Bearer {token}"))
        .body(String::new())
        .unwrap();
    let response = service.clone().oneshot(ok).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&body[..], b"client-1@clients");

    let rejected = service
        .oneshot(Request::get("/").body(String::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn poll_ready_forwards_to_the_inner_service() {
    let guard = BearerGuardLayer::builder(resource_server())
        .build()
        .unwrap();
    let mut cx = Context::from_waker(std::task::Waker::noop());
    assert!(
        guard
            .layer(Plain { ready: false })
            .poll_ready(&mut cx)
            .is_pending()
    );
    assert!(
        guard
            .layer(Plain { ready: true })
            .poll_ready(&mut cx)
            .is_ready()
    );
    let scoped = guard.require_all(["read:messages"]).unwrap();
    assert!(
        scoped
            .layer(Plain { ready: false })
            .poll_ready(&mut cx)
            .is_pending()
    );
}

#[tokio::test]
async fn anonymous_mode_with_a_layer_wide_requirement_still_needs_a_token() {
    let guard = BearerGuardLayer::builder(resource_server())
        .allow_anonymous()
        .require_scopes_for_every_request(bearer_guard::ScopeRequirement::all(["read:messages"]))
        .build()
        .unwrap();
    let app = Router::new().route("/a", get(maybe)).layer(guard);
    let answer = send(&app, request("/a", &[])).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(r#"Bearer realm="https://my-api-urn""#)
    );
    let reader = token(&claims("read:messages", json!({})));
    assert_eq!(send(&app, get_with_token("/a", &reader)).await.status, 200);
}

#[tokio::test]
async fn scope_layer_refuses_tokens_verified_by_another_guard() {
    let other_api = ResourceServer::new("https://other-api", "another-secret-another-secret-12")
        .with_scope("read:messages", "Read");
    let other = BearerGuardLayer::builder(other_api).build().unwrap();
    let guard = BearerGuardLayer::builder(resource_server())
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/scoped",
            get(must).route_layer(other.require_all(["read:messages"]).unwrap()),
        )
        .layer(guard.clone());
    let reader = token(&claims("read:messages", json!({})));
    let answer = send(&app, get_with_token("/scoped", &reader)).await;
    assert_eq!(answer.status, 500);
    // Not "no layer installed": the message says the scope layer belongs to another guard.
    assert!(
        answer.body.contains("made from another BearerGuardLayer"),
        "{}",
        answer.body
    );
    let rejection = answer.response.extensions().get::<Rejection>().unwrap();
    assert_eq!(rejection.kind(), bearer_guard::RejectionKind::OtherGuard);
    assert_eq!(rejection.reason(), "other_guard");

    let same_guard = Router::new()
        .route(
            "/scoped",
            get(must).route_layer(guard.require_all(["read:messages"]).unwrap()),
        )
        .layer(guard);
    assert_eq!(
        send(&same_guard, get_with_token("/scoped", &reader))
            .await
            .status,
        200
    );
}

/// A service that is only there to be wrapped and printed.
#[derive(Debug, Clone)]
struct Inner;

#[test]
fn layers_and_services_debug_name_their_settings_and_hide_the_secret() {
    let guard = BearerGuardLayer::builder(resource_server())
        .previous_secret("previous secret, 32 bytes or more")
        .build()
        .unwrap();
    let read = guard.require_all(["read:messages"]).unwrap();
    let printed = [
        format!("{guard:?}"),
        format!("{:?}", guard.layer(Inner)),
        format!("{read:?}"),
        format!("{:?}", read.layer(Inner)),
    ];
    for (printed, names) in printed.iter().zip([
        &["BearerGuardLayer", "realm", AUDIENCE, "allow_anonymous"][..],
        &["BearerGuard", "Inner"][..],
        &["RequireScopesLayer", "read:messages"][..],
        &["RequireScopes", "Inner", "read:messages"][..],
    ]) {
        for name in names {
            assert!(printed.contains(name), "{printed} lacks {name}");
        }
        for secret in [SECRET, "previous secret"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}

#[tokio::test]
async fn response_futures_debug_say_whether_the_request_was_rejected() {
    let guard = BearerGuardLayer::builder(resource_server())
        .build()
        .unwrap();
    let mut service = guard.layer(tower::service_fn(|_: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::empty()))
    }));
    let valid = token(&claims("read:messages", json!({})));
    service.ready().await.unwrap();
    let passed = service.call(get_with_token("/", &valid));
    assert_eq!(format!("{passed:?}"), r#"ResponseFuture("Inner")"#);
    service.ready().await.unwrap();
    let rejected = service.call(request("/", &[]));
    assert_eq!(format!("{rejected:?}"), r#"ResponseFuture("Rejected")"#);
}
