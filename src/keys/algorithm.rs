//! The JWS algorithms bearer-guard verifies (RFC 7518 §3, RFC 8037 §3.1, RFC 9864).

use std::fmt;

/// A signature algorithm a resource server can be pinned to.
///
/// The algorithm comes from configuration (the resource server's `signing_alg`), never from a
/// token: a token whose header names another algorithm is refused, whatever key it names.
/// The HMAC algorithms (`HS256`, `HS384`, `HS512`) verify with the resource server's secret;
/// the others (feature `jwks`) verify with public keys from a JSON Web Key Set.
///
/// Every name is its own algorithm, exactly and case-sensitively: an `RS256` registration
/// refuses `RS384` tokens as it refuses `ES256` ones, and an `HS256` one refuses `HS512`
/// tokens made with the same secret. A second algorithm is accepted only when it is added
/// with `also_accept_algorithm`.
///
/// # `EdDSA` and `Ed25519` (RFC 9864)
///
/// RFC 9864 registers `Ed25519` as the fully specified name of EdDSA with the Ed25519
/// parameter set (RFC 8032 §5.1), and deprecates the polymorphic `EdDSA` of RFC 8037, whose
/// curve only the key tells. The signatures are the same bytes; the names are two registered
/// algorithm identifiers. bearer-guard keeps them apart, as it keeps every pair of names
/// apart: an [`EdDsa`](Self::EdDsa) registration refuses a token labelled `Ed25519`, and an
/// [`Ed25519`](Self::Ed25519) registration refuses one labelled `EdDSA`. Deprecation asks
/// deployments to move to the fully specified name, and pinning (RFC 8725 §3.1) lets a
/// resource server that has moved refuse the old label; an issuer in the middle of the move
/// is accepted under both names only when you say so (`also_accept_algorithm`). An `OKP`
/// JWK without `alg` serves both names; one whose `alg` names one of them serves that one.
/// `EdDSA` is verified with Ed25519 keys only (no Ed448).
///
/// # Example
///
/// ```
/// use bearer_guard::Algorithm;
///
/// assert_eq!(Algorithm::from_name("RS256"), Some(Algorithm::Rs256));
/// assert_eq!(Algorithm::Rs512.name(), "RS512");
/// assert_eq!(Algorithm::from_name("Ed25519"), Some(Algorithm::Ed25519));
/// assert_ne!(Algorithm::Ed25519, Algorithm::EdDsa); // two names, two algorithms
/// assert_eq!(Algorithm::from_name("rs256"), None); // names are case-sensitive
/// assert_eq!(Algorithm::from_name("none"), None);
/// assert!(!Algorithm::Hs384.is_asymmetric());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256 and the resource server's secret (at least 32 bytes).
    Hs256,
    /// HMAC with SHA-384 and the resource server's secret (at least 48 bytes).
    Hs384,
    /// HMAC with SHA-512 and the resource server's secret (at least 64 bytes).
    Hs512,
    /// RSASSA-PKCS1-v1_5 with SHA-256: Auth0's default.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384 and MGF1 with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512 and MGF1 with SHA-512.
    Ps512,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
    /// ECDSA on P-521 with SHA-512.
    Es512,
    /// EdDSA (RFC 8037), with Ed25519 keys only; deprecated by RFC 9864 in favour of
    /// [`Ed25519`](Self::Ed25519), and a name of its own.
    EdDsa,
    /// Ed25519 under its fully specified name (RFC 9864).
    Ed25519,
}

impl Algorithm {
    /// Every algorithm, in the order of this enum.
    pub const ALL: [Self; 14] = [
        Self::Hs256,
        Self::Hs384,
        Self::Hs512,
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
        Self::Es256,
        Self::Es384,
        Self::Es512,
        Self::EdDsa,
        Self::Ed25519,
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
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es512 => "ES512",
            Self::EdDsa => "EdDSA",
            Self::Ed25519 => "Ed25519",
        }
    }

    /// Whether it verifies with a public key (from a JWK set) rather than a shared secret.
    #[must_use]
    pub fn is_asymmetric(self) -> bool {
        self.hmac_len().is_none()
    }

    /// For an HMAC algorithm, the size of its hash in bytes: its tag's length, and the
    /// shortest secret accepted (RFC 7518 §3.2). `None` for the others.
    pub(crate) fn hmac_len(self) -> Option<usize> {
        match self {
            Self::Hs256 => Some(32),
            Self::Hs384 => Some(48),
            Self::Hs512 => Some(64),
            _ => None,
        }
    }

    /// A bit of its own, for sets of algorithms.
    pub(crate) fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of algorithms: those a validator accepts.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Algorithms(u16);

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
            "none", "None", "hs384", "HS1024", "RS1024", "rs512", "ES256K", "Ed448", "ed25519",
            "ED25519", "eddsa", "EDDSA", "PS256 ", "", "ES521",
        ] {
            assert_eq!(Algorithm::from_name(other), None, "{other}");
        }
    }

    #[test]
    fn every_algorithm_has_its_own_bit() {
        let all = Algorithms::of(Algorithm::ALL);
        assert_eq!(all.iter().collect::<Vec<_>>(), Algorithm::ALL);
        for alg in Algorithm::ALL {
            let alone = Algorithms::of([alg]);
            assert_eq!(alone.iter().collect::<Vec<_>>(), [alg]);
        }
    }

    #[test]
    fn only_the_hmac_algorithms_use_a_secret_of_their_hash_size() {
        let hmac: Vec<_> = Algorithm::ALL
            .into_iter()
            .filter_map(|alg| alg.hmac_len().map(|len| (alg, len)))
            .collect();
        assert_eq!(
            hmac,
            [
                (Algorithm::Hs256, 32),
                (Algorithm::Hs384, 48),
                (Algorithm::Hs512, 64)
            ]
        );
        for alg in Algorithm::ALL {
            assert_eq!(alg.is_asymmetric(), !alg.name().starts_with("HS"), "{alg}");
        }
    }

    #[test]
    fn sets_hold_what_they_were_made_of() {
        let set = Algorithms::of([Algorithm::Rs256, Algorithm::EdDsa]);
        assert!(set.contains(Algorithm::Rs256));
        assert!(!set.contains(Algorithm::Hs256));
        assert!(!set.contains(Algorithm::Ed25519));
        assert_eq!(format!("{set:?}"), r#"{"RS256", "EdDSA"}"#);
        // An algorithm named twice (pinned, and added again) is still in the set.
        let twice = Algorithms::of([Algorithm::Rs256, Algorithm::Rs256]);
        assert!(twice.contains(Algorithm::Rs256));
    }
}
