//! What a request waits on while an unknown-`kid` refetch runs.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::sync::Notify;
use tokio::sync::futures::OwnedNotified;
use tokio::time::Sleep;

pin_project! {
    /// Ends when the running fetch ends, or at the fetch timeout, whichever comes first.
    pub(crate) struct KeyWait {
        #[pin]
        fetched: OwnedNotified,
        #[pin]
        timeout: Sleep,
    }
}

impl KeyWait {
    /// Made before the fetch is asked for, so that its end cannot be missed.
    pub(crate) fn new(fetched: Arc<Notify>, timeout: Duration) -> Self {
        Self {
            fetched: fetched.notified_owned(),
            timeout: tokio::time::sleep(timeout),
        }
    }
}

impl Future for KeyWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.fetched.poll(cx).is_ready() || this.timeout.poll(cx).is_ready() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl std::fmt::Debug for KeyWait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyWait")
    }
}
