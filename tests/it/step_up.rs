//! Step-up authentication (RFC 9470), black-box: per-route and layer-wide requirements on
//! `acr` and `auth_time`, refused with 401 `insufficient_user_authentication` and the
//! requirement in the challenge, composed with scope layers, on the DPoP challenge for a DPoP
//! request, and the typed reason an `on_rejection` hook sees. Tokens from jsonwebtoken.

use std::time::Duration;

use crate::common::*;
use axum::{Router, routing::get};
use bearer_guard::step_up::{AuthenticationRequirement, StepUpFailure};
use bearer_guard::{BearerGuardLayer, ConfigError, Rejection, RejectionKind, ResourceServer};
use serde_json::{Value, json};

const MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
const STRONG: &str = "urn:acr:strong";

fn api() -> ResourceServer {
    ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "Read messages")
}

fn guard() -> BearerGuardLayer {
    BearerGuardLayer::builder(api())
        .issuer(ISSUER)
        .build()
        .unwrap()
}

/// Routes with each requirement, and the two orders of a step-up layer and a scope layer.
fn app() -> Router {
    let guard = guard();
    let acr = || guard.require_acr([MFA, STRONG]).unwrap();
    let age = guard
        .require_max_auth_age(Duration::from_secs(300))
        .unwrap();
    let both = guard
        .require_authentication(
            AuthenticationRequirement::acr([MFA]).with_max_age(Duration::from_secs(300)),
        )
        .unwrap();
    let scope = || guard.require_all(["read:messages"]).unwrap();
    let ok = || get(|| async { "ok" });
    Router::new()
        .route("/acr", ok().route_layer(acr()))
        .route("/age", ok().route_layer(age))
        .route("/both", ok().route_layer(both))
        // The layer added last runs first: the scope here, step-up on the next route.
        .route("/scope-first", ok().route_layer(acr()).route_layer(scope()))
        .route(
            "/step-up-first",
            ok().route_layer(scope()).route_layer(acr()),
        )
        .route_layer(guard)
}

/// A token for the API with `scope` and `extra` claims (a `null` removes one).
fn token_with_claims(scope: &str, extra: Value) -> String {
    token(&claims(scope, extra))
}

fn ago(seconds: i64) -> i64 {
    i64::try_from(now()).unwrap() - seconds
}

const DIFFERENT: &str = "A different authentication level is required";
const RECENT: &str = "More recent authentication is required";

#[tokio::test]
async fn step_up_table() {
    use StepUpFailure as F;
    let app = app();
    let fresh = ago(10);
    let old = ago(1000);
    let future = ago(-1000);
    // Past the maximum age, inside the 60 s leeway with 30 s to spare for a slow machine:
    // the exact edge is a unit test with a fixed clock (`token::authentication`).
    let within_leeway = ago(300 + 30);
    let rows: [(&str, &str, Value, u16, Option<F>); 20] = [
        ("acr in the set", "/acr", json!({ "acr": MFA }), 200, None),
        (
            "acr, the second of the set",
            "/acr",
            json!({ "acr": STRONG }),
            200,
            None,
        ),
        (
            "acr not in the set",
            "/acr",
            json!({ "acr": "urn:acr:pwd" }),
            401,
            Some(F::AcrNotAccepted),
        ),
        (
            "acr of another case",
            "/acr",
            json!({ "acr": MFA.to_uppercase() }),
            401,
            Some(F::AcrNotAccepted),
        ),
        ("acr missing", "/acr", json!({}), 401, Some(F::AcrMissing)),
        (
            "amr mfa is not acr",
            "/acr",
            json!({ "amr": ["mfa"] }),
            401,
            Some(F::AcrMissing),
        ),
        (
            "auth_time fresh",
            "/age",
            json!({ "auth_time": fresh }),
            200,
            None,
        ),
        (
            "auth_time within the leeway",
            "/age",
            json!({ "auth_time": within_leeway }),
            200,
            None,
        ),
        (
            "auth_time too old",
            "/age",
            json!({ "auth_time": old }),
            401,
            Some(F::AuthTooOld),
        ),
        (
            "auth_time missing",
            "/age",
            json!({}),
            401,
            Some(F::AuthTimeMissing),
        ),
        (
            "auth_time in the future",
            "/age",
            json!({ "auth_time": future }),
            401,
            Some(F::AuthTimeInFuture),
        ),
        (
            "age route ignores acr",
            "/age",
            json!({ "auth_time": fresh, "acr": "urn:acr:pwd" }),
            200,
            None,
        ),
        (
            "both met",
            "/both",
            json!({ "acr": MFA, "auth_time": fresh }),
            200,
            None,
        ),
        (
            "both: acr met, too old",
            "/both",
            json!({ "acr": MFA, "auth_time": old }),
            401,
            Some(F::AuthTooOld),
        ),
        (
            "both: fresh, no acr",
            "/both",
            json!({ "auth_time": fresh }),
            401,
            Some(F::AcrMissing),
        ),
        (
            "both: acr met, no auth_time",
            "/both",
            json!({ "acr": MFA }),
            401,
            Some(F::AuthTimeMissing),
        ),
        (
            "scope first: scope and acr",
            "/scope-first",
            json!({ "acr": MFA }),
            200,
            None,
        ),
        (
            "step-up first: scope and acr",
            "/step-up-first",
            json!({ "acr": MFA }),
            200,
            None,
        ),
        (
            "scope first: acr only",
            "/scope-first",
            json!({ "acr": "urn:acr:pwd" }),
            401,
            Some(F::AcrNotAccepted),
        ),
        (
            "step-up first: acr only",
            "/step-up-first",
            json!({ "acr": "urn:acr:pwd" }),
            401,
            Some(F::AcrNotAccepted),
        ),
    ];
    for (name, uri, extra, status, failure) in rows {
        let answer = send(
            &app,
            get_with_token(uri, &token_with_claims("read:messages", extra)),
        )
        .await;
        assert_eq!(answer.status, status, "{name}");
        assert_eq!(
            answer.kind(),
            failure.map(RejectionKind::InsufficientUserAuthentication),
            "{name}"
        );
        if let Some(failure) = failure {
            let challenge = answer.challenge.as_deref().unwrap();
            assert!(
                challenge.starts_with(&format!(
                    r#"Bearer realm="{REALM}", error="insufficient_user_authentication", error_description="{}""#,
                    failure.description()
                )),
                "{name}: {challenge}"
            );
            assert_eq!(
                answer.json()["error"],
                "insufficient_user_authentication",
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn the_challenge_names_what_the_route_requires() {
    let app = app();
    let no_acr = token_with_claims("read:messages", json!({}));
    let challenge = |uri: &'static str| {
        let app = app.clone();
        let token = no_acr.clone();
        async move {
            send(&app, get_with_token(uri, &token))
                .await
                .challenge
                .unwrap()
        }
    };
    assert_eq!(
        challenge("/acr").await,
        format!(
            r#"Bearer realm="{REALM}", error="insufficient_user_authentication", error_description="{DIFFERENT}", acr_values="{MFA} {STRONG}""#
        )
    );
    assert_eq!(
        challenge("/age").await,
        format!(
            r#"Bearer realm="{REALM}", error="insufficient_user_authentication", error_description="{RECENT}", max_age="300""#
        )
    );
    // Both requirements, whichever the token fails: the client asks for all at once.
    assert_eq!(
        challenge("/both").await,
        format!(
            r#"Bearer realm="{REALM}", error="insufficient_user_authentication", error_description="{DIFFERENT}", acr_values="{MFA}", max_age="300""#
        )
    );
    let answer = send(&app, get_with_token("/both", &no_acr)).await;
    assert_eq!(answer.json()["acr_values"], MFA);
    assert_eq!(answer.json()["max_age"], 300);
}

#[tokio::test]
async fn with_a_scope_layer_the_outer_one_answers_first() {
    let app = app();
    // Neither the scope nor the acr: each order answers with its outer layer's refusal.
    let neither = token_with_claims("openid", json!({}));
    let (status, kind) = status_and_reason("/scope-first", &app, &neither).await;
    assert_eq!(
        (status, kind),
        (403, Some(RejectionKind::InsufficientScope))
    );
    let (status, kind) = status_and_reason("/step-up-first", &app, &neither).await;
    assert_eq!(
        (status, kind),
        (
            401,
            Some(RejectionKind::InsufficientUserAuthentication(
                StepUpFailure::AcrMissing
            ))
        )
    );
    // The acr but not the scope: 403 in both orders.
    let acr_only = token_with_claims("openid", json!({ "acr": MFA }));
    for uri in ["/scope-first", "/step-up-first"] {
        let (status, kind) = status_and_reason(uri, &app, &acr_only).await;
        assert_eq!(
            (status, kind),
            (403, Some(RejectionKind::InsufficientScope)),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn a_layer_wide_requirement_holds_for_every_request_even_anonymous_ones() {
    let guard = BearerGuardLayer::builder(api())
        .issuer(ISSUER)
        .allow_anonymous()
        .require_authentication_for_every_request(AuthenticationRequirement::acr([MFA]))
        .build()
        .unwrap();
    let app = Router::new()
        .route("/admin", get(|| async { "admin" }))
        .route_layer(guard);
    let (status, kind) = status_and_reason(
        "/admin",
        &app,
        &token_with_claims("", json!({ "acr": MFA })),
    )
    .await;
    assert_eq!((status, kind), (200, None));
    let answer = send(
        &app,
        get_with_token("/admin", &token_with_claims("", json!({}))),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(
            format!(
                r#"Bearer realm="{REALM}", error="insufficient_user_authentication", error_description="{DIFFERENT}", acr_values="{MFA}""#
            )
            .as_str()
        )
    );
    // No token cannot meet it: anonymous mode lets nobody in.
    let anonymous = send(&app, request("/admin", &[])).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.kind(), Some(RejectionKind::MissingCredentials));
}

#[tokio::test]
async fn a_per_route_requirement_refuses_an_anonymous_request() {
    let guard = BearerGuardLayer::builder(api())
        .allow_anonymous()
        .build()
        .unwrap();
    let mfa = guard.require_acr([MFA]).unwrap();
    let app = Router::new()
        .route("/mfa", get(|| async { "ok" }).route_layer(mfa))
        .route_layer(guard);
    let anonymous = send(&app, request("/mfa", &[])).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.kind(), Some(RejectionKind::MissingCredentials));
}

#[tokio::test]
async fn the_on_rejection_hook_sees_the_typed_reason() {
    let guard = BearerGuardLayer::builder(api())
        .on_rejection(|rejection: &Rejection| {
            let body = match rejection.kind() {
                RejectionKind::InsufficientUserAuthentication(failure) => format!(
                    "step up: {} ({:?}, {:?})",
                    failure.reason(),
                    rejection.acr_values(),
                    rejection.max_age()
                ),
                _ => rejection.reason().to_owned(),
            };
            let mut response = http::Response::new(axum::body::Body::from(body));
            *response.status_mut() = rejection.status();
            rejection.apply_headers(response.headers_mut());
            response
        })
        .build()
        .unwrap();
    let recent = guard.require_max_auth_age(Duration::from_secs(60)).unwrap();
    let app = Router::new()
        .route("/recent", get(|| async { "ok" }).route_layer(recent))
        .route_layer(guard);
    let answer = send(
        &app,
        get_with_token(
            "/recent",
            &token_with_claims("", json!({ "auth_time": ago(3600) })),
        ),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.body, "step up: auth_too_old (None, Some(60))");
    assert!(answer.challenge.unwrap().ends_with(r#"max_age="60""#));
}

#[test]
fn requirements_that_cannot_be_met_or_named_fail_at_startup() {
    let guard = guard();
    let refused = |requirement: AuthenticationRequirement| {
        guard
            .require_authentication(requirement)
            .map(|_| ())
            .unwrap_err()
    };
    assert_eq!(
        refused(AuthenticationRequirement::acr(Vec::<String>::new())),
        ConfigError::EmptyAcrRequirement
    );
    assert_eq!(
        refused(AuthenticationRequirement::acr([MFA, "multi factor"])),
        ConfigError::InvalidAcrValue {
            value: "multi factor".into()
        }
    );
    assert!(matches!(
        refused(AuthenticationRequirement::max_age(Duration::ZERO)),
        ConfigError::MaxAuthAgeOutOfRange { seconds: 0, .. }
    ));
    assert!(matches!(
        refused(AuthenticationRequirement::max_age(Duration::from_secs(
            400 * 86_400
        ))),
        ConfigError::MaxAuthAgeOutOfRange { .. }
    ));
    // The same checks for a layer-wide requirement, at build.
    let err = BearerGuardLayer::builder(api())
        .require_authentication_for_every_request(AuthenticationRequirement::acr(["a\"b"]))
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::InvalidAcrValue {
            value: "a\"b".into()
        }
    );
}

#[tokio::test]
async fn namespaced_claims_as_an_auth0_action_writes_them() {
    let guard = BearerGuardLayer::builder(api())
        .acr_claim("https://my-api.example.com/acr")
        .auth_time_claim("https://my-api.example.com/auth_time")
        .build()
        .unwrap();
    let recent_mfa = guard
        .require_authentication(
            AuthenticationRequirement::acr([MFA]).with_max_age(Duration::from_secs(300)),
        )
        .unwrap();
    let app = Router::new()
        .route("/mfa", get(|| async { "ok" }).route_layer(recent_mfa))
        .route_layer(guard);
    let namespaced = json!({
        "https://my-api.example.com/acr": MFA,
        "https://my-api.example.com/auth_time": ago(10),
    });
    let (status, _) = status_and_reason("/mfa", &app, &token_with_claims("", namespaced)).await;
    assert_eq!(status, 200);
    // The plain claims are not read under those settings.
    let plain = json!({ "acr": MFA, "auth_time": ago(10) });
    let (status, kind) = status_and_reason("/mfa", &app, &token_with_claims("", plain)).await;
    assert_eq!(
        (status, kind),
        (
            401,
            Some(RejectionKind::InsufficientUserAuthentication(
                StepUpFailure::AcrMissing
            ))
        )
    );
    for (acr, auth_time) in [
        ("", "auth_time"),
        ("acr", "acr"),
        ("sub", "auth_time"),
        ("scope", "x"),
    ] {
        let err = BearerGuardLayer::builder(api())
            .acr_claim(acr)
            .auth_time_claim(auth_time)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, ConfigError::InvalidStepUpClaim { .. }),
            "{acr} {auth_time}: {err}"
        );
    }
}

#[cfg(feature = "jwks")]
#[tokio::test]
async fn a_dpop_request_gets_the_error_on_its_dpop_challenge() {
    use crate::common::keys::{dpop_proof, public_jwk};
    use bearer_guard::dpop::{DpopMode, DpopProof, jwk_thumbprint};

    const API_URL: &str = "https://api.example.com";
    let guard = BearerGuardLayer::builder(api())
        .issuer(ISSUER)
        .dpop(DpopMode::Allowed)
        .external_url(API_URL)
        .build()
        .unwrap();
    let mfa = guard.require_acr([MFA]).unwrap();
    let app = Router::new()
        .route("/pay", get(|| async { "paid" }).route_layer(mfa))
        .route_layer(guard);
    let jkt = jwk_thumbprint(&public_jwk("p256").to_string()).unwrap();
    let bound = token_with_claims("", json!({ "cnf": { "jkt": jkt } }));
    let proof = dpop_proof(
        jsonwebtoken::Algorithm::ES256,
        "p256",
        &json!({
            "jti": "step-up-1", "htm": "GET", "htu": format!("{API_URL}/pay"),
            "iat": now(), "ath": DpopProof::access_token_hash(&bound),
        }),
    );
    let request = http::Request::get("/pay")
        .header("authorization", format!("DPoP {bound}"))
        .header("dpop", proof)
        .body(axum::body::Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    let realm = format!(r#"realm="{REALM}""#);
    let error = format!(
        r#"error="insufficient_user_authentication", error_description="{DIFFERENT}", acr_values="{MFA}""#
    );
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(
            format!(r#"Bearer {realm}, DPoP {realm}, {error}, algs="RS256 PS256 ES256 EdDSA""#)
                .as_str()
        )
    );
    // A plain Bearer token to the same API: the error goes on the Bearer challenge.
    let plain = token_with_claims("", json!({}));
    let answer = send(&app, get_with_token("/pay", &plain)).await;
    assert_eq!(
        answer.challenge.as_deref(),
        Some(
            format!(r#"Bearer {realm}, {error}, DPoP {realm}, algs="RS256 PS256 ES256 EdDSA""#)
                .as_str()
        )
    );
}
