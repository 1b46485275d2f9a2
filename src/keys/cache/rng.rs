//! The cache's source of jitter: SplitMix64, seeded once per cache. Schedules need spread,
//! not secrecy, so a small generator of our own does (no crate, no OS call per draw).

use std::time::Duration;

/// A SplitMix64 generator (Steele, Lea and Flood, 2014): 64 bits of state, full period.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// Seeded with `seed`, for schedules that repeat exactly (tests, simulations).
    pub(crate) fn from_seed(seed: u64) -> Self {
        Self(seed)
    }

    /// Seeded from std's `RandomState`, which the OS seeds: a cache of its own per instance,
    /// so that a fleet started together does not draw the same schedule.
    pub(crate) fn from_os() -> Self {
        use std::hash::{BuildHasher as _, Hasher as _};
        Self(
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish(),
        )
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss)] // 53 bits of the 64 are plenty.
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit
    }

    /// Uniform in `[low, high]` (`low` when `high` is not above it).
    pub(crate) fn between(&mut self, low: Duration, high: Duration) -> Duration {
        low + high.saturating_sub(low).mul_f64(self.unit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_sequence_and_another_seed_another() {
        let draw = |seed| {
            let mut rng = Rng::from_seed(seed);
            (0..8).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn draws_stay_in_range_and_cover_it() {
        let mut rng = Rng::from_seed(1);
        let (low, high) = (Duration::from_secs(10), Duration::from_secs(20));
        let draws: Vec<Duration> = (0..1000).map(|_| rng.between(low, high)).collect();
        assert!(draws.iter().all(|d| (low..=high).contains(d)));
        // Each tenth of the range gets some of a thousand uniform draws.
        for tenth in 0..10 {
            let from = low + Duration::from_secs(tenth);
            let to = from + Duration::from_secs(1);
            assert!(draws.iter().any(|d| (from..to).contains(d)), "{tenth}");
        }
        assert_eq!(rng.between(high, low), high);
    }
}
