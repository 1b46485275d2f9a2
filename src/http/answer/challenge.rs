//! What a guard's `WWW-Authenticate` challenges say ([`Challenge`]), and where the layers
//! and extractors behind a guard find them ([`Challenge::of_guard`]) from the [`GuardId`] a
//! verified token carries: the token layer knows nothing of realms or schemes.

use std::sync::{Arc, PoisonError, RwLock, Weak};

use crate::token::GuardId;

/// A guard's realm, the schemes it takes and RFC 9728's metadata URL: everything its
/// challenges carry besides the error.
#[derive(Debug)]
pub(crate) struct Challenge {
    pub(crate) realm: Arc<str>,
    /// Whether `Bearer` is accepted (not when DPoP is required).
    pub(crate) bearer: bool,
    /// The DPoP challenge's `algs` (RFC 9449 §7.1), when DPoP is accepted.
    pub(crate) dpop_algs: Option<Box<str>>,
    /// RFC 9728 §5.1's `resource_metadata`: where the protected resource's metadata is.
    pub(crate) resource_metadata: Option<Box<str>>,
    /// The `scope` its 401 challenges name: the scopes a client should ask for
    /// (`advertise_scopes`).
    pub(crate) scope: Option<Arc<str>>,
}

/// What an `insufficient_user_authentication` challenge asks for (RFC 9470 §3): the `acr`
/// values accepted, space-separated in order of preference, and the maximum age of the
/// authentication in seconds. Rendered once, when the requirement is built.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct StepUpChallenge {
    pub(crate) acr_values: Option<Box<str>>,
    pub(crate) max_age: Option<u64>,
}

/// The challenges of the guards built in this process, by id, for the few answers that start
/// from a verified token rather than from a guard (a `Claims<T>` that does not fit, a scope
/// layer under another guard). Held weakly: a dropped guard's entry is pruned at the next
/// registration, so the list is as long as the guards alive.
static REGISTERED: RwLock<Vec<(GuardId, Weak<Challenge>)>> = RwLock::new(Vec::new());

impl Challenge {
    /// A `Bearer` challenge alone, in `realm`.
    pub(crate) fn bearer(realm: Arc<str>) -> Self {
        Self {
            realm,
            bearer: true,
            dpop_algs: None,
            resource_metadata: None,
            scope: None,
        }
    }

    /// Registers `challenge` as the guard `id`'s, for [`of_guard`](Self::of_guard).
    pub(crate) fn register(id: GuardId, challenge: &Arc<Self>) {
        let mut registered = REGISTERED.write().unwrap_or_else(PoisonError::into_inner);
        registered.retain(|(_, challenge)| challenge.strong_count() > 0);
        registered.push((id, Arc::downgrade(challenge)));
    }

    /// The challenge of the guard `id`, while that guard is alive.
    pub(crate) fn of_guard(id: GuardId) -> Option<Arc<Self>> {
        let registered = REGISTERED.read().unwrap_or_else(PoisonError::into_inner);
        registered
            .iter()
            .find(|(registered, _)| *registered == id)
            .and_then(|(_, challenge)| challenge.upgrade())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_challenge_is_found_while_its_guard_lives() {
        let challenge = Arc::new(Challenge::bearer("api-a".into()));
        Challenge::register(GuardId(u64::MAX - 1), &challenge);
        let found = Challenge::of_guard(GuardId(u64::MAX - 1)).unwrap();
        assert_eq!(&*found.realm, "api-a");
        assert!(Challenge::of_guard(GuardId(u64::MAX - 2)).is_none());
        drop((found, challenge));
        assert!(Challenge::of_guard(GuardId(u64::MAX - 1)).is_none());
    }
}
