//! The axum glue (feature `axum`): the extractors for
//! [`VerifiedToken`](crate::VerifiedToken) and [`Claims<T>`](crate::Claims), and their
//! rejection, answered by the guard's hook.

use std::fmt;

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::IntoResponse;
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::http::anonymous::Anonymous;
use crate::http::answer::challenge::Challenge;
use crate::http::answer::hook::{Hook, log_rejection, missing_layer};
use crate::http::answer::rejection::{Rejection, RejectionKind};
use crate::token::{TokenErrorKind, VerifiedToken};

/// The rejection of the [`VerifiedToken`] and [`Claims<T>`] extractors: a [`Rejection`],
/// answered by the guard's [`on_rejection`](crate::BearerGuardBuilder::on_rejection) hook
/// when it has one (else as [`DefaultRejection`](crate::answer::DefaultRejection) does), with
/// the rejection in the response's extensions.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use bearer_guard::VerifiedToken;
/// use bearer_guard::answer::ExtractorRejection;
///
/// // A handler that answers a missing token itself.
/// async fn me(token: Result<VerifiedToken, ExtractorRejection>) -> String {
///     match token {
///         Ok(token) => format!("hello {}", token.subject().unwrap_or_default()),
///         Err(rejected) => format!("no: {}", rejected.rejection().reason()),
///     }
/// }
/// let app: Router = Router::new().route("/me", get(me));
/// ```
pub struct ExtractorRejection {
    rejection: Rejection,
    hook: Option<Hook<Body>>,
}

impl ExtractorRejection {
    /// Why the extractor refused.
    #[must_use]
    pub fn rejection(&self) -> &Rejection {
        &self.rejection
    }

    /// The rejection, without the hook.
    #[must_use]
    pub fn into_rejection(self) -> Rejection {
        self.rejection
    }
}

impl fmt::Debug for ExtractorRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.rejection, f)
    }
}

/// The description, as sent in `error_description`.
impl fmt::Display for ExtractorRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.rejection, f)
    }
}

impl std::error::Error for ExtractorRejection {}

impl IntoResponse for ExtractorRejection {
    fn into_response(self) -> axum_core::response::Response {
        match self.hook {
            Some(hook) => hook.answer(self.rejection),
            None => self.rejection.into_response(),
        }
    }
}

/// The hook of the guard the request went through, when it is the user's.
fn hook(parts: &Parts) -> Option<&Hook<Body>> {
    parts.extensions.get::<Hook<Body>>()
}

/// A rejection by an extractor: logged as the guard's are, answered by the guard's hook.
fn rejected(parts: &Parts, rejection: Rejection) -> ExtractorRejection {
    log_rejection(&rejection, &parts.method, &parts.uri);
    ExtractorRejection {
        rejection,
        hook: hook(parts).cloned(),
    }
}

/// The token the layer verified, or `None` for an anonymous request; an error without layer.
fn optional_token(parts: &Parts) -> Result<Option<VerifiedToken>, ExtractorRejection> {
    match parts.extensions.get::<VerifiedToken>() {
        Some(token) => Ok(Some(token.clone())),
        None if parts.extensions.get::<Anonymous>().is_some() => Ok(None),
        None => Err(rejected(parts, missing_layer())),
    }
}

fn required_token(parts: &Parts) -> Result<VerifiedToken, ExtractorRejection> {
    optional_token(parts)?.ok_or_else(|| {
        let kind = RejectionKind::MissingCredentials;
        let rejection = match parts.extensions.get::<Anonymous>() {
            Some(anonymous) => Rejection::with_challenge(kind, &anonymous.0),
            None => Rejection::new(kind, ""),
        };
        rejected(parts, rejection)
    })
}

impl<S: Send + Sync> FromRequestParts<S> for VerifiedToken {
    type Rejection = ExtractorRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ExtractorRejection> {
        required_token(parts)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for VerifiedToken {
    type Rejection = ExtractorRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, ExtractorRejection> {
        optional_token(parts)
    }
}

/// The verified claims set, deserialized into your own type `T`: an axum extractor (feature
/// `axum`, on by default), beside [`VerifiedToken`]'s.
///
/// `Option<VerifiedToken>` and `Option<Claims<T>>` are `None` for an anonymous request (see
/// [`allow_anonymous`](crate::BearerGuardBuilder::allow_anonymous)); `VerifiedToken` and
/// `Claims<T>` answer it 401 with the guard's challenge, so strict and optional routes can
/// share one anonymous-mode guard. Without the layer, both extractors answer 500 with a
/// message naming the layer to add. Their answers come from the guard's
/// [`on_rejection`](crate::BearerGuardBuilder::on_rejection) hook, as the guard's own do.
///
/// Claims that do not fit `T` answer 401 `invalid_token` ("The access token has an invalid
/// claim", reason `invalid_claim`): from the client's side the token lacks what this API
/// needs. As it is usually a server-side schema bug, it is also logged by `tracing` at
/// **warn** level with the type, the claim's path (`org.seats`, `roles[2]`) and serde's
/// message without the value (`invalid type: string, expected u32`); the value itself is
/// never logged. Every rejection is also logged at **debug** level (see
/// [`Rejection`](crate::Rejection)).
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
    fn from_token(parts: &Parts, token: &VerifiedToken) -> Result<Self, ExtractorRejection> {
        let mut json = serde_json::Deserializer::from_str(token.claims_json());
        let claims = serde_path_to_error::deserialize(&mut json)
            .map_err(|error| {
                // A claims type that does not fit what the issuer sends is the server's
                // schema bug: say where and why, never the value.
                let serde = error.inner();
                tracing::warn!(
                    claims_type = std::any::type_name::<T>(),
                    claim = %error.path(),
                    error = %redacted(serde),
                    "bearer-guard: the verified token's claims do not fit the Claims<T> type"
                );
            })
            .and_then(|claims| json.end().map(|()| claims).map_err(|_| ()));
        claims.map(Claims).map_err(|()| {
            let kind = RejectionKind::InvalidToken(TokenErrorKind::InvalidClaim);
            let rejection = match token.guard().and_then(Challenge::of_guard) {
                Some(challenge) => Rejection::with_challenge(kind, &challenge),
                None => Rejection::new(kind, ""),
            };
            rejected(parts, rejection)
        })
    }
}

impl<S, T> FromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ExtractorRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ExtractorRejection> {
        Self::from_token(parts, &required_token(parts)?)
    }
}

impl<S, T> OptionalFromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ExtractorRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, ExtractorRejection> {
        optional_token(parts)?
            .map(|token| Self::from_token(parts, &token))
            .transpose()
    }
}

/// serde's message for claims that did not fit a type, without the value it may quote:
/// `invalid type: string "…", expected u64` becomes `invalid type: string, expected u64`.
/// Field names, lengths and what was expected stay; a message of another form is withheld.
fn redacted(error: &serde_json::Error) -> String {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            return match without_value(rest) {
                Some((kind, expected)) => format!("{prefix}{kind}{expected}"),
                None => format!("{prefix}(withheld)"),
            };
        }
    }
    // Names from the type or keys from the token, and lengths: no claim value.
    let names_only = [
        "missing field `",
        "duplicate field `",
        "unknown field `",
        "invalid length ",
    ];
    if names_only.iter().any(|start| message.starts_with(start)) {
        return message.to_owned();
    }
    if message.starts_with("unknown variant `") {
        return "unknown variant (withheld)".to_owned();
    }
    "(serde's message withheld: it may quote a claim value)".to_owned()
}

/// Splits serde's `Unexpected` text at the head of `rest` into its kind without its value,
/// and the `, expected …` that follows it.
fn without_value(rest: &str) -> Option<(&str, &str)> {
    const EXPECTED: &str = ", expected ";
    for kind in ["boolean", "integer", "floating point", "character"] {
        if let Some(value) = rest.strip_prefix(kind).and_then(|r| r.strip_prefix(" `")) {
            // A character may itself be a backtick: skip one character first.
            let mut chars = value.chars();
            chars.next()?;
            let after = chars.as_str();
            let close = after.find('`')?;
            let remainder = &after[close + 1..];
            return remainder.starts_with(EXPECTED).then_some((kind, remainder));
        }
    }
    if let Some(quoted) = rest.strip_prefix("string \"") {
        // The value is written with `Debug`: escaped, so its end is the first bare quote.
        let mut escaped = false;
        for (at, c) in quoted.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    let remainder = &quoted[at + 1..];
                    return remainder
                        .starts_with(EXPECTED)
                        .then_some(("string", remainder));
                }
                _ => {}
            }
        }
        return None;
    }
    // Kinds that carry no value.
    for kind in [
        "null",
        "unit value",
        "Option value",
        "newtype struct",
        "sequence",
        "map",
        "enum",
        "unit variant",
        "newtype variant",
        "tuple variant",
        "struct variant",
        "byte array",
    ] {
        if let Some(remainder) = rest.strip_prefix(kind)
            && remainder.starts_with(EXPECTED)
        {
            return Some((kind, remainder));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_for<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
        redacted(&serde_json::from_str::<T>(json).unwrap_err())
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Typed {
        n: u64,
        s: String,
        #[serde(default)]
        e: Option<Choice>,
        #[serde(default)]
        pair: Option<[u8; 2]>,
    }

    #[derive(Debug, serde::Deserialize)]
    enum Choice {
        A,
    }

    #[test]
    fn serde_messages_keep_the_kind_and_lose_the_value() {
        for (json, expected) in [
            (
                r#"{"n": "secret-value", "s": ""}"#,
                "invalid type: string, expected u64",
            ),
            (
                r#"{"n": "with \" quote, expected x", "s": ""}"#,
                "invalid type: string, expected u64",
            ),
            (
                r#"{"n": 1, "s": 4242}"#,
                "invalid type: integer, expected a string",
            ),
            (
                r#"{"n": -4242, "s": ""}"#,
                "invalid value: integer, expected u64",
            ),
            (
                r#"{"n": true, "s": ""}"#,
                "invalid type: boolean, expected u64",
            ),
            (
                r#"{"n": 4.25, "s": ""}"#,
                "invalid type: floating point, expected u64",
            ),
            (
                r#"{"n": [1], "s": ""}"#,
                "invalid type: sequence, expected u64",
            ),
            (
                r#"{"n": null, "s": ""}"#,
                "invalid type: null, expected u64",
            ),
            (r#"{"s": ""}"#, "missing field `n`"),
            (
                r#"{"n": 1, "s": "", "pair": [1]}"#,
                "invalid length 1, expected an array of length 2",
            ),
            (
                r#"{"n": 1, "s": "", "e": "secret-variant"}"#,
                "unknown variant (withheld)",
            ),
        ] {
            let message = message_for::<Typed>(json);
            assert_eq!(message, expected, "{json}");
            assert!(
                !message.contains("secret") && !message.contains("4242"),
                "{message}"
            );
        }
        let unknown = message_for::<Typed>(r#"{"n": 1, "s": "", "other": "secret"}"#);
        assert!(unknown.starts_with("unknown field `other`"), "{unknown}");
    }

    #[test]
    fn a_character_value_may_be_a_backtick() {
        assert_eq!(
            message_for::<u8>(r#""`""#),
            "invalid type: string, expected u8"
        );
        assert_eq!(without_value("character ``` , expected u8"), None);
        assert_eq!(
            without_value("character ```, expected u8"),
            Some(("character", ", expected u8"))
        );
    }

    #[test]
    fn messages_of_unknown_form_are_withheld() {
        let error = <serde_json::Error as serde::de::Error>::custom("bad value secret-1");
        assert!(!redacted(&error).contains("secret"));
        let error = <serde_json::Error as serde::de::Error>::custom(
            "invalid type: mystery secret, expected u8",
        );
        assert_eq!(redacted(&error), "invalid type: (withheld)");
    }
}
