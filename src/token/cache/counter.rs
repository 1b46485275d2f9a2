//! A counter that many cores bump at once without sharing one cache line.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Stripes per counter: each thread bumps one, so cores rarely share a line.
const STRIPES: usize = 16;

/// One stripe, on a cache line of its own (128 bytes: two lines on x86-64, whose
/// prefetcher fetches lines in pairs; one on aarch64's larger cores).
#[repr(align(128))]
#[derive(Default)]
struct Stripe(AtomicU64);

/// A sum spread over [`STRIPES`] cache lines.
#[derive(Default)]
pub(crate) struct Counter {
    stripes: [Stripe; STRIPES],
}

/// Hands each thread its stripe, in turn.
static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static STRIPE: usize = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES;
}

impl Counter {
    /// Adds one.
    pub(crate) fn bump(&self) {
        let stripe = STRIPE.with(|stripe| *stripe);
        self.stripes[stripe].0.fetch_add(1, Ordering::Relaxed);
    }

    /// The sum so far.
    pub(crate) fn sum(&self) -> u64 {
        self.stripes
            .iter()
            .map(|stripe| stripe.0.load(Ordering::Relaxed))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bumps_from_many_threads_all_count() {
        let counter = Counter::default();
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| (0..1000).for_each(|_| counter.bump()));
            }
        });
        assert_eq!(counter.sum(), 8000);
    }
}
