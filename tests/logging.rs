//! What bearer-guard logs: one debug event per rejection with a reason code, and never the
//! token, the secret or a claim.

#![allow(clippy::unwrap_used)]

mod common;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::{Router, routing::get};
use bearer_guard::{BearerGuardLayer, ResourceServer, VerifiedToken};
use common::*;
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

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
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());

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
