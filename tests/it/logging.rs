//! What bearer-guard logs: one debug event per rejection with a reason code, and never the
//! token, the secret or a claim.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use crate::common::*;
use axum::{Router, routing::get};
use bearer_guard::{BearerGuardLayer, ResourceServer, VerifiedToken};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::{DefaultGuard, Interest};
use tracing::{Dispatch, Event, Metadata, Subscriber};

/// Records every event as `LEVEL field=value …`.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = event.metadata().level().to_string();
        event.record(&mut Line(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// A new [`Recorder`], this thread's default subscriber until the guard drops.
///
/// Tests of other concerns may run in this process at the same time, on other threads, through
/// the same callsites, with no subscriber. tracing caches each callsite's interest process-wide
/// when a thread first reaches it, and while at most one dispatcher is registered it asks only
/// that thread's default: another test reaching the rejection event first, while one recorder
/// is registered, would cache `never`, and the event would reach no recorder. With two
/// [`Anchor`]s registered for good before the first recorder, tracing asks every registered
/// dispatcher instead; the anchors answer `sometimes`, so each event is checked against the
/// default of the thread it happens on.
fn capture() -> (Recorder, DefaultGuard) {
    static ANCHORS: OnceLock<[Dispatch; 2]> = OnceLock::new();
    ANCHORS.get_or_init(|| [Dispatch::new(Anchor), Dispatch::new(Anchor)]);
    let recorder = Recorder::default();
    let guard = tracing::subscriber::set_default(recorder.clone());
    (recorder, guard)
}

/// A registered dispatcher that is no thread's default: it records nothing, raises no level,
/// and leaves every event to the subscriber of the thread it happens on.
struct Anchor;

impl Subscriber for Anchor {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::OFF)
    }
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        false
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn app() -> Router {
    let api = ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "Read");
    let guard = BearerGuardLayer::builder(api)
        .issuer(ISSUER)
        .build()
        .unwrap();
    let read = guard.require_all(["read:messages"]).unwrap();
    Router::new()
        .route("/private", get(|_: VerifiedToken| async { "ok" }))
        .route("/scoped", get(|| async { "ok" }).route_layer(read))
        .layer(guard)
}

#[tokio::test]
async fn each_rejection_logs_one_debug_event_with_its_reason_and_nothing_secret() {
    let (recorder, _guard) = capture();

    let wrong_aud = token(&claims(
        "",
        json!({ "aud": "https://other-api", "sub": "user-42" }),
    ));
    let no_scope = token(&claims("openid", json!({ "sub": "user-42" })));
    let cases = [
        (request("/private", &[]), "missing_credentials"),
        (request("/private", &["Bearer"]), "empty_token"),
        (get_with_token("/private", &wrong_aud), "wrong_aud"),
        (get_with_token("/scoped", &no_scope), "insufficient_scope"),
    ];
    for (request, reason) in cases {
        recorder.0.lock().unwrap().clear();
        send(&app(), request).await;
        let lines = recorder.0.lock().unwrap().clone();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("DEBUG"), "{lines:?}");
        assert!(
            lines[0].contains(&format!("reason=\"{reason}\"")),
            "{lines:?}"
        );
        // Enough to find the request in an access log: its method and path.
        assert!(lines[0].contains(r#"method="GET""#), "{lines:?}");
        assert!(
            lines[0].contains(r#"path="/private""#) || lines[0].contains(r#"path="/scoped""#),
            "{lines:?}"
        );
        for secret in [
            SECRET,
            "user-42",
            "https://other-api",
            &wrong_aud[..30],
            &no_scope[..30],
        ] {
            assert!(!lines[0].contains(secret), "{secret} in {lines:?}");
        }
    }

    recorder.0.lock().unwrap().clear();
    let answer = send(
        &app(),
        get_with_token("/private", &token(&claims("", json!({})))),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert!(
        recorder.0.lock().unwrap().is_empty(),
        "accepted requests log nothing"
    );
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Profile {
    sub: String,
    org: Org,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Org {
    seats: u32,
}

#[tokio::test]
async fn claims_that_do_not_fit_the_type_log_a_warning_naming_the_claim_not_its_value() {
    let (recorder, _guard) = capture();
    let api = ResourceServer::new(AUDIENCE, SECRET);
    let app = Router::new()
        .route(
            "/profile",
            get(|_: bearer_guard::Claims<Profile>| async { "ok" }),
        )
        .layer(BearerGuardLayer::builder(api).build().unwrap());
    let token = token(&claims(
        "",
        json!({ "sub": "user-42", "org": { "seats": "forty-two-secret" } }),
    ));
    let answer = send(&app, get_with_token("/profile?x=1", &token)).await;
    assert_eq!(answer.status, 401);

    let lines = recorder.0.lock().unwrap().clone();
    let warning = lines
        .iter()
        .find(|line| line.starts_with("WARN"))
        .unwrap_or_else(|| panic!("no warning in {lines:#?}"));
    assert!(warning.contains(r#"claim=org.seats"#), "{warning}");
    assert!(
        warning.contains("error=invalid type: string, expected u32"),
        "{warning}"
    );
    assert!(warning.contains("logging::Profile"), "{warning}");
    // And the rejection's own debug event, with where the request went.
    assert!(
        lines.iter().any(|line| line.starts_with("DEBUG")
            && line.contains(r#"reason="invalid_claim""#)
            && line.contains(r#"path="/profile""#)),
        "{lines:#?}"
    );
    for line in &lines {
        for secret in ["forty-two-secret", "user-42", "x=1", &token[..30]] {
            assert!(!line.contains(secret), "{secret} in {line}");
        }
    }
}

/// A fetcher answering from a script, then repeating its last answer.
#[cfg(feature = "jwks")]
struct Scripted(Mutex<Vec<(u16, String)>>);

#[cfg(feature = "jwks")]
impl bearer_guard::jwks::JwksFetcher for Scripted {
    fn get<'a>(&'a self, _: &'a str, _: usize) -> bearer_guard::jwks::FetchFuture<'a> {
        let (status, body) = {
            let mut script = self.0.lock().unwrap();
            if script.len() > 1 {
                script.remove(0)
            } else {
                script[0].clone()
            }
        };
        Box::pin(async move {
            let mut response = http::Response::new(bytes::Bytes::from(body));
            *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
            Ok(response)
        })
    }
}

#[cfg(feature = "jwks")]
#[tokio::test]
async fn the_key_cache_logs_fetches_refetches_and_refusals_without_key_material() {
    use std::time::Duration;

    use crate::common::keys::{jwk, jwks, signed};
    use jsonwebtoken::Algorithm::RS256;

    let (recorder, _guard) = capture();
    let key = jwk("rsa2048", "k1", &json!({}));
    let modulus = key["n"].as_str().unwrap()[..40].to_owned();
    let api = ResourceServer::from_json(&format!(
        r#"{{"identifier": "{AUDIENCE}", "signing_alg": "RS256"}}"#
    ))
    .unwrap();
    let layer = BearerGuardLayer::builder(api)
        .jwks_uri("https://keys.example/jwks.json")
        .jwks_fetcher(Scripted(Mutex::new(vec![
            (500, String::new()),
            (200, jwks(&[key])),
        ])))
        .key_cache(
            bearer_guard::jwks::KeyCacheSettings::default()
                .backoff(Duration::from_millis(10), Duration::from_millis(20))
                .fetch_timeout(Duration::from_millis(500))
                .connect_timeout(Duration::from_millis(100)),
        )
        .build()
        .unwrap();
    layer.wait_for_keys(Duration::from_secs(5)).await.unwrap();
    let app = Router::new()
        .route("/private", get(|| async { "ok" }))
        .layer(layer);
    let forged: Vec<String> = (0..4)
        .map(|i| signed(RS256, "rsa2048", Some(&format!("forged-{i}"))))
        .collect();
    for token in &forged {
        send(&app, get_with_token("/private", token)).await;
    }
    let lines = recorder.0.lock().unwrap().clone();
    let has = |level: &str, text: &str| {
        lines
            .iter()
            .any(|l| l.starts_with(level) && l.contains(text))
    };
    assert!(
        has("WARN", "key set fetch failed") && has("WARN", "500"),
        "{lines:#?}"
    );
    assert!(
        has("INFO", "key set fetched") && has("INFO", "keys=1"),
        "{lines:#?}"
    );
    assert!(has("INFO", "unknown kid; refetching"), "{lines:#?}");
    assert!(has("DEBUG", "refused by the budget"), "{lines:#?}");
    for line in &lines {
        assert!(!line.contains(&modulus), "{line}");
        for token in &forged {
            assert!(!line.contains(token.as_str()), "{line}");
        }
    }
}
