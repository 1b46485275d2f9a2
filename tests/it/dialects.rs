//! The registration's `token_dialect` decides, with no builder setting, which claim scope
//! requirements are checked against and whether RFC 9068's profile applies: every dialect
//! against every token shape, through the layer-wide requirement and a per-route one.

use axum::{Router, routing::get};
use bearer_guard::registration::TokenDialect;
use bearer_guard::{
    BearerGuardLayer, ConfigError, RejectionKind, ResourceServer, ScopeRequirement, TokenErrorKind,
};
use serde_json::{Value, json};

use crate::common::{AUDIENCE, ISSUER, SECRET, claims, status_and_reason};

/// The registration as the Management API returns it, with `token_dialect`.
fn registration(dialect: &str) -> ResourceServer {
    ResourceServer::from_json(&format!(
        r#"{{"identifier": "{AUDIENCE}", "signing_alg": "HS256", "signing_secret": "{SECRET}",
            "scopes": [{{"value": "read:messages"}}], "token_dialect": "{dialect}"}}"#
    ))
    .unwrap()
}

/// A per-route requirement at `/route`, and the layer-wide one at `/layer`: two guards built
/// from the same registration and nothing else.
fn apps(dialect: &str) -> (Router, Router) {
    let guard = BearerGuardLayer::builder(registration(dialect))
        .issuer(ISSUER)
        .build()
        .unwrap();
    let per_route = Router::new()
        .route(
            "/route",
            get(|| async { "ok" }).route_layer(guard.require_all(["read:messages"]).unwrap()),
        )
        .layer(guard);
    let layer_wide = BearerGuardLayer::builder(registration(dialect))
        .issuer(ISSUER)
        .require_scopes_for_every_request(ScopeRequirement::all(["read:messages"]))
        .build()
        .unwrap();
    (
        per_route,
        Router::new()
            .route("/layer", get(|| async { "ok" }))
            .layer(layer_wide),
    )
}

/// Where the token holds `read:messages`.
#[derive(Debug, Clone, Copy)]
enum Held {
    Scope,
    Permissions,
    Both,
    Neither,
}

/// A token holding `read:messages` as `held` says (beside `openid` in `scope`), signed by
/// jsonwebtoken; with RFC 9068's header and claims (`typ` `at+jwt`, `client_id`, `jti`, no
/// `azp`) when `rfc9068`, else Auth0's profile (`typ` `JWT`, `azp`).
fn token(held: Held, rfc9068: bool) -> String {
    let (scope, permissions) = match held {
        Held::Scope => ("openid read:messages", None),
        Held::Permissions => ("openid", Some(json!(["read:messages"]))),
        Held::Both => ("openid read:messages", Some(json!(["read:messages"]))),
        Held::Neither => ("openid", None),
    };
    let mut extra = json!({ "permissions": permissions.unwrap_or(Value::Null) });
    if rfc9068 {
        extra["client_id"] = json!("client-1");
        extra["jti"] = json!("jti-1");
        extra["azp"] = Value::Null;
    }
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some(if rfc9068 { "at+jwt" } else { "JWT" }.to_owned());
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    jsonwebtoken::encode(&header, &claims(scope, extra), &key).unwrap()
}

const OK: (u16, Option<RejectionKind>) = (200, None);
const NO_SCOPE: (u16, Option<RejectionKind>) = (403, Some(RejectionKind::InsufficientScope));
const NOT_AT_JWT: (u16, Option<RejectionKind>) = (
    401,
    Some(RejectionKind::InvalidToken(TokenErrorKind::InvalidType)),
);

#[tokio::test]
async fn each_dialect_checks_its_claim_and_profile() {
    use Held::{Both, Neither, Permissions, Scope};
    // (dialect, held, RFC 9068 token, expected answer)
    let table = [
        ("access_token", Scope, false, OK),
        ("access_token", Permissions, false, NO_SCOPE),
        ("access_token", Both, false, OK),
        ("access_token", Neither, false, NO_SCOPE),
        // Without the profile, an RFC 9068 token is just another token.
        ("access_token", Scope, true, OK),
        ("access_token", Permissions, true, NO_SCOPE),
        ("access_token", Both, true, OK),
        ("access_token", Neither, true, NO_SCOPE),
        // `scope` alone does not meet a requirement: `permissions` does.
        ("access_token_authz", Scope, false, NO_SCOPE),
        ("access_token_authz", Permissions, false, OK),
        ("access_token_authz", Both, false, OK),
        ("access_token_authz", Neither, false, NO_SCOPE),
        ("access_token_authz", Scope, true, NO_SCOPE),
        ("access_token_authz", Permissions, true, OK),
        ("access_token_authz", Both, true, OK),
        ("access_token_authz", Neither, true, NO_SCOPE),
        // RFC 9068's profile: an Auth0-profile token is refused before its scopes count.
        ("rfc9068_profile", Scope, false, NOT_AT_JWT),
        ("rfc9068_profile", Permissions, false, NOT_AT_JWT),
        ("rfc9068_profile", Both, false, NOT_AT_JWT),
        ("rfc9068_profile", Neither, false, NOT_AT_JWT),
        ("rfc9068_profile", Scope, true, OK),
        ("rfc9068_profile", Permissions, true, NO_SCOPE),
        ("rfc9068_profile", Both, true, OK),
        ("rfc9068_profile", Neither, true, NO_SCOPE),
        ("rfc9068_profile_authz", Scope, false, NOT_AT_JWT),
        ("rfc9068_profile_authz", Permissions, false, NOT_AT_JWT),
        ("rfc9068_profile_authz", Both, false, NOT_AT_JWT),
        ("rfc9068_profile_authz", Neither, false, NOT_AT_JWT),
        ("rfc9068_profile_authz", Scope, true, NO_SCOPE),
        ("rfc9068_profile_authz", Permissions, true, OK),
        ("rfc9068_profile_authz", Both, true, OK),
        ("rfc9068_profile_authz", Neither, true, NO_SCOPE),
    ];
    for (dialect, held, rfc9068, expected) in table {
        let (per_route, layer_wide) = apps(dialect);
        let token = token(held, rfc9068);
        let case = format!("{dialect}, {held:?}, RFC 9068 token: {rfc9068}");
        assert_eq!(
            status_and_reason("/route", &per_route, &token).await,
            expected,
            "per route: {case}"
        );
        assert_eq!(
            status_and_reason("/layer", &layer_wide, &token).await,
            expected,
            "layer-wide: {case}"
        );
    }
}

#[tokio::test]
async fn rfc9068_dialects_require_its_claims() {
    for dialect in ["rfc9068_profile", "rfc9068_profile_authz"] {
        let (per_route, _) = apps(dialect);
        for claim in ["client_id", "jti", "sub", "iat"] {
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
            header.typ = Some("at+jwt".to_owned());
            let claims = claims(
                "read:messages",
                json!({ "permissions": ["read:messages"], "client_id": "c", "jti": "j", claim: null }),
            );
            let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
            let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
            assert_eq!(
                status_and_reason("/route", &per_route, &token).await,
                (
                    401,
                    Some(RejectionKind::InvalidToken(TokenErrorKind::MissingClaim))
                ),
                "{dialect} without {claim}"
            );
        }
    }
}

#[test]
fn a_builder_setting_the_dialect_contradicts_fails_at_startup() {
    let refused =
        |dialect: &str, builder: fn(ResourceServer) -> Result<BearerGuardLayer, ConfigError>| {
            let err: ConfigError = builder(registration(dialect)).map(|_| ()).unwrap_err();
            assert!(
                matches!(&err, ConfigError::TokenDialectConflict { dialect: d, .. } if d.name() == dialect),
                "{dialect}: {err}"
            );
            err.to_string()
        };
    let scope = |api: ResourceServer| BearerGuardLayer::builder(api).scope_claim("scope").build();
    let permissions = |api: ResourceServer| {
        BearerGuardLayer::builder(api)
            .scope_claim("permissions")
            .build()
    };
    let rfc9068 = |api: ResourceServer| BearerGuardLayer::builder(api).rfc9068_profile().build();
    for dialect in ["access_token_authz", "rfc9068_profile_authz"] {
        let message = refused(dialect, scope);
        assert!(message.contains(r#"scope_claim("scope")"#), "{message}");
        assert!(message.contains(dialect), "{message}");
        assert!(permissions(registration(dialect)).is_ok(), "{dialect}");
    }
    for dialect in ["access_token", "rfc9068_profile"] {
        let message = refused(dialect, permissions);
        assert!(
            message.contains(r#"scope_claim("permissions")"#),
            "{message}"
        );
        assert!(scope(registration(dialect)).is_ok(), "{dialect}");
    }
    for dialect in ["access_token", "access_token_authz"] {
        let message = refused(dialect, rfc9068);
        assert!(message.contains("rfc9068_profile()"), "{message}");
        assert!(message.contains(dialect), "{message}");
    }
    for dialect in ["rfc9068_profile", "rfc9068_profile_authz"] {
        assert!(rfc9068(registration(dialect)).is_ok(), "{dialect}");
    }
}

#[test]
fn an_unknown_dialect_is_refused_when_read_naming_the_four() {
    for unknown in ["access_token_rbac", "Access_Token", "rfc9068"] {
        let err = ResourceServer::from_json(&format!(
            r#"{{"identifier": "{AUDIENCE}", "signing_alg": "RS256", "token_dialect": "{unknown}"}}"#
        ))
        .unwrap_err();
        assert_eq!(
            err,
            ConfigError::UnknownTokenDialect {
                dialect: unknown.into()
            }
        );
        for dialect in TokenDialect::ALL {
            assert!(err.to_string().contains(dialect.name()), "{err}");
        }
    }
}
