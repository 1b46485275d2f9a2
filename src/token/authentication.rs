//! Step-up requirements (RFC 9470): how the user must have authenticated (`acr`) and how
//! recently (`auth_time`), checked against a verified token.

use std::fmt;
use std::time::Duration;

use crate::config::ConfigError;
use crate::token::VerifiedToken;

/// The longest maximum authentication age accepted: a year. Longer is no requirement at all.
pub(crate) const MAX_AUTH_AGE: Duration = Duration::from_secs(365 * 24 * 3600);

/// What a route needs of the user's authentication (RFC 9470 §3): an `acr` among a set, an
/// `auth_time` recent enough, or both. A token that falls short is refused with 401
/// `insufficient_user_authentication`, whose challenge names the requirement (`acr_values`,
/// `max_age`) so the client knows what to ask the authorization server for.
///
/// Checked at startup by
/// [`BearerGuardLayer::require_authentication`](crate::BearerGuardLayer::require_authentication)
/// or [`require_authentication_for_every_request`](crate::BearerGuardBuilder::require_authentication_for_every_request):
/// an empty `acr` set, an `acr` value that cannot stand in `acr_values` (empty, or with a space,
/// `"` or `\`), or a maximum age under a second or over a year is a [`ConfigError`].
///
/// **Time.** A token passes a maximum age `max_age` when its `auth_time` is at most
/// `max_age` plus the guard's [`leeway`](crate::BearerGuardBuilder::leeway) ago, as for the
/// other time claims: the authorization server's clock stamped it. An `auth_time` later than
/// now plus the leeway is refused too ([`StepUpFailure::AuthTimeInFuture`]): it says
/// nothing of how recent the authentication was. `auth_time` is checked only where a
/// maximum age is required, and `acr` only where an `acr` is.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use bearer_guard::step_up::AuthenticationRequirement;
///
/// const MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
/// let mfa = AuthenticationRequirement::acr([MFA]);
/// let recent_mfa = AuthenticationRequirement::acr([MFA]).with_max_age(Duration::from_secs(300));
/// let recent = AuthenticationRequirement::max_age(Duration::from_secs(600));
/// assert_eq!(recent_mfa.acr_values(), Some(MFA));
/// assert_eq!(recent_mfa.max_age_secs(), Some(300));
/// assert_eq!(recent.acr_values(), None);
/// # let _ = mfa;
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AuthenticationRequirement {
    /// The `acr` values accepted, in order of preference.
    acr: Option<Vec<String>>,
    max_age: Option<Duration>,
    /// `acr`, space-separated, as `acr_values` names it.
    rendered_acr: Option<String>,
}

impl AuthenticationRequirement {
    /// Needs a token whose `acr` is one of `values`, given in order of preference (the order
    /// the challenge's `acr_values` names them in).
    #[must_use]
    pub fn acr<I>(values: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self {
            acr: None,
            max_age: None,
            rendered_acr: None,
        }
        .with_acr(values)
    }

    /// Needs a token whose `auth_time` is at most `max_age` ago (plus leeway).
    #[must_use]
    pub fn max_age(max_age: Duration) -> Self {
        Self {
            acr: None,
            max_age: Some(max_age),
            rendered_acr: None,
        }
    }

    /// The same requirement, needing an `acr` among `values` too (instead of any set before).
    #[must_use]
    pub fn with_acr<I>(mut self, values: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        self.rendered_acr = Some(values.join(" "));
        self.acr = Some(values);
        self
    }

    /// The same requirement, needing an `auth_time` at most `max_age` ago too.
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// The `acr` values accepted, space-separated in order of preference, as the challenge's
    /// `acr_values` names them; `None` when no `acr` is required.
    #[must_use]
    pub fn acr_values(&self) -> Option<&str> {
        self.rendered_acr.as_deref()
    }

    /// The maximum age of the authentication in whole seconds, as the challenge's `max_age`
    /// names it; `None` when no age is required.
    #[must_use]
    pub fn max_age_secs(&self) -> Option<u64> {
        self.max_age.map(|age| age.as_secs())
    }

    /// Checks the requirement's values, at startup.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if let Some(values) = &self.acr {
            if values.is_empty() {
                return Err(ConfigError::EmptyAcrRequirement);
            }
            if let Some(value) = values.iter().find(|value| !is_acr_value(value)) {
                return Err(ConfigError::InvalidAcrValue {
                    value: value.clone(),
                });
            }
        }
        if let Some(age) = self.max_age
            && (age.as_secs() == 0 || age > MAX_AUTH_AGE)
        {
            return Err(ConfigError::MaxAuthAgeOutOfRange {
                seconds: age.as_secs(),
                max: MAX_AUTH_AGE.as_secs(),
            });
        }
        Ok(())
    }

    /// Whether `token`'s authentication meets the requirement at `now` (seconds since the
    /// epoch), with `leeway` seconds of clock skew: `acr` first, then `auth_time`.
    pub(crate) fn is_met_by(
        &self,
        token: &VerifiedToken,
        now: f64,
        leeway: f64,
    ) -> Result<(), StepUpFailure> {
        if let Some(accepted) = &self.acr {
            let acr = token
                .authentication_context_class()
                .ok_or(StepUpFailure::AcrMissing)?;
            if !accepted.iter().any(|value| value == acr) {
                return Err(StepUpFailure::AcrNotAccepted);
            }
        }
        if let Some(max_age) = self.max_age {
            let auth_time = token
                .auth_time_seconds()
                .ok_or(StepUpFailure::AuthTimeMissing)?;
            if auth_time > now + leeway {
                return Err(StepUpFailure::AuthTimeInFuture);
            }
            if now - auth_time > max_age.as_secs_f64() + leeway {
                return Err(StepUpFailure::AuthTooOld);
            }
        }
        Ok(())
    }
}

/// May stand in `acr_values`: a quotable string (RFC 6750 §3's characters) without the space
/// that separates the values.
fn is_acr_value(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

impl fmt::Debug for AuthenticationRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticationRequirement")
            .field("acr_values", &self.rendered_acr)
            .field("max_age", &self.max_age)
            .finish()
    }
}

/// Why a token's authentication falls short of a step-up requirement (RFC 9470): the typed
/// reason of a [`RejectionKind::InsufficientUserAuthentication`](crate::RejectionKind::InsufficientUserAuthentication).
///
/// # Example
///
/// ```
/// use bearer_guard::step_up::StepUpFailure;
///
/// assert_eq!(StepUpFailure::AuthTooOld.reason(), "auth_too_old");
/// assert_eq!(StepUpFailure::AcrMissing.description(), "A different authentication level is required");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepUpFailure {
    /// An `acr` is required, and the token has none.
    AcrMissing,
    /// The token's `acr` is none of those required.
    AcrNotAccepted,
    /// A maximum age is required, and the token has no `auth_time`.
    AuthTimeMissing,
    /// The token's `auth_time` is older than the maximum age (plus leeway).
    AuthTooOld,
    /// The token's `auth_time` is later than now (plus leeway).
    AuthTimeInFuture,
}

impl StepUpFailure {
    /// A stable machine-readable reason, the one logged.
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self {
            Self::AcrMissing => "acr_missing",
            Self::AcrNotAccepted => "acr_not_accepted",
            Self::AuthTimeMissing => "auth_time_missing",
            Self::AuthTooOld => "auth_too_old",
            Self::AuthTimeInFuture => "auth_time_in_future",
        }
    }

    /// The `error_description` sent, RFC 9470 §3's own wording.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Self::AcrMissing | Self::AcrNotAccepted => {
                "A different authentication level is required"
            }
            Self::AuthTimeMissing | Self::AuthTooOld | Self::AuthTimeInFuture => {
                "More recent authentication is required"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{NOW, claims_json, mint, validator};

    const MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

    fn token(claims: &[(&str, &str)]) -> VerifiedToken {
        validator()
            .verify(&mint(&claims_json(claims)), NOW, None)
            .unwrap()
    }

    fn at(seconds_ago: f64) -> String {
        (NOW - seconds_ago).to_string()
    }

    #[test]
    fn acr_must_be_one_of_the_set() {
        let required = AuthenticationRequirement::acr([MFA, "urn:acr:strong"]);
        let mfa = format!("\"{MFA}\"");
        let check = |claims: &[(&str, &str)]| required.is_met_by(&token(claims), NOW, 60.0);
        assert_eq!(check(&[("acr", &mfa)]), Ok(()));
        assert_eq!(check(&[("acr", "\"urn:acr:strong\"")]), Ok(()));
        assert_eq!(
            check(&[("acr", "\"urn:acr:weak\"")]),
            Err(StepUpFailure::AcrNotAccepted)
        );
        // Exact: no case folding, no prefix.
        assert_eq!(
            check(&[("acr", "\"URN:acr:strong\"")]),
            Err(StepUpFailure::AcrNotAccepted)
        );
        assert_eq!(check(&[]), Err(StepUpFailure::AcrMissing));
    }

    #[test]
    fn auth_time_must_be_recent_within_the_leeway() {
        let required = AuthenticationRequirement::max_age(Duration::from_secs(300));
        let check = |ago: f64| required.is_met_by(&token(&[("auth_time", &at(ago))]), NOW, 60.0);
        assert_eq!(check(0.0), Ok(()));
        assert_eq!(check(360.0), Ok(()), "max age plus leeway");
        assert_eq!(check(360.5), Err(StepUpFailure::AuthTooOld));
        assert_eq!(check(-60.0), Ok(()), "ahead by the leeway");
        assert_eq!(check(-61.0), Err(StepUpFailure::AuthTimeInFuture));
        assert_eq!(
            required.is_met_by(&token(&[]), NOW, 60.0),
            Err(StepUpFailure::AuthTimeMissing)
        );
    }

    #[test]
    fn both_are_checked_acr_first() {
        let required = AuthenticationRequirement::acr([MFA]).with_max_age(Duration::from_secs(300));
        let mfa = format!("\"{MFA}\"");
        let check = |claims: &[(&str, &str)]| required.is_met_by(&token(claims), NOW, 0.0);
        assert_eq!(check(&[("acr", &mfa), ("auth_time", &at(10.0))]), Ok(()));
        assert_eq!(
            check(&[("acr", &mfa), ("auth_time", &at(301.0))]),
            Err(StepUpFailure::AuthTooOld)
        );
        assert_eq!(
            check(&[("auth_time", &at(10.0))]),
            Err(StepUpFailure::AcrMissing)
        );
        assert_eq!(
            check(&[("acr", "\"pwd\""), ("auth_time", &at(301.0))]),
            Err(StepUpFailure::AcrNotAccepted)
        );
    }

    #[test]
    fn a_requirement_that_cannot_be_met_or_named_fails_at_startup() {
        let acr = |values: &[&str]| AuthenticationRequirement::acr(values.iter().copied()).check();
        assert_eq!(acr(&[]), Err(ConfigError::EmptyAcrRequirement));
        for bad in ["", "two words", "a\"b", "a\\b", "tab\there", "é"] {
            assert_eq!(
                acr(&[MFA, bad]),
                Err(ConfigError::InvalidAcrValue { value: bad.into() }),
                "{bad:?}"
            );
        }
        assert_eq!(acr(&[MFA, "urn:mace:incommon:iap:silver", "0"]), Ok(()));
        let age = |age: Duration| AuthenticationRequirement::max_age(age).check();
        for bad in [
            Duration::ZERO,
            Duration::from_millis(999),
            MAX_AUTH_AGE + Duration::from_secs(1),
        ] {
            assert!(
                matches!(age(bad), Err(ConfigError::MaxAuthAgeOutOfRange { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(age(Duration::from_secs(1)), Ok(()));
        assert_eq!(age(MAX_AUTH_AGE), Ok(()));
    }

    #[test]
    fn every_description_fits_a_challenge() {
        use StepUpFailure as F;
        for failure in [
            F::AcrMissing,
            F::AcrNotAccepted,
            F::AuthTimeMissing,
            F::AuthTooOld,
            F::AuthTimeInFuture,
        ] {
            assert!(
                failure
                    .description()
                    .bytes()
                    .all(|b| matches!(b, 0x20 | 0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
                "{failure:?}"
            );
        }
    }
}
