//! The unknown-`kid` budget: which tokens naming a `kid` the set lacks may cause a refetch.
//!
//! - At most `count` refetches per window, as the settings say.
//! - While such refetches find no new key, the budget pauses: a window after the first
//!   fruitless one, doubling with each up to 32 windows (jittered), so that a flood of forged
//!   `kid`s at every instance of a fleet costs the issuer less and less. A fetch that brings a
//!   new key (a rotation) resets it.
//! - The `kid`s that recent refreshes removed are remembered (the last [`REMEMBERED`]):
//!   a token naming one is refused at once, spending nothing, since refetching would not
//!   bring its key back.

use std::collections::VecDeque;

use base64::Engine as _;
use serde::Deserialize;
use tokio::time::Instant;

use super::rng::Rng;
use super::schedule::unknown_kid_pause;
use super::settings::KeyCacheSettings;

/// How many removed `kid`s are remembered.
pub(crate) const REMEMBERED: usize = 32;

/// Why an unknown `kid` causes no refetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoRefetch {
    /// A recent refresh removed this `kid`.
    Removed,
    /// Refetches found nothing new lately: the budget pauses.
    Paused,
    /// The window's refetches are spent.
    Spent,
}

/// The state of the budget.
#[derive(Debug, Default)]
pub(crate) struct UnknownKids {
    /// Refetches within the window.
    recent: VecDeque<Instant>,
    /// Unknown-`kid` refetches in a row that found no new key.
    fruitless: u32,
    paused_until: Option<Instant>,
    /// Whether the running (or next) fetch was asked for by an unknown `kid`.
    asked: bool,
    /// `kid`s removed by recent refreshes, oldest first.
    removed: VecDeque<Box<str>>,
}

impl UnknownKids {
    /// Whether a token naming the unknown `kid` may cause a refetch now; if so, it is
    /// counted.
    pub(crate) fn ask(
        &mut self,
        kid: Option<&str>,
        now: Instant,
        settings: &KeyCacheSettings,
    ) -> Result<(), NoRefetch> {
        if self.was_removed(kid) {
            return Err(NoRefetch::Removed);
        }
        if self.paused_until.is_some_and(|until| now < until) {
            return Err(NoRefetch::Paused);
        }
        let window = settings.unknown_kid_window;
        while self
            .recent
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= window)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= settings.unknown_kid_refetches as usize {
            return Err(NoRefetch::Spent);
        }
        self.recent.push_back(now);
        self.asked = true;
        Ok(())
    }

    /// Whether a recent refresh removed `kid`.
    pub(crate) fn was_removed(&self, kid: Option<&str>) -> bool {
        kid.is_some_and(|kid| self.removed.iter().any(|removed| **removed == *kid))
    }

    /// After a fetch that loaded a set: `new_key` says whether it holds a `kid` the set
    /// before lacked; `removed` are the `kid`s it dropped, `present` tells a `kid` it holds.
    pub(crate) fn loaded<'k>(
        &mut self,
        new_key: bool,
        removed: impl IntoIterator<Item = &'k str>,
        present: impl Fn(&str) -> bool,
        now: Instant,
        settings: &KeyCacheSettings,
        rng: &mut Rng,
    ) {
        // A key that came back is no longer removed.
        self.removed.retain(|kid| !present(kid));
        for kid in removed {
            if !self.was_removed(Some(kid)) {
                if self.removed.len() == REMEMBERED {
                    self.removed.pop_front();
                }
                self.removed.push_back(kid.into());
            }
        }
        if new_key {
            self.fruitless = 0;
            self.paused_until = None;
        } else if self.asked {
            self.fruitless = self.fruitless.saturating_add(1);
            self.paused_until = Some(now + unknown_kid_pause(settings, self.fruitless, rng));
        }
        self.asked = false;
    }

    /// Whether the running (or next) fetch was asked for by an unknown `kid`.
    #[cfg(feature = "redis")]
    pub(crate) fn is_asked(&self) -> bool {
        self.asked
    }

    /// After a failed fetch: the backoff, not the budget, holds the next one back.
    pub(crate) fn failed(&mut self) {
        self.asked = false;
    }
}

/// The `kid` in a token's header, if it has one that can be read: the header is decoded
/// again here, only on the unknown-`kid` path, so that the hot path carries nothing for it.
pub(crate) fn kid_of(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Header {
        kid: Option<String>,
    }
    let header = token.split('.').next()?;
    // A token's length is already bounded; this bounds the decoding all the same.
    if header.len() > 4096 {
        return None;
    }
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    serde_json::from_slice::<Header>(&json).ok()?.kid
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// A refetch that found nothing new, at `now`.
    fn fruitless(budget: &mut UnknownKids, now: Instant, rng: &mut Rng) {
        let settings = KeyCacheSettings::default();
        budget.loaded(false, [], |_| true, now, &settings, rng);
    }

    #[test]
    fn the_window_allows_its_count_then_refuses() {
        let settings = KeyCacheSettings::default();
        let mut budget = UnknownKids::default();
        let t0 = Instant::now();
        assert_eq!(budget.ask(Some("a"), t0, &settings), Ok(()));
        budget.failed();
        assert_eq!(budget.ask(Some("b"), t0, &settings), Ok(()));
        budget.failed();
        assert_eq!(
            budget.ask(Some("c"), t0 + secs(29), &settings),
            Err(NoRefetch::Spent)
        );
        assert_eq!(budget.ask(Some("c"), t0 + secs(30), &settings), Ok(()));
    }

    #[test]
    fn fruitless_refetches_pause_the_budget_longer_and_longer() {
        let settings = KeyCacheSettings::default();
        let mut rng = Rng::from_seed(1);
        let mut budget = UnknownKids::default();
        let mut now = Instant::now();
        let mut gaps = Vec::new();
        for _ in 0..8 {
            // Ask every second until allowed: the gap is the pause the budget took.
            let start = now;
            while budget.ask(Some("forged"), now, &settings).is_err() {
                now += secs(1);
            }
            gaps.push(now.duration_since(start).as_secs());
            fruitless(&mut budget, now, &mut rng);
        }
        // Within ±50 % of 0, 30, 60, 120, 240, 480, 960, 960 seconds.
        for (gap, nominal) in gaps.iter().zip([0u64, 30, 60, 120, 240, 480, 960, 960]) {
            assert!(
                (nominal / 2..=nominal * 3 / 2 + 1).contains(gap),
                "{gaps:?}"
            );
        }
    }

    #[test]
    fn a_new_key_resets_the_budget() {
        let settings = KeyCacheSettings::default();
        let mut rng = Rng::from_seed(2);
        let mut budget = UnknownKids::default();
        let now = Instant::now();
        for _ in 0..4 {
            budget.paused_until = None;
            assert_eq!(budget.ask(Some("x"), now, &settings), Ok(()));
            budget.recent.clear();
            fruitless(&mut budget, now, &mut rng);
        }
        assert_eq!(
            budget.ask(Some("x"), now + secs(1), &settings),
            Err(NoRefetch::Paused)
        );
        // A scheduled refresh brings a rotated key: the pause ends.
        budget.loaded(true, [], |_| true, now + secs(2), &settings, &mut rng);
        assert_eq!(budget.ask(Some("x"), now + secs(3), &settings), Ok(()));
        assert_eq!(budget.fruitless, 0);
    }

    #[test]
    fn scheduled_refreshes_without_news_do_not_pause_the_budget() {
        let settings = KeyCacheSettings::default();
        let mut rng = Rng::from_seed(3);
        let mut budget = UnknownKids::default();
        let now = Instant::now();
        fruitless(&mut budget, now, &mut rng);
        fruitless(&mut budget, now, &mut rng);
        assert_eq!(budget.ask(Some("k"), now, &settings), Ok(()));
    }

    #[test]
    fn removed_kids_are_refused_at_once_without_spending_the_budget() {
        let settings = KeyCacheSettings::default();
        let mut rng = Rng::from_seed(4);
        let mut budget = UnknownKids::default();
        let now = Instant::now();
        budget.loaded(true, ["old"], |kid| kid == "new", now, &settings, &mut rng);
        for _ in 0..10 {
            assert_eq!(
                budget.ask(Some("old"), now, &settings),
                Err(NoRefetch::Removed)
            );
        }
        assert!(budget.recent.is_empty());
        // The budget is whole for a kid never seen.
        assert_eq!(budget.ask(Some("newer"), now, &settings), Ok(()));
        // A removed key that comes back is forgotten as removed.
        budget.loaded(true, [], |kid| kid == "old", now, &settings, &mut rng);
        assert!(!budget.was_removed(Some("old")));
    }

    #[test]
    fn removed_kids_are_remembered_up_to_a_bound() {
        let settings = KeyCacheSettings::default();
        let mut rng = Rng::from_seed(5);
        let mut budget = UnknownKids::default();
        let now = Instant::now();
        let kids: Vec<String> = (0..REMEMBERED + 5).map(|i| format!("k{i}")).collect();
        for kid in &kids {
            budget.loaded(true, [kid.as_str()], |_| false, now, &settings, &mut rng);
        }
        assert_eq!(budget.removed.len(), REMEMBERED);
        assert!(!budget.was_removed(Some("k0")));
        assert!(budget.was_removed(Some(kids[kids.len() - 1].as_str())));
        assert!(!budget.was_removed(None));
    }

    #[test]
    fn the_kid_is_read_from_the_header_of_any_token() {
        // {"alg":"RS256","kid":"k1"}
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"alg":"RS256","kid":"k1"}"#);
        assert_eq!(kid_of(&format!("{header}.e30.sig")).as_deref(), Some("k1"));
        let no_kid = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#);
        assert_eq!(kid_of(&format!("{no_kid}.e30.sig")), None);
        for garbage in ["", "....", "!!!.e30.x", "e30", &"A".repeat(5000)] {
            assert_eq!(kid_of(garbage), None, "{garbage}");
        }
    }

    #[test]
    fn the_pause_ends_at_the_instant_it_was_set_to() {
        let settings = KeyCacheSettings::default();
        let mut rng = Rng::from_seed(6);
        let mut budget = UnknownKids::default();
        let now = Instant::now();
        assert_eq!(budget.ask(Some("x"), now, &settings), Ok(()));
        fruitless(&mut budget, now, &mut rng);
        let until = budget.paused_until.unwrap();
        assert!(until > now);
        assert_eq!(
            budget.ask(Some("x"), until - Duration::from_nanos(1), &settings),
            Err(NoRefetch::Paused)
        );
        assert_eq!(budget.ask(Some("x"), until, &settings), Ok(()));
    }

    #[test]
    fn a_failed_fetch_leaves_the_budget_unpaused() {
        // The unknown kid's fetch failed: the backoff holds the next fetch back, and the
        // refresh after it, which finds nothing new, is not a fruitless refetch.
        let settings = KeyCacheSettings::default();
        let mut rng = Rng::from_seed(7);
        let mut budget = UnknownKids::default();
        let now = Instant::now();
        assert_eq!(budget.ask(Some("x"), now, &settings), Ok(()));
        budget.failed();
        fruitless(&mut budget, now, &mut rng);
        assert_eq!((budget.paused_until, budget.fruitless), (None, 0));
        assert_eq!(budget.ask(Some("y"), now, &settings), Ok(()));
    }

    #[cfg(feature = "redis")]
    #[test]
    fn an_allowed_ask_marks_the_next_fetch_until_it_loads_or_fails() {
        let settings = KeyCacheSettings::default();
        let mut rng = Rng::from_seed(8);
        let mut budget = UnknownKids::default();
        let now = Instant::now();
        assert!(!budget.is_asked());
        assert_eq!(budget.ask(Some("x"), now, &settings), Ok(()));
        assert!(budget.is_asked());
        budget.loaded(true, [], |_| true, now, &settings, &mut rng);
        assert!(!budget.is_asked());
        assert_eq!(budget.ask(Some("y"), now, &settings), Ok(()));
        assert!(budget.is_asked());
        budget.failed();
        assert!(!budget.is_asked());
        // A refused ask marks nothing.
        assert_eq!(budget.ask(Some("z"), now, &settings), Err(NoRefetch::Spent));
        assert!(!budget.is_asked());
    }

    #[test]
    fn a_header_of_up_to_4096_characters_is_read_and_a_longer_one_is_not() {
        // {"kid":"k","p":"xx…"} of `len` bytes: base64url makes 4096 characters of 3072.
        let header_of = |len: usize| {
            let head = r#"{"kid":"k","p":""#;
            let json = format!("{head}{}\"}}", "x".repeat(len - head.len() - 2));
            assert_eq!(json.len(), len);
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
        };
        let longest = header_of(3072);
        assert_eq!(longest.len(), 4096);
        assert_eq!(kid_of(&format!("{longest}.e30.sig")).as_deref(), Some("k"));
        let over = header_of(3075);
        assert_eq!(over.len(), 4100);
        assert_eq!(kid_of(&format!("{over}.e30.sig")), None);
    }
}
