//! What a guard leaves for the handlers: the [`Anonymous`] mark, and the axum extractors for
//! [`VerifiedToken`](crate::VerifiedToken) and [`Claims<T>`](crate::Claims).

use crate::token::GuardMark;

/// Marks a request that a guard let through without credentials, under
/// [`allow_anonymous`](crate::BearerGuardBuilder::allow_anonymous).
#[derive(Clone, Debug)]
pub(crate) struct Anonymous(
    /// The guard, for the extractors' 401 challenge in its realm.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) GuardMark,
);

#[cfg(feature = "axum")]
pub use axum_extractors::Claims;

/// The extractors, for axum (feature `axum`).
#[cfg(feature = "axum")]
mod axum_extractors {
    use std::sync::Arc;

    use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
    use http::request::Parts;
    use serde::de::DeserializeOwned;

    use super::Anonymous;
    use crate::http::rejection::{Rejection, RejectionKind};
    use crate::token::{TokenErrorKind, VerifiedToken};

    /// The token the layer verified, or `None` for an anonymous request; an error without layer.
    fn optional_token(parts: &Parts) -> Result<Option<VerifiedToken>, Rejection> {
        match parts.extensions.get::<VerifiedToken>() {
            Some(token) => Ok(Some(token.clone())),
            None if parts.extensions.get::<Anonymous>().is_some() => Ok(None),
            None => Err(Rejection::missing_layer()),
        }
    }

    fn required_token(parts: &Parts) -> Result<VerifiedToken, Rejection> {
        optional_token(parts)?.ok_or_else(|| {
            let realm = parts
                .extensions
                .get::<Anonymous>()
                .map_or_else(|| Arc::from(""), |anonymous| Arc::clone(&anonymous.0.realm));
            Rejection::new(RejectionKind::MissingCredentials, realm)
        })
    }

    impl<S: Send + Sync> FromRequestParts<S> for VerifiedToken {
        type Rejection = Rejection;

        async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
            required_token(parts)
        }
    }

    impl<S: Send + Sync> OptionalFromRequestParts<S> for VerifiedToken {
        type Rejection = Rejection;

        async fn from_request_parts(
            parts: &mut Parts,
            _state: &S,
        ) -> Result<Option<Self>, Rejection> {
            optional_token(parts)
        }
    }

    /// The verified claims set, deserialized into your own type `T`: an axum extractor (feature
    /// `axum`, on by default), beside [`VerifiedToken`]'s.
    ///
    /// `Option<VerifiedToken>` and `Option<Claims<T>>` are `None` for an anonymous request (see
    /// [`allow_anonymous`](crate::BearerGuardBuilder::allow_anonymous)). Claims that do not fit
    /// `T` answer 401 `invalid_token`; without the layer, both extractors answer 500 with a
    /// message naming the layer to add.
    ///
    /// # Example
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use bearer_guard::{BearerGuardLayer, Claims, ResourceServer, VerifiedToken};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct MyClaims {
    ///     sub: String,
    ///     #[serde(default)]
    ///     permissions: Vec<String>,
    /// }
    ///
    /// async fn me(Claims(claims): Claims<MyClaims>) -> String {
    ///     format!("{} may {:?}", claims.sub, claims.permissions)
    /// }
    ///
    /// async fn maybe(token: Option<VerifiedToken>) -> &'static str {
    ///     if token.is_some() { "signed in" } else { "anonymous" }
    /// }
    ///
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let app: Router = Router::new()
    ///     .route("/me", get(me))
    ///     .route("/maybe", get(maybe))
    ///     .layer(BearerGuardLayer::builder(api).allow_anonymous().build()?);
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Claims<T>(pub T);

    impl<T: DeserializeOwned> Claims<T> {
        fn from_token(token: &VerifiedToken) -> Result<Self, Rejection> {
            token.claims().map(Claims).map_err(|_| {
                let realm = token
                    .guard()
                    .map_or_else(|| Arc::from(""), |guard| Arc::clone(&guard.realm));
                Rejection::new(
                    RejectionKind::InvalidToken(TokenErrorKind::InvalidClaim),
                    realm,
                )
            })
        }
    }

    impl<S, T> FromRequestParts<S> for Claims<T>
    where
        S: Send + Sync,
        T: DeserializeOwned,
    {
        type Rejection = Rejection;

        async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
            Self::from_token(&required_token(parts)?)
        }
    }

    impl<S, T> OptionalFromRequestParts<S> for Claims<T>
    where
        S: Send + Sync,
        T: DeserializeOwned,
    {
        type Rejection = Rejection;

        async fn from_request_parts(
            parts: &mut Parts,
            _state: &S,
        ) -> Result<Option<Self>, Rejection> {
            optional_token(parts)?
                .map(|token| Self::from_token(&token))
                .transpose()
        }
    }
}
