//! The JWS algorithms bearer-guard verifies (RFC 7518 §3, RFC 8037 §3.1).

use std::fmt;

/// A signature algorithm a resource server can be pinned to.
///
/// The algorithm comes from configuration (the resource server's `signing_alg`), never from a
/// token: a token whose header names another algorithm is refused, whatever key it names.
/// `HS256` verifies with the resource server's secret; the others (feature `jwks`) verify with
/// public keys from a JSON Web Key Set.
///
/// # Example
///
/// ```
/// use bearer_guard::Algorithm;
///
/// assert_eq!(Algorithm::from_name("RS256"), Some(Algorithm::Rs256));
/// assert_eq!(Algorithm::Rs256.name(), "RS256");
/// assert_eq!(Algorithm::from_name("rs256"), None); // names are case-sensitive
/// assert_eq!(Algorithm::from_name("none"), None);
/// assert!(!Algorithm::Hs256.is_asymmetric());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256 and the resource server's secret.
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256: Auth0's default.
    Rs256,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
    Ps256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// EdDSA, with Ed25519 keys only.
    EdDsa,
}

impl Algorithm {
    /// Every algorithm, in the order of this enum.
    pub const ALL: [Self; 5] = [
        Self::Hs256,
        Self::Rs256,
        Self::Ps256,
        Self::Es256,
        Self::EdDsa,
    ];

    /// The algorithm of this exact `alg` name, if bearer-guard verifies it.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.name() == name)
    }

    /// Its `alg` name, as in a JOSE header or a JWK.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Whether it verifies with a public key (from a JWK set) rather than a shared secret.
    #[must_use]
    pub fn is_asymmetric(self) -> bool {
        self != Self::Hs256
    }

    /// A bit of its own, for sets of algorithms.
    pub(crate) fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of algorithms: those a validator accepts.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Algorithms(u8);

impl Algorithms {
    pub(crate) fn of(algs: impl IntoIterator<Item = Algorithm>) -> Self {
        Self(algs.into_iter().fold(0, |set, alg| set | alg.bit()))
    }

    pub(crate) fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg.bit() != 0
    }

    pub(crate) fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |alg| self.contains(*alg))
    }
}

impl fmt::Debug for Algorithms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Algorithm::name))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_exactly() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
            assert_eq!(alg.to_string(), alg.name());
        }
        for other in [
            "none", "None", "HS384", "HS512", "RS384", "ES384", "ES256K", "Ed25519", "eddsa", "",
        ] {
            assert_eq!(Algorithm::from_name(other), None, "{other}");
        }
    }

    #[test]
    fn sets_hold_what_they_were_made_of() {
        let set = Algorithms::of([Algorithm::Rs256, Algorithm::EdDsa]);
        assert!(set.contains(Algorithm::Rs256));
        assert!(!set.contains(Algorithm::Hs256));
        assert_eq!(format!("{set:?}"), r#"{"RS256", "EdDSA"}"#);
        // An algorithm named twice (pinned, and added again) is still in the set.
        let twice = Algorithms::of([Algorithm::Rs256, Algorithm::Rs256]);
        assert!(twice.contains(Algorithm::Rs256));
    }
}
