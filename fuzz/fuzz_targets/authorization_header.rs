//! Any `Authorization` header values (and query string) through the layer: never a panic,
//! and every answer is one of the documented ones (RFC 6750 §3).
//!
//! Input: one flags byte (bit 0: query tokens allowed, bit 1: anonymous allowed), then pieces
//! separated by `\n`: the query string, then one `Authorization` header value each.

#![no_main]

use std::future::{Future, Ready, ready};
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use bearer_guard::{BearerGuardLayer, Rejection, RejectionKind, ResourceServer};
use bearer_guard::service::{BearerGuard, RequireScopes};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};
use libfuzzer_sys::fuzz_target;
use tower_layer::Layer;
use tower_service::Service;

#[path = "../../tests/it/common/demo.rs"]
mod demo;

use demo::{AUDIENCE, SECRET};

/// The protected handler: always 200.
#[derive(Clone, Copy, Debug)]
struct Ok200;

impl Service<Request<()>> for Ok200 {
    type Response = Response<Bytes>;
    type Error = std::convert::Infallible;
    type Future = Ready<Result<Response<Bytes>, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        ready(Ok(Response::new(Bytes::from_static(b"ok"))))
    }
}

type App = BearerGuard<RequireScopes<Ok200>>;

fn apps() -> &'static [App; 4] {
    static APPS: OnceLock<[App; 4]> = OnceLock::new();
    APPS.get_or_init(|| {
        [0u8, 1, 2, 3].map(|flags| {
            let api =
                ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "Read messages");
            let mut builder = BearerGuardLayer::builder(api);
            if flags & 1 != 0 {
                builder = builder.allow_query_token();
            }
            if flags & 2 != 0 {
                builder = builder.allow_anonymous();
            }
            let guard = builder.build().unwrap();
            let scoped = guard.require_all(["read:messages"]).unwrap().layer(Ok200);
            guard.layer(scoped)
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut pieces = rest.split(|&b| b == b'\n');
    let query = pieces.next().unwrap_or_default();
    let Ok(query) = std::str::from_utf8(query) else {
        return;
    };
    let mut request = Request::get(format!("/?{query}"));
    let mut sent = 0;
    for value in pieces {
        let Ok(value) = HeaderValue::from_bytes(value) else {
            return;
        };
        request = request.header(header::AUTHORIZATION, value);
        sent += 1;
    }
    let Ok(request) = request.body(()) else {
        return;
    };
    let mut app = apps()[usize::from(flags % 4)].clone();
    let mut future = pin!(app.call(request));
    let Poll::Ready(Ok(response)) = future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    else {
        panic!("the guard answered asynchronously around a ready service");
    };
    check(&response, sent);
});

/// The documented answers: 200, 400 invalid_request, 401 with or without invalid_token, 403.
fn check(response: &Response<Bytes>, sent: usize) {
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|value| value.to_str().unwrap().to_owned());
    let rejection = response
        .extensions()
        .get::<Rejection>()
        .map(Rejection::kind);
    match (status, rejection) {
        (200, None) => assert!(challenge.is_none()),
        (400, Some(RejectionKind::InvalidRequest(_))) => {
            assert!(challenge.unwrap().contains(r#"error="invalid_request""#));
        }
        (401, Some(RejectionKind::MissingCredentials)) => {
            let challenge = challenge.unwrap();
            assert_eq!(challenge, r#"Bearer realm="https://my-api-urn""#);
            assert!(sent <= 1, "{sent} headers answered as no credentials");
        }
        (401, Some(RejectionKind::InvalidToken(_))) => {
            assert!(challenge.unwrap().contains(r#"error="invalid_token""#));
        }
        (403, Some(RejectionKind::InsufficientScope)) => {
            assert!(challenge.unwrap().contains(r#"error="insufficient_scope""#));
        }
        other => panic!("undocumented answer {other:?}"),
    }
}
