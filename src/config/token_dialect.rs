//! The registration's `token_dialect`: the shape of the access tokens the authorization server
//! issues for the API.

use std::fmt;

/// The shape of an API's access tokens, from its registration's `token_dialect` (Auth0's
/// four values; [`ResourceServer::token_dialect`](crate::ResourceServer::token_dialect)).
/// The guard checks tokens as the dialect says, with no builder setting:
///
/// | dialect | scope requirements met by | RFC 9068 profile |
/// |---|---|---|
/// | `access_token` (the default) | `scope` | off |
/// | `access_token_authz` | `permissions` | off |
/// | `rfc9068_profile` | `scope` | on |
/// | `rfc9068_profile_authz` | `permissions` | on |
///
/// **`scope` under the `_authz` dialects.** Auth0 adds the `permissions` claim (an array)
/// when RBAC's "Add Permissions in the Access Token" is on, and keeps `scope`. Its guide
/// "Enable Role-Based Access Control for APIs" says what each holds: `permissions`, all the
/// permissions assigned to the user; `scope`, the intersection of the *requested* permissions
/// and the assigned ones, and "if you configure any Actions that modify access token scopes,
/// they will override the scopes set by RBAC". So a client that asks for no API scope has
/// its grants in `permissions` alone, and `scope` may hold values an Action put there that
/// RBAC never assigned. Here scope requirements are therefore met by `permissions` only (not
/// by either claim: an Action's scope must not open a route RBAC guards), and
/// [`VerifiedToken::scopes`](crate::VerifiedToken::scopes) are the permissions; `scope` stays
/// readable among the token's claims.
///
/// The builder's own settings may agree with the dialect, never contradict it:
/// `scope_claim("scope")` with an `_authz` dialect, `scope_claim("permissions")` with
/// `access_token`, or `rfc9068_profile()` with an `access_token*` dialect (whose tokens are
/// typed `JWT` and carry `azp`, not `client_id`) is a
/// [`ConfigError::TokenDialectConflict`](crate::ConfigError::TokenDialectConflict) naming both.
/// A registration without `token_dialect` (or one made with
/// [`ResourceServer::new`](crate::ResourceServer::new)) leaves the builder free.
///
/// # Example
///
/// ```
/// use bearer_guard::{BearerGuardLayer, ConfigError, ResourceServer};
/// use bearer_guard::registration::TokenDialect;
///
/// let api = ResourceServer::from_json(r#"{
///     "identifier": "https://my-api-urn", "signing_alg": "HS256",
///     "signing_secret": "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5",
///     "token_dialect": "access_token_authz"
/// }"#)?;
/// assert_eq!(api.token_dialect(), TokenDialect::AccessTokenAuthz);
/// assert_eq!(api.token_dialect().scope_claim(), "permissions");
/// assert!(!api.token_dialect().is_rfc9068());
///
/// // A guard for it reads `permissions`; telling it to read `scope` fails at startup.
/// let err = BearerGuardLayer::builder(api).scope_claim("scope").build().unwrap_err();
/// assert!(matches!(err, ConfigError::TokenDialectConflict { .. }), "{err}");
/// assert!(err.to_string().contains("access_token_authz"), "{err}");
///
/// assert_eq!(TokenDialect::from_name("rfc9068_profile"), Some(TokenDialect::Rfc9068Profile));
/// assert_eq!(TokenDialect::from_name("RFC9068_profile"), None);
/// # Ok::<(), ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenDialect {
    /// `access_token`: Auth0's token profile, scopes in `scope`. The default.
    #[default]
    AccessToken,
    /// `access_token_authz`: Auth0's token profile with RBAC permissions in `permissions`.
    AccessTokenAuthz,
    /// `rfc9068_profile`: RFC 9068's JWT access token profile (`typ` `at+jwt`, `client_id`,
    /// `jti`), scopes in `scope`.
    Rfc9068Profile,
    /// `rfc9068_profile_authz`: RFC 9068's profile with RBAC permissions in `permissions`.
    Rfc9068ProfileAuthz,
}

impl TokenDialect {
    /// The four, in Auth0's order.
    pub const ALL: [Self; 4] = [
        Self::AccessToken,
        Self::AccessTokenAuthz,
        Self::Rfc9068Profile,
        Self::Rfc9068ProfileAuthz,
    ];

    /// The dialect named `name` exactly as the Management API writes it, if any.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|dialect| dialect.name() == name)
    }

    /// The name, as the Management API writes it: `access_token`, `access_token_authz`,
    /// `rfc9068_profile` or `rfc9068_profile_authz`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::AccessTokenAuthz => "access_token_authz",
            Self::Rfc9068Profile => "rfc9068_profile",
            Self::Rfc9068ProfileAuthz => "rfc9068_profile_authz",
        }
    }

    /// Whether the tokens carry RBAC permissions in `permissions` (the `_authz` dialects).
    #[must_use]
    pub fn has_permissions(self) -> bool {
        matches!(self, Self::AccessTokenAuthz | Self::Rfc9068ProfileAuthz)
    }

    /// Whether the tokens follow RFC 9068's profile (the `rfc9068_profile*` dialects).
    #[must_use]
    pub fn is_rfc9068(self) -> bool {
        matches!(self, Self::Rfc9068Profile | Self::Rfc9068ProfileAuthz)
    }

    /// The claim scope requirements are checked against: `permissions` under the `_authz`
    /// dialects, `scope` otherwise.
    #[must_use]
    pub fn scope_claim(self) -> &'static str {
        if self.has_permissions() {
            "permissions"
        } else {
            "scope"
        }
    }
}

impl fmt::Display for TokenDialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_reads_back_as_its_dialect_and_nothing_else_does() {
        for dialect in TokenDialect::ALL {
            assert_eq!(TokenDialect::from_name(dialect.name()), Some(dialect));
            assert_eq!(dialect.to_string(), dialect.name());
        }
        for other in [
            "",
            "access-token",
            "Access_Token",
            "rfc9068",
            "access_token ",
        ] {
            assert_eq!(TokenDialect::from_name(other), None, "{other:?}");
        }
    }

    #[test]
    fn authz_dialects_read_permissions_and_rfc9068_ones_the_profile() {
        let shapes: Vec<_> = TokenDialect::ALL
            .into_iter()
            .map(|d| (d.name(), d.scope_claim(), d.is_rfc9068()))
            .collect();
        assert_eq!(
            shapes,
            [
                ("access_token", "scope", false),
                ("access_token_authz", "permissions", false),
                ("rfc9068_profile", "scope", true),
                ("rfc9068_profile_authz", "permissions", true),
            ]
        );
    }
}
