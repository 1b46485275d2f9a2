//! Whether an API takes DPoP-bound tokens.
/// Whether an API accepts DPoP (RFC 9449): sender-constrained access tokens, each request
/// carrying a proof signed by the client's key.
///
/// Read from the resource server's `proof_of_possession`
/// ([`ResourceServer::dpop_mode`](crate::ResourceServer::dpop_mode)), [`Allowed`](Self::Allowed)
/// when it says nothing.
///
/// # Example
///
/// ```
/// use bearer_guard::dpop::DpopMode;
///
/// assert_eq!(DpopMode::default(), DpopMode::Allowed);
/// assert!(DpopMode::Required.accepts_dpop() && !DpopMode::Required.accepts_bearer());
/// assert!(DpopMode::Allowed.accepts_dpop() && DpopMode::Allowed.accepts_bearer());
/// assert!(!DpopMode::Disabled.accepts_dpop() && DpopMode::Disabled.accepts_bearer());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DpopMode {
    /// Bearer tokens only; `Authorization: DPoP` is not understood.
    Disabled,
    /// Bearer tokens and DPoP-bound tokens with their proofs. A DPoP-bound token (one with
    /// `cnf.jkt`) is still refused as `Bearer` (RFC 9449 §7.1).
    #[default]
    Allowed,
    /// DPoP-bound tokens with their proofs only.
    Required,
}

impl DpopMode {
    /// Whether `Authorization: DPoP` requests are verified (not refused outright).
    #[must_use]
    pub fn accepts_dpop(self) -> bool {
        self != Self::Disabled
    }

    /// Whether `Authorization: Bearer` requests may pass.
    #[must_use]
    pub fn accepts_bearer(self) -> bool {
        self != Self::Required
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_say_which_schemes_pass() {
        assert_eq!(
            [DpopMode::Disabled, DpopMode::Allowed, DpopMode::Required]
                .map(|mode| (mode.accepts_bearer(), mode.accepts_dpop())),
            [(true, false), (true, true), (false, true)]
        );
    }
}
