//! The response future of [`BearerGuard`](crate::service::BearerGuard) and
//! [`MultiApi`](crate::service::MultiApi): the inner service's answer, a rejection, or a wait (for a
//! key-set refetch, or a DPoP proof's replay check) before either.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::http::answer::hook::OnRejection;
use crate::http::answer::rejection::RejectionKind;
use crate::http::future::ResponseFuture;
use crate::http::guard::pipeline::{Attempt, Decision, KeyWait, ReplayCheck};
use crate::http::guard::verifiers::Verifiers;

/// A request held while it waits, with the service (ready) that will answer it and the
/// verifiers that decide about it again.
struct Parked<S, ReqBody, R> {
    request: Request<ReqBody>,
    inner: S,
    verifiers: Verifiers<R>,
}

impl<S, ReqBody, R> Parked<S, ReqBody, R> {
    fn boxed(request: Request<ReqBody>, inner: S, verifiers: Verifiers<R>) -> Option<Box<Self>> {
        Some(Box::new(Self {
            request,
            inner,
            verifiers,
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

pin_project! {
    /// Response future of [`BearerGuard`](crate::service::BearerGuard) and
    /// [`MultiApi`](crate::service::MultiApi). The waiting states are boxed, so that the common case
    /// carries nothing for them.
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
        WaitingForKeys { wait: KeyWait, parked: Option<Box<Parked<S, ReqBody, R>>> },
        CheckingReplay {
            check: ReplayCheck,
            in_url: bool,
            dpop_nonce: Option<Box<str>>,
            parked: Option<Box<Parked<S, ReqBody, R>>>,
        },
    }
}

impl<S, ReqBody, ResBody, R> GuardFuture<S, ReqBody, ResBody, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    R: OnRejection<ResBody> + Send + Sync + 'static,
    ResBody: 'static,
{
    /// The future for `request`, decided by `verifiers`, to be answered by `inner` (polled
    /// ready).
    #[inline]
    pub(crate) fn start(
        verifiers: &Verifiers<R>,
        request: Request<ReqBody>,
        inner: &mut S,
    ) -> Self {
        let (request, decision) = verifiers.decide(request, Attempt::First);
        Self {
            state: State::decided(decision, request, inner, verifiers),
        }
    }
}

impl<S, ReqBody, ResBody, R> State<S, ReqBody, ResBody, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    R: OnRejection<ResBody> + Send + Sync + 'static,
    ResBody: 'static,
{
    /// The one mapping from a decision to what the future does next: call `inner` (ready),
    /// answer the rejection, or wait with the ready service parked and a clone in its place.
    fn decided(
        decision: Decision,
        mut request: Request<ReqBody>,
        inner: &mut S,
        verifiers: &Verifiers<R>,
    ) -> Self {
        let park = |inner: &mut S| {
            let ready = inner.clone();
            std::mem::replace(inner, ready)
        };
        match decision {
            Decision::Admit { in_url, dpop_nonce } => {
                verifiers.front().leave_hook::<ResBody, _>(&mut request);
                Self::Ready {
                    future: ResponseFuture::admitted(inner.call(request), in_url, dpop_nonce),
                }
            }
            Decision::Reject(rejection) => {
                let responder = &verifiers.front().responder;
                let response = responder.respond(rejection, request.method(), request.uri());
                Self::Ready {
                    future: ResponseFuture::rejected(response),
                }
            }
            Decision::WaitForKeys(wait) => Self::WaitingForKeys {
                wait,
                parked: Parked::boxed(request, park(inner), verifiers.clone()),
            },
            Decision::CheckReplay {
                check,
                in_url,
                dpop_nonce,
            } => Self::CheckingReplay {
                check,
                in_url,
                dpop_nonce,
                parked: Parked::boxed(request, park(inner), verifiers.clone()),
            },
        }
    }
}

impl<S, ReqBody, ResBody, R> Future for GuardFuture<S, ReqBody, ResBody, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    R: OnRejection<ResBody> + Send + Sync + 'static,
    ResBody: 'static,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let mut state = self.as_mut().project().state;
            let next = match state.as_mut().project() {
                StateProj::Ready { future } => return future.poll(cx),
                StateProj::WaitingForKeys { wait, parked } => {
                    ready!(wait.as_mut().poll(cx));
                    let Parked {
                        request,
                        mut inner,
                        verifiers,
                    } = Parked::take(parked);
                    let (request, decision) = verifiers.decide(request, Attempt::AfterKeyRefetch);
                    State::decided(decision, request, &mut inner, &verifiers)
                }
                StateProj::CheckingReplay {
                    check,
                    in_url,
                    dpop_nonce,
                    parked,
                } => {
                    let checked = ready!(check.as_mut().poll(cx));
                    let in_url = *in_url;
                    let dpop_nonce = dpop_nonce.take();
                    let Parked {
                        request,
                        mut inner,
                        verifiers,
                    } = Parked::take(parked);
                    let decision = match checked {
                        Ok(()) => Decision::Admit { in_url, dpop_nonce },
                        Err(error) => Decision::Reject(
                            verifiers
                                .front()
                                .reject(RejectionKind::Dpop(error))
                                .of_dpop_request(),
                        ),
                    };
                    State::decided(decision, request, &mut inner, &verifiers)
                }
            };
            state.set(next);
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
            State::WaitingForKeys { .. } => f
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
