//! When the cache fetches: the rules that keep a fleet of instances from fetching in step.
//! Pure functions of the settings, the failure count and a [`Rng`], so that each rule is
//! tested without a clock.
//!
//! - A set is refreshed at a point drawn uniformly over its refresh window (50–90 % of its
//!   life by default), not at one fraction of it: a fleet that loaded together spreads out
//!   over the first refresh instead of staying in lockstep.
//! - After a failure, the wait is full jitter over the doubling backoff, added on top of a
//!   `Retry-After`: never earlier than the issuer asked, and spread over as long as the
//!   issuer asked to wait (capped at the longest backoff), so that the instances it turned
//!   away do not all come back in the same millisecond (Retry-After 30 s: back between 30 s
//!   and 60 s). A wider spread was measured to lengthen the tail, not shorten it: a fleet
//!   that still finds the limit comes back after another Retry-After and another spread
//!   (benches/fleet, BENCHMARKS.md).

use std::time::Duration;

use super::rng::Rng;
use super::settings::KeyCacheSettings;

/// The shortest wait between two fetches of one cache, whatever the draws say.
const SHORTEST_WAIT: Duration = Duration::from_millis(10);

/// When to refresh a set that lives `max_age`: uniform over the settings' refresh window.
pub(crate) fn refresh_in(
    settings: &KeyCacheSettings,
    max_age: Duration,
    rng: &mut Rng,
) -> Duration {
    let (from, to) = settings.refresh_window;
    let fraction = |percent: u8| max_age.mul_f64(f64::from(percent) / 100.0);
    rng.between(fraction(from), fraction(to)).max(SHORTEST_WAIT)
}

/// The backoff after the `failures`-th failure in a row: doubling from the minimum, capped.
pub(crate) fn backoff(settings: &KeyCacheSettings, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    settings
        .backoff_min
        .saturating_mul(1 << doublings)
        .min(settings.backoff_max)
}

/// The wait after the `failures`-th failure in a row, which may have said `Retry-After`:
/// the `Retry-After` (or nothing), plus a draw uniform over `[0, spread]`, where `spread` is
/// the backoff, or the `Retry-After` (capped at the longest backoff) when that is longer.
pub(crate) fn failure_wait(
    settings: &KeyCacheSettings,
    failures: u32,
    retry_after: Option<Duration>,
    rng: &mut Rng,
) -> Duration {
    let after = retry_after.unwrap_or(Duration::ZERO);
    let spread = backoff(settings, failures).max(after.min(settings.backoff_max));
    (after + rng.between(Duration::ZERO, spread)).max(SHORTEST_WAIT)
}

/// How long unknown-`kid` refetches pause after the `fruitless`-th refetch in a row that
/// found no new key: the budget's window, doubled for each (up to 32 times), jittered
/// ±50 %.
pub(crate) fn unknown_kid_pause(
    settings: &KeyCacheSettings,
    fruitless: u32,
    rng: &mut Rng,
) -> Duration {
    let pause = settings
        .unknown_kid_window
        .saturating_mul(1 << fruitless.saturating_sub(1).min(MAX_DOUBLINGS));
    rng.between(pause / 2, pause + pause / 2)
}

/// How often the unknown-`kid` pause doubles at most: 32 × the window.
pub(crate) const MAX_DOUBLINGS: u32 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn refreshes_fall_within_the_window_and_spread_over_it() {
        let settings = KeyCacheSettings::default();
        let mut rng = Rng::from_seed(3);
        let draws: Vec<Duration> = (0..2000)
            .map(|_| refresh_in(&settings, secs(300), &mut rng))
            .collect();
        assert!(draws.iter().all(|d| (secs(150)..=secs(270)).contains(d)));
        // Spread: the first and last tenth of the window are both drawn.
        assert!(draws.iter().any(|d| *d < secs(162)));
        assert!(draws.iter().any(|d| *d > secs(258)));
        // A window of its own.
        let narrow = KeyCacheSettings::default().refresh_window(80, 80);
        assert_eq!(refresh_in(&narrow, secs(100), &mut rng), secs(80));
    }

    #[test]
    fn a_fleet_loaded_together_spreads_its_first_refresh_over_the_window() {
        // 1,000 instances with the default floor (5 min): no second of the window gets more
        // than a small multiple of the 1,000 / 120 s ≈ 8.3 average.
        let settings = KeyCacheSettings::default();
        let mut per_second = [0u32; 300];
        for seed in 0..1000 {
            let at = refresh_in(&settings, settings.min_max_age, &mut Rng::from_seed(seed));
            per_second[usize::try_from(at.as_secs()).unwrap_or(299)] += 1;
        }
        let peak = per_second.iter().max().copied().unwrap_or(0);
        assert!(peak <= 25, "peak {peak} per second");
        assert_eq!(per_second[..150].iter().sum::<u32>(), 0);
    }

    #[test]
    fn a_fleet_started_together_stays_spread_over_fifteen_minutes_of_refreshes() {
        // The steady state of the fleet bench, on schedule times instead of arrivals (which a
        // busy machine bunches): 1,000 instances keyed within the same second, `max-age=15`
        // floored to 5 min, each refreshing at its draws, for 900 s. The busiest second, for
        // several fleets (seeds).
        let settings = KeyCacheSettings::default();
        let mut peaks = Vec::new();
        for fleet in 0..5u64 {
            let mut per_second = [0u32; 900];
            for instance in 0..1000u64 {
                let mut rng = Rng::from_seed(fleet * 1_000_003 + instance);
                let mut at = Duration::from_millis(rng.next_u64() % 1000);
                loop {
                    at += refresh_in(&settings, settings.min_max_age, &mut rng);
                    let Some(count) = usize::try_from(at.as_secs())
                        .ok()
                        .and_then(|second| per_second.get_mut(second))
                    else {
                        break;
                    };
                    *count += 1;
                }
            }
            peaks.push(per_second[10..].iter().max().copied().unwrap_or(0));
        }
        println!("busiest second of each fleet: {peaks:?}");
        assert!(peaks.iter().all(|peak| *peak <= 25), "{peaks:?}");
    }

    #[test]
    fn backoff_doubles_from_its_minimum_up_to_its_maximum() {
        let settings = KeyCacheSettings::default();
        let waits: Vec<u64> = (1..=8).map(|n| backoff(&settings, n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(&settings, u32::MAX), secs(60));
    }

    #[test]
    fn a_failure_waits_full_jitter_over_the_backoff() {
        let settings = KeyCacheSettings::default();
        let mut rng = Rng::from_seed(5);
        for failures in 1..=8 {
            let cap = backoff(&settings, failures);
            let draws: Vec<Duration> = (0..500)
                .map(|_| failure_wait(&settings, failures, None, &mut rng))
                .collect();
            assert!(draws.iter().all(|d| *d <= cap), "{failures}");
            assert!(
                draws.iter().any(|d| *d < cap / 4),
                "{failures}: full jitter"
            );
            assert!(draws.iter().any(|d| *d > cap * 3 / 4), "{failures}");
        }
    }

    #[test]
    fn jitter_never_comes_before_retry_after_and_spreads_past_it() {
        let settings = KeyCacheSettings::default();
        let mut rng = Rng::from_seed(9);
        for (failures, after) in [(1, 30), (1, 1), (7, 30), (3, 3600), (1, 10)] {
            let draws: Vec<Duration> = (0..500)
                .map(|_| failure_wait(&settings, failures, Some(secs(after)), &mut rng))
                .collect();
            assert!(
                draws.iter().all(|d| *d >= secs(after)),
                "{failures}, {after}"
            );
            // Spread over min(Retry-After, longest backoff) past it, or the backoff if that
            // is longer.
            let spread = backoff(&settings, failures).max(secs(after).min(secs(60)));
            assert!(draws.iter().all(|d| *d <= secs(after) + spread));
            assert!(draws.iter().any(|d| *d > secs(after) + spread * 3 / 4));
            assert!(draws.iter().any(|d| *d < secs(after) + spread / 4));
        }
    }

    #[test]
    fn the_unknown_kid_pause_doubles_up_to_thirty_two_windows() {
        let settings = KeyCacheSettings::default();
        let mut rng = Rng::from_seed(11);
        for (fruitless, windows) in [(1, 1), (2, 2), (3, 4), (6, 32), (7, 32), (u32::MAX, 32)] {
            let nominal = secs(30) * windows;
            for _ in 0..100 {
                let pause = unknown_kid_pause(&settings, fruitless, &mut rng);
                assert!(
                    (nominal / 2..=nominal * 3 / 2).contains(&pause),
                    "{fruitless}: {pause:?}"
                );
            }
        }
    }

    #[test]
    fn the_unknown_kid_pause_spreads_over_half_to_one_and_a_half_times_its_nominal() {
        let settings = KeyCacheSettings::default();
        let mut rng = Rng::from_seed(12);
        for (fruitless, windows) in [(1, 1), (3, 4), (6, 32)] {
            let nominal = secs(30) * windows;
            let draws: Vec<Duration> = (0..500)
                .map(|_| unknown_kid_pause(&settings, fruitless, &mut rng))
                .collect();
            assert!(draws.iter().any(|d| *d < nominal * 3 / 5), "{fruitless}");
            assert!(draws.iter().any(|d| *d > nominal * 7 / 5), "{fruitless}");
        }
    }
}
