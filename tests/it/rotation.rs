//! Black-box tests: secret rotation, by previous secrets and by `kid`.

use crate::common::*;
use axum::{Router, routing::get};
use bearer_guard::{BearerGuardLayer, ResourceServer};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const NEW: &str = "the new secret, rotated in today!";
const OLD: &str = SECRET;
const STRANGER: &str = "a secret this API has never seen!";

fn app(
    configure: impl FnOnce(bearer_guard::BearerGuardBuilder) -> bearer_guard::BearerGuardBuilder,
) -> Router {
    let guard = configure(BearerGuardLayer::builder(ResourceServer::new(
        AUDIENCE, NEW,
    )))
    .build()
    .unwrap();
    Router::new()
        .route("/private", get(|| async { "ok" }))
        .layer(guard)
}

fn signed(secret: &str, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn answer(app: &Router, token: &str) -> (u16, Option<String>) {
    let answer = send(app, get_with_token("/private", token)).await;
    (answer.status, answer.challenge)
}

#[tokio::test]
async fn tokens_signed_with_the_previous_secret_stay_valid() {
    let app = app(|builder| builder.previous_secret(OLD));
    let claims = claims("", json!({}));
    assert_eq!(answer(&app, &signed(NEW, None, &claims)).await.0, 200);
    assert_eq!(answer(&app, &signed(OLD, None, &claims)).await.0, 200);
    // Unlabelled secrets ignore the kid.
    assert_eq!(
        answer(&app, &signed(OLD, Some("whatever"), &claims))
            .await
            .0,
        200
    );
    assert_eq!(
        answer(&app, &signed(STRANGER, None, &claims)).await,
        (
            401,
            Some(invalid_token("The access token signature is invalid"))
        )
    );
}

#[tokio::test]
async fn without_rotation_the_old_secret_is_refused() {
    let app = app(|builder| builder);
    let claims = claims("", json!({}));
    assert_eq!(answer(&app, &signed(OLD, None, &claims)).await.0, 401);
}

/// The verified-token cache belongs to one configuration: the guard built when the previous
/// secret is rotated out (or with another profile) never sees the tokens the guard before it
/// kept.
#[tokio::test]
async fn a_secret_rotated_out_takes_its_cached_tokens_with_it() {
    let before = BearerGuardLayer::builder(ResourceServer::new(AUDIENCE, NEW))
        .previous_secret(OLD)
        .build()
        .unwrap();
    let app_before = Router::new()
        .route("/private", get(|| async { "ok" }))
        .layer(before.clone());
    let old_token = signed(OLD, None, &claims("", json!({})));
    for _ in 0..2 {
        assert_eq!(answer(&app_before, &old_token).await.0, 200);
    }
    assert_eq!(before.token_cache_status().unwrap().hits, 1);

    let after = app(|builder| builder);
    assert_eq!(
        answer(&after, &old_token).await,
        (
            401,
            Some(invalid_token("The access token signature is invalid"))
        )
    );
    let profile = app(|builder| builder.previous_secret(OLD).rfc9068_profile());
    assert_eq!(answer(&profile, &old_token).await.0, 401);
}

#[tokio::test]
async fn kid_selects_the_secret_with_no_fallback() {
    let app = app(|builder| {
        builder
            .signing_secret_kid("2026-11")
            .secret_with_kid("2026-05", OLD)
    });
    let claims = claims("", json!({}));
    assert_eq!(
        answer(&app, &signed(NEW, Some("2026-11"), &claims)).await.0,
        200
    );
    assert_eq!(
        answer(&app, &signed(OLD, Some("2026-05"), &claims)).await.0,
        200
    );
    // Tokens without a kid are tried against every secret.
    assert_eq!(answer(&app, &signed(OLD, None, &claims)).await.0, 200);
    // A kid naming the other secret is not rescued by it.
    assert_eq!(
        answer(&app, &signed(OLD, Some("2026-11"), &claims)).await,
        (
            401,
            Some(invalid_token("The access token signature is invalid"))
        )
    );
    // An unknown kid is refused, even when the signature would verify with a known secret.
    for kid in ["2026-01", "", "2026-11 "] {
        assert_eq!(
            answer(&app, &signed(NEW, Some(kid), &claims)).await,
            (
                401,
                Some(invalid_token("The access token names an unknown key"))
            ),
            "{kid:?}"
        );
    }
}
