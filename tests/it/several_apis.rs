//! Several APIs behind one layer: two resource servers with their own secrets, issuers and
//! scopes, and a second tenant of one of them; each token's `aud` and `iss` pick the one API
//! that verifies it.

use crate::common::*;
use axum::{Router, routing::get};
use bearer_guard::{
    BearerGuardLayer, ConfigError, MultiApiLayer, Rejection, RejectionKind, ResourceServer,
    TokenErrorKind, VerifiedToken,
};
use serde_json::json;

const ORDERS: &str = "https://orders.example";
const BILLING: &str = "https://billing.example";
const TENANT_A: &str = "https://tenant-a.example/";
const TENANT_B: &str = "https://tenant-b.example/";
const TENANT_C: &str = "https://tenant-c.example/";
const ORDERS_SECRET: &str = "orders-secret-orders-secret-0123";
const BILLING_SECRET: &str = "billing-secret-billing-secret-01";
const ORDERS_C_SECRET: &str = "orders-tenant-c-secret-tenant-c!";

struct Apis {
    orders: BearerGuardLayer,
    billing: BearerGuardLayer,
    orders_c: BearerGuardLayer,
}

fn apis() -> Apis {
    let build = |identifier: &str, secret: &str, scope: &str, issuer: &str| {
        let api = ResourceServer::new(identifier, secret).with_scope(scope, "");
        BearerGuardLayer::builder(api)
            .issuer(issuer)
            .build()
            .unwrap()
    };
    Apis {
        orders: build(ORDERS, ORDERS_SECRET, "read:orders", TENANT_A),
        billing: build(BILLING, BILLING_SECRET, "read:invoices", TENANT_B),
        // The orders API again, for a second tenant with its own issuer and secret.
        orders_c: build(ORDERS, ORDERS_C_SECRET, "read:orders", TENANT_C),
    }
}

fn app() -> Router {
    let Apis {
        orders,
        billing,
        orders_c,
    } = apis();
    let which = {
        let (orders, billing, orders_c) = (orders.clone(), billing.clone(), orders_c.clone());
        move |token: VerifiedToken| async move {
            [
                ("orders", &orders),
                ("billing", &billing),
                ("orders-c", &orders_c),
            ]
            .into_iter()
            .find(|(_, api)| api.has_verified(&token))
            .map_or("none", |(name, _)| name)
        }
    };
    Router::new()
        .route("/which", get(which))
        .route(
            "/orders",
            get(|| async { "orders" }).route_layer(orders.require_all(["read:orders"]).unwrap()),
        )
        .route(
            "/invoices",
            get(|| async { "invoices" })
                .route_layer(billing.require_all(["read:invoices"]).unwrap()),
        )
        .layer(MultiApiLayer::new([orders, billing, orders_c]).unwrap())
}

fn signed(secret: &str, aud: &str, iss: &str, scope: &str) -> String {
    token_with(
        secret.as_bytes(),
        &claims(scope, json!({ "aud": aud, "iss": iss })),
    )
}

#[tokio::test]
async fn each_token_is_verified_by_the_api_its_aud_and_iss_name() {
    let app = app();
    for (case, token, which) in [
        (
            "orders",
            signed(ORDERS_SECRET, ORDERS, TENANT_A, ""),
            "orders",
        ),
        (
            "billing",
            signed(BILLING_SECRET, BILLING, TENANT_B, ""),
            "billing",
        ),
        (
            "orders, tenant C",
            signed(ORDERS_C_SECRET, ORDERS, TENANT_C, ""),
            "orders-c",
        ),
        (
            "aud array naming billing",
            token_with(
                BILLING_SECRET.as_bytes(),
                &claims(
                    "",
                    json!({ "aud": ["https://x.example", BILLING], "iss": TENANT_B }),
                ),
            ),
            "billing",
        ),
    ] {
        let answer = send(&app, get_with_token("/which", &token)).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, which),
            "{case}"
        );
    }
}

#[tokio::test]
async fn only_the_chosen_apis_keys_are_tried() {
    let app = app();
    let rejected = |answer: &Answer| answer.kind();
    let invalid = |kind| Some(RejectionKind::InvalidToken(kind));
    for (case, token, kind) in [
        // Billing's secret would verify this signature, but the token says it is for orders.
        (
            "orders token signed with billing's secret",
            signed(BILLING_SECRET, ORDERS, TENANT_A, ""),
            invalid(TokenErrorKind::InvalidSignature),
        ),
        (
            "tenant C's token signed with tenant A's secret",
            signed(ORDERS_SECRET, ORDERS, TENANT_C, ""),
            invalid(TokenErrorKind::InvalidSignature),
        ),
        (
            "an API none of them is",
            signed(ORDERS_SECRET, "https://other.example", TENANT_A, ""),
            invalid(TokenErrorKind::InvalidAudience),
        ),
        (
            "orders from an unknown issuer",
            signed(ORDERS_SECRET, ORDERS, "https://evil.example/", ""),
            invalid(TokenErrorKind::InvalidIssuer),
        ),
        (
            "no aud",
            token_with(
                ORDERS_SECRET.as_bytes(),
                &claims("", json!({ "aud": null })),
            ),
            invalid(TokenErrorKind::MissingAudience),
        ),
        (
            "not a JWT",
            "a.b.c".to_owned(),
            invalid(TokenErrorKind::Malformed),
        ),
    ] {
        let answer = send(&app, get_with_token("/which", &token)).await;
        assert_eq!(answer.status, 401, "{case}");
        assert_eq!(rejected(&answer), kind, "{case}");
    }
    let answer = send(&app, request("/which", &[])).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(format!(r#"Bearer realm="{ORDERS}""#).as_str()),
        "the first API answers requests without a token"
    );
}

#[tokio::test]
async fn scope_layers_check_the_api_they_were_made_from() {
    let app = app();
    for (case, uri, token, status) in [
        (
            "orders reader",
            "/orders",
            signed(ORDERS_SECRET, ORDERS, TENANT_A, "read:orders"),
            200,
        ),
        (
            "orders without scope",
            "/orders",
            signed(ORDERS_SECRET, ORDERS, TENANT_A, ""),
            403,
        ),
        (
            "billing reader",
            "/invoices",
            signed(BILLING_SECRET, BILLING, TENANT_B, "read:invoices"),
            200,
        ),
        // A valid token, for another API of the same layer: its audience is wrong here.
        (
            "billing token on orders",
            "/orders",
            signed(BILLING_SECRET, BILLING, TENANT_B, "read:orders"),
            401,
        ),
        // Tenant C's orders guard is another guard than tenant A's, whose scope layer this is.
        (
            "tenant C on tenant A's route",
            "/orders",
            signed(ORDERS_C_SECRET, ORDERS, TENANT_C, "read:orders"),
            401,
        ),
    ] {
        let answer = send(&app, get_with_token(uri, &token)).await;
        assert_eq!(answer.status, status, "{case}: {}", answer.body);
        if status == 401 {
            let rejection = answer.response.extensions().get::<Rejection>().unwrap();
            assert_eq!(
                rejection.kind(),
                RejectionKind::InvalidToken(TokenErrorKind::InvalidAudience),
                "{case}"
            );
        }
    }
}

#[test]
fn apis_that_cannot_be_told_apart_are_refused_at_startup() {
    let problem = |result: Result<MultiApiLayer, ConfigError>| match result.unwrap_err() {
        ConfigError::InvalidApiSet { problem } => problem,
        other => panic!("{other}"),
    };
    assert!(problem(MultiApiLayer::new([])).contains("no API"));
    let Apis { orders, .. } = apis();
    assert!(problem(MultiApiLayer::new([orders.clone(), orders])).contains("twice"));
    let no_issuer = |secret: &str| {
        BearerGuardLayer::builder(ResourceServer::new(ORDERS, secret))
            .build()
            .unwrap()
    };
    let message = problem(MultiApiLayer::new([
        no_issuer(ORDERS_SECRET),
        no_issuer(ORDERS_C_SECRET),
    ]));
    assert!(message.contains("cannot be told apart"), "{message}");

    // A guard belongs to one set of APIs.
    let Apis {
        orders,
        billing,
        orders_c,
    } = apis();
    MultiApiLayer::new([orders.clone(), billing.clone()]).unwrap();
    MultiApiLayer::new([orders.clone(), billing]).unwrap();
    assert!(problem(MultiApiLayer::new([orders_c.clone(), orders])).contains("already part"));
    // The refused set marked none of its guards: tenant C's can still join another.
    let other = BearerGuardLayer::builder(ResourceServer::new(BILLING, BILLING_SECRET))
        .issuer(TENANT_C)
        .build()
        .unwrap();
    MultiApiLayer::new([orders_c, other]).unwrap();
}

#[tokio::test]
async fn the_first_apis_hook_answers_for_the_layer_and_the_extractors_behind_it() {
    fn plain(rejection: &Rejection) -> http::Response<axum::body::Body> {
        let mut response = http::Response::new(axum::body::Body::from(format!(
            "custom:{}",
            rejection.reason()
        )));
        *response.status_mut() = rejection.status();
        response
    }
    #[derive(serde::Deserialize)]
    struct Tenant {
        #[allow(dead_code)]
        tenant: String,
    }
    let build = |identifier: &str, secret: &str, issuer: &str| {
        BearerGuardLayer::builder(ResourceServer::new(identifier, secret))
            .issuer(issuer)
            .on_rejection(plain as fn(&Rejection) -> http::Response<axum::body::Body>)
            .build()
            .unwrap()
    };
    let orders = build(ORDERS, ORDERS_SECRET, TENANT_A);
    let billing = build(BILLING, BILLING_SECRET, TENANT_B);
    let app = Router::new()
        .route(
            "/tenant",
            get(|_: bearer_guard::Claims<Tenant>| async { "tenant" }),
        )
        .layer(MultiApiLayer::new([orders, billing]).unwrap());
    for (case, token, body) in [
        (
            "billing token without the claim",
            signed(BILLING_SECRET, BILLING, TENANT_B, ""),
            "custom:invalid_claim",
        ),
        (
            "unknown API",
            signed(BILLING_SECRET, "https://other.example", TENANT_B, ""),
            "custom:wrong_aud",
        ),
    ] {
        let answer = send(&app, get_with_token("/tenant", &token)).await;
        assert_eq!((answer.status, answer.body.as_str()), (401, body), "{case}");
    }
}

/// Two guards on two routes, as a user protecting two APIs in one app writes it: an RS256
/// token of one API sent to the HS256 one is refused for its audience, the cause, not for
/// its algorithm.
#[cfg(feature = "jwks")]
#[tokio::test]
async fn another_apis_token_on_a_route_is_refused_for_its_audience_not_its_algorithm() {
    use crate::common::keys::{jwks, public_jwk, signed_claims};
    use jsonwebtoken::Algorithm;

    const CATALOG: &str = "https://catalog.example";
    let catalog = BearerGuardLayer::builder(ResourceServer::asymmetric(
        CATALOG,
        bearer_guard::Algorithm::Rs256,
    ))
    .issuer(TENANT_A)
    .static_jwks(jwks(&[public_jwk("rsa2048")]))
    .build()
    .unwrap();
    let app = Router::new()
        .route("/orders", get(|| async { "orders" }).layer(apis().orders))
        .route("/catalog", get(|| async { "catalog" }).layer(catalog));
    let token = signed_claims(
        Algorithm::RS256,
        "rsa2048",
        None,
        &claims("", json!({ "aud": CATALOG, "iss": TENANT_A })),
    );

    let answer = send(&app, get_with_token("/catalog", &token)).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "catalog"));
    let answer = send(&app, get_with_token("/orders", &token)).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.kind(),
        Some(RejectionKind::InvalidToken(TokenErrorKind::InvalidAudience))
    );
    assert_eq!(
        answer.challenge.as_deref(),
        Some(
            r#"Bearer realm="https://orders.example", error="invalid_token", error_description="The access token is not meant for this API""#
        )
    );
}

#[test]
fn apis_of_one_identifier_are_refused_unless_each_has_issuers_of_its_own() {
    let orders = |secret: &str, issuer: Option<&str>| {
        let builder = BearerGuardLayer::builder(ResourceServer::new(ORDERS, secret));
        match issuer {
            Some(issuer) => builder.issuer(issuer),
            None => builder,
        }
        .build()
        .unwrap()
    };
    // One takes any issuer, in either order; or both take the same one.
    for (first, second) in [
        (Some(TENANT_A), None),
        (None, Some(TENANT_A)),
        (Some(TENANT_A), Some(TENANT_A)),
    ] {
        let refused = MultiApiLayer::new([
            orders(ORDERS_SECRET, first),
            orders(ORDERS_C_SECRET, second),
        ]);
        assert!(
            matches!(refused, Err(ConfigError::InvalidApiSet { ref problem }) if problem.contains("cannot be told apart")),
            "{first:?}, {second:?}: {refused:?}"
        );
    }
    MultiApiLayer::new([
        orders(ORDERS_SECRET, Some(TENANT_A)),
        orders(ORDERS_C_SECRET, Some(TENANT_C)),
    ])
    .unwrap();
}

#[test]
fn debug_and_errors_name_each_api_by_its_identifier_and_issuer() {
    let Apis {
        orders, billing, ..
    } = apis();
    let layer = MultiApiLayer::new([orders.clone(), billing]).unwrap();
    assert_eq!(
        format!("{layer:?}"),
        format!(
            r#"MultiApiLayer {{ apis: [("{ORDERS}", Some("{TENANT_A}")), ("{BILLING}", Some("{TENANT_B}"))], .. }}"#
        )
    );
    let problem = |result: Result<MultiApiLayer, ConfigError>| match result.unwrap_err() {
        ConfigError::InvalidApiSet { problem } => problem,
        other => panic!("{other}"),
    };
    let twice = problem(MultiApiLayer::new([orders.clone(), orders.clone()]));
    assert!(
        twice.contains(&format!("{ORDERS:?} is given twice")),
        "{twice}"
    );
    let Apis { orders_c, .. } = apis();
    let taken = problem(MultiApiLayer::new([orders, orders_c]));
    assert!(
        taken.contains(&format!("the guard of {ORDERS:?} is already part")),
        "{taken}"
    );
}
