//! The numbers a DPoP proof is checked against (feature `jwks`).

use std::time::Duration;

use crate::error::ConfigError;
use crate::keys::{Algorithm, Algorithms};

/// What a DPoP proof is checked against: the signing algorithms accepted and how far its
/// `iat` may be from now. Every number has a safe default and bounds, checked by
/// [`DpopVerifier::new`](crate::DpopVerifier::new) into a [`ConfigError::DpopSetting`].
///
/// | setting | default | bounds |
/// |---|---|---|
/// | [`algorithms`](Self::algorithms) | RS256, PS256, ES256, EdDSA | at least one; asymmetric only |
/// | [`iat_window`](Self::iat_window) | 60 s either side of now | 1 s to 300 s |
/// | [`leeway`](Self::leeway) | 60 s, added to the window (the guard's own leeway) | 0 to 300 s |
///
/// Server nonces (RFC 9449 §8) change over time, so the nonce expected is given per request
/// ([`DpopRequest::nonce`](crate::DpopRequest::nonce)), not here.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use bearer_guard::{Algorithm, DpopSettings};
///
/// let settings = DpopSettings::default()
///     .algorithms([Algorithm::Es256, Algorithm::EdDsa])
///     .iat_window(Duration::from_secs(30))
///     .leeway(Duration::from_secs(5));
/// assert_eq!(settings.accepted_algorithms().collect::<Vec<_>>(), [Algorithm::Es256, Algorithm::EdDsa]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct DpopSettings {
    pub(crate) algorithms: Algorithms,
    pub(crate) iat_window: Duration,
    pub(crate) leeway: Duration,
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
        }
    }
}

const MAX_WINDOW: Duration = Duration::from_secs(300);

impl DpopSettings {
    /// The algorithms a proof may be signed with: any asymmetric ones. Defaults to RS256,
    /// PS256, ES256 and EdDSA. `HS256`, `HS384` and `HS512` (a shared secret cannot prove
    /// possession) and an empty list are refused.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Algorithms::of(algorithms);
        self
    }

    /// How far from now a proof's `iat` may be, before or after, leeway aside. Defaults to
    /// 60 s.
    pub fn iat_window(mut self, window: Duration) -> Self {
        self.iat_window = window;
        self
    }

    /// Clock skew allowed on top of the window. Defaults to 60 s, the guard's default leeway.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
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
        let edges = DpopSettings::default()
            .algorithms([Algorithm::EdDsa])
            .iat_window(s(300))
            .leeway(s(0));
        assert_eq!(edges.check(), Ok(()));
        assert_eq!(DpopSettings::default().iat_window(s(1)).check(), Ok(()));
    }
}
