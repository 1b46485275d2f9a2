//! The response future of [`BearerGuard`](crate::BearerGuard): the inner service's answer, a
//! rejection, or (feature `jwks`) a wait for a key-set refetch before either.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::http::future::ResponseFuture;
use crate::http::layer::{Admission, Guard};
use crate::http::multi::Apis;
use crate::http::on_rejection::OnRejection;
use crate::http::rejection::RejectionKind;
use crate::token::TokenErrorKind;

#[cfg(feature = "jwks")]
pub(crate) use crate::http::dpop::ReplayCheck;
#[cfg(feature = "jwks")]
pub(crate) use crate::keys::KeyWait;

/// Without the `jwks` feature no DPoP proof is ever checked.
#[cfg(not(feature = "jwks"))]
pub(crate) enum NoReplayCheck {}

#[cfg(not(feature = "jwks"))]
impl Future for NoReplayCheck {
    type Output = Result<(), std::convert::Infallible>;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        match *self {}
    }
}

#[cfg(not(feature = "jwks"))]
pub(crate) type ReplayCheck = Pin<Box<NoReplayCheck>>;

#[cfg(not(feature = "jwks"))]
fn replay_refused<R, B, F, ResBody>(
    _: &Guard<R>,
    error: std::convert::Infallible,
    _: &Request<B>,
) -> ResponseFuture<F, ResBody> {
    match error {}
}

/// The answer to a request whose DPoP proof was seen before, or could not be checked.
#[cfg(feature = "jwks")]
fn replay_refused<R, B, F, ResBody>(
    guard: &Guard<R>,
    error: crate::dpop::DpopError,
    request: &Request<B>,
) -> ResponseFuture<F, ResBody>
where
    R: OnRejection<ResBody>,
{
    let rejection = guard
        .responder
        .reject(RejectionKind::Dpop(error))
        .of_dpop_request();
    ResponseFuture::rejected(
        guard
            .responder
            .respond(rejection, request.method(), request.uri()),
    )
}

/// Without the `jwks` feature nothing is ever waited for.
#[cfg(not(feature = "jwks"))]
pub(crate) enum KeyWait {}

#[cfg(not(feature = "jwks"))]
impl Future for KeyWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        match *self {}
    }
}

/// A request held while its token waits for a refetched key set, with the service (ready)
/// that will answer it.
struct Parked<S, ReqBody, R> {
    request: Request<ReqBody>,
    inner: S,
    gate: Gate<R>,
}

impl<S, ReqBody, R> Parked<S, ReqBody, R> {
    /// `request` and the ready `inner`, held for `gate` until the wait ends.
    fn boxed(request: Request<ReqBody>, inner: S, gate: Gate<R>) -> Option<Box<Self>> {
        Some(Box::new(Self {
            request,
            inner,
            gate,
        }))
    }

    /// What `parked` holds, taken when the wait ends; only once, as a future is polled to
    /// completion once.
    fn take(parked: &mut Option<Box<Self>>) -> Self {
        match parked.take() {
            Some(parked) => *parked,
            None => panic!("GuardFuture polled after completion"),
        }
    }
}

/// What checks a request again after the wait: one guard, or several APIs'.
pub(crate) enum Gate<R> {
    One(Arc<Guard<R>>),
    Several(Arc<Apis<R>>),
}

impl<R> Gate<R> {
    /// The guard whose settings find the token and whose hook answers.
    fn primary(&self) -> &Guard<R> {
        match self {
            Self::One(guard) => guard,
            Self::Several(apis) => apis.primary(),
        }
    }

    fn authenticate_owned<B>(&self, request: Request<B>) -> (Request<B>, Admission) {
        // Once: a kid still unknown after the refetch is refused.
        match self {
            Self::One(guard) => guard.authenticate_owned(request, false, |_| Ok(&**guard)),
            Self::Several(apis) => apis
                .primary()
                .authenticate_owned(request, false, |token| apis.choose(token)),
        }
    }
}

pin_project! {
    /// Response future of [`BearerGuard`](crate::BearerGuard). The waiting state is boxed, so
    /// that the common case carries nothing for it.
    pub struct GuardFuture<S, ReqBody, ResBody, R>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody, ResBody, R>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody, ResBody, R>
    where
        S: Service<Request<ReqBody>>,
    {
        Ready { #[pin] future: ResponseFuture<S::Future, ResBody> },
        Waiting { wait: Pin<Box<KeyWait>>, parked: Option<Box<Parked<S, ReqBody, R>>> },
        CheckingReplay { check: ReplayCheck, in_url: bool, parked: Option<Box<Parked<S, ReqBody, R>>> },
    }
}

impl<S, ReqBody, ResBody, R> GuardFuture<S, ReqBody, ResBody, R>
where
    S: Service<Request<ReqBody>>,
{
    pub(crate) fn ready(future: ResponseFuture<S::Future, ResBody>) -> Self {
        Self {
            state: State::Ready { future },
        }
    }

    /// Waits on `wait`, then checks the request again and calls `inner` (already ready).
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) fn waiting(
        wait: KeyWait,
        request: Request<ReqBody>,
        inner: S,
        gate: Gate<R>,
    ) -> Self {
        Self {
            state: State::Waiting {
                wait: Box::pin(wait),
                parked: Parked::boxed(request, inner, gate),
            },
        }
    }

    /// Waits for a DPoP proof's replay check, then calls `inner` (already ready) or answers.
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) fn checking_replay(
        check: ReplayCheck,
        in_url: bool,
        request: Request<ReqBody>,
        inner: S,
        gate: Gate<R>,
    ) -> Self {
        Self {
            state: State::CheckingReplay {
                check,
                in_url,
                parked: Parked::boxed(request, inner, gate),
            },
        }
    }
}

impl<S, ReqBody, ResBody, R> GuardFuture<S, ReqBody, ResBody, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    R: OnRejection<ResBody> + Send + Sync + 'static,
    ResBody: 'static,
{
    /// The future for a request the guard of `gate` decided on: the inner service called
    /// (`inner`, polled ready), the rejection answered, or a wait (for keys, or for a DPoP
    /// proof's replay check) with the ready service parked and a clone in its place.
    pub(crate) fn admit(
        admission: Admission,
        mut request: Request<ReqBody>,
        inner: &mut S,
        gate: impl FnOnce() -> Gate<R>,
        guard: &Guard<R>,
    ) -> Self {
        let park = |inner: &mut S| {
            let ready = inner.clone();
            std::mem::replace(inner, ready)
        };
        match admission {
            Admission::Pass { in_url } => {
                guard.leave_hook::<ResBody, _>(&mut request);
                Self::ready(ResponseFuture::inner(inner.call(request), in_url))
            }
            Admission::Reject(rejection) => {
                let response = guard
                    .responder
                    .respond(rejection, request.method(), request.uri());
                Self::ready(ResponseFuture::rejected(response))
            }
            Admission::WaitForKeys(wait) => Self::waiting(wait, request, park(inner), gate()),
            #[cfg(feature = "jwks")]
            Admission::CheckReplay { check, in_url } => {
                Self::checking_replay(check, in_url, request, park(inner), gate())
            }
        }
    }
}

impl<S, ReqBody, ResBody, R> Future for GuardFuture<S, ReqBody, ResBody, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: OnRejection<ResBody> + Send + Sync + 'static,
    ResBody: 'static,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let mut state = self.as_mut().project().state;
            let next = match state.as_mut().project() {
                StateProj::Ready { future } => return future.poll(cx),
                StateProj::Waiting { wait, parked } => {
                    ready!(wait.as_mut().poll(cx));
                    let Parked {
                        request,
                        mut inner,
                        gate,
                    } = Parked::take(parked);
                    let guard = gate.primary();
                    let responder = &guard.responder;
                    let (mut request, admission) = gate.authenticate_owned(request);
                    let rejection = match admission {
                        Admission::Pass { in_url } => {
                            guard.leave_hook::<ResBody, _>(&mut request);
                            state.set(State::Ready {
                                future: ResponseFuture::inner(inner.call(request), in_url),
                            });
                            continue;
                        }
                        Admission::Reject(rejection) => rejection,
                        Admission::WaitForKeys(_) => responder
                            .reject(RejectionKind::InvalidToken(TokenErrorKind::UnknownKeyId)),
                        #[cfg(feature = "jwks")]
                        Admission::CheckReplay { check, in_url } => {
                            state.set(State::CheckingReplay {
                                check,
                                in_url,
                                parked: Parked::boxed(request, inner, gate),
                            });
                            continue;
                        }
                    };
                    ResponseFuture::rejected(responder.respond(
                        rejection,
                        request.method(),
                        request.uri(),
                    ))
                }
                StateProj::CheckingReplay {
                    check,
                    in_url,
                    parked,
                } => {
                    let checked = ready!(check.as_mut().poll(cx));
                    let in_url = *in_url;
                    let Parked {
                        mut request,
                        mut inner,
                        gate,
                    } = Parked::take(parked);
                    let guard = gate.primary();
                    match checked {
                        Ok(()) => {
                            guard.leave_hook::<ResBody, _>(&mut request);
                            state.set(State::Ready {
                                future: ResponseFuture::inner(inner.call(request), in_url),
                            });
                            continue;
                        }
                        Err(error) => replay_refused(guard, error, &request),
                    }
                }
            };
            state.set(State::Ready { future: next });
        }
    }
}

impl<S, ReqBody, ResBody, R> fmt::Debug for GuardFuture<S, ReqBody, ResBody, R>
where
    S: Service<Request<ReqBody>>,
{
    /// As the [`ResponseFuture`] it holds, or `GuardFuture("WaitingForKeys")`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            State::Ready { future } => fmt::Debug::fmt(future, f),
            State::Waiting { .. } => f
                .debug_tuple("GuardFuture")
                .field(&"WaitingForKeys")
                .finish(),
            State::CheckingReplay { .. } => f
                .debug_tuple("GuardFuture")
                .field(&"CheckingDpopReplay")
                .finish(),
        }
    }
}
