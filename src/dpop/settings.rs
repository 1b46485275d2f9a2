//! The numbers a DPoP proof is checked against (feature `jwks`).

use std::time::Duration;

use crate::config::ConfigError;
use crate::keys::{Algorithm, Algorithms};

/// What a DPoP proof is checked against: the signing algorithms accepted and how far its
/// `iat` may be from now. Every number has a safe default and bounds, checked by
/// [`DpopVerifier::new`](crate::dpop::DpopVerifier::new) into a [`ConfigError::DpopSetting`].
///
/// | setting | default | bounds |
/// |---|---|---|
/// | [`algorithms`](Self::algorithms) | RS256, PS256, ES256, EdDSA | at least one; asymmetric only |
/// | [`iat_window`](Self::iat_window) | 60 s before now | 1 s to 300 s |
/// | [`leeway`](Self::leeway) | 60 s, added to the window (the guard's own leeway) | 0 to 300 s |
/// | [`max_future_iat`](Self::max_future_iat) | 10 s after now (or the window plus leeway, if shorter), skew included | 0 to the window plus leeway |
///
/// The future side is kept short on purpose: a proof is remembered by the replay store until
/// its `iat` leaves the window, so an `iat` far ahead would make it live long (see the
/// [replay module](crate::dpop::ReplayStore)).
///
/// Server nonces (RFC 9449 §8) change over time, so they are given per request
/// ([`DpopRequest::nonces`](crate::dpop::DpopRequest::nonces)), not here.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use bearer_guard::Algorithm;
/// use bearer_guard::dpop::DpopSettings;
///
/// let settings = DpopSettings::default()
///     .algorithms([Algorithm::Es256, Algorithm::EdDsa])
///     .iat_window(Duration::from_secs(30))
///     .leeway(Duration::from_secs(5))
///     .max_future_iat(Duration::from_secs(2));
/// assert_eq!(settings.accepted_algorithms().collect::<Vec<_>>(), [Algorithm::Es256, Algorithm::EdDsa]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct DpopSettings {
    pub(crate) algorithms: Algorithms,
    pub(crate) iat_window: Duration,
    pub(crate) leeway: Duration,
    /// `None`: the default, 10 s or the window plus leeway if that is shorter.
    max_future_iat: Option<Duration>,
}

impl Default for DpopSettings {
    fn default() -> Self {
        Self {
            algorithms: Algorithms::of([
                Algorithm::Rs256,
                Algorithm::Ps256,
                Algorithm::Es256,
                Algorithm::EdDsa,
            ]),
            iat_window: Duration::from_secs(60),
            leeway: Duration::from_secs(60),
            max_future_iat: None,
        }
    }
}

const MAX_WINDOW: Duration = Duration::from_secs(300);
const DEFAULT_FUTURE: Duration = Duration::from_secs(10);

impl DpopSettings {
    /// The algorithms a proof may be signed with: any asymmetric ones. Defaults to RS256,
    /// PS256, ES256 and EdDSA. `HS256`, `HS384` and `HS512` (a shared secret cannot prove
    /// possession) and an empty list are refused.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Algorithms::of(algorithms);
        self
    }

    /// How far before now a proof's `iat` may be, leeway aside. Defaults to 60 s.
    pub fn iat_window(mut self, window: Duration) -> Self {
        self.iat_window = window;
        self
    }

    /// Clock skew allowed on top of the window. Defaults to 60 s, the guard's default leeway.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// How far after now a proof's `iat` may be, the client's clock running fast included (the
    /// leeway does not add to it). Defaults to 10 s, or the window plus the leeway if that is
    /// shorter; at most the window plus the leeway.
    pub fn max_future_iat(mut self, ahead: Duration) -> Self {
        self.max_future_iat = Some(ahead);
        self
    }

    /// How far after now `iat` may be, the default applied.
    pub(crate) fn future_iat(&self) -> Duration {
        self.max_future_iat
            .unwrap_or_else(|| DEFAULT_FUTURE.min(self.iat_window + self.leeway))
    }

    /// The algorithms accepted, in the order of [`Algorithm`]: what a `DPoP` challenge lists
    /// in `algs` (RFC 9449 §7.1).
    pub fn accepted_algorithms(&self) -> impl Iterator<Item = Algorithm> + use<> {
        self.algorithms.iter()
    }

    /// Checks every bound.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let refuse = |setting: &'static str, problem: String| {
            Err(ConfigError::DpopSetting { setting, problem })
        };
        if self.algorithms.iter().next().is_none() {
            return refuse("algorithms", "the list is empty".to_owned());
        }
        if let Some(alg) = self.algorithms.iter().find(|alg| !alg.is_asymmetric()) {
            return refuse(
                "algorithms",
                format!(
                    "{alg} is symmetric; proofs are signed with the client's private key (RS256, PS256, ES256, EdDSA, …)"
                ),
            );
        }
        if !(Duration::from_secs(1)..=MAX_WINDOW).contains(&self.iat_window) {
            return refuse(
                "iat_window",
                format!("{:?} is outside 1s to {MAX_WINDOW:?}", self.iat_window),
            );
        }
        if self.leeway > MAX_WINDOW {
            return refuse(
                "leeway",
                format!("{:?} is over {MAX_WINDOW:?}", self.leeway),
            );
        }
        if self.future_iat() > self.iat_window + self.leeway {
            return refuse(
                "max_future_iat",
                format!(
                    "{:?} is over the window plus leeway ({:?}); the future side is meant to be the shorter",
                    self.future_iat(),
                    self.iat_window + self.leeway
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones_and_pass_their_bounds() {
        let settings = DpopSettings::default();
        assert_eq!(
            settings.accepted_algorithms().collect::<Vec<_>>(),
            [
                Algorithm::Rs256,
                Algorithm::Ps256,
                Algorithm::Es256,
                Algorithm::EdDsa
            ]
        );
        assert_eq!(settings.iat_window, Duration::from_secs(60));
        assert_eq!(settings.leeway, Duration::from_secs(60));
        assert_eq!(settings.future_iat(), Duration::from_secs(10));
        // A window shorter than the default future side shortens it.
        let narrow = DpopSettings::default()
            .iat_window(Duration::from_secs(3))
            .leeway(Duration::from_secs(2));
        assert_eq!(narrow.future_iat(), Duration::from_secs(5));
        assert_eq!(settings.check(), Ok(()));
    }

    #[test]
    fn values_out_of_bounds_are_refused_naming_the_setting() {
        let refused = |settings: DpopSettings| match settings.check() {
            Err(ConfigError::DpopSetting { setting, .. }) => setting,
            other => panic!("{other:?}"),
        };
        let s = Duration::from_secs;
        assert_eq!(
            refused(DpopSettings::default().algorithms([])),
            "algorithms"
        );
        for hmac in [Algorithm::Hs256, Algorithm::Hs384, Algorithm::Hs512] {
            assert_eq!(
                refused(DpopSettings::default().algorithms([Algorithm::Es256, hmac])),
                "algorithms",
                "{hmac}"
            );
        }
        let every_asymmetric = Algorithm::ALL.into_iter().filter(|alg| alg.is_asymmetric());
        assert_eq!(
            DpopSettings::default().algorithms(every_asymmetric).check(),
            Ok(())
        );
        assert_eq!(
            refused(DpopSettings::default().iat_window(s(0))),
            "iat_window"
        );
        assert_eq!(
            refused(DpopSettings::default().iat_window(s(301))),
            "iat_window"
        );
        assert_eq!(refused(DpopSettings::default().leeway(s(301))), "leeway");
        assert_eq!(
            refused(DpopSettings::default().max_future_iat(s(121))),
            "max_future_iat"
        );
        assert_eq!(
            refused(
                DpopSettings::default()
                    .iat_window(s(5))
                    .leeway(s(0))
                    .max_future_iat(s(10))
            ),
            "max_future_iat"
        );
        let edges = DpopSettings::default()
            .algorithms([Algorithm::EdDsa])
            .iat_window(s(300))
            .leeway(s(0))
            .max_future_iat(s(300));
        assert_eq!(edges.check(), Ok(()));
        assert_eq!(DpopSettings::default().max_future_iat(s(0)).check(), Ok(()));
        assert_eq!(DpopSettings::default().iat_window(s(1)).check(), Ok(()));
    }
}
