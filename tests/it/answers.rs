//! Black-box tests: every row of the RFC 6750 answer table, through an axum `Router`.

use crate::common::*;
use axum::body::Body;
use axum::{Router, routing::get};
use bearer_guard::cache::TokenCacheSettings;
use bearer_guard::{
    BearerGuardLayer, Rejection, RejectionKind, ResourceServer, TokenErrorKind, VerifiedToken,
};
use http::Request;
use jsonwebtoken::Algorithm;
use serde_json::json;

fn resource_server() -> ResourceServer {
    ResourceServer::new(AUDIENCE, SECRET)
        .with_name("My Sample API")
        .with_scope("read:messages", "Read messages")
        .with_scope("write:messages", "Write messages")
}

async fn whoami(token: VerifiedToken) -> String {
    format!("sub={}", token.subject().unwrap_or("-"))
}

/// The app with the guard's verified-token cache on or off, and the guard.
fn app_with(cache: TokenCacheSettings) -> (Router, BearerGuardLayer) {
    let guard = BearerGuardLayer::builder(resource_server())
        .issuer(ISSUER)
        .token_cache(cache)
        .build()
        .unwrap();
    let read = guard.require_all(["read:messages"]).unwrap();
    let read_or_write = guard
        .require_any(["read:messages", "write:messages"])
        .unwrap();
    let read_and_write = guard
        .require_all(["read:messages", "write:messages"])
        .unwrap();
    let app = Router::new()
        .route("/private", get(whoami))
        .route("/scoped", get(whoami).route_layer(read))
        .route("/any", get(whoami).route_layer(read_or_write))
        .route("/both", get(whoami).route_layer(read_and_write))
        .layer(guard.clone())
        .route("/public", get(|| async { "public" }));
    (app, guard)
}

/// Sends the request `make` builds to the app without the token cache, and twice to one with
/// it (for a token the guard passes: a miss, then a hit). The three answers must agree in
/// status, challenge, body and typed reason, and the cache must have answered the second
/// time exactly when it kept the token. Returns the answer.
async fn ask(make: impl Fn() -> Request<Body>) -> Answer {
    let kind = |answer: &Answer| answer.kind();
    let uncached = send(&app_with(TokenCacheSettings::disabled()).0, make()).await;
    let (cached, guard) = app_with(TokenCacheSettings::default());
    for round in ["miss", "hit"] {
        let answer = send(&cached, make()).await;
        assert_eq!(
            (
                answer.status,
                &answer.challenge,
                &answer.body,
                kind(&answer)
            ),
            (
                uncached.status,
                &uncached.challenge,
                &uncached.body,
                kind(&uncached)
            ),
            "{round}"
        );
    }
    let status = guard.token_cache_status().unwrap();
    assert_eq!(status.hits, status.entries as u64, "{status:?}");
    uncached
}

const NO_ERROR: &str = r#"Bearer realm="https://my-api-urn""#;

#[tokio::test]
async fn valid_token_reaches_the_handler_with_its_claims() {
    let answer = ask(|| get_with_token("/private", &token(&claims("", json!({}))))).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, "sub=client-1@clients");
    assert_eq!(answer.challenge, None);
}

#[tokio::test]
async fn public_route_needs_no_token() {
    let answer = ask(|| request("/public", &[])).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "public"));
}

#[tokio::test]
async fn no_authorization_header_is_401_without_error() {
    let answer = ask(|| request("/private", &[])).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.challenge.as_deref(), Some(NO_ERROR));
}

#[tokio::test]
async fn another_scheme_is_401_without_error() {
    for value in ["Basic dXNlcjpwYXNz", "Digest username=x", "Bearerx abc"] {
        let answer = ask(|| request("/private", &[value])).await;
        assert_eq!(answer.status, 401, "{value}");
        assert_eq!(answer.challenge.as_deref(), Some(NO_ERROR), "{value}");
    }
}

#[tokio::test]
async fn scheme_is_case_insensitive() {
    let token = token(&claims("", json!({})));
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let answer = ask(|| request("/private", &[&format!("{scheme} {token}")])).await;
        assert_eq!(answer.status, 200, "{scheme}");
    }
}

#[tokio::test]
async fn bearer_without_token_or_bad_grammar_is_400_invalid_request() {
    let token = token(&claims("", json!({})));
    for (value, description) in [
        ("Bearer".to_owned(), "The bearer token is missing"),
        ("Bearer    ".to_owned(), "The bearer token is missing"),
        (
            "Bearer a b".to_owned(),
            "The bearer credentials are malformed",
        ),
        (
            format!("Bearer {token} {token}"),
            "The bearer credentials are malformed",
        ),
        (
            format!("Bearer\t{token}"),
            "The bearer credentials are malformed",
        ),
        (
            format!("Bearer \"{token}\""),
            "The bearer credentials are malformed",
        ),
    ] {
        let answer = ask(|| request("/private", &[&value])).await;
        assert_eq!(answer.status, 400, "{value}");
        assert_eq!(
            answer.challenge.as_deref(),
            Some(
                format!(
                    r#"Bearer realm="{REALM}", error="invalid_request", error_description="{description}""#
                )
                .as_str()
            ),
            "{value}"
        );
        assert_eq!(answer.json()["error"], "invalid_request");
    }
}

#[tokio::test]
async fn two_authorization_headers_are_400() {
    let value = format!("Bearer {}", token(&claims("", json!({}))));
    let answer = ask(|| request("/private", &[&value, &value])).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer
            .challenge
            .unwrap()
            .contains(r#"error="invalid_request""#)
    );
}

#[tokio::test]
async fn invalid_tokens_are_401_invalid_token() {
    let now = now();
    let cases = [
        (
            "wrong secret",
            token_with(b"another-secret-another-secret-123", &claims("", json!({}))),
            "The access token signature is invalid",
        ),
        (
            "expired",
            token(&claims("", json!({ "exp": now - 120 }))),
            "The access token expired",
        ),
        (
            "not yet valid",
            token(&claims("", json!({ "nbf": now + 600 }))),
            "The access token is not valid yet",
        ),
        (
            "no exp",
            token(&claims("", json!({ "exp": null }))),
            "The access token lacks a required claim",
        ),
        (
            "no aud",
            token(&claims("", json!({ "aud": null }))),
            "The access token lacks a required claim",
        ),
        (
            "wrong aud",
            token(&claims("", json!({ "aud": "https://other-api" }))),
            "The access token is not meant for this API",
        ),
        (
            "empty aud array",
            token(&claims("", json!({ "aud": [] }))),
            "The access token is not meant for this API",
        ),
        (
            "no iss",
            token(&claims("", json!({ "iss": null }))),
            "The access token lacks a required claim",
        ),
        (
            "wrong iss",
            token(&claims("", json!({ "iss": "https://tenant.example.com" }))),
            "The access token issuer is not trusted",
        ),
        (
            "alg none",
            raw_token(
                r#"{"alg":"none","typ":"JWT"}"#,
                &claims("", json!({})).to_string(),
                Algorithm::HS256,
            ),
            "The access token is not signed with the algorithm this API accepts",
        ),
        (
            "HS512 with the right secret",
            raw_token(
                r#"{"alg":"HS512"}"#,
                &claims("", json!({})).to_string(),
                Algorithm::HS512,
            ),
            "The access token is not signed with the algorithm this API accepts",
        ),
        (
            "RS256 header",
            raw_token(
                r#"{"alg":"RS256"}"#,
                &claims("", json!({})).to_string(),
                Algorithm::HS256,
            ),
            "The access token is not signed with the algorithm this API accepts",
        ),
        (
            "crit",
            raw_token(
                r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
                &claims("", json!({})).to_string(),
                Algorithm::HS256,
            ),
            "The access token requires an unsupported extension",
        ),
        (
            "two segments",
            "eyJhbGciOiJIUzI1NiJ9.e30".to_owned(),
            "The access token is malformed",
        ),
        (
            "not JSON",
            raw_token(r#"{"alg":"HS256"}"#, "hello", Algorithm::HS256),
            "The access token is malformed",
        ),
        (
            "exp as string",
            token(&claims("", json!({ "exp": (now + 60).to_string() }))),
            "The access token has an invalid claim",
        ),
        (
            "oversized",
            token(&claims("", json!({ "padding": "x".repeat(9000) }))),
            "The access token is too large",
        ),
    ];
    for (case, token, description) in cases {
        let answer = ask(|| get_with_token("/private", &token)).await;
        assert_eq!(answer.status, 401, "{case}");
        assert_eq!(
            answer.challenge.as_deref(),
            Some(invalid_token(description).as_str()),
            "{case}"
        );
        assert_eq!(answer.json()["error"], "invalid_token", "{case}");
    }
}

#[tokio::test]
async fn valid_token_without_the_scope_is_403_naming_it() {
    let token = token(&claims("openid read:messagesX READ:messages", json!({})));
    let answer = ask(|| get_with_token("/scoped", &token)).await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(
            r#"Bearer realm="https://my-api-urn", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read:messages""#
        )
    );
    assert_eq!(answer.json()["scope"], "read:messages");
}

#[tokio::test]
async fn token_with_the_scope_passes_the_scoped_route() {
    let token = token(&claims("openid read:messages", json!({})));
    assert_eq!(ask(|| get_with_token("/scoped", &token)).await.status, 200);
}

#[tokio::test]
async fn scopes_as_a_json_array_are_accepted() {
    let token = token(&claims("", json!({ "scope": ["read:messages"] })));
    assert_eq!(ask(|| get_with_token("/scoped", &token)).await.status, 200);
}

#[tokio::test]
async fn invalid_token_on_a_scoped_route_is_401_not_403() {
    let token = token(&claims("read:messages", json!({ "exp": now() - 3600 })));
    let answer = ask(|| get_with_token("/scoped", &token)).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(invalid_token("The access token expired").as_str())
    );
}

#[tokio::test]
async fn any_of_and_all_of_requirements() {
    let read = token(&claims("read:messages", json!({})));
    let write = token(&claims("write:messages", json!({})));
    let both = token(&claims("write:messages read:messages", json!({})));
    let none = token(&claims("openid", json!({})));
    for (uri, token, status) in [
        ("/any", &read, 200),
        ("/any", &write, 200),
        ("/any", &none, 403),
        ("/both", &both, 200),
        ("/both", &read, 403),
        ("/both", &write, 403),
    ] {
        let answer = ask(|| get_with_token(uri, token)).await;
        assert_eq!(answer.status, status, "{uri}");
    }
    let answer = ask(|| get_with_token("/both", &read)).await;
    assert!(
        answer
            .challenge
            .unwrap()
            .ends_with(r#"scope="read:messages write:messages""#)
    );
}

#[tokio::test]
async fn rejection_is_in_the_response_extensions() {
    let answer = ask(|| get_with_token("/private", "a.b.c")).await;
    let rejection = answer.response.extensions().get::<Rejection>().unwrap();
    assert_eq!(
        rejection.kind(),
        RejectionKind::InvalidToken(TokenErrorKind::Malformed)
    );
}

#[tokio::test]
async fn answers_never_echo_the_token_the_secret_or_claims() {
    let token = token(&claims(
        "",
        json!({ "aud": "https://other-api", "sub": "secret-subject" }),
    ));
    let answer = ask(|| get_with_token("/private", &token)).await;
    let everything = format!("{:?} {}", answer.response, answer.body);
    for leak in [
        token.as_str(),
        SECRET,
        "secret-subject",
        "https://other-api",
        &token[..20],
    ] {
        assert!(!everything.contains(leak), "{leak} leaked: {everything}");
    }
}

#[tokio::test]
async fn hostile_headers_never_cause_a_5xx() {
    let token = token(&claims("", json!({})));
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let hostile = [
        String::new(),
        "Bearer ".repeat(1000),
        format!("Bearer {}", "A".repeat(100_000)),
        format!("Bearer {}", ".".repeat(50)),
        format!("Bearer {}..", "e30"),
        format!(
            "Bearer {}",
            raw_token(r#"{"alg":"HS256"}"#, &nested, Algorithm::HS256)
        ),
        format!("Bearer {}", raw_token(&nested, "{}", Algorithm::HS256)),
        format!("Bearer {token}="),
        format!("Bearer {}", token.replace('.', "")),
    ];
    for value in hostile {
        let answer = ask(|| request("/scoped", &[&value])).await;
        assert!(
            matches!(answer.status, 400 | 401),
            "{}: {}",
            answer.status,
            &value[..value.len().min(40)]
        );
    }
    let hostile = || {
        Request::get("/scoped")
            .header(
                "authorization",
                http::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
            )
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(ask(hostile).await.status, 400);
}
