//! The loopback issuer of the fleet bench: discovery and a JWK set, counting every request per
//! (compressed) second, and able to rotate, rate-limit (429 + `Retry-After`) and go down.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Router, routing::get};
use serde_json::json;

/// What the key set endpoint serves, and how.
#[derive(Clone)]
pub struct Mode {
    /// The `kid`s of the set (all the same fixture key).
    pub kids: Vec<&'static str>,
    /// The `max-age` sent, in real seconds.
    pub max_age: u64,
    /// At most this many requests per bucket (one compressed second); beyond, 429 with this
    /// `Retry-After` (real seconds).
    pub limit: Option<(u32, u64)>,
    /// Every request answered 503 without `Retry-After`.
    pub down: bool,
}

struct Served {
    mode: Mode,
    /// The key set document and its `ETag`, remade on each change.
    document: String,
    etag: String,
}

pub struct Provider {
    pub base: String,
    start: Instant,
    bucket: Duration,
    /// Requests answered, per bucket (any status).
    requests: Vec<AtomicU32>,
    /// Requests over the limit, per bucket.
    limited: Vec<AtomicU32>,
    not_modified: AtomicU64,
    served: Mutex<Served>,
    version: AtomicU64,
}

impl Provider {
    /// A provider on an ephemeral loopback port; `bucket` is one compressed second, `buckets`
    /// bound how long it counts.
    pub async fn start(mode: Mode, bucket: Duration, buckets: usize) -> Arc<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let provider = Arc::new(Self {
            base,
            start: Instant::now(),
            bucket,
            requests: (0..buckets).map(|_| AtomicU32::new(0)).collect(),
            limited: (0..buckets).map(|_| AtomicU32::new(0)).collect(),
            not_modified: AtomicU64::new(0),
            served: Mutex::new(Served {
                document: String::new(),
                etag: String::new(),
                mode: mode.clone(),
            }),
            version: AtomicU64::new(0),
        });
        provider.set(mode);
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/.well-known/jwks.json", get(key_set))
            .with_state(Arc::clone(&provider));
        tokio::spawn(async move { axum::serve(listener, app).await });
        provider
    }

    /// Changes what is served (a rotation, a limit, an outage).
    pub fn set(&self, mode: Mode) {
        let keys: Vec<_> = mode
            .kids
            .iter()
            .map(|kid| super::keys::jwk("rsa2048", kid, &json!({})))
            .collect();
        let version = self.version.fetch_add(1, Ordering::Relaxed);
        let mut served = self.served.lock().unwrap();
        served.document = super::keys::jwks(&keys);
        served.etag = format!("\"v{version}\"");
        served.mode = mode;
    }

    /// The bucket of now (the last one once past the end).
    pub fn now(&self) -> usize {
        let elapsed = self.start.elapsed().as_secs_f64() / self.bucket.as_secs_f64();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let bucket = elapsed as usize;
        bucket.min(self.requests.len() - 1)
    }

    /// Requests per bucket, from `from` up to (not including) `to`.
    pub fn requests(&self, from: usize, to: usize) -> Vec<u32> {
        self.requests[from..to.min(self.requests.len())]
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .collect()
    }

    pub fn limited(&self) -> u64 {
        self.limited
            .iter()
            .map(|c| u64::from(c.load(Ordering::Relaxed)))
            .sum()
    }

    pub fn not_modified(&self) -> u64 {
        self.not_modified.load(Ordering::Relaxed)
    }

    /// Counts a request; `Err` with the answer when the limit or an outage turns it away.
    fn admit(&self) -> Result<Mode, Box<Response>> {
        let bucket = self.now();
        let count = self.requests[bucket].fetch_add(1, Ordering::Relaxed) + 1;
        let mode = self.served.lock().unwrap().mode.clone();
        if mode.down {
            return Err(Box::new(StatusCode::SERVICE_UNAVAILABLE.into_response()));
        }
        if let Some((limit, retry_after)) = mode.limit
            && count > limit
        {
            self.limited[bucket].fetch_add(1, Ordering::Relaxed);
            return Err(Box::new(
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, retry_after.to_string())],
                )
                    .into_response(),
            ));
        }
        Ok(mode)
    }
}

async fn discovery(State(provider): State<Arc<Provider>>) -> Response {
    if let Err(answer) = provider.admit() {
        return *answer;
    }
    let base = &provider.base;
    axum::Json(
        json!({"issuer": format!("{base}/"), "jwks_uri": format!("{base}/.well-known/jwks.json")}),
    )
    .into_response()
}

async fn key_set(State(provider): State<Arc<Provider>>, request: HeaderMap) -> Response {
    let mode = match provider.admit() {
        Ok(mode) => mode,
        Err(answer) => return *answer,
    };
    let (document, etag) = {
        let served = provider.served.lock().unwrap();
        (served.document.clone(), served.etag.clone())
    };
    let headers = [
        (
            header::CACHE_CONTROL,
            format!("public, max-age={}", mode.max_age),
        ),
        (header::ETAG, etag.clone()),
    ];
    if request
        .get(header::IF_NONE_MATCH)
        .is_some_and(|sent| sent.as_bytes() == etag.as_bytes())
    {
        provider.not_modified.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, document).into_response()
}
