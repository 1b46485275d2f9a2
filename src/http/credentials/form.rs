//! Tokens in a form-encoded request body (RFC 6750 §2.2), behind the `form` feature.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, Request, Response};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::http::answer::body::DefaultRejection;
use crate::http::answer::hook::{OnRejection, Responder};
use crate::http::answer::rejection::RejectionKind;
use crate::http::credentials::authorization::{RequestErrorKind, urlencoded_token};

const DEFAULT_MAX_BODY_LEN: usize = 64 * 1024;

/// The token a [`FormToken`] service found, for the guard to check.
#[derive(Clone)]
pub(crate) struct FormBodyToken(pub(crate) Box<str>);

/// Applies [`FormToken`]: reads the token of a form-encoded body for the guard inside it.
///
/// RFC 6750 discourages this method; use it only for clients that cannot set the
/// `Authorization` header. [`FormTokenLayer`] comes from
/// [`BearerGuardLayer::form_token_layer`] and runs outside the guard. For a request whose
/// method is not `GET` or `HEAD` and whose `Content-Type` is
/// `application/x-www-form-urlencoded`, it reads the body (up to a limit), takes its
/// `access_token` parameter for the guard to check, and passes the body on unchanged. A token
/// also sent in the query, or in the header with a body of declared length within the limit,
/// is a 400, as are an oversized or unreadable body without an `Authorization` header. With
/// that header, a larger body passes on unread, so header-authenticated uploads are not
/// limited.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::post};
/// use bearer_guard::{BearerGuardLayer, ResourceServer};
///
/// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
/// let guard = BearerGuardLayer::builder(api).build()?;
/// let app: Router = Router::new()
///     .route("/api/messages", post(|body: String| async move { body }))
///     .layer(guard.clone())
///     .layer(guard.form_token_layer().max_body_len(16 * 1024));
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
///
///
/// [`BearerGuardLayer::form_token_layer`]: crate::BearerGuardLayer::form_token_layer
pub struct FormTokenLayer<R = DefaultRejection> {
    responder: Arc<Responder<R>>,
    max_body_len: usize,
}

impl<R> FormTokenLayer<R> {
    pub(crate) fn new(responder: Arc<Responder<R>>) -> Self {
        Self {
            responder,
            max_body_len: DEFAULT_MAX_BODY_LEN,
        }
    }

    /// The largest form body read, in bytes; a larger one is answered 400. Defaults to 64 KiB.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # let guard = BearerGuardLayer::builder(ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")).build()?;
    /// let form = guard.form_token_layer().max_body_len(4096);
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[must_use]
    pub fn max_body_len(mut self, bytes: usize) -> Self {
        self.max_body_len = bytes;
        self
    }
}

impl<R> Clone for FormTokenLayer<R> {
    fn clone(&self) -> Self {
        Self {
            responder: Arc::clone(&self.responder),
            max_body_len: self.max_body_len,
        }
    }
}

impl<R> fmt::Debug for FormTokenLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FormTokenLayer")
            .field("max_body_len", &self.max_body_len)
            .finish_non_exhaustive()
    }
}

impl<S, R> Layer<S> for FormTokenLayer<R> {
    type Service = FormToken<S, R>;

    fn layer(&self, inner: S) -> FormToken<S, R> {
        FormToken {
            inner,
            layer: self.clone(),
        }
    }
}

/// Middleware that reads an `access_token` from form-encoded bodies for the guard inside it.
/// See [`FormTokenLayer`].
pub struct FormToken<S, R = DefaultRejection> {
    inner: S,
    layer: FormTokenLayer<R>,
}

define_inner_service_accessors!(FormToken);

impl<S: Clone, R> Clone for FormToken<S, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, R> fmt::Debug for FormToken<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FormToken")
            .field("inner", &self.inner)
            .field("max_body_len", &self.layer.max_body_len)
            .finish_non_exhaustive()
    }
}

/// Whether to read the body: it may carry a token (a method with body semantics and the form
/// media type), and reading it cannot turn away a request the header already authenticates.
/// With an `Authorization` header the body is read only when its declared length fits the
/// limit, to catch a second token; otherwise it passes on unread.
fn should_read<B>(request: &Request<B>, limit: usize) -> bool {
    if !may_carry_token(request) {
        return false;
    }
    if !request.headers().contains_key(AUTHORIZATION) {
        return true;
    }
    request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|len| len.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|len| len <= limit)
}

/// A form body may carry the token: a method with body semantics and the form media type.
fn may_carry_token<B>(request: &Request<B>) -> bool {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return false;
    }
    let mut types = request.headers().get_all(CONTENT_TYPE).iter();
    match (types.next(), types.next()) {
        (Some(value), None) => value.to_str().is_ok_and(|value| {
            let essence = value.split(';').next().unwrap_or_default().trim();
            essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
        }),
        _ => false,
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for FormToken<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    R: OnRejection<ResBody> + Send + Sync + 'static,
    ReqBody: http_body::Body + From<Bytes> + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = FormTokenFuture<S::Future, Result<Response<ResBody>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if !should_read(&request, self.layer.max_body_len) {
            return FormTokenFuture {
                kind: Kind::Inner {
                    future: self.inner.call(request),
                },
            };
        }
        // The service that was polled ready goes into the future; a clone takes its place.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let responder = Arc::clone(&self.layer.responder);
        let limit = self.layer.max_body_len;
        let future: BoxFuture<_> = Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let bytes = match Limited::new(body, limit).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(err) => {
                    let kind = if err.is::<LengthLimitError>() {
                        RequestErrorKind::BodyTooLarge
                    } else {
                        RequestErrorKind::UnreadableBody
                    };
                    let rejection = responder.reject(RejectionKind::InvalidRequest(kind));
                    return Ok(responder.respond(rejection, &parts.method, &parts.uri));
                }
            };
            match urlencoded_token(&bytes) {
                Ok(Some(token)) => {
                    parts.extensions.insert(FormBodyToken(token.into()));
                }
                Ok(None) => {}
                Err(kind) => {
                    let rejection = responder.reject(RejectionKind::InvalidRequest(kind));
                    return Ok(responder.respond(rejection, &parts.method, &parts.uri));
                }
            }
            inner
                .call(Request::from_parts(parts, ReqBody::from(bytes)))
                .await
        });
        FormTokenFuture {
            kind: Kind::Reading { future },
        }
    }
}

pin_project! {
    /// Response future of [`FormToken`]: the inner service's future, or the body being read
    /// first. See [`FormTokenLayer`].
    pub struct FormTokenFuture<F, T> {
        #[pin]
        kind: Kind<F, T>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, T> {
        Inner { #[pin] future: F },
        Reading { future: BoxFuture<T> },
    }
}

impl<F, T> Future for FormTokenFuture<F, T>
where
    F: Future<Output = T>,
{
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Reading { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F, T> fmt::Debug for FormTokenFuture<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.kind {
            Kind::Inner { .. } => "Inner",
            Kind::Reading { .. } => "Reading",
        };
        f.debug_tuple("FormTokenFuture").field(&state).finish()
    }
}
