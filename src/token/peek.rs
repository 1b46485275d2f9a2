//! The unverified `aud` and `iss` of a token ([`Peek`]), read only to choose which of several
//! APIs verifies it: nothing read here is trusted, and the chosen API checks everything again.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::token::jws;

/// A token's unverified `aud` and `iss`.
#[derive(Deserialize)]
pub(crate) struct Peek<'a> {
    #[serde(borrow, default)]
    aud: Option<Audience<'a>>,
    #[serde(borrow, default)]
    iss: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience<'a> {
    One(#[serde(borrow)] Cow<'a, str>),
    Many(#[serde(borrow)] Vec<Cow<'a, str>>),
}

/// Larger tokens are not read: the verifying API's size cap refuses them.
pub(crate) const MAX_PEEK_LEN: usize = 64 * 1024;

impl Peek<'_> {
    /// Reads the payload of `token`, or `None` when it is not a readable JWS.
    pub(crate) fn of(token: &str) -> Option<Peek<'static>> {
        if token.len() > MAX_PEEK_LEN {
            return None;
        }
        let segments = jws::split(token).ok()?;
        let json = URL_SAFE_NO_PAD.decode(segments.payload).ok()?;
        let peek: Peek<'_> = serde_json::from_slice(&json).ok()?;
        Some(peek.into_owned())
    }

    fn into_owned(self) -> Peek<'static> {
        let owned = |text: Cow<'_, str>| Cow::Owned(text.into_owned());
        Peek {
            aud: self.aud.map(|aud| match aud {
                Audience::One(one) => Audience::One(owned(one)),
                Audience::Many(many) => Audience::Many(many.into_iter().map(owned).collect()),
            }),
            iss: self.iss.map(owned),
        }
    }

    /// Whether `aud` is present.
    pub(crate) fn has_audience(&self) -> bool {
        self.aud.is_some()
    }

    /// `iss`, if present.
    pub(crate) fn issuer(&self) -> Option<&str> {
        self.iss.as_deref()
    }

    /// Whether `aud` is `audience` or a list that holds it.
    pub(crate) fn names_audience(&self, audience: &str) -> bool {
        match &self.aud {
            Some(Audience::One(one)) => one == audience,
            Some(Audience::Many(many)) => many.iter().any(|one| one == audience),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_with(payload: &str) -> String {
        format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn peek_reads_aud_as_a_string_or_an_array_and_iss() {
        let peek = Peek::of(&token_with(r#"{"aud":["a","b"],"iss":"i","x":1}"#)).unwrap();
        assert!(peek.names_audience("a") && peek.names_audience("b"));
        assert!(!peek.names_audience("c"));
        assert_eq!(peek.issuer(), Some("i"));
        let peek = Peek::of(&token_with(r#"{"aud":"a\u0062"}"#)).unwrap();
        assert!(peek.names_audience("ab"));
        assert_eq!(peek.issuer(), None);
    }

    #[test]
    fn unreadable_payloads_are_not_read() {
        for token in [
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            "e30.!!!.c2ln".to_owned(),
            token_with("not json"),
            token_with(r#"{"aud":5}"#),
            token_with(r#"{"aud":"a","aud":"b"}"#),
            format!("e30.{}.c2ln", "A".repeat(MAX_PEEK_LEN)),
        ] {
            assert!(Peek::of(&token).is_none(), "{token:.40}");
        }
    }
}
