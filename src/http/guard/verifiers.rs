//! Which API verifies a token ([`Verifiers`]): the one a guard protects, or of several, the
//! one the token's unverified `aud` and `iss` name.

use std::sync::Arc;

use crate::http::guard::api::Api;
use crate::token::TokenErrorKind;
use crate::token::peek::Peek;

/// The APIs a guard's service may verify a token for. Cloning is cheap (a reference count).
pub(crate) enum Verifiers<R> {
    /// One API: every token is its token.
    One(Arc<Api<R>>),
    /// Several APIs ([`MultiApiLayer`](crate::MultiApiLayer)), the first one primary.
    Several(Arc<Apis<R>>),
}

/// Several APIs' settings, the first one primary.
pub(crate) struct Apis<R> {
    pub(crate) apis: Box<[Arc<Api<R>>]>,
}

impl<R> Verifiers<R> {
    /// The API whose settings find the token and whose hook answers before a token has chosen
    /// its API: the one, or the first of several.
    #[inline]
    pub(crate) fn front(&self) -> &Api<R> {
        match self {
            Self::One(api) => api,
            Self::Several(apis) => apis.primary(),
        }
    }

    /// The API that verifies `token`.
    ///
    /// # Errors
    ///
    /// Of several APIs, when none has the token's audience (`InvalidAudience`,
    /// `MissingAudience`) or, of those that have it, none its issuer (`InvalidIssuer`,
    /// `MissingIssuer`): refused before any signature work.
    #[inline]
    pub(crate) fn choose(&self, token: &str) -> Result<&Api<R>, TokenErrorKind> {
        match self {
            Self::One(api) => Ok(api),
            Self::Several(apis) => apis.choose(token),
        }
    }
}

impl<R> Clone for Verifiers<R> {
    fn clone(&self) -> Self {
        match self {
            Self::One(api) => Self::One(Arc::clone(api)),
            Self::Several(apis) => Self::Several(Arc::clone(apis)),
        }
    }
}

impl<R> Apis<R> {
    /// The first API: its settings find the token, its hook answers.
    pub(crate) fn primary(&self) -> &Api<R> {
        // `MultiApiLayer::new` refuses an empty list.
        &self.apis[0]
    }

    /// The first API whose identifier is in the token's `aud` and whose issuer (if any; of
    /// several, one of them) is its `iss`. An encrypted token (JWE), whose payload no one
    /// reads before it is decrypted, goes to the first API whose decryption keys take its
    /// protected header (its `alg` and `kid`; feature `jwks`). A token whose payload cannot
    /// be read otherwise goes to the primary API, whose checks refuse it as they would alone.
    fn choose(&self, token: &str) -> Result<&Api<R>, TokenErrorKind> {
        let Some(peek) = Peek::of(token) else {
            #[cfg(feature = "jwks")]
            if let Some(api) = self
                .apis
                .iter()
                .find(|api| api.validator.takes_encrypted(token))
            {
                return Ok(api);
            }
            return Ok(self.primary());
        };
        let mut audience_matched = false;
        for api in &self.apis {
            if !peek.names_audience(&api.validator.audience) {
                continue;
            }
            audience_matched = true;
            if api.validator.takes_issuer(peek.issuer()) {
                return Ok(api);
            }
        }
        Err(
            match (audience_matched, peek.issuer(), peek.has_audience()) {
                (true, None, _) => TokenErrorKind::MissingIssuer,
                (true, Some(_), _) => TokenErrorKind::InvalidIssuer,
                (false, _, false) => TokenErrorKind::MissingAudience,
                (false, _, true) => TokenErrorKind::InvalidAudience,
            },
        )
    }
}

/// An API's identifier and issuer (the first of several): what names it in messages.
pub(crate) fn identity<R>(api: &Api<R>) -> (&str, Option<&str>) {
    (&api.validator.audience, api.validator.issuer.as_deref())
}

/// Whether a token could be either API's by its `aud` and `iss`: the same identifier, and
/// either takes any issuer or they share one.
pub(crate) fn overlap<R>(one: &Api<R>, other: &Api<R>) -> bool {
    let (one, other) = (&one.validator, &other.validator);
    one.audience == other.audience
        && (one.issuer.is_none()
            || other.issuer.is_none()
            || one.issuers().any(|issuer| other.takes_issuer(Some(issuer))))
}
