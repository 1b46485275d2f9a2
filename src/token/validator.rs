//! The validation pipeline, without HTTP: every check a token goes through, in order.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::keys::{Algorithms, KeySource};
#[cfg(feature = "jwks")]
use crate::keys::{JwkSet, Lookup};
use crate::token::claims::{self, Audience, ClaimNames};
#[cfg(feature = "jwks")]
use crate::token::decryption::Decryption;
use crate::token::header::{self, Rules};
use crate::token::issuer_keys::IssuerKeys;
use crate::token::jws;
use crate::token::packed::{Claim, Date, Packed};
use crate::token::peek::Peek;
use crate::token::verified::{DecodedPayload, GuardId, VerifiedToken};
use crate::token::{TokenCache, TokenCacheStatus, TokenError, TokenErrorKind};

/// Validates access tokens for one resource server: the checks
/// [`BearerGuard`](crate::service::BearerGuard) runs on every request, for use without HTTP (a
/// WebSocket handshake, a message queue consumer).
///
/// Build one with [`BearerGuardBuilder::build_validator`](crate::BearerGuardBuilder::build_validator),
/// or take the one a layer runs from [`BearerGuardLayer::validator`](crate::BearerGuardLayer::validator).
/// Each check runs in this order, cheapest first, and the first failure is the answer:
///
/// 1. the size cap, before anything is decoded; then, for an API whose registration has
///    `token_encryption` (feature `jwks`), the JWE: its form and protected header checked
///    before any private-key operation, then one RSA-OAEP decryption and AES-GCM, and the
///    signed token inside goes through the steps below (a plain JWS is refused,
///    `NotEncrypted`); the cache holds the JWE's text, so a repeated one costs no RSA;
/// 2. three base64url segments;
/// 3. the header: no `crit`, `alg` the resource server's (pinned, never the token's choice),
///    no nested JWT, `typ` under RFC 9068;
/// 4. the key its `kid` names: among the HMAC secrets (or every secret in order), or in the
///    JWK set (feature `jwks`);
/// 5. the signature: the HMAC compared in constant time, or the public-key signature;
/// 6. the payload, decoded only once its signature has verified;
/// 7. one pass over the claims (`aud` is compared as it is read);
/// 8. `exp`, `nbf`, the registered lifetime, RFC 9068's claims, `iat`, `aud` and `iss`.
///
/// # Example
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use bearer_guard::{BearerGuardLayer, ResourceServer, TokenErrorKind};
/// use bearer_guard::issuer::TokenIssuer;
///
/// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
/// let validator = BearerGuardLayer::builder(api.clone())
///     .issuer("https://tenant.example/")
///     .build_validator()?;
///
/// let token = TokenIssuer::new(&api, "https://tenant.example/")?.token("alice").sign()?;
/// assert_eq!(validator.validate(&token)?.subject(), Some("alice"));
///
/// // With a clock you control, for tests and replays:
/// let later = UNIX_EPOCH + Duration::from_secs(4_102_444_800);
/// let err = validator.validate_at(&token, later).unwrap_err();
/// assert_eq!(err.kind(), TokenErrorKind::Expired);
///
/// let unsigned = "eyJhbGciOiJub25lIn0.eyJleHAiOjR9."; // {"alg":"none"}.{"exp":4}.
/// assert_eq!(validator.validate(unsigned).unwrap_err().kind(), TokenErrorKind::UnsupportedAlgorithm);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TokenValidator {
    /// Where the keys come from.
    pub(crate) keys: KeySource,
    /// The algorithms accepted: the resource server's `signing_alg`, and any the builder
    /// added.
    pub(crate) accepted: Algorithms,
    pub(crate) audience: Box<str>,
    pub(crate) issuer: Option<Box<str>>,
    /// Seconds of clock skew allowed on `exp`, `nbf` and `iat`.
    pub(crate) leeway: f64,
    pub(crate) max_token_len: usize,
    pub(crate) scope_claim: Box<str>,
    /// The claims step-up requirements read (RFC 9470): `acr` and `auth_time` by default.
    pub(crate) acr_claim: Box<str>,
    pub(crate) auth_time_claim: Box<str>,
    /// RFC 9068: `typ` `at+jwt`; `sub`, `client_id`, `iat` and `jti` required.
    pub(crate) rfc9068: bool,
    /// Seconds after `iat` at which a token is too old.
    pub(crate) max_age: Option<f64>,
    /// The resource server's `token_lifetime`: no token it issues expires later than that
    /// from now.
    pub(crate) max_lifetime: Option<f64>,
    /// The tokens verified so far, shared by the validator's clones; `None` when disabled.
    pub(crate) cache: Option<Arc<TokenCache>>,
    /// The issuers after `issuer`, each with its keys, for an API with several
    /// ([`issuers`](crate::BearerGuardBuilder::issuers)); empty for one issuer or none.
    pub(crate) more_issuers: Box<[IssuerKeys]>,
    /// The JWE step, for an API whose tokens are encrypted (`token_encryption`).
    #[cfg(feature = "jwks")]
    pub(crate) decryption: Option<Arc<Decryption>>,
}

/// The key generation of secrets and static key sets, which never change.
const STATIC_KEYS: u64 = 0;

impl TokenValidator {
    /// Validates `token` against the current system time.
    ///
    /// # Errors
    ///
    /// A [`TokenError`] whose [`kind`](TokenError::kind) names the first check that failed.
    pub fn validate(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        self.validate_at(token, SystemTime::now())
    }

    /// Validates `token` as of `now`; for tests and replays with a clock you control.
    ///
    /// # Errors
    ///
    /// A [`TokenError`] whose [`kind`](TokenError::kind) names the first check that failed.
    pub fn validate_at(&self, token: &str, now: SystemTime) -> Result<VerifiedToken, TokenError> {
        self.verify(token, seconds_since_epoch(now), None)
            .map_err(TokenError::from)
    }

    /// Validates `token` for the guard `guard`, which the token then names.
    pub(crate) fn validate_for(
        &self,
        token: &str,
        guard: GuardId,
    ) -> Result<VerifiedToken, TokenErrorKind> {
        self.verify(token, seconds_since_epoch(SystemTime::now()), Some(guard))
    }

    /// The pipeline: each step in order, the first failure is the answer. A token the cache
    /// holds skips the steps that depend on its bytes alone (its form, header, signature and
    /// claims parsing) and goes through every check that depends on time.
    pub(crate) fn verify(
        &self,
        token: &str,
        now: f64,
        guard: Option<GuardId>,
    ) -> Result<VerifiedToken, TokenErrorKind> {
        if token.len() > self.max_token_len {
            return Err(TokenErrorKind::TooLarge);
        }
        let Some(cache) = &self.cache else {
            return self
                .verify_in_full(token, now, guard)
                .map(|(verified, _)| verified)
                .map_err(|kind| self.cause(token, kind));
        };
        if let Some((verified, issuer)) =
            cache.get(token, now, guard, |issuer| self.key_generation(issuer))
        {
            let checked = self.check_claims(verified.packed(), now, self.issuer_at(issuer));
            if checked == Err(TokenErrorKind::Expired) {
                cache.remove(token, guard);
            }
            return checked.map(|()| verified);
        }
        let (verified, issued) = self
            .verify_in_full(token, now, guard)
            .map_err(|kind| self.cause(token, kind))?;
        cache.insert(token, &verified, issued, now);
        Ok(verified)
    }

    /// The cause to report for a token refused by its header, before its claims were read:
    /// a token whose `alg` or `kid` this API does not have is most often another API's
    /// token, so when its unverified `aud` names other audiences only, the audience is the
    /// answer (and an unknown `kid` of a foreign token never asks for a key refetch). A
    /// token without `aud` keeps its header's reason (`alg: none` stays that). Only the
    /// refusal's reason changes: the token is refused either way.
    #[cold]
    fn cause(&self, token: &str, kind: TokenErrorKind) -> TokenErrorKind {
        if !matches!(
            kind,
            TokenErrorKind::UnsupportedAlgorithm | TokenErrorKind::UnknownKeyId
        ) {
            return kind;
        }
        match Peek::of(token) {
            Some(peek) if peek.has_audience() && !peek.names_audience(&self.audience) => {
                TokenErrorKind::InvalidAudience
            }
            _ => kind,
        }
    }

    /// Every step, for a token the cache does not hold. Returns the verified token, and the
    /// place of its issuer in the API's list with the generation of the key set that
    /// verified it.
    fn verify_in_full(
        &self,
        token: &str,
        now: f64,
        guard: Option<GuardId>,
    ) -> Result<(VerifiedToken, (usize, u64)), TokenErrorKind> {
        #[cfg(feature = "jwks")]
        let decrypted;
        #[cfg(feature = "jwks")]
        let token = match &self.decryption {
            Some(decryption) => {
                decrypted = decryption.decrypt(token)?;
                decrypted.as_str()
            }
            None => token,
        };
        // Of several issuers, the token's `iss` picks one before any key is looked at.
        let issuer = self.choose_issuer(token)?;
        let keys = self.keys_at(issuer).ok_or(TokenErrorKind::InvalidIssuer)?;
        let segments = jws::split(token)?;
        let mut buf = [0u8; header::BUF_LEN];
        let header = header::check(segments.header, &mut buf, self.header_rules())?;
        let kid = header.kid.as_deref();
        let (signed, generation) = match keys {
            KeySource::Secrets(secrets) => {
                // The accepted set holds the secrets' one algorithm; checked again here so
                // that no header can ask for a tag of another hash.
                if header.alg != secrets.alg() {
                    return Err(TokenErrorKind::UnsupportedAlgorithm);
                }
                let choice = secrets.choose(kid).ok_or(TokenErrorKind::UnknownKeyId)?;
                let signed = secrets.verify(choice, segments.signing_input, segments.signature);
                (signed, STATIC_KEYS)
            }
            #[cfg(feature = "jwks")]
            KeySource::KeySet(set) => (verify_with(set, &header, &segments)?, STATIC_KEYS),
            #[cfg(feature = "jwks")]
            KeySource::Cache(cache) => {
                let current = cache.current();
                let Some(loaded) = current.as_deref().and_then(Option::as_deref) else {
                    return Err(TokenErrorKind::KeysUnavailable);
                };
                (
                    verify_with(&loaded.set, &header, &segments)?,
                    loaded.generation,
                )
            }
        };
        if !signed {
            return Err(TokenErrorKind::InvalidSignature);
        }
        let mut decoded = DecodedPayload::new();
        let payload = decoded.decode(segments.payload)?;
        let names = ClaimNames {
            scope: &self.scope_claim,
            acr: &self.acr_claim,
            auth_time: &self.auth_time_claim,
        };
        let claims = claims::parse_named(payload, &self.audience, names)?;
        let verified = VerifiedToken::new(payload, &claims, guard)?;
        self.check_claims(verified.packed(), now, self.issuer_at(issuer))?;
        Ok((verified, (issuer, generation)))
    }

    /// The generation of the keys of the issuer at `issuer` in use now: `None` when no key
    /// set is usable. Secrets and a static key set never change.
    fn key_generation(&self, issuer: usize) -> Option<u64> {
        match self.keys_at(issuer)? {
            KeySource::Secrets(_) => Some(STATIC_KEYS),
            #[cfg(feature = "jwks")]
            KeySource::KeySet(_) => Some(STATIC_KEYS),
            #[cfg(feature = "jwks")]
            KeySource::Cache(cache) => {
                let current = cache.current()?;
                current.as_deref().map(|loaded| loaded.generation)
            }
        }
    }

    /// A snapshot of the verified-token cache's counters and size; `None` when the cache is
    /// disabled.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let validator = BearerGuardLayer::builder(api).build_validator()?;
    /// assert_eq!(validator.token_cache_status().map(|status| status.entries), Some(0));
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    #[must_use]
    pub fn token_cache_status(&self) -> Option<TokenCacheStatus> {
        self.cache.as_deref().map(TokenCache::status)
    }

    /// What the header must be: an accepted algorithm, `at+jwt` under RFC 9068, and whether
    /// its `kid` picks a key.
    fn header_rules(&self) -> Rules {
        Rules {
            accepted: self.accepted,
            require_at_jwt: self.rfc9068,
            read_kid: match &self.keys {
                KeySource::Secrets(secrets) => secrets.labels().is_some(),
                #[cfg(feature = "jwks")]
                KeySource::KeySet(_) | KeySource::Cache(_) => true,
            },
        }
    }

    /// Whether this validator decrypts tokens and `token`'s JWE header is one its keys take
    /// (no private-key operation): how, of several APIs, an encrypted token finds its own.
    #[cfg(feature = "jwks")]
    pub(crate) fn takes_encrypted(&self, token: &str) -> bool {
        token.len() <= self.max_token_len
            && self
                .decryption
                .as_ref()
                .is_some_and(|decryption| decryption.takes(token))
    }

    /// The checks on the claims' values, once they are read, and again on every cache hit
    /// (the clock has moved; the others cost little and change nothing, so a hit is checked as
    /// a miss is); `iss` must be `issuer` (the API's, or of several, the one the token was
    /// chosen for), when there is one.
    fn check_claims(
        &self,
        claims: &Packed,
        now: f64,
        issuer: Option<&str>,
    ) -> Result<(), TokenErrorKind> {
        let iat = claims.date(Date::Iat);
        let exp = check_lifetime(claims.exp(), claims.date(Date::Nbf), now, self.leeway)?;
        if self
            .max_lifetime
            .is_some_and(|lifetime| exp > now + lifetime + self.leeway)
        {
            return Err(TokenErrorKind::ExcessiveLifetime);
        }
        if self.rfc9068
            && !(claims.has(Claim::Sub)
                && claims.has(Claim::ClientId)
                && iat.is_some()
                && claims.has(Claim::Jti))
        {
            return Err(TokenErrorKind::MissingClaim);
        }
        if self.rfc9068 || self.max_age.is_some() {
            check_issued_at(iat, now, self.leeway, self.max_age)?;
        }
        match claims.audience() {
            Audience::Matches => {}
            Audience::Missing => return Err(TokenErrorKind::MissingAudience),
            Audience::Mismatch => return Err(TokenErrorKind::InvalidAudience),
        }
        match (issuer, claims.text_bytes(Claim::Iss)) {
            (Some(_), None) => Err(TokenErrorKind::MissingIssuer),
            // Exact, byte for byte: no trailing-slash or case normalisation (RFC 8725 §3.8).
            (Some(expected), Some(iss)) if iss != expected.as_bytes() => {
                Err(TokenErrorKind::InvalidIssuer)
            }
            // RFC 9068 §2.2: `iss` is required even where no issuer is configured to match.
            (None, None) if self.rfc9068 => Err(TokenErrorKind::MissingIssuer),
            _ => Ok(()),
        }
    }
}

/// Whether the signature verifies with the key `header` names in `set`.
#[cfg(feature = "jwks")]
fn verify_with(
    set: &JwkSet,
    header: &header::Header<'_>,
    segments: &jws::Segments<'_>,
) -> Result<bool, TokenErrorKind> {
    match set.find(header.alg, header.kid.as_deref()) {
        Lookup::Found(key) => Ok(key.verifies(segments.signing_input, segments.signature)),
        Lookup::UnknownKid => Err(TokenErrorKind::UnknownKeyId),
        Lookup::Ambiguous => Err(TokenErrorKind::MissingKeyId),
    }
}

/// `now` as a NumericDate; a clock before 1970 reads as 1970.
fn seconds_since_epoch(now: SystemTime) -> f64 {
    now.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Checks `exp` (required: a token without one is refused when its claims are packed) and
/// `nbf` (optional) against `now`, allowing `leeway` seconds of clock skew. Returns `exp`.
fn check_lifetime(
    exp: f64,
    nbf: Option<f64>,
    now: f64,
    leeway: f64,
) -> Result<f64, TokenErrorKind> {
    if now >= exp + leeway {
        return Err(TokenErrorKind::Expired);
    }
    if nbf.is_some_and(|nbf| nbf > now + leeway) {
        return Err(TokenErrorKind::NotYetValid);
    }
    Ok(exp)
}

/// Checks `iat`: not after now (plus leeway), and, with `max_age`, present and recent enough.
fn check_issued_at(
    iat: Option<f64>,
    now: f64,
    leeway: f64,
    max_age: Option<f64>,
) -> Result<(), TokenErrorKind> {
    let Some(iat) = iat else {
        return if max_age.is_some() {
            Err(TokenErrorKind::MissingClaim)
        } else {
            Ok(())
        };
    };
    if iat > now + leeway {
        return Err(TokenErrorKind::IssuedInFuture);
    }
    if max_age.is_some_and(|max_age| now - iat >= max_age + leeway) {
        return Err(TokenErrorKind::TooOld);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::time::Duration;

    use crate::keys::{Algorithm, HmacKey, HmacKeys, SigningSecret};
    use crate::test_support::{NOW, claims_json, mint, mint_raw, validator};

    impl TokenValidator {
        /// The pipeline at `now`, for no guard.
        fn check(&self, token: &str, now: f64) -> Result<VerifiedToken, TokenErrorKind> {
            self.verify(token, now, None)
        }
    }

    fn at(seconds: f64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs_f64(seconds)
    }

    fn kind_of(token: &str) -> TokenErrorKind {
        validator().check(token, NOW).map(|_| ()).unwrap_err()
    }

    #[test]
    fn valid_token_passes() {
        let token = mint(&claims_json(&[]));
        let verified = validator().check(&token, NOW).unwrap();
        assert_eq!(verified.subject(), Some("client@clients"));
        assert_eq!(
            verified.scopes().iter().collect::<Vec<_>>(),
            ["read:messages", "openid"]
        );
    }

    #[test]
    fn verified_token_reports_its_claims() {
        let nbf = (NOW - 5.0).to_string();
        let claims = claims_json(&[
            ("azp", r#""client-a""#),
            ("client_id", r#""client-b""#),
            ("jti", r#""id-9""#),
            ("nbf", &nbf),
        ]);
        let token = validator()
            .verify(&mint(&claims), NOW, Some(GuardId(7)))
            .unwrap();
        assert_eq!(token.issuer(), Some(crate::test_support::ISSUER));
        assert_eq!(token.authorized_party(), Some("client-a"));
        assert_eq!(token.client_id(), Some("client-b"));
        assert_eq!(token.jwt_id(), Some("id-9"));
        assert_eq!(token.expires_at(), at(NOW + 3600.0));
        assert_eq!(token.not_before(), Some(at(NOW - 5.0)));
        assert_eq!(token.issued_at(), Some(at(NOW - 10.0)));
        assert_eq!(token.claims_json(), claims);
        assert_eq!(token.guard(), Some(GuardId(7)));
        assert!(
            validator()
                .check(&mint(&claims), NOW)
                .unwrap()
                .guard()
                .is_none()
        );
        assert_eq!(
            format!("{token:?}"),
            "VerifiedToken { exp: 1700003600.0, nbf: Some(1699999995.0), iat: Some(1699999990.0), .. }"
        );
    }

    #[test]
    fn token_over_the_size_cap_fails_before_decoding() {
        let token = format!("{}.{}", mint(&claims_json(&[])), "x".repeat(8192));
        assert_eq!(kind_of(&token), TokenErrorKind::TooLarge);
    }

    #[test]
    fn token_exactly_at_the_size_cap_passes() {
        let token = mint(&claims_json(&[]));
        let capped = |max_token_len| TokenValidator {
            max_token_len,
            ..validator()
        };
        assert!(capped(token.len()).check(&token, NOW).is_ok());
        assert_eq!(
            capped(token.len() - 1).check(&token, NOW).map(|_| ()),
            Err(TokenErrorKind::TooLarge)
        );
    }

    #[test]
    fn wrong_segment_counts_fail() {
        let token = mint(&claims_json(&[]));
        let (h, rest) = token.split_once('.').unwrap();
        let (p, s) = rest.split_once('.').unwrap();
        for bad in [
            format!("{h}.{p}"),
            format!("{h}.{p}.{s}.{s}"),
            format!("{h}..{s}"),
            format!(".{p}.{s}"),
            format!("{h}.{p}.{p}.{s}"),
            h.to_owned(),
        ] {
            // Malformed, not a bad signature: refused before any HMAC.
            assert_eq!(kind_of(&bad), TokenErrorKind::Malformed, "{bad}");
        }
        assert_eq!(
            kind_of(&format!("{h}.{p}.")),
            TokenErrorKind::InvalidSignature
        );
        assert_eq!(kind_of(&format!("{h}..{s}")), TokenErrorKind::Malformed);
    }

    #[test]
    fn tampered_payload_fails_signature() {
        let token = mint(&claims_json(&[]));
        let other = mint(&claims_json(&[("sub", "\"admin\"")]));
        let (h, rest) = token.split_once('.').unwrap();
        let (_, s) = rest.split_once('.').unwrap();
        let p = other.split('.').nth(1).unwrap();
        assert_eq!(
            kind_of(&format!("{h}.{p}.{s}")),
            TokenErrorKind::InvalidSignature
        );
    }

    #[test]
    fn token_signed_with_another_secret_fails() {
        let token = crate::test_support::mint_with(
            br#"{"alg":"HS256","typ":"JWT"}"#,
            claims_json(&[]).as_bytes(),
            b"another secret that is long enough!!",
        );
        assert_eq!(kind_of(&token), TokenErrorKind::InvalidSignature);
    }

    #[test]
    fn non_hs256_algorithms_fail_even_with_the_right_secret() {
        for header in [
            r#"{"alg":"none"}"#,
            r#"{"alg":"None"}"#,
            r#"{"alg":"HS384"}"#,
            r#"{"alg":"HS512"}"#,
            r#"{"alg":"hs256"}"#,
            r#"{"alg":"RS256"}"#,
            r#"{"alg":"ES256"}"#,
            r#"{"typ":"JWT"}"#,
        ] {
            let token = mint_raw(header.as_bytes(), claims_json(&[]).as_bytes());
            assert_eq!(
                kind_of(&token),
                TokenErrorKind::UnsupportedAlgorithm,
                "{header}"
            );
        }
    }

    #[test]
    fn another_apis_token_refused_by_its_header_is_reported_for_its_audience() {
        let other = claims_json(&[("aud", r#""https://other.example.com/api""#)]);
        let none = claims_json(&[("aud", "null")]);
        let listed = claims_json(&[("aud", r#"["https://other.example.com/api"]"#)]);
        for (header, claims, kind) in [
            (
                r#"{"alg":"RS256"}"#,
                &other,
                TokenErrorKind::InvalidAudience,
            ),
            (
                r#"{"alg":"RS256"}"#,
                &listed,
                TokenErrorKind::InvalidAudience,
            ),
            // No audience at all: the header's reason.
            (
                r#"{"alg":"none"}"#,
                &none,
                TokenErrorKind::UnsupportedAlgorithm,
            ),
            (
                r#"{"alg":"HS256","kid":"k9"}"#,
                &other,
                TokenErrorKind::InvalidAudience,
            ),
            // This API's own audience: the header's fault is the answer.
            (
                r#"{"alg":"RS256"}"#,
                &claims_json(&[]),
                TokenErrorKind::UnsupportedAlgorithm,
            ),
        ] {
            let token = mint_raw(header.as_bytes(), claims.as_bytes());
            assert_eq!(kind_of(&token), kind, "{header} {claims}");
        }
        // An unreadable payload keeps the header's reason.
        let token = format!("{}.!!.c2ln", URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#));
        assert_eq!(kind_of(&token), TokenErrorKind::UnsupportedAlgorithm);
    }

    #[test]
    fn alg_of_wrong_type_is_malformed() {
        let token = mint_raw(br#"{"alg":["HS256"]}"#, claims_json(&[]).as_bytes());
        assert_eq!(kind_of(&token), TokenErrorKind::Malformed);
    }

    #[test]
    fn crit_header_fails() {
        let token = mint_raw(
            br#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
            claims_json(&[]).as_bytes(),
        );
        assert_eq!(kind_of(&token), TokenErrorKind::CriticalHeader);
    }

    #[test]
    fn duplicate_alg_fails() {
        let token = mint_raw(
            br#"{"alg":"none","alg":"HS256"}"#,
            claims_json(&[]).as_bytes(),
        );
        assert_eq!(kind_of(&token), TokenErrorKind::Malformed);
    }

    #[test]
    fn header_never_picks_the_key() {
        // kid, jku, x5u and jwk are ignored: the configured secret still decides.
        let header = br#"{"alg":"HS256","kid":"other","jku":"http://127.0.0.1:1/jwks","x5u":"http://127.0.0.1:1/x","jwk":{"kty":"oct","k":"AAAA"}}"#;
        let token = mint_raw(header, claims_json(&[]).as_bytes());
        assert!(validator().check(&token, NOW).is_ok());
        let forged = crate::test_support::mint_with(header, claims_json(&[]).as_bytes(), &[0; 3]);
        assert_eq!(kind_of(&forged), TokenErrorKind::InvalidSignature);
    }

    #[test]
    fn header_that_is_not_a_json_object_is_malformed() {
        for header in [
            &b"[]"[..],
            b"null",
            b"{",
            b"{\"alg\":\"HS256\"} x",
            b"\xff\xfe",
        ] {
            let token = mint_raw(header, claims_json(&[]).as_bytes());
            assert_eq!(kind_of(&token), TokenErrorKind::Malformed);
        }
    }

    #[test]
    fn non_base64url_bytes_are_malformed() {
        let token = mint(&claims_json(&[]));
        let (h, rest) = token.split_once('.').unwrap();
        for bad in [
            format!("{h}=.{rest}"),
            format!("{}+{}.{rest}", &h[..4], &h[5..]),
            format!("{} .{rest}", &h[..h.len() - 1]),
        ] {
            assert_eq!(kind_of(&bad), TokenErrorKind::Malformed, "{bad}");
        }
    }

    #[test]
    fn payload_that_is_not_utf8_json_is_malformed() {
        for payload in [&b"\xff\xfe"[..], b"not json", b"{\"exp\":1"] {
            let token = mint_raw(br#"{"alg":"HS256"}"#, payload);
            assert_eq!(kind_of(&token), TokenErrorKind::Malformed);
        }
    }

    #[test]
    fn missing_exp_fails() {
        let token = mint(&claims_json(&[("exp", "")]));
        assert_eq!(kind_of(&token), TokenErrorKind::MissingExpiry);
    }

    #[test]
    fn exp_in_past_fails() {
        let token = mint(&claims_json(&[("exp", &(NOW - 61.0).to_string())]));
        assert_eq!(kind_of(&token), TokenErrorKind::Expired);
    }

    #[test]
    fn exp_in_past_but_in_leeway_ok() {
        let token = mint(&claims_json(&[("exp", &(NOW - 59.5).to_string())]));
        assert!(validator().check(&token, NOW).is_ok());
    }

    #[test]
    fn exp_exactly_at_now_plus_leeway_fails() {
        let token = mint(&claims_json(&[("exp", &(NOW - 60.0).to_string())]));
        assert_eq!(kind_of(&token), TokenErrorKind::Expired);
    }

    #[test]
    fn exp_as_string_fails() {
        let token = mint(&claims_json(&[("exp", "\"4102444800\"")]));
        assert_eq!(kind_of(&token), TokenErrorKind::InvalidClaim);
    }

    #[test]
    fn nbf_in_future_fails() {
        let token = mint(&claims_json(&[("nbf", &(NOW + 61.0).to_string())]));
        assert_eq!(kind_of(&token), TokenErrorKind::NotYetValid);
    }

    #[test]
    fn nbf_in_future_but_in_leeway_ok() {
        let token = mint(&claims_json(&[("nbf", &(NOW + 60.0).to_string())]));
        assert!(validator().check(&token, NOW).is_ok());
    }

    #[test]
    fn iat_must_be_a_number() {
        let token = mint(&claims_json(&[("iat", "\"yesterday\"")]));
        assert_eq!(kind_of(&token), TokenErrorKind::InvalidClaim);
    }

    #[test]
    fn exp_beyond_the_token_lifetime_fails() {
        let bounded = TokenValidator {
            max_lifetime: Some(3600.0),
            ..validator()
        };
        let kind = |exp: f64| {
            bounded
                .check(&mint(&claims_json(&[("exp", &exp.to_string())])), NOW)
                .err()
        };
        assert_eq!(
            kind(NOW + 3600.0 + 61.0),
            Some(TokenErrorKind::ExcessiveLifetime)
        );
        assert_eq!(kind(1e300), Some(TokenErrorKind::ExcessiveLifetime));
        assert_eq!(kind(NOW + 3600.0 + 59.0), None);
        assert_eq!(kind(NOW + 3600.0 + 60.0), None);
        assert!(
            validator()
                .check(&mint(&claims_json(&[("exp", "1e300")])), NOW)
                .is_ok()
        );
    }

    #[test]
    fn missing_aud_fails() {
        let token = mint(&claims_json(&[("aud", "")]));
        assert_eq!(kind_of(&token), TokenErrorKind::MissingAudience);
    }

    #[test]
    fn wrong_aud_fails() {
        for aud in [r#""https://other""#, "[]", r#"["https://my-api-urn/"]"#] {
            let token = mint(&claims_json(&[("aud", aud)]));
            assert_eq!(kind_of(&token), TokenErrorKind::InvalidAudience, "{aud}");
        }
    }

    #[test]
    fn aud_array_with_identifier_ok() {
        let token = mint(&claims_json(&[(
            "aud",
            r#"["https://other","https://my-api-urn"]"#,
        )]));
        assert!(validator().check(&token, NOW).is_ok());
    }

    #[test]
    fn missing_iss_fails_when_an_issuer_is_configured() {
        let token = mint(&claims_json(&[("iss", "")]));
        assert_eq!(kind_of(&token), TokenErrorKind::MissingIssuer);
    }

    #[test]
    fn iss_must_match_exactly() {
        for iss in [
            r#""https://issuer.example""#,
            r#""https://ISSUER.example/""#,
            "1",
        ] {
            let token = mint(&claims_json(&[("iss", iss)]));
            assert!(
                matches!(
                    kind_of(&token),
                    TokenErrorKind::InvalidIssuer | TokenErrorKind::InvalidClaim
                ),
                "{iss}"
            );
        }
        let token = mint(&claims_json(&[("iss", r#""https://issuer.example""#)]));
        assert_eq!(kind_of(&token), TokenErrorKind::InvalidIssuer);
    }

    fn strict() -> TokenValidator {
        TokenValidator {
            rfc9068: true,
            ..validator()
        }
    }

    fn strict_claims(overrides: &[(&str, &str)]) -> String {
        let mut all = vec![("client_id", "\"client\""), ("jti", "\"id-1\"")];
        all.extend_from_slice(overrides);
        claims_json(&all)
    }

    fn strict_kind(header: &str, claims: &str) -> Option<TokenErrorKind> {
        let token = mint_raw(header.as_bytes(), claims.as_bytes());
        strict().check(&token, NOW).err()
    }

    const AT_JWT: &str = r#"{"alg":"HS256","typ":"at+jwt"}"#;

    #[test]
    fn rfc9068_profile_accepts_at_jwt_tokens_with_its_claims() {
        assert_eq!(strict_kind(AT_JWT, &strict_claims(&[])), None);
        let long_form = r#"{"alg":"HS256","typ":"Application/AT+JWT"}"#;
        assert_eq!(strict_kind(long_form, &strict_claims(&[])), None);
    }

    #[test]
    fn rfc9068_profile_rejects_other_types() {
        for header in [
            r#"{"alg":"HS256","typ":"JWT"}"#,
            r#"{"alg":"HS256"}"#,
            r#"{"alg":"HS256","typ":"application/jwt"}"#,
            r#"{"alg":"HS256","typ":"at+jwt+x"}"#,
        ] {
            assert_eq!(
                strict_kind(header, &strict_claims(&[])),
                Some(TokenErrorKind::InvalidType),
                "{header}"
            );
        }
        assert!(validator().check(&mint(&claims_json(&[])), NOW).is_ok());
    }

    #[test]
    fn duplicate_typ_is_malformed() {
        let header = r#"{"alg":"HS256","typ":"at+jwt","typ":"JWT"}"#;
        assert_eq!(
            strict_kind(header, &strict_claims(&[])),
            Some(TokenErrorKind::Malformed)
        );
    }

    #[test]
    fn rfc9068_profile_requires_sub_client_id_iat_and_jti() {
        for claim in ["sub", "client_id", "iat", "jti"] {
            assert_eq!(
                strict_kind(AT_JWT, &strict_claims(&[(claim, "")])),
                Some(TokenErrorKind::MissingClaim),
                "{claim}"
            );
        }
    }

    #[test]
    fn rfc9068_profile_requires_iss_without_a_configured_issuer() {
        let strict_any_issuer = TokenValidator {
            issuer: None,
            ..strict()
        };
        let kind = |claims: &str| {
            strict_any_issuer
                .check(&mint_raw(AT_JWT.as_bytes(), claims.as_bytes()), NOW)
                .err()
        };
        assert_eq!(
            kind(&strict_claims(&[("iss", "")])),
            Some(TokenErrorKind::MissingIssuer)
        );
        assert_eq!(
            kind(&strict_claims(&[("iss", r#""https://any.example/""#)])),
            None
        );
        let lenient = TokenValidator {
            issuer: None,
            ..validator()
        };
        assert!(
            lenient
                .check(&mint(&claims_json(&[("iss", "")])), NOW)
                .is_ok()
        );
    }

    #[test]
    fn iat_in_future_fails_under_rfc9068_profile() {
        let late = (NOW + 61.0).to_string();
        assert_eq!(
            strict_kind(AT_JWT, &strict_claims(&[("iat", &late)])),
            Some(TokenErrorKind::IssuedInFuture)
        );
        let within_leeway = (NOW + 59.0).to_string();
        assert_eq!(
            strict_kind(AT_JWT, &strict_claims(&[("iat", &within_leeway)])),
            None
        );
        let at_leeway = (NOW + 60.0).to_string();
        assert_eq!(
            strict_kind(AT_JWT, &strict_claims(&[("iat", &at_leeway)])),
            None
        );
    }

    #[test]
    fn token_older_than_max_age_fails() {
        let aged = TokenValidator {
            max_age: Some(300.0),
            ..validator()
        };
        let kind = |iat: &str| aged.check(&mint(&claims_json(&[("iat", iat)])), NOW).err();
        assert_eq!(
            kind(&(NOW - 361.0).to_string()),
            Some(TokenErrorKind::TooOld)
        );
        assert_eq!(kind(&(NOW - 359.0).to_string()), None);
        assert_eq!(kind(""), Some(TokenErrorKind::MissingClaim));
    }

    #[test]
    fn rfc7515_appendix_a1_vector() {
        const KEY: &str = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
        const TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let secret = SigningSecret::from_base64url(KEY).unwrap();
        let key = HmacKey::new(Algorithm::Hs256, &secret).unwrap();
        let keys = HmacKeys::new(Algorithm::Hs256, vec![(None, key)]);

        // Every check but the audience, with the clock just before `exp`: valid.
        let segments = jws::split(TOKEN).unwrap();
        let mut buf = [0; header::BUF_LEN];
        let rules = Rules {
            accepted: Algorithms::of([Algorithm::Hs256]),
            require_at_jwt: false,
            read_kid: false,
        };
        let header = header::check(segments.header, &mut buf, rules).unwrap();
        let choice = keys.choose(header.kid.as_deref()).unwrap();
        assert!(keys.verify(choice, segments.signing_input, segments.signature));
        let mut decoded = DecodedPayload::new();
        let payload = decoded.decode(segments.payload).unwrap();
        let claims = claims::parse(payload, "unused", "scope").unwrap();
        assert_eq!(
            claims
                .iss
                .as_ref()
                .map(|iss| iss.resolve(payload.as_bytes())),
            Some("joe")
        );
        assert_eq!(
            check_lifetime(claims.exp.unwrap(), claims.nbf, 1_300_819_379.0, 0.0),
            Ok(1_300_819_380.0)
        );
        assert_eq!(
            check_lifetime(claims.exp.unwrap(), claims.nbf, 1_300_819_380.0, 0.0),
            Err(TokenErrorKind::Expired)
        );

        // As a request to an API: before `exp` it lacks `aud`; today it has expired.
        let validator = TokenValidator {
            keys: KeySource::Secrets(keys),
            issuer: None,
            leeway: 0.0,
            ..validator()
        };
        let before = UNIX_EPOCH + Duration::from_secs(1_300_819_379);
        assert_eq!(
            validator.validate_at(TOKEN, before).unwrap_err().kind(),
            TokenErrorKind::MissingAudience
        );
        assert_eq!(
            validator.validate(TOKEN).unwrap_err().kind(),
            TokenErrorKind::Expired
        );
        let mut flipped = TOKEN.to_owned();
        flipped.replace_range(TOKEN.len() - 2.., "jY");
        assert_eq!(
            validator.validate_at(&flipped, before).unwrap_err().kind(),
            TokenErrorKind::InvalidSignature
        );
    }
}
