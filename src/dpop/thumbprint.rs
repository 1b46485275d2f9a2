//! JWK thumbprints (RFC 7638): what a DPoP-bound token's `cnf.jkt` names.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::keys::jwk_members::JwkMembers;

/// Why a JWK has no thumbprint here.
///
/// # Example
///
/// ```
/// use bearer_guard::dpop::{ThumbprintError, jwk_thumbprint};
///
/// assert_eq!(jwk_thumbprint(r#"{"kty":"EC","crv":"P-256","x":"abc"}"#), Err(ThumbprintError::MissingMember("y")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ThumbprintError {
    /// Not a JSON object, a member of the wrong type, or a member twice.
    #[error("not a well-formed JWK")]
    Malformed,
    /// A key type other than `RSA`, `EC` and `OKP`.
    #[error("a key type other than RSA, EC and OKP")]
    UnsupportedKeyType,
    /// A member RFC 7638 §3.2 requires of its key type is missing.
    #[error("the JWK has no {0:?} member")]
    MissingMember(&'static str),
}

/// The RFC 7638 thumbprint of a public JWK (JSON text), with SHA-256, base64url without
/// padding: the value of a DPoP-bound token's `cnf.jkt` (RFC 9449 §6.1).
///
/// The required members of its key type (`RSA`: `e`, `kty`, `n`; `EC`: `crv`, `kty`, `x`,
/// `y`; `OKP`: `crv`, `kty`, `x`) are hashed as a JSON object in lexicographic order, with no
/// whitespace (RFC 7638 §3.2); other members do not count, so a private JWK has the
/// thumbprint of its public part. Member values are taken as they are: not decoded, nor
/// checked to be a key.
///
/// # Errors
///
/// [`ThumbprintError`]: not a JWK object, another key type, or a required member missing.
///
/// # Example
///
/// RFC 7638 §3.1's example:
///
/// ```
/// let jwk = r#"{
///     "kty": "RSA",
///     "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
///     "e": "AQAB",
///     "alg": "RS256",
///     "kid": "2011-04-29"
/// }"#;
/// assert_eq!(bearer_guard::dpop::jwk_thumbprint(jwk)?, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
/// # Ok::<(), bearer_guard::dpop::ThumbprintError>(())
/// ```
pub fn jwk_thumbprint(jwk: &str) -> Result<String, ThumbprintError> {
    Ok(URL_SAFE_NO_PAD.encode(thumbprint_digest(jwk)?))
}

/// The SHA-256 digest a thumbprint encodes.
pub(crate) fn thumbprint_digest(jwk: &str) -> Result<[u8; 32], ThumbprintError> {
    if !jwk
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
    {
        return Err(ThumbprintError::Malformed);
    }
    // The JWK parser's reading of the members, so that both see the same key.
    let members: JwkMembers<'_> =
        serde_json::from_str(jwk).map_err(|_| ThumbprintError::Malformed)?;
    let required = |name: &'static str, value: &Option<Cow<'_, str>>| {
        value
            .as_deref()
            .map(|value| (name, value.to_owned()))
            .ok_or(ThumbprintError::MissingMember(name))
    };
    let kty = ("kty", members.kty.clone().into_owned());
    // Already in lexicographic order of their names.
    let canonical = match &*members.kty {
        "RSA" => [required("e", &members.e)?, kty, required("n", &members.n)?].to_vec(),
        "EC" => [
            required("crv", &members.crv)?,
            kty,
            required("x", &members.x)?,
            required("y", &members.y)?,
        ]
        .to_vec(),
        "OKP" => [
            required("crv", &members.crv)?,
            kty,
            required("x", &members.x)?,
        ]
        .to_vec(),
        _ => return Err(ThumbprintError::UnsupportedKeyType),
    };
    let mut hasher = Sha256::new();
    for (i, (name, value)) in canonical.iter().enumerate() {
        hasher.update(if i == 0 { "{\"" } else { ",\"" });
        hasher.update(name);
        hasher.update("\":");
        // serde_json escapes as RFC 7638 §3.3 asks (and the values are base64url or names,
        // which need no escape).
        hasher.update(serde_json::to_string(value).map_err(|_| ThumbprintError::Malformed)?);
    }
    hasher.update("}");
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    #[test]
    fn rfc7638_vector_whatever_the_member_order_and_extra_members() {
        let expected = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        for jwk in [
            format!(
                r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","alg":"RS256","kid":"2011-04-29"}}"#
            ),
            format!(r#"{{ "e": "AQAB", "n": "{RFC7638_N}", "kty": "RSA" }}"#),
            format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","d":"private","use":"sig"}}"#),
            // Escapes are undone before hashing: `\u0041` is `A`.
            format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"\u0041QAB"}}"#),
        ] {
            assert_eq!(jwk_thumbprint(&jwk).as_deref(), Ok(expected), "{jwk}");
        }
    }

    #[test]
    fn rfc9449_example_key_thumbprint() {
        // The key of RFC 9449 §4.1's proof; §6.1's example token binds it with this `jkt`.
        let jwk = r#"{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}"#;
        assert_eq!(
            jwk_thumbprint(jwk).as_deref(),
            Ok("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
        );
    }

    #[test]
    fn malformed_or_incomplete_keys_have_none() {
        for (jwk, err) in [
            ("[]", ThumbprintError::Malformed),
            ("{}", ThumbprintError::Malformed),
            (r#"{"kty":1}"#, ThumbprintError::Malformed),
            (
                r#"{"kty":"EC","kty":"EC","crv":"P-256","x":"a","y":"b"}"#,
                ThumbprintError::Malformed,
            ),
            (
                r#"{"kty":"EC","crv":"P-256","x":"a","x":"c","y":"b"}"#,
                ThumbprintError::Malformed,
            ),
            (
                r#"{"kty":"EC","crv":"P-256","x":"a","y":null}"#,
                ThumbprintError::MissingMember("y"),
            ),
            (
                r#"{"kty":"RSA","e":"AQAB"}"#,
                ThumbprintError::MissingMember("n"),
            ),
            (
                r#"{"kty":"OKP","x":"a"}"#,
                ThumbprintError::MissingMember("crv"),
            ),
            (
                r#"{"kty":"oct","k":"a"}"#,
                ThumbprintError::UnsupportedKeyType,
            ),
            (
                r#"{"kty":"rsa","n":"a","e":"b"}"#,
                ThumbprintError::UnsupportedKeyType,
            ),
        ] {
            assert_eq!(jwk_thumbprint(jwk), Err(err), "{jwk}");
        }
    }
}
