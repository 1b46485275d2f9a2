//! The response future shared by [`BearerGuard`](crate::service::BearerGuard) and
//! [`RequireScopes`](crate::service::RequireScopes): the inner service's future, or a ready rejection.
//! An admitted request's answer may be kept out of shared caches, and may carry a new DPoP
//! server nonce.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::HeaderMap;
use http::Response;
use http::header::{CACHE_CONTROL, HeaderValue};
use pin_project_lite::pin_project;

use crate::http::answer::rejection::insert_dpop_nonce;

pin_project! {
    /// Response future of [`BearerGuard`](crate::service::BearerGuard) and
    /// [`RequireScopes`](crate::service::RequireScopes): the inner service's future, or a ready rejection.
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner { #[pin] future: F, private: bool, dpop_nonce: Option<Box<str>> },
        Rejected { response: Option<Response<B>> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    /// The inner service's answer; `private` keeps it out of shared caches, as RFC 6750 §2.3
    /// asks for tokens sent in the URL.
    pub(crate) fn inner(future: F, private: bool) -> Self {
        Self::admitted(future, private, None)
    }

    /// [`inner`](Self::inner), with a new DPoP server nonce for the answer's `DPoP-Nonce`
    /// (RFC 9449 §8.2), when the proof's nonce is from a slot that has turned.
    pub(crate) fn admitted(future: F, private: bool, dpop_nonce: Option<Box<str>>) -> Self {
        Self {
            kind: Kind::Inner {
                future,
                private,
                dpop_nonce,
            },
        }
    }

    pub(crate) fn rejected(response: Response<B>) -> Self {
        Self {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner {
                future,
                private,
                dpop_nonce,
            } => {
                let mut result = std::task::ready!(future.poll(cx));
                if let Ok(response) = &mut result {
                    if *private {
                        keep_private(response.headers_mut());
                    }
                    if let Some(nonce) = dpop_nonce.take() {
                        insert_dpop_nonce(response.headers_mut(), &nonce);
                    }
                }
                Poll::Ready(result)
            }
            KindProj::Rejected { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("ResponseFuture polled after completion"),
            },
        }
    }
}

/// Sets `Cache-Control: private` unless the response is already `private` or `no-store`; a
/// `public` directive from the service is overridden.
fn keep_private(headers: &mut HeaderMap) {
    let kept = headers.get_all(CACHE_CONTROL).iter().any(|value| {
        value.to_str().is_ok_and(|value| {
            value.split(',').any(|directive| {
                let directive = directive.trim();
                directive.eq_ignore_ascii_case("private")
                    || directive.eq_ignore_ascii_case("no-store")
            })
        })
    });
    if !kept {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private"));
    }
}

impl<F, B> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.kind {
            Kind::Inner { .. } => "Inner",
            Kind::Rejected { .. } => "Rejected",
        };
        f.debug_tuple("ResponseFuture").field(&state).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache_control_after(values: &[&'static str]) -> Vec<String> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(CACHE_CONTROL, HeaderValue::from_static(value));
        }
        keep_private(&mut headers);
        headers
            .get_all(CACHE_CONTROL)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn url_token_answers_are_made_private() {
        assert_eq!(cache_control_after(&[]), ["private"]);
        assert_eq!(cache_control_after(&["public, max-age=60"]), ["private"]);
        assert_eq!(
            cache_control_after(&["max-age=60, Private"]),
            ["max-age=60, Private"]
        );
        assert_eq!(cache_control_after(&["no-store"]), ["no-store"]);
    }
}
