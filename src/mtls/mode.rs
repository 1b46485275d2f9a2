//! Whether an API takes certificate-bound access tokens.

/// Whether an API takes certificate-bound access tokens (RFC 8705 §3): tokens whose
/// `cnf["x5t#S256"]` names the client certificate the client holds, good only on a request
/// that comes with that certificate.
///
/// Read from the resource server's `proof_of_possession`
/// ([`ResourceServer::mtls_mode`](crate::ResourceServer::mtls_mode)), or set by the builder's
/// [`mtls`](crate::BearerGuardBuilder::mtls). [`Disabled`](Self::Disabled) when neither says
/// anything.
///
/// # Example
///
/// ```
/// use bearer_guard::mtls::MtlsMode;
///
/// assert_eq!(MtlsMode::default(), MtlsMode::Disabled);
/// assert!(MtlsMode::Required.takes_bound_tokens() && !MtlsMode::Required.takes_unbound_tokens());
/// assert!(MtlsMode::Allowed.takes_bound_tokens() && MtlsMode::Allowed.takes_unbound_tokens());
/// assert!(!MtlsMode::Disabled.takes_bound_tokens() && MtlsMode::Disabled.takes_unbound_tokens());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MtlsMode {
    /// No certificate-bound tokens: a token with `cnf["x5t#S256"]` is refused, as nothing
    /// here could check its certificate
    /// ([`MtlsError::NotTaken`](crate::mtls::MtlsError::NotTaken)).
    #[default]
    Disabled,
    /// Certificate-bound tokens pass with their certificate; tokens bound to no certificate
    /// pass as they would without mTLS.
    Allowed,
    /// Every token must be certificate-bound, and come with its certificate.
    Required,
}

impl MtlsMode {
    /// Whether a token with `cnf["x5t#S256"]` can pass (with its certificate).
    #[must_use]
    pub fn takes_bound_tokens(self) -> bool {
        self != Self::Disabled
    }

    /// Whether a token without `cnf["x5t#S256"]` can pass.
    #[must_use]
    pub fn takes_unbound_tokens(self) -> bool {
        self != Self::Required
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_say_which_tokens_pass() {
        assert_eq!(
            [MtlsMode::Disabled, MtlsMode::Allowed, MtlsMode::Required]
                .map(|mode| (mode.takes_unbound_tokens(), mode.takes_bound_tokens())),
            [(true, false), (true, true), (false, true)]
        );
    }
}
