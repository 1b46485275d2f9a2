//! An API with several issuers ([`issuers`](crate::BearerGuardBuilder::issuers)), as Auth0's
//! Multiple Custom Domains give one: the list, and how a token's unverified `iss` picks the
//! one issuer (and keys) it is verified for, before any signature work.
//!
//! The first issuer is the validator's `issuer`, verified with its `keys`, as for an API with
//! one issuer; each further one is an `IssuerKeys` (`issuer_keys.rs`, with the list's
//! checks). Nothing read by the choice is trusted: the chosen issuer's checks run in full,
//! `iss` compared exactly to it.

#[cfg(feature = "jwks")]
use crate::keys::KeyCache;
use crate::keys::KeySource;
use crate::token::TokenErrorKind;
#[cfg(test)]
use crate::token::issuer_keys::{IssuerKeys, MAX_ISSUERS, check_list};
use crate::token::peek::Peek;
use crate::token::validator::TokenValidator;

impl TokenValidator {
    /// The place in the issuer list of the issuer `token` is verified for: the first for an
    /// API with one issuer (or none) without reading the token; of several, the one its
    /// unverified `iss` names exactly.
    ///
    /// # Errors
    ///
    /// Of several issuers: `Malformed` when the payload cannot be read, `MissingIssuer`
    /// without `iss`, `InvalidIssuer` when `iss` is none of them. No key is looked up or
    /// fetched for such a token.
    #[inline]
    pub(crate) fn choose_issuer(&self, token: &str) -> Result<usize, TokenErrorKind> {
        if self.more_issuers.is_empty() {
            return Ok(0);
        }
        let peek = Peek::of(token).ok_or(TokenErrorKind::Malformed)?;
        let iss = peek.issuer().ok_or(TokenErrorKind::MissingIssuer)?;
        self.issuer_place(iss).ok_or(TokenErrorKind::InvalidIssuer)
    }

    /// The place of `iss` in the issuer list, compared exactly.
    fn issuer_place(&self, iss: &str) -> Option<usize> {
        if self.issuer.as_deref() == Some(iss) {
            return Some(0);
        }
        let at = self
            .more_issuers
            .iter()
            .position(|more| &*more.issuer == iss)?;
        Some(at + 1)
    }

    /// The issuer at `place` in the list: the one `iss` must equal.
    #[inline]
    pub(crate) fn issuer_at(&self, place: usize) -> Option<&str> {
        match place {
            0 => self.issuer.as_deref(),
            _ => self.more_issuers.get(place - 1).map(|more| &*more.issuer),
        }
    }

    /// The keys of the issuer at `place`; `None` past the end of the list.
    #[inline]
    pub(crate) fn keys_at(&self, place: usize) -> Option<&KeySource> {
        match place {
            0 => Some(&self.keys),
            _ => self
                .more_issuers
                .get(place - 1)
                .map(|more| more.keys.as_ref().unwrap_or(&self.keys)),
        }
    }

    /// Every issuer the API takes, the first first; none when `iss` is not checked.
    pub(crate) fn issuers(&self) -> impl Iterator<Item = &str> {
        let more = self.more_issuers.iter().map(|more| &*more.issuer);
        self.issuer.as_deref().into_iter().chain(more)
    }

    /// Whether a token whose unverified `iss` is `iss` may be this API's: any when `iss` is
    /// not checked, else one of its issuers.
    pub(crate) fn takes_issuer(&self, iss: Option<&str>) -> bool {
        self.issuer.is_none() || iss.is_some_and(|iss| self.issuer_place(iss).is_some())
    }

    /// The key cache `token`'s issuer verifies it with, when its keys come from one: for a
    /// refusal's `Retry-After` or an unknown `kid`'s refetch, which touch that issuer only.
    #[cfg(feature = "jwks")]
    pub(crate) fn key_cache_for(&self, token: &str) -> Option<&std::sync::Arc<KeyCache>> {
        let place = self.choose_issuer(token).ok()?;
        match self.keys_at(place)? {
            KeySource::Cache(cache) => Some(cache),
            _ => None,
        }
    }

    /// Each issuer's own key cache, with the issuer: one per issuer whose keys are fetched.
    #[cfg(feature = "jwks")]
    pub(crate) fn key_caches(
        &self,
    ) -> impl Iterator<Item = (Option<&str>, &std::sync::Arc<KeyCache>)> {
        let first = std::iter::once((self.issuer.as_deref(), Some(&self.keys)));
        let more = self
            .more_issuers
            .iter()
            .map(|more| (Some(&*more.issuer), more.keys.as_ref()));
        first.chain(more).filter_map(|(issuer, keys)| match keys {
            Some(KeySource::Cache(cache)) => Some((issuer, cache)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;
    use crate::test_support::{ISSUER, NOW, claims_json, mint, validator};

    const CUSTOM: &str = "https://login.brand.example/";

    fn two_issuers() -> TokenValidator {
        TokenValidator {
            more_issuers: Box::new([IssuerKeys {
                issuer: CUSTOM.into(),
                keys: None,
            }]),
            ..validator()
        }
    }

    fn with_iss(iss: &str) -> String {
        mint(&claims_json(&[("iss", iss)]))
    }

    #[test]
    fn each_issuer_of_the_list_is_accepted_with_the_shared_secret() {
        let validator = two_issuers();
        for iss in [ISSUER, CUSTOM] {
            let token = with_iss(&format!("{iss:?}"));
            let verified = validator.verify(&token, NOW, None).unwrap();
            assert_eq!(verified.issuer(), Some(iss));
        }
    }

    #[test]
    fn an_issuer_outside_the_list_is_refused_before_the_signature() {
        let validator = two_issuers();
        for (iss, kind) in [
            (r#""https://evil.example/""#, TokenErrorKind::InvalidIssuer),
            (
                r#""https://login.brand.example""#,
                TokenErrorKind::InvalidIssuer,
            ),
            ("", TokenErrorKind::MissingIssuer),
        ] {
            let token = with_iss(iss);
            assert_eq!(validator.choose_issuer(&token), Err(kind), "{iss}");
            assert_eq!(
                validator.verify(&token, NOW, None).err(),
                Some(kind),
                "{iss}"
            );
        }
        // Unsigned garbage is refused by the choice alone, before any key is looked at.
        let mut forged = with_iss(r#""https://evil.example/""#);
        forged.push_str("tampered");
        assert_eq!(
            validator.choose_issuer(&forged),
            Err(TokenErrorKind::InvalidIssuer)
        );
        assert_eq!(
            validator.choose_issuer("e30.!!!.c2ln"),
            Err(TokenErrorKind::Malformed)
        );
    }

    #[test]
    fn one_issuer_is_chosen_without_reading_the_token() {
        assert_eq!(validator().choose_issuer("not a token"), Ok(0));
        assert_eq!(
            two_issuers().choose_issuer(&with_iss(&format!("{CUSTOM:?}"))),
            Ok(1)
        );
    }

    #[test]
    fn a_cached_token_is_checked_against_the_issuer_that_verified_it() {
        let validator = TokenValidator {
            cache: crate::token::TokenCache::new(&crate::token::TokenCacheSettings::default())
                .unwrap()
                .map(std::sync::Arc::new),
            ..two_issuers()
        };
        let token = with_iss(&format!("{CUSTOM:?}"));
        for _ in 0..2 {
            assert!(validator.verify(&token, NOW, None).is_ok());
        }
        let status = validator.token_cache_status().unwrap();
        assert_eq!((status.misses, status.hits), (1, 1));
    }

    #[test]
    fn takes_issuer_answers_for_every_issuer_of_the_list() {
        let validator = two_issuers();
        assert!(validator.takes_issuer(Some(ISSUER)) && validator.takes_issuer(Some(CUSTOM)));
        assert!(!validator.takes_issuer(Some("https://evil.example/")));
        assert!(!validator.takes_issuer(None));
        let any = TokenValidator {
            issuer: None,
            ..validator
        };
        assert!(any.takes_issuer(None));
        assert_eq!(
            two_issuers().issuers().collect::<Vec<_>>(),
            [ISSUER, CUSTOM]
        );
    }

    #[test]
    fn the_list_is_checked() {
        let list = |issuers: &[&str]| {
            check_list(&issuers.iter().map(|i| (*i).to_owned()).collect::<Vec<_>>())
        };
        assert!(list(&[ISSUER, CUSTOM]).is_ok());
        for bad in [&[][..], &[ISSUER, CUSTOM, ISSUER]] {
            assert!(
                matches!(list(bad), Err(ConfigError::InvalidIssuers { .. })),
                "{bad:?}"
            );
        }
        let many: Vec<String> = (0..=MAX_ISSUERS)
            .map(|n| format!("https://d{n}.example/"))
            .collect();
        assert!(check_list(&many[..MAX_ISSUERS]).is_ok());
        let err = check_list(&many).unwrap_err();
        assert!(err.to_string().contains("17 issuers"), "{err}");
    }
}
