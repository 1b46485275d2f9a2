//! The mark a guard leaves on a request it let through without credentials ([`Anonymous`]).

use std::sync::Arc;

use crate::http::answer::challenge::Challenge;

/// Marks a request that a guard let through without credentials, under
/// [`allow_anonymous`](crate::BearerGuardBuilder::allow_anonymous): the scope layers and
/// extractors behind it answer in the guard's realm.
#[derive(Clone, Debug)]
pub(crate) struct Anonymous(
    #[cfg_attr(not(feature = "axum"), allow(dead_code))] pub(crate) Arc<Challenge>,
);
