//! Scopes: the set a token grants ([`Scopes`]) and what a route needs ([`ScopeRequirement`]).
//!
//! Scope tokens match exactly and case-sensitively (RFC 6749 §3.3): `read:messagesX` is not
//! `read:messages`, nor is `READ:messages`.

use std::fmt;

use crate::config::ConfigError;
use crate::token::packed::{PackedScopes, SpanList};

/// The scopes a route needs: all of a list, or any one of it, matched exactly and
/// case-sensitively (RFC 6749 §3.3).
///
/// Attach one to a route with
/// [`BearerGuardLayer::require_scopes`](crate::BearerGuardLayer::require_scopes), or to every
/// request with
/// [`require_scopes_for_every_request`](crate::BearerGuardBuilder::require_scopes_for_every_request).
///
/// # Example
///
/// ```
/// use bearer_guard::ScopeRequirement;
///
/// let all = ScopeRequirement::all(["read:messages", "write:messages"]);
/// assert!(all.is_satisfied_by(["read:messages", "write:messages", "other"]));
/// assert!(!all.is_satisfied_by(["read:messages"]));
/// assert_eq!(all.to_string(), "read:messages write:messages");
///
/// let any = ScopeRequirement::any(["admin", "read:messages"]);
/// assert!(any.is_satisfied_by(["read:messages"]));
/// assert!(!any.is_satisfied_by(["read:messagesX"]));
/// assert_eq!(any.iter().collect::<Vec<_>>(), ["admin", "read:messages"]);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ScopeRequirement {
    mode: Mode,
    scopes: Box<[Box<str>]>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    All,
    Any,
}

impl ScopeRequirement {
    /// Every one of `scopes` is needed.
    ///
    /// The scopes are checked against the resource server when the requirement is attached to
    /// a layer, so a typo fails at startup.
    #[must_use]
    pub fn all<I>(scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self::new(Mode::All, scopes)
    }

    /// Any one of `scopes` is enough.
    #[must_use]
    pub fn any<I>(scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self::new(Mode::Any, scopes)
    }

    fn new<I>(mode: Mode, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self {
            mode,
            scopes: scopes
                .into_iter()
                .map(|scope| scope.into().into_boxed_str())
                .collect(),
        }
    }

    /// The scopes named, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.scopes.iter().map(|scope| &**scope)
    }

    /// Whether a token granting `granted` meets this requirement.
    #[must_use]
    pub fn is_satisfied_by<'a, I>(&self, granted: I) -> bool
    where
        I: IntoIterator<Item = &'a str>,
        I::IntoIter: Clone,
    {
        let granted = granted.into_iter();
        let mut needed = self
            .scopes
            .iter()
            .map(|scope| granted.clone().any(|g| g == &**scope));
        match self.mode {
            Mode::All => needed.all(|held| held),
            Mode::Any => needed.any(|held| held),
        }
    }

    /// Checks the grammar of every scope and that the resource server declares it.
    pub(crate) fn check(&self, declares: impl Fn(&str) -> bool) -> Result<(), ConfigError> {
        if self.scopes.is_empty() {
            return Err(ConfigError::EmptyScopeRequirement);
        }
        for scope in self.iter() {
            if !is_scope_token(scope) {
                return Err(ConfigError::InvalidScope {
                    scope: scope.to_owned(),
                });
            }
            if !declares(scope) {
                return Err(ConfigError::UndeclaredScope {
                    scope: scope.to_owned(),
                });
            }
        }
        Ok(())
    }
}

/// Space-delimited, as in the `scope` attribute of a `WWW-Authenticate` challenge.
impl fmt::Display for ScopeRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope)?;
        }
        Ok(())
    }
}

impl fmt::Debug for ScopeRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeRequirement")
            .field("mode", &self.mode)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )` (RFC 6749 §3.3).
pub(crate) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// The scopes a verified token grants, from [`VerifiedToken::scopes`]: a string of
/// space-delimited scopes or a JSON array of them, in token order.
///
/// # Example
///
/// ```
/// use bearer_guard::{BearerGuardLayer, ResourceServer};
/// use bearer_guard::issuer::TokenIssuer;
///
/// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
///     .with_scope("read:messages", "Read messages")
///     .with_scope("openid", "Sign in");
/// let token = TokenIssuer::new(&api, "https://tenant.example/")?
///     .token("alice")
///     .scope("read:messages openid")
///     .sign()?;
/// let verified = BearerGuardLayer::builder(api).build_validator()?.validate(&token)?;
///
/// let scopes = verified.scopes();
/// assert!(scopes.contains("read:messages"));
/// assert!(!scopes.contains("read:message"));
/// assert!(!scopes.is_empty());
/// assert_eq!(scopes.iter().collect::<Vec<_>>(), ["read:messages", "openid"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`VerifiedToken::scopes`]: crate::VerifiedToken::scopes
#[derive(Clone, Copy)]
pub struct Scopes<'a> {
    list: PackedScopes<'a>,
}

impl<'a> Scopes<'a> {
    pub(crate) fn new(list: PackedScopes<'a>) -> Self {
        Self { list }
    }

    /// Whether the token grants `scope` (exact, case-sensitive).
    #[must_use]
    pub fn contains(&self, scope: &str) -> bool {
        self.iter().any(|granted| granted == scope)
    }

    /// Whether the token grants no scope at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The granted scopes, in token order.
    #[must_use]
    pub fn iter(&self) -> ScopesIter<'a> {
        let state = match self.list {
            PackedScopes::None => IterState::Done,
            PackedScopes::Delimited(text) => IterState::Delimited(text.split(' ')),
            PackedScopes::List(items) => IterState::List(items),
        };
        ScopesIter { state }
    }
}

impl<'a> IntoIterator for Scopes<'a> {
    type Item = &'a str;
    type IntoIter = ScopesIter<'a>;

    fn into_iter(self) -> ScopesIter<'a> {
        self.iter()
    }
}

impl fmt::Debug for Scopes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over the scopes of a token, from [`Scopes::iter`]. Its `Debug` shows the scopes
/// still to come, never the rest of the claims.
#[derive(Clone)]
pub struct ScopesIter<'a> {
    state: IterState<'a>,
}

impl fmt::Debug for ScopesIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ScopesIter")
            .field(&DebugRest(self.clone()))
            .finish()
    }
}

/// The scopes an iterator has yet to yield, as a list.
struct DebugRest<'a>(ScopesIter<'a>);

impl fmt::Debug for DebugRest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.clone()).finish()
    }
}

#[derive(Clone)]
enum IterState<'a> {
    Done,
    Delimited(std::str::Split<'a, char>),
    List(SpanList<'a>),
}

impl<'a> Iterator for ScopesIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match &mut self.state {
            IterState::Done => None,
            // Extra spaces are tolerated, never read as an empty scope.
            IterState::Delimited(split) => split.find(|scope| !scope.is_empty()),
            IterState::List(items) => items.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_of_needs_every_scope() {
        let needs = ScopeRequirement::all(["a", "b"]);
        assert!(needs.is_satisfied_by(["b", "a"]));
        assert!(!needs.is_satisfied_by(["a"]));
        assert!(!needs.is_satisfied_by([]));
    }

    #[test]
    fn any_of_needs_one_scope() {
        let needs = ScopeRequirement::any(["a", "b"]);
        assert!(needs.is_satisfied_by(["b"]));
        assert!(!needs.is_satisfied_by(["c"]));
        assert!(!needs.is_satisfied_by([]));
    }

    #[test]
    fn scopes_match_exactly_and_case_sensitively() {
        let needs = ScopeRequirement::all(["read:messages"]);
        for near in [
            "read:messagesX",
            "READ:messages",
            "read:message",
            " read:messages",
        ] {
            assert!(!needs.is_satisfied_by([near]), "{near}");
        }
    }

    #[test]
    fn requirement_displays_space_delimited() {
        assert_eq!(ScopeRequirement::any(["a", "b:c"]).to_string(), "a b:c");
    }

    #[test]
    fn scope_token_grammar_follows_rfc_6749() {
        for good in ["read:messages", "a", "!#[]~"] {
            assert!(is_scope_token(good), "{good}");
        }
        for bad in ["", "a b", "a\"b", "a\\b", "é", "a\tb"] {
            assert!(!is_scope_token(bad), "{bad}");
        }
    }

    #[test]
    fn check_names_undeclared_and_invalid_scopes() {
        let declares = |scope: &str| scope == "read:messages";
        assert_eq!(
            ScopeRequirement::all(["read:mesages"]).check(declares),
            Err(ConfigError::UndeclaredScope {
                scope: "read:mesages".into()
            })
        );
        assert_eq!(
            ScopeRequirement::all(["a b"]).check(declares),
            Err(ConfigError::InvalidScope {
                scope: "a b".into()
            })
        );
        assert_eq!(
            ScopeRequirement::any(Vec::<String>::new()).check(declares),
            Err(ConfigError::EmptyScopeRequirement)
        );
        assert_eq!(
            ScopeRequirement::all(["read:messages"]).check(declares),
            Ok(())
        );
    }

    #[test]
    fn delimited_scopes_skip_extra_spaces() {
        let scopes = Scopes::new(PackedScopes::Delimited("a  b "));
        assert_eq!(scopes.iter().collect::<Vec<_>>(), ["a", "b"]);
        assert!(scopes.contains("b"));
        assert!(!scopes.contains(""));
    }

    #[test]
    fn scopes_are_empty_only_without_a_scope_token() {
        let empty = |list| Scopes::new(list).is_empty();
        assert!(empty(PackedScopes::None));
        assert!(empty(PackedScopes::Delimited("   ")));
        assert!(!empty(PackedScopes::Delimited("   read:messages")));
        let packed = |payload| {
            let claims = crate::token::claims::parse(payload, "aud", "scope").unwrap();
            crate::token::packed::Packed::new(payload, &claims).unwrap()
        };
        let (none, one) = (
            packed(r#"{"scope":[],"exp":1}"#),
            packed(r#"{"scope":["a"],"exp":1}"#),
        );
        assert!(empty(none.scopes()));
        assert!(!empty(one.scopes()));
    }

    #[test]
    fn debug_shows_mode_and_scopes() {
        assert_eq!(
            format!("{:?}", ScopeRequirement::any(["a", "b"])),
            r#"ScopeRequirement { mode: Any, scopes: ["a", "b"] }"#
        );
        assert_eq!(
            format!("{:?}", Scopes::new(PackedScopes::Delimited("a b"))),
            r#"["a", "b"]"#
        );
    }

    #[test]
    fn iterator_debug_shows_the_remaining_scopes_and_no_other_claim() {
        let payload = r#"{"secret_claim":"hunter2","scope":"a b","exp":1}"#;
        let claims = crate::token::claims::parse(payload, "aud", "scope").unwrap();
        let packed = crate::token::packed::Packed::new(payload, &claims).unwrap();
        let mut iter = Scopes::new(packed.scopes()).iter();
        assert_eq!(format!("{iter:?}"), r#"ScopesIter(["a", "b"])"#);
        iter.next();
        assert_eq!(format!("{iter:?}"), r#"ScopesIter(["b"])"#);
    }
}
