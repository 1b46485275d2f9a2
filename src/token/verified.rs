//! The verified token: its payload, decoded once, and the registered claims read from it.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;

use crate::token::TokenErrorKind;
use crate::token::claims::RegisteredClaims;
use crate::token::packed::{Claim, Date, Packed};
use crate::token::scopes::Scopes;

/// A token whose signature, algorithm, audience, issuer and lifetime have been checked.
///
/// [`BearerGuard`](crate::service::BearerGuard) puts it in the request extensions; axum handlers take
/// it as an argument (or `Option<VerifiedToken>` with
/// [`allow_anonymous`](crate::BearerGuardBuilder::allow_anonymous)). Outside HTTP,
/// [`TokenValidator::validate`](crate::TokenValidator::validate) returns one.
///
/// Cloning is cheap (one reference count). `Debug` shows the time claims only: subjects,
/// scopes and custom claims are personal or sensitive data and stay out of logs.
///
/// # Example
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use bearer_guard::{BearerGuardLayer, ResourceServer};
/// use bearer_guard::issuer::TokenIssuer;
///
/// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
///     .with_scope("read:messages", "Read messages");
/// let issuer = TokenIssuer::new(&api, "https://tenant.example/")?;
/// let token = issuer
///     .client_token("my-client")
///     .scope("read:messages")
///     .jti("token-1")
///     .claim("tenant", "acme")
///     .issued_at(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
///     .expires_in(Duration::from_secs(3600))
///     .sign()?;
///
/// let validator = BearerGuardLayer::builder(api).build_validator()?;
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_100);
/// let verified = validator.validate_at(&token, now)?;
///
/// assert_eq!(verified.subject(), Some("my-client@clients"));
/// assert_eq!(verified.issuer(), Some("https://tenant.example/"));
/// assert_eq!(verified.authorized_party(), Some("my-client"));
/// assert_eq!(verified.client_id(), None); // RFC 9068's claim; Auth0 sends `azp`
/// assert_eq!(verified.jwt_id(), Some("token-1"));
/// assert_eq!(verified.issued_at(), Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
/// assert_eq!(verified.expires_at(), UNIX_EPOCH + Duration::from_secs(1_700_003_600));
/// assert_eq!(verified.not_before(), None);
/// assert!(verified.scopes().contains("read:messages"));
///
/// // Claims of your own, as your own type or as the JSON text the token carried.
/// #[derive(serde::Deserialize)]
/// struct Tenant { tenant: String }
/// assert_eq!(verified.claims::<Tenant>()?.tenant, "acme");
/// assert!(verified.claims_json().contains(r#""tenant":"acme""#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct VerifiedToken {
    /// The claims read when it was verified and the decoded payload, in one allocation that
    /// the verified-token cache shares.
    packed: Packed,
    /// The guard that let the request in, when one did.
    guard: Option<GuardId>,
}

/// Which guard verified a token: tells one built guard from another (another audience,
/// secret or issuer), so that a scope layer made by one cannot vouch for a token another
/// verified. A number, so the token layer knows nothing of the HTTP answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct GuardId(pub(crate) u64);

/// A token's payload, decoded once its signature has verified, awaiting its claims: in place
/// on the caller's stack when it fits [`INLINE_PAYLOAD`] (at 640 bytes, returning it by value
/// would cost a copy), and copied once into the verified token's buffer, sized to fit.
pub(crate) struct DecodedPayload(Payload);

impl DecodedPayload {
    /// An empty payload to decode into.
    pub(crate) const fn new() -> Self {
        Self(Payload::new())
    }

    /// Decodes the base64url payload `segment` in place, and returns it as UTF-8 text.
    pub(crate) fn decode(&mut self, segment: &str) -> Result<&str, TokenErrorKind> {
        self.0.decode(segment)?;
        self.0.text()
    }
}

impl VerifiedToken {
    /// The verified token of `payload` (a [`DecodedPayload`]'s text) and the claims read from
    /// it, for `guard`.
    pub(crate) fn new(
        payload: &str,
        claims: &RegisteredClaims,
        guard: Option<GuardId>,
    ) -> Result<Self, TokenErrorKind> {
        Ok(Self {
            packed: Packed::new(payload, claims)?,
            guard,
        })
    }

    /// Its claims and payload, for the verified-token cache to keep.
    pub(crate) fn packed(&self) -> &Packed {
        &self.packed
    }

    /// The verified token of `packed`, as `guard` let it in: a cache hit for that guard.
    pub(crate) fn of_packed(packed: Packed, guard: Option<GuardId>) -> Self {
        Self { packed, guard }
    }

    /// The guard that verified it, if a guard did.
    pub(crate) fn guard(&self) -> Option<GuardId> {
        self.guard
    }

    /// `auth_time` in seconds since the epoch, as step-up compares it.
    pub(crate) fn auth_time_seconds(&self) -> Option<f64> {
        self.packed.date(Date::AuthTime)
    }

    /// `sub`: whom the token is about (a user id, or `<client_id>@clients` for machines).
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.packed.text(Claim::Sub)
    }

    /// `iss`: who issued the token.
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.packed.text(Claim::Iss)
    }

    /// `azp`: the client the token was issued to (Auth0 and OpenID Connect).
    #[must_use]
    pub fn authorized_party(&self) -> Option<&str> {
        self.packed.text(Claim::Azp)
    }

    /// `client_id` (RFC 9068): the client the token was issued to.
    #[must_use]
    pub fn client_id(&self) -> Option<&str> {
        self.packed.text(Claim::ClientId)
    }

    /// `jti`: the token's unique identifier.
    #[must_use]
    pub fn jwt_id(&self) -> Option<&str> {
        self.packed.text(Claim::Jti)
    }

    /// `cnf.jkt` (RFC 9449 §6.1): the RFC 7638 thumbprint of the key a DPoP-bound token is
    /// bound to, when it is one. Such a token is only good with a DPoP proof signed by that
    /// key (`DpopVerifier`, feature `jwks`).
    ///
    /// # Example
    ///
    /// ```
    /// # use std::time::{Duration, UNIX_EPOCH};
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # use bearer_guard::issuer::TokenIssuer;
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let issuer = TokenIssuer::new(&api, "https://tenant.example/")?;
    /// let bound = issuer
    ///     .client_token("my-client")
    ///     .claim("cnf", serde_json::json!({ "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" }))
    ///     .sign()?;
    /// let validator = BearerGuardLayer::builder(api).build_validator()?;
    /// let verified = validator.validate(&bound)?;
    /// assert_eq!(verified.confirmation_thumbprint(), Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn confirmation_thumbprint(&self) -> Option<&str> {
        self.packed.text(Claim::CnfJkt)
    }

    /// `acr` (or the claim [`acr_claim`](crate::BearerGuardBuilder::acr_claim) names): the
    /// class of the user's authentication, such as Auth0's MFA policy
    /// `http://schemas.openid.net/pape/policies/2007/06/multi-factor`. What step-up
    /// requirements (RFC 9470) check.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::time::{Duration, UNIX_EPOCH};
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # use bearer_guard::issuer::TokenIssuer;
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let issuer = TokenIssuer::new(&api, "https://tenant.example/")?;
    /// let logged_in = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let token = issuer
    ///     .token("auth0|alice")
    ///     .acr("http://schemas.openid.net/pape/policies/2007/06/multi-factor")
    ///     .auth_time(logged_in)
    ///     .sign()?;
    /// let verified = BearerGuardLayer::builder(api).build_validator()?.validate(&token)?;
    /// assert_eq!(
    ///     verified.authentication_context_class(),
    ///     Some("http://schemas.openid.net/pape/policies/2007/06/multi-factor")
    /// );
    /// assert_eq!(verified.authenticated_at(), Some(logged_in));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn authentication_context_class(&self) -> Option<&str> {
        self.packed.text(Claim::Acr)
    }

    /// `auth_time` (or the claim [`auth_time_claim`](crate::BearerGuardBuilder::auth_time_claim)
    /// names): when the user last authenticated, if the token says.
    #[must_use]
    pub fn authenticated_at(&self) -> Option<SystemTime> {
        self.packed.date(Date::AuthTime).map(numeric_date)
    }

    /// `cnf["x5t#S256"]` (RFC 8705 §3.1): the SHA-256 thumbprint (base64url) of the client
    /// certificate a certificate-bound token is bound to, when it is one. The guard lets
    /// such a token through only on a request with that certificate
    /// ([`mtls`](crate::mtls)); [`TokenValidator::validate`](crate::TokenValidator::validate)
    /// sees no request and does not check it.
    ///
    /// # Example
    ///
    /// ```
    /// # use bearer_guard::{BearerGuardLayer, ResourceServer};
    /// # use bearer_guard::issuer::TokenIssuer;
    /// let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
    /// let issuer = TokenIssuer::new(&api, "https://tenant.example/")?;
    /// let bound = issuer
    ///     .client_token("my-client")
    ///     .claim("cnf", serde_json::json!({ "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" }))
    ///     .sign()?;
    /// let validator = BearerGuardLayer::builder(api).build_validator()?;
    /// let verified = validator.validate(&bound)?;
    /// assert_eq!(verified.certificate_thumbprint(), Some("bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"));
    /// assert_eq!(verified.confirmation_thumbprint(), None); // no cnf.jkt
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn certificate_thumbprint(&self) -> Option<&str> {
        self.packed.text(Claim::CnfX5t)
    }

    /// `exp`: when the token expires. Fractions of a second are kept; a date past the year
    /// 9999 reads as 9999-12-31T23:59:59Z.
    #[must_use]
    pub fn expires_at(&self) -> SystemTime {
        numeric_date(self.packed.exp())
    }

    /// `nbf`: when the token starts to be valid, if it says.
    #[must_use]
    pub fn not_before(&self) -> Option<SystemTime> {
        self.packed.date(Date::Nbf).map(numeric_date)
    }

    /// `iat`: when the token was issued, if it says.
    #[must_use]
    pub fn issued_at(&self) -> Option<SystemTime> {
        self.packed.date(Date::Iat).map(numeric_date)
    }

    /// The scopes the token grants, from the configured scope claim.
    #[must_use]
    pub fn scopes(&self) -> Scopes<'_> {
        Scopes::new(self.packed.scopes())
    }

    /// Deserializes the whole claims set into your own type.
    ///
    /// # Errors
    ///
    /// When the claims do not fit `T`.
    pub fn claims<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.packed.payload())
    }

    /// The claims set as the JSON text the token carried.
    #[must_use]
    pub fn claims_json(&self) -> &str {
        self.packed.payload()
    }
}

impl fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("exp", &self.packed.exp())
            .field("nbf", &self.packed.date(Date::Nbf))
            .field("iat", &self.packed.date(Date::Iat))
            .finish_non_exhaustive()
    }
}

/// 9999-12-31T23:59:59Z, the latest date [`numeric_date`] gives.
const LATEST_DATE: f64 = 253_402_300_799.0;

/// A NumericDate (seconds since the epoch, perhaps fractional or negative) as a
/// `SystemTime`, clamped to the years 0 to 9999 that every platform's clock holds.
fn numeric_date(seconds: f64) -> SystemTime {
    let offset = Duration::try_from_secs_f64(seconds.abs().min(LATEST_DATE)).unwrap_or_default();
    let date = if seconds >= 0.0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    };
    date.unwrap_or(UNIX_EPOCH)
}

/// Decoded payloads up to this many bytes are decoded on the stack; typical access tokens
/// carry 200 to 600 bytes of claims.
const INLINE_PAYLOAD: usize = 640;

/// A decoded payload segment: in place when it fits [`INLINE_PAYLOAD`], else on the heap.
// Large on purpose: the inline variant is what saves the allocation.
#[allow(clippy::large_enum_variant)]
enum Payload {
    Inline {
        len: usize,
        bytes: [u8; INLINE_PAYLOAD],
    },
    Heap(Vec<u8>),
}

impl Payload {
    /// An empty payload to decode into, in place: at 640 bytes, each move would cost a copy.
    const fn new() -> Self {
        Self::Inline {
            len: 0,
            bytes: [0; INLINE_PAYLOAD],
        }
    }

    /// Decodes the payload `segment` into `self`, inline when it fits;
    /// [`text`](Self::text) checks that it is UTF-8.
    fn decode(&mut self, segment: &str) -> Result<(), TokenErrorKind> {
        if let Self::Inline { len, bytes } = self
            && base64::decoded_len_estimate(segment.len()) <= INLINE_PAYLOAD
        {
            *len = URL_SAFE_NO_PAD
                .decode_slice(segment, bytes)
                .map_err(|_| TokenErrorKind::Malformed)?;
            return Ok(());
        }
        *self = URL_SAFE_NO_PAD
            .decode(segment)
            .map(Self::Heap)
            .map_err(|_| TokenErrorKind::Malformed)?;
        Ok(())
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => bytes.get(..*len).unwrap_or_default(),
            Self::Heap(bytes) => bytes,
        }
    }

    /// The payload as UTF-8 text.
    fn text(&self) -> Result<&str, TokenErrorKind> {
        std::str::from_utf8(self.as_bytes()).map_err(|_| TokenErrorKind::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{NOW, claims_json, mint, validator};

    /// A valid token whose decoded payload is exactly `len` bytes, padded with a `pad` claim
    /// holding a multi-byte character next to the claims read back.
    fn token_of_payload_len(len: usize) -> String {
        let short = claims_json(&[("pad", "\"é\"")]);
        let pad = "x".repeat(len - short.len());
        let claims = claims_json(&[("pad", &format!("\"é{pad}\""))]);
        assert_eq!(claims.len(), len);
        mint(&claims)
    }

    #[test]
    fn claims_read_back_the_same_inline_or_on_the_heap() {
        // Around the inline capacity (640 bytes), and well past it.
        for len in [300, 639, 640, 641, 642, 643, 2000] {
            let now = UNIX_EPOCH + Duration::from_secs_f64(NOW);
            let verified = validator()
                .validate_at(&token_of_payload_len(len), now)
                .unwrap_or_else(|err| panic!("{len}: {err:?}"));
            assert_eq!(verified.subject(), Some("client@clients"), "{len}");
            assert_eq!(
                verified.issuer(),
                Some(crate::test_support::ISSUER),
                "{len}"
            );
            assert!(verified.scopes().contains("openid"), "{len}");
            assert_eq!(verified.claims_json().len(), len);
            let claims: serde_json::Value = verified.claims().unwrap();
            assert!(claims["pad"].as_str().unwrap().starts_with('é'), "{len}");
            let clone = verified.clone();
            drop(verified);
            assert_eq!(clone.subject(), Some("client@clients"));
        }
    }

    #[test]
    fn numeric_dates_read_as_system_times() {
        let at = |seconds: f64| numeric_date(seconds).duration_since(UNIX_EPOCH).ok();
        assert_eq!(
            at(1_700_000_000.0),
            Some(Duration::from_secs(1_700_000_000))
        );
        assert_eq!(at(1.5), Some(Duration::from_millis(1500)));
        assert_eq!(at(1e300), Some(Duration::from_secs(253_402_300_799)));
        assert_eq!(
            UNIX_EPOCH.duration_since(numeric_date(-2.0)).ok(),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn payload_decoding_is_strict_base64url() {
        let decoded = |segment: &str| {
            let mut payload = Payload::new();
            payload.decode(segment).map(|()| payload)
        };
        assert_eq!(decoded("e30").unwrap().text(), Ok("{}"));
        // Same bytes, other trailing bits: not canonical.
        assert!(decoded("e31").is_err());
        assert!(decoded("e30=").is_err());
    }
}
