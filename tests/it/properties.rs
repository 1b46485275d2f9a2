//! Property tests (proptest): mutated tokens, arbitrary `Authorization` headers, and scope
//! logic against a simple model. Case counts stay modest so the suite stays fast on CI.

use axum::{Router, routing::get};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::time::{Duration, UNIX_EPOCH};

use crate::common::*;
use bearer_guard::cache::TokenCacheSettings;
use bearer_guard::{BearerGuardLayer, ResourceServer, ScopeRequirement, TokenValidator};
use http::{HeaderValue, Request, header};
use proptest::prelude::*;
use serde_json::json;

const CASES: u32 = 256;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn validator() -> TokenValidator {
    let api = ResourceServer::new(AUDIENCE, SECRET);
    BearerGuardLayer::builder(api)
        .issuer(ISSUER)
        .build()
        .unwrap()
        .validator()
        .clone()
}

/// One edit of a token's bytes.
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Edit::Replace(at, byte)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Edit::Insert(at, byte)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    match *edit {
        Edit::Replace(at, byte) => {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        Edit::Insert(at, byte) => bytes.insert(at % (bytes.len() + 1), byte),
        Edit::Delete(at) => {
            let at = at % bytes.len();
            bytes.remove(at);
        }
    }
}

/// The header, payload and signature bytes of a compact JWS, decoded leniently (trailing
/// bits ignored), so that two spellings of the same bytes compare equal.
fn decoded(token: &str) -> Option<Vec<Vec<u8>>> {
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let segments: Vec<&str> = token.split('.').collect();
    if segments.len() != 3 {
        return None;
    }
    segments
        .iter()
        .map(|segment| lenient.decode(segment).ok())
        .collect()
}

proptest! {
    #![proptest_config(config())]

    /// Any edit of a valid token is refused, unless the edited token decodes to the very same
    /// header, payload and signature bytes.
    #[test]
    fn mutated_tokens_are_refused(edits in prop::collection::vec(edit(), 1..4)) {
        let original = token(&claims("read:messages", json!({})));
        let validator = validator();
        prop_assert!(validator.validate(&original).is_ok());
        let mut bytes = original.clone().into_bytes();
        for edit in &edits {
            if bytes.is_empty() {
                break;
            }
            apply(&mut bytes, edit);
        }
        let Ok(mutated) = String::from_utf8(bytes) else {
            // Not UTF-8: no header value carrying it reaches the validator as text.
            return Ok(());
        };
        if mutated == original {
            return Ok(());
        }
        if validator.validate(&mutated).is_ok() {
            prop_assert_eq!(decoded(&mutated), decoded(&original), "{}", mutated);
        }
    }

    /// The same claims with JSON whitespace added and re-encoded, but not re-signed, are
    /// refused: the signature covers the encoded bytes, not the claims' meaning.
    #[test]
    fn re_encoded_segments_are_refused(extra in "[ \t\r\n]{1,3}") {
        let original = token(&claims("read:messages", json!({})));
        let (header, rest) = original.split_once('.').unwrap();
        let (payload, signature) = rest.split_once('.').unwrap();
        let mut json = URL_SAFE_NO_PAD.decode(payload).unwrap();
        json.extend_from_slice(extra.as_bytes());
        let same_claims = format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(&json));
        prop_assert!(validator().validate(&same_claims).is_err());
    }
}

/// The documented answers to a request: status, and the challenge's `error` (if any).
fn check_documented(answer: &Answer) -> Result<(), TestCaseError> {
    let error = answer.challenge.as_deref().map(|challenge| {
        challenge
            .split("error=\"")
            .nth(1)
            .map(|rest| rest.split('"').next().unwrap_or_default().to_owned())
    });
    match (answer.status, error) {
        (200, None) => {}
        (401, Some(None)) => {
            prop_assert_eq!(
                answer.challenge.as_deref(),
                Some(r#"Bearer realm="https://my-api-urn""#)
            );
        }
        (400, Some(Some(code))) if code == "invalid_request" => {}
        (401, Some(Some(code))) if code == "invalid_token" => {}
        (403, Some(Some(code))) if code == "insufficient_scope" => {}
        (status, error) => {
            prop_assert!(
                false,
                "undocumented answer {} {:?}: {:?}",
                status,
                error,
                answer
            );
        }
    }
    if answer.status != 200 {
        // The body repeats the challenge's error as JSON.
        let body = answer.json();
        let code = body.get("error").and_then(|code| code.as_str());
        if answer.status == 401 && code.is_none() {
            prop_assert!(
                answer
                    .challenge
                    .as_deref()
                    .is_some_and(|c| !c.contains("error="))
            );
        } else {
            prop_assert!(answer.challenge.as_deref().unwrap().contains(code.unwrap()));
        }
    }
    Ok(())
}

fn scoped_app() -> Router {
    let api = ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "Read messages");
    let guard = BearerGuardLayer::builder(api).build().unwrap();
    Router::new()
        .route(
            "/scoped",
            get(|| async { "ok" }).route_layer(guard.require_all(["read:messages"]).unwrap()),
        )
        .layer(guard)
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    let valid = token(&claims("read:messages", json!({})));
    prop_oneof![
        // Anything at all.
        prop::collection::vec(any::<u8>(), 0..80),
        // A scheme, spaces or tabs, and token-ish characters.
        (
            "(?i)bearer|basic|bearerx|",
            "[ \t]{0,3}",
            "[A-Za-z0-9._~+/=\\-]{0,60}"
        )
            .prop_map(|(scheme, space, token)| format!("{scheme}{space}{token}").into_bytes()),
        // A valid token with a few bytes changed.
        (prop::collection::vec(edit(), 0..3)).prop_map(move |edits| {
            let mut bytes = format!("Bearer {valid}").into_bytes();
            for edit in &edits {
                apply(&mut bytes, edit);
            }
            bytes
        }),
    ]
}

#[test]
fn arbitrary_authorization_headers_get_documented_answers() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let app = scoped_app();
    let mut runner = proptest::test_runner::TestRunner::new(config());
    let values = prop::collection::vec(header_value(), 0..3);
    runner
        .run(&values, |values| {
            let mut request = Request::get("/scoped");
            for value in &values {
                let Ok(value) = HeaderValue::from_bytes(value) else {
                    return Ok(());
                };
                request = request.header(header::AUTHORIZATION, value);
            }
            let request = request.body(axum::body::Body::empty()).unwrap();
            let answer = runtime.block_on(send(&app, request));
            check_documented(&answer)?;
            if values.len() > 1 {
                prop_assert_eq!(answer.status, 400);
            }
            Ok(())
        })
        .unwrap();
}

const UNIVERSE: [&str; 5] = ["a", "b", "c", "read:messages", "write:messages"];

fn scope_set() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(prop::sample::select(&UNIVERSE[..]), 0..6)
}

proptest! {
    #![proptest_config(config())]

    /// `ScopeRequirement` agrees with the obvious set model.
    #[test]
    fn scope_requirement_matches_the_model(required in scope_set(), granted in scope_set()) {
        let all = ScopeRequirement::all(required.iter().copied());
        let any = ScopeRequirement::any(required.iter().copied());
        let holds = |scope: &&str| granted.contains(scope);
        prop_assert_eq!(all.is_satisfied_by(granted.iter().copied()), required.iter().all(holds));
        prop_assert_eq!(any.is_satisfied_by(granted.iter().copied()), required.iter().any(holds));
    }
}

#[test]
fn scopes_through_the_layer_match_the_model() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 128,
        ..config()
    });
    let cases = (
        prop::collection::vec(prop::sample::select(&UNIVERSE[..]), 1..4),
        scope_set(),
        any::<bool>(),
        "[ ]{1,3}",
        any::<bool>(),
    );
    runner
        .run(&cases, |(required, granted, all, separator, as_array)| {
            let mut api = ResourceServer::new(AUDIENCE, SECRET);
            for scope in UNIVERSE {
                api = api.with_scope(scope, scope);
            }
            let guard = BearerGuardLayer::builder(api).build().unwrap();
            let layer = if all {
                guard.require_all(required.iter().copied())
            } else {
                guard.require_any(required.iter().copied())
            }
            .unwrap();
            let app = Router::new()
                .route("/r", get(|| async { "ok" }).route_layer(layer))
                .layer(guard);
            let scope = if as_array {
                json!(granted)
            } else {
                json!(granted.join(&separator))
            };
            let token = token(&claims("", json!({ "scope": scope })));
            let answer = runtime.block_on(send(&app, get_with_token("/r", &token)));
            let holds = |scope: &&str| granted.contains(scope);
            let expected = if all {
                required.iter().all(holds)
            } else {
                required.iter().any(holds)
            };
            prop_assert_eq!(
                answer.status,
                if expected { 200 } else { 403 },
                "{:?}",
                answer
            );
            Ok(())
        })
        .unwrap();
}

/// The guard with its verified-token cache on or off, with every
/// time-dependent check there is: `exp`, `nbf`, and `iat` against a maximum age.
fn timed_validator(cache: TokenCacheSettings) -> TokenValidator {
    BearerGuardLayer::builder(ResourceServer::new(AUDIENCE, SECRET))
        .issuer(ISSUER)
        .max_token_age(Duration::from_secs(900))
        .token_cache(cache)
        .build_validator()
        .unwrap()
}

/// Tokens around [`T0`]: valid, short-lived, not yet valid, issued in the future, for
/// another audience, with a forged signature.
fn timed_tokens() -> Vec<String> {
    let at = |extra: serde_json::Value| {
        let mut claims = claims("read:messages", extra);
        let map = claims.as_object_mut().unwrap();
        for name in ["iat", "exp", "nbf"] {
            if let Some(offset) = map.get(name).and_then(serde_json::Value::as_i64) {
                map.insert(name.into(), json!(T0 + offset));
            }
        }
        token(&claims)
    };
    let valid = at(json!({ "iat": 0, "exp": 600 }));
    let (signed, _) = valid.rsplit_once('.').unwrap();
    let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode([7u8; 32]));
    vec![
        valid,
        at(json!({ "iat": 0, "exp": 120 })),
        at(json!({ "iat": 0, "exp": 3600, "nbf": 200 })),
        at(json!({ "iat": 500, "exp": 3600 })),
        at(json!({ "iat": 0, "exp": 3600, "aud": "https://another-api" })),
        at(json!({ "iat": -800, "exp": 3600, "jti": "old" })),
        forged,
    ]
}

/// How the clock moves between two requests: mostly a little, sometimes far, sometimes back.
fn clock_step() -> impl Strategy<Value = i64> {
    prop_oneof![6 => 0i64..40, 2 => 40i64..400, 1 => -60i64..0]
}

/// The start of the controllable clock.
const T0: i64 = 1_700_000_000;

proptest! {
    #![proptest_config(config())]

    /// With the cache on and off, any sequence of requests, at any times (the clock moving
    /// on, standing still or going back), gets the same answers.
    #[test]
    fn cache_on_and_off_agree_on_any_sequence(
        steps in prop::collection::vec((0usize..7, clock_step()), 1..60),
    ) {
        let tokens = timed_tokens();
        let on = timed_validator(TokenCacheSettings::default().max_age(Duration::from_secs(120)));
        let off = timed_validator(TokenCacheSettings::disabled());
        let mut now = T0 - 100;
        let answer = |validator: &TokenValidator, token: &str, now: i64| {
            let at = UNIX_EPOCH + Duration::from_secs(now.unsigned_abs());
            validator
                .validate_at(token, at)
                .map(|verified| (verified.subject().map(str::to_owned), verified.expires_at()))
                .map_err(|error| error.kind())
        };
        for (index, step) in steps {
            now += step;
            let token = &tokens[index];
            prop_assert_eq!(answer(&on, token, now), answer(&off, token, now), "token {} at T0{:+}", index, now - T0);
        }
        let status = on.token_cache_status().unwrap();
        prop_assert_eq!(off.token_cache_status(), None);
        // Tokens 4 (another audience) and 6 (forged) never pass, so are never kept.
        prop_assert!(status.entries <= 5, "{:?}", status);
    }
}
