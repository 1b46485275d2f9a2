//! DPoP proof verification (RFC 9449 §4.3): [`DpopVerifier`], one request's facts
//! ([`DpopRequest`]) and what a verified proof yields ([`DpopProof`]).

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderValue;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use sha2::{Digest as _, Sha256};

use crate::config::ConfigError;
use crate::dpop::htu;
use crate::dpop::thumbprint::thumbprint_digest;
use crate::dpop::{
    DpopError, DpopNonces, DpopSettings, NonceCheck, NonceMode, Replay, ReplayError, ReplayKey,
    ReplayStore,
};
use crate::keys::{Algorithm, Algorithms, Unusable, verifying_key};
use crate::token::jws::{self, Segments};

/// The longest proof read, in bytes; longer ones are refused before anything is decoded.
/// Room for an RSA-8192 `jwk` (about 1,950 characters of header) and signature (1,366), and
/// an `htu` of a few KiB.
const MAX_PROOF_LEN: usize = 8 * 1024;

/// The longest header segment read, in characters of base64url.
const MAX_HEADER_LEN: usize = 4 * 1024;

/// Verifies DPoP proofs (RFC 9449): every check of §4.3 but the replay one, which needs a
/// [`ReplayStore`] ([`DpopProof::check_replay`]).
///
/// Built once from [`DpopSettings`], whose bounds it checks; cheap to clone. Each request's
/// facts (method, URI, access token, its `cnf.jkt`, the server nonce, the time) come in a
/// [`DpopRequest`]. The checks run in this order, cheapest first, and the first failure is
/// the answer:
///
/// 1. exactly one `DPoP` header; its size, before anything is decoded;
/// 2. three base64url segments, header and payload JSON objects, no member twice;
/// 3. the header: no `crit`; `typ` `dpop+jwt`; `alg` one of those accepted (never `none` nor
///    HS*); a `jwk`;
/// 4. with an access token: the token has a `cnf.jkt`, equal to the RFC 7638 thumbprint of
///    the `jwk` (before any key is parsed, so a proof can make the server parse only the key
///    the token is bound to);
/// 5. the `jwk` has no private member and fits `alg`, read by the same code as the keys of a
///    JWK set; the signature verifies with it (aws-lc-rs);
/// 6. the claims: `jti`, `htm`, `htu`, `iat` present; `htm` equal to the method
///    (case-sensitive, as methods are); `htu` equal to the URI, both normalised as RFC 9449
///    §4.3 asks (RFC 3986 §6.2.2 and §6.2.3: case, percent-encodings, dot segments, default
///    port; the request's query and fragment are dropped, an `htu` with one is refused);
///    `iat` no older than the window plus leeway, and no further ahead than
///    [`max_future_iat`](DpopSettings::max_future_iat);
/// 7. with an access token: `ath` is its base64url SHA-256;
/// 8. with a server nonce ([`DpopRequest::nonce`]): the proof's `nonce` equals it; with server
///    nonces ([`DpopRequest::nonces`]): the proof's `nonce` is fresh, as their mode requires.
///
/// # Example
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use bearer_guard::dpop::{DpopError, DpopRequest, DpopSettings, DpopVerifier};
///
/// let verifier = DpopVerifier::new(DpopSettings::default())?;
/// let now = UNIX_EPOCH + Duration::from_secs(1_562_262_620);
/// let request = DpopRequest::new("GET", "https://resource.example.org/protectedresource", now)
///     .access_token("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU", Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
///
/// // RFC 9449 §7.1's proof, for that request.
/// let proof = http::HeaderValue::from_static("eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA");
/// let verified = verifier.verify([&proof], &request).unwrap();
/// assert_eq!(verified.thumbprint(), "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
///
/// let post = DpopRequest::new("POST", "https://resource.example.org/protectedresource", now);
/// assert_eq!(verifier.verify([&proof], &post).unwrap_err(), DpopError::MethodMismatch);
/// assert_eq!(verifier.verify([], &request).unwrap_err(), DpopError::MissingProof);
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct DpopVerifier {
    accepted: Algorithms,
    /// Seconds `iat` may be before now: the window plus the leeway.
    past: f64,
    /// Seconds `iat` may be after now.
    future: f64,
}

/// One request's facts a proof is checked against.
///
/// # Example
///
/// ```
/// use std::time::SystemTime;
/// use bearer_guard::dpop::DpopRequest;
///
/// let request = DpopRequest::new("POST", "https://api.example.com/orders", SystemTime::now())
///     .access_token("the-access-token", Some("its-cnf-jkt"))
///     .nonce("the-current-server-nonce");
/// # let _ = request;
/// ```
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct DpopRequest<'a> {
    method: &'a str,
    uri: &'a str,
    now: SystemTime,
    token: Option<(&'a str, Option<&'a str>)>,
    nonce: Option<&'a str>,
    nonces: Option<&'a DpopNonces>,
}

impl<'a> DpopRequest<'a> {
    /// A request with `method` (as sent: `GET`, `POST`, …) to `uri`, at `now`.
    ///
    /// `uri` is the request's URI as the client addressed it: scheme, authority and path
    /// (a query or fragment is ignored). Behind a proxy, build it from configuration (the
    /// API's public base URL) and the request's path, never from `Host` or `X-Forwarded-*`
    /// headers, which the client chooses.
    pub fn new(method: &'a str, uri: &'a str, now: SystemTime) -> Self {
        Self {
            method,
            uri,
            now,
            token: None,
            nonce: None,
            nonces: None,
        }
    }

    /// The access token the proof came with (`Authorization: DPoP <token>`), and its
    /// verified `cnf.jkt` ([`VerifiedToken::confirmation_thumbprint`](crate::VerifiedToken::confirmation_thumbprint)).
    /// The proof's `ath` must then be the token's hash, and a token without `cnf.jkt` is
    /// refused ([`DpopError::UnboundToken`]).
    pub fn access_token(mut self, token: &'a str, jkt: Option<&'a str>) -> Self {
        self.token = Some((token, jkt));
        self
    }

    /// The nonce the server expects now (RFC 9449 §9): the proof's `nonce` must equal it.
    /// For nonces of your own making; [`nonces`](Self::nonces) checks bearer-guard's.
    pub fn nonce(mut self, expected: &'a str) -> Self {
        self.nonce = Some(expected);
        self
    }

    /// The server's nonces (RFC 9449 §8, §9): the proof's `nonce` is checked with them at the
    /// request's time, as their [`mode`](DpopNonces::mode) requires, and a proof whose nonce
    /// is fresh is remembered by the replay store only while it is
    /// ([`DpopProof::replay_ttl`]). Whether to send a new nonce with the answer:
    /// [`DpopProof::send_new_nonce`], or for a refused proof
    /// [`DpopError::wants_nonce`].
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use bearer_guard::dpop::{DpopNonces, DpopRequest, NonceMode, NonceSettings};
    /// use bearer_guard::registration::SigningSecret;
    ///
    /// let nonces = DpopNonces::new(
    ///     NonceSettings::default().mode(NonceMode::Required).secret(SigningSecret::from_bytes([5; 32])),
    /// )?;
    /// let request = DpopRequest::new("GET", "https://api.example.com/orders", SystemTime::now())
    ///     .nonces(&nonces);
    /// # let _ = request;
    /// # Ok::<(), bearer_guard::ConfigError>(())
    /// ```
    pub fn nonces(mut self, nonces: &'a DpopNonces) -> Self {
        self.nonces = Some(nonces);
        self
    }
}

/// A proof that passed every check but the replay one: what the replay store needs, and
/// the key that signed it.
///
/// # Example
///
/// See [`DpopVerifier`]; a verified proof's replay check:
///
/// ```no_run
/// # use bearer_guard::dpop::{DpopError, DpopProof, MemoryReplayStore};
/// # async fn check(proof: DpopProof, store: &MemoryReplayStore) -> Result<(), DpopError> {
/// proof.check_replay(store).await?; // DpopError::Replayed the second time
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopProof {
    thumbprint: String,
    replay_key: ReplayKey,
    issued_at: SystemTime,
    replay_ttl: Duration,
    send_new_nonce: bool,
}

impl DpopProof {
    /// The `ath` a proof carries for `access_token` (RFC 9449 §4.2): the base64url SHA-256 of
    /// its text. For clients and tests that make proofs.
    ///
    /// # Example
    ///
    /// RFC 9449 §7.1's access token and its proof's `ath`:
    ///
    /// ```
    /// use bearer_guard::dpop::DpopProof;
    ///
    /// assert_eq!(
    ///     DpopProof::access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
    ///     "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    /// );
    /// ```
    #[must_use]
    pub fn access_token_hash(access_token: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(access_token))
    }

    /// The RFC 7638 thumbprint of the key that signed it (base64url): a DPoP-bound token's
    /// `cnf.jkt`.
    #[must_use]
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// Its `iat`.
    #[must_use]
    pub fn issued_at(&self) -> SystemTime {
        self.issued_at
    }

    /// What a replay store keys it by: its `jti`, scoped by its key's thumbprint.
    #[must_use]
    pub fn replay_key(&self) -> ReplayKey {
        self.replay_key
    }

    /// How long it must be remembered: until its `iat` leaves the window, or sooner, until
    /// its server nonce goes stale (at least 1 s).
    #[must_use]
    pub fn replay_ttl(&self) -> Duration {
        self.replay_ttl
    }

    /// Whether the answer should carry a new server nonce (`DPoP-Nonce`, RFC 9449 §8.2): the
    /// proof's nonce is from a slot that has turned, or it has none while nonces are on.
    /// Always `false` without [`DpopRequest::nonces`].
    #[must_use]
    pub fn send_new_nonce(&self) -> bool {
        self.send_new_nonce
    }

    /// Records it in `store`: `Ok` the first time, [`DpopError::Replayed`] after,
    /// [`DpopError::KeyOverQuota`] when its key holds its quota of the store, and
    /// [`DpopError::ReplayStoreFull`] or [`DpopError::ReplayStoreUnavailable`] (both with
    /// a `retry_after`, and logged at warn with the reason) when the store cannot answer.
    ///
    /// # Errors
    ///
    /// [`DpopError::Replayed`], [`DpopError::KeyOverQuota`], [`DpopError::ReplayStoreFull`]
    /// or [`DpopError::ReplayStoreUnavailable`].
    pub async fn check_replay(&self, store: &(impl ReplayStore + ?Sized)) -> Result<(), DpopError> {
        match store.record(self.replay_key, self.replay_ttl).await {
            Ok(Replay::First) => Ok(()),
            Ok(Replay::Seen) => Err(DpopError::Replayed),
            Ok(Replay::OverQuota) => {
                tracing::debug!(
                    thumbprint = %self.thumbprint,
                    "bearer-guard: a DPoP key holds its quota of the replay store; its proof is refused"
                );
                Err(DpopError::KeyOverQuota)
            }
            Err(err) => Err(store_failed(&err)),
        }
    }
}

/// The error for a replay store that could not answer, logged with its reason and size.
fn store_failed(err: &ReplayError) -> DpopError {
    let retry_after = err.retry_after().max(Duration::from_secs(1));
    match err {
        ReplayError::Full { capacity, .. } => {
            tracing::warn!(
                reason = err.reason(),
                capacity,
                retry_after_s = retry_after.as_secs(),
                "bearer-guard: the DPoP replay store is full; DPoP requests get 503 until entries expire"
            );
            DpopError::ReplayStoreFull { retry_after }
        }
        _ => {
            tracing::warn!(
                reason = err.reason(),
                %err,
                retry_after_s = retry_after.as_secs(),
                "bearer-guard: the DPoP replay store failed; DPoP requests get 503"
            );
            DpopError::ReplayStoreUnavailable { retry_after }
        }
    }
}

/// The proof's header; serde refuses a member twice.
#[derive(Deserialize)]
struct ProofHeader<'a> {
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    alg: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    jwk: Option<&'a RawValue>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
}

/// The proof's claims (RFC 9449 §4.2); serde refuses a claim twice.
#[derive(Deserialize)]
struct ProofClaims<'a> {
    #[serde(borrow, default)]
    jti: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    htm: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    htu: Option<Cow<'a, str>>,
    #[serde(default)]
    iat: Option<f64>,
    #[serde(borrow, default)]
    ath: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    nonce: Option<Cow<'a, str>>,
}

impl DpopVerifier {
    /// A verifier with `settings`, once their bounds are checked.
    ///
    /// # Errors
    ///
    /// [`ConfigError::DpopSetting`] naming the setting out of its bounds.
    pub fn new(settings: DpopSettings) -> Result<Self, ConfigError> {
        settings.check()?;
        Ok(Self {
            accepted: settings.algorithms,
            past: (settings.iat_window + settings.leeway).as_secs_f64(),
            future: settings.future_iat().as_secs_f64(),
        })
    }

    /// The algorithms a proof may be signed with: what a `DPoP` challenge lists in `algs`.
    pub fn algorithms(&self) -> impl Iterator<Item = Algorithm> + use<> {
        self.accepted.iter()
    }

    /// Verifies the proof of a request: `proofs` are its `DPoP` header values (from
    /// `HeaderMap::get_all`), `request` its facts.
    ///
    /// # Errors
    ///
    /// The [`DpopError`] of the first check that failed.
    pub fn verify<'h>(
        &self,
        proofs: impl IntoIterator<Item = &'h HeaderValue>,
        request: &DpopRequest<'_>,
    ) -> Result<DpopProof, DpopError> {
        let mut proofs = proofs.into_iter();
        let proof = proofs.next().ok_or(DpopError::MissingProof)?;
        if proofs.next().is_some() {
            return Err(DpopError::MultipleProofs);
        }
        let proof = proof.to_str().map_err(|_| DpopError::Malformed)?;
        self.verify_str(proof, request)
    }

    /// [`verify`](Self::verify) for one proof's text.
    fn verify_str(&self, proof: &str, request: &DpopRequest<'_>) -> Result<DpopProof, DpopError> {
        if proof.len() > MAX_PROOF_LEN {
            return Err(DpopError::TooLarge);
        }
        // The token's splitter: a proof is a compact JWS of three segments, as a token is.
        let Segments {
            signing_input,
            header,
            payload,
            signature,
        } = jws::split(proof).map_err(|_| DpopError::Malformed)?;
        if header.len() > MAX_HEADER_LEN {
            return Err(DpopError::TooLarge);
        }

        let header_json = decode_object(header)?;
        let header: ProofHeader<'_> =
            serde_json::from_str(&header_json).map_err(|_| DpopError::Malformed)?;
        if header.crit.is_some() {
            return Err(DpopError::CriticalHeader);
        }
        if !header.typ.as_deref().is_some_and(is_dpop_jwt) {
            return Err(DpopError::InvalidType);
        }
        let alg = header
            .alg
            .as_deref()
            .and_then(Algorithm::from_name)
            // HS256 is never among them: the settings refuse it.
            .filter(|alg| self.accepted.contains(*alg))
            .ok_or(DpopError::UnsupportedAlgorithm)?;
        let jwk = header.jwk.ok_or(DpopError::MissingKey)?.get();
        let thumbprint = match thumbprint_digest(jwk) {
            Ok(digest) => URL_SAFE_NO_PAD.encode(digest),
            // A JWK with no thumbprint is no key: the key parser says why.
            Err(_) => return Err(key_error(verifying_key(jwk, alg).err())),
        };
        if let Some((_, jkt)) = request.token {
            match jkt {
                None => return Err(DpopError::UnboundToken),
                Some(jkt) if jkt != thumbprint => return Err(DpopError::KeyMismatch),
                Some(_) => {}
            }
        }
        let key = verifying_key(jwk, alg).map_err(|unusable| key_error(Some(unusable)))?;
        if !key.verifies(signing_input, signature) {
            return Err(DpopError::InvalidSignature);
        }

        let claims_json = decode_object(payload)?;
        let claims: ProofClaims<'_> =
            serde_json::from_str(&claims_json).map_err(|_| DpopError::Malformed)?;
        let missing = |claim: &'static str| DpopError::MissingClaim { claim };
        let jti = claims
            .jti
            .filter(|jti| !jti.is_empty())
            .ok_or(missing("jti"))?;
        let htm = claims.htm.ok_or(missing("htm"))?;
        let htu = claims.htu.ok_or(missing("htu"))?;
        let iat = claims
            .iat
            .filter(|iat| iat.is_finite())
            .ok_or(missing("iat"))?;

        if htm != request.method {
            return Err(DpopError::MethodMismatch);
        }
        match (htu::normalize(&htu), htu::normalize_request(request.uri)) {
            (Some(htu), Some(uri)) if htu == uri => {}
            _ => return Err(DpopError::UriMismatch),
        }
        let now = seconds_since_epoch(request.now);
        if iat < now - self.past {
            return Err(DpopError::Stale);
        }
        if iat > now + self.future {
            return Err(DpopError::IssuedInFuture);
        }

        if let Some((token, _)) = request.token {
            let ath = claims.ath.ok_or(DpopError::MissingAccessTokenHash)?;
            if *ath != DpopProof::access_token_hash(token) {
                return Err(DpopError::AccessTokenHashMismatch);
            }
        }
        if let Some(expected) = request.nonce {
            match claims.nonce.as_deref() {
                None => return Err(DpopError::NonceRequired),
                Some(nonce) if nonce != expected => return Err(DpopError::StaleNonce),
                Some(_) => {}
            }
        }
        // Remembered until `iat` leaves the window: a replay after that is refused as stale.
        let mut dead_at = iat + self.past;
        let mut send_new_nonce = false;
        if let Some(nonces) = request.nonces {
            let nonce = claims.nonce.as_deref();
            let check = nonces.admit(nonce, request.now)?;
            if nonces.mode() != NonceMode::Off {
                send_new_nonce = check.send_new_nonce();
                // A replay carries the same nonce, refused once it is stale.
                if let (NonceCheck::Fresh { .. }, Some(nonce)) = (check, nonce)
                    && let Some(until) = nonces.fresh_until(nonce, request.now)
                {
                    dead_at = dead_at.min(until as f64);
                }
            }
        }

        let ttl = (dead_at - now).ceil().max(1.0);
        Ok(DpopProof {
            replay_key: ReplayKey::new(&thumbprint, &jti),
            thumbprint,
            issued_at: numeric_date(iat),
            replay_ttl: Duration::try_from_secs_f64(ttl).unwrap_or(Duration::from_secs(1)),
            send_new_nonce,
        })
    }
}

/// The error for a `jwk` the key parser refused (`None`: one it took but that has no
/// thumbprint, which cannot happen for the key types it takes).
fn key_error(unusable: Option<Unusable>) -> DpopError {
    match unusable {
        Some(Unusable::PrivateMembers | Unusable::Symmetric) => DpopError::PrivateKey,
        Some(Unusable::Malformed) => DpopError::Malformed,
        _ => DpopError::UnusableKey,
    }
}

/// Decodes a base64url segment that must hold a JSON object's UTF-8 text.
fn decode_object(segment: &str) -> Result<String, DpopError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| DpopError::Malformed)?;
    let text = String::from_utf8(bytes).map_err(|_| DpopError::Malformed)?;
    // serde would read a JSON array into a struct too.
    if !text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
    {
        return Err(DpopError::Malformed);
    }
    Ok(text)
}

/// Whether `typ` is `dpop+jwt` (RFC 9449 §4.2), as a media type: case-insensitive, with or
/// without `application/` (RFC 7515 §4.1.9).
fn is_dpop_jwt(typ: &str) -> bool {
    let subtype = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    };
    subtype.eq_ignore_ascii_case("dpop+jwt")
}

/// `now` as a NumericDate; a clock before 1970 reads as 1970.
fn seconds_since_epoch(now: SystemTime) -> f64 {
    now.duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

/// A NumericDate as a `SystemTime`, within what every platform's clock holds.
fn numeric_date(seconds: f64) -> SystemTime {
    let offset =
        Duration::try_from_secs_f64(seconds.abs().min(253_402_300_799.0)).unwrap_or_default();
    let date = if seconds >= 0.0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    };
    date.unwrap_or(UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9449 §5's token request proof (Figure 6), whose header and claims are §4.1's
    /// example (Figure 3): ES256, the key of §6.1's `jkt`.
    const RFC9449_TOKEN_REQUEST_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";

    /// RFC 9449 §7.1's protected resource request proof (Figure 13), with `ath` for its access
    /// token.
    const RFC9449_RESOURCE_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA";
    const RFC9449_ACCESS_TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
    const RFC9449_JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn verifier() -> DpopVerifier {
        DpopVerifier::new(DpopSettings::default()).unwrap()
    }

    /// The §7.1 request, a few seconds after the proof was made.
    fn resource_request() -> DpopRequest<'static> {
        DpopRequest::new(
            "GET",
            "https://resource.example.org/protectedresource",
            at(1_562_262_620),
        )
        .access_token(RFC9449_ACCESS_TOKEN, Some(RFC9449_JKT))
    }

    #[test]
    fn rfc9449_token_request_proof_verifies_at_its_time_and_uri() {
        let request = DpopRequest::new(
            "POST",
            "https://server.example.com/token",
            at(1_562_262_620),
        );
        let proof = verifier()
            .verify_str(RFC9449_TOKEN_REQUEST_PROOF, &request)
            .unwrap();
        assert_eq!(proof.thumbprint(), RFC9449_JKT);
        assert_eq!(proof.issued_at(), at(1_562_262_616));
        assert_eq!(
            proof.replay_key(),
            ReplayKey::new(RFC9449_JKT, "-BwC3ESc6acc2lTc")
        );
        // Remembered until `iat` + 60 s window + 60 s leeway.
        assert_eq!(proof.replay_ttl(), Duration::from_secs(116));
    }

    #[test]
    fn rfc9449_resource_proof_verifies_with_its_token_and_jkt() {
        let proof = verifier()
            .verify_str(RFC9449_RESOURCE_PROOF, &resource_request())
            .unwrap();
        assert_eq!(proof.thumbprint(), RFC9449_JKT);
        assert_eq!(
            DpopProof::access_token_hash(RFC9449_ACCESS_TOKEN),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn each_request_fact_is_checked() {
        let uri = "https://resource.example.org/protectedresource";
        let check =
            |request: DpopRequest<'_>| verifier().verify_str(RFC9449_RESOURCE_PROOF, &request);
        let now = at(1_562_262_620);
        let cases: [(&str, DpopRequest<'_>, DpopError); 10] = [
            (
                "method",
                DpopRequest::new("POST", uri, now),
                DpopError::MethodMismatch,
            ),
            (
                "lowercase method",
                DpopRequest::new("get", uri, now),
                DpopError::MethodMismatch,
            ),
            (
                "another path",
                DpopRequest::new("GET", "https://resource.example.org/other", now),
                DpopError::UriMismatch,
            ),
            (
                "another scheme",
                DpopRequest::new("GET", "http://resource.example.org/protectedresource", now),
                DpopError::UriMismatch,
            ),
            (
                "stale",
                DpopRequest::new("GET", uri, at(1_562_262_618 + 121)),
                DpopError::Stale,
            ),
            (
                "future",
                DpopRequest::new("GET", uri, at(1_562_262_618 - 11)),
                DpopError::IssuedInFuture,
            ),
            (
                "another token",
                DpopRequest::new("GET", uri, now).access_token("another", Some(RFC9449_JKT)),
                DpopError::AccessTokenHashMismatch,
            ),
            (
                "unbound token",
                DpopRequest::new("GET", uri, now).access_token(RFC9449_ACCESS_TOKEN, None),
                DpopError::UnboundToken,
            ),
            (
                "another key",
                DpopRequest::new("GET", uri, now).access_token(
                    RFC9449_ACCESS_TOKEN,
                    Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"),
                ),
                DpopError::KeyMismatch,
            ),
            (
                "nonce",
                resource_request().nonce("server-nonce"),
                DpopError::NonceRequired,
            ),
        ];
        for (name, request, err) in cases {
            assert_eq!(check(request), Err(err), "{name}");
        }
        // Equivalent forms of the URI, and the request's query, do not matter.
        for same in [
            "https://resource.example.org/protectedresource?x=1",
            "HTTPS://Resource.Example.org:443/protectedresource",
            "https://resource.example.org/a/../protectedresource",
        ] {
            assert!(check(DpopRequest::new("GET", same, now)).is_ok(), "{same}");
        }
        // The edges of the window (60 s + 60 s leeway before now, 10 s after) are inside it.
        for edge in [1_562_262_618 + 120, 1_562_262_618 - 10] {
            assert!(
                check(DpopRequest::new("GET", uri, at(edge))).is_ok(),
                "{edge}"
            );
        }
    }

    #[test]
    fn window_is_the_setting_plus_leeway() {
        let narrow = DpopVerifier::new(
            DpopSettings::default()
                .iat_window(Duration::from_secs(5))
                .leeway(Duration::from_secs(1)),
        )
        .unwrap();
        let uri = "https://resource.example.org/protectedresource";
        let request = |now| DpopRequest::new("GET", uri, at(now));
        assert!(
            narrow
                .verify_str(RFC9449_RESOURCE_PROOF, &request(1_562_262_624))
                .is_ok()
        );
        assert_eq!(
            narrow.verify_str(RFC9449_RESOURCE_PROOF, &request(1_562_262_625)),
            Err(DpopError::Stale)
        );
    }

    #[test]
    fn algorithms_not_accepted_are_refused() {
        let rsa_only =
            DpopVerifier::new(DpopSettings::default().algorithms([Algorithm::Rs256])).unwrap();
        assert_eq!(
            rsa_only.verify_str(RFC9449_RESOURCE_PROOF, &resource_request()),
            Err(DpopError::UnsupportedAlgorithm)
        );
        assert_eq!(
            rsa_only.algorithms().collect::<Vec<_>>(),
            [Algorithm::Rs256]
        );
    }

    #[test]
    fn a_changed_claim_or_header_breaks_the_signature() {
        let (header, rest) = RFC9449_RESOURCE_PROOF.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let claims = r#"{"jti":"e1j3V_bKic8-LAEB","htm":"GET","htu":"https://resource.example.org/protectedresource","iat":1562262619,"ath":"fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"}"#;
        let forged = format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(claims));
        assert_eq!(
            verifier().verify_str(&forged, &resource_request()),
            Err(DpopError::InvalidSignature)
        );
    }

    #[test]
    fn header_values_are_counted_and_capped_before_decoding() {
        let one = HeaderValue::from_static(RFC9449_RESOURCE_PROOF);
        let verify = |values: &[&HeaderValue]| {
            verifier().verify(values.iter().copied(), &resource_request())
        };
        assert!(verify(&[&one]).is_ok());
        assert_eq!(verify(&[]), Err(DpopError::MissingProof));
        assert_eq!(verify(&[&one, &one]), Err(DpopError::MultipleProofs));
        let huge = HeaderValue::from_str(&"a".repeat(MAX_PROOF_LEN + 1)).unwrap();
        assert_eq!(verify(&[&huge]), Err(DpopError::TooLarge));
        let opaque = HeaderValue::from_bytes(b"\xff.\xfe.x").unwrap();
        assert_eq!(verify(&[&opaque]), Err(DpopError::Malformed));
    }

    #[test]
    fn malformed_proofs_are_refused() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"dpop+jwt","alg":"ES256"}"#);
        for proof in [
            "",
            "a.b",
            "a.b.c.d",
            ".b.c",
            "a..c",
            "!!.b.c",
            &format!("{}.e30.c", URL_SAFE_NO_PAD.encode("[]")),
            &format!("{}.e30.c", URL_SAFE_NO_PAD.encode("{")),
            &format!(
                "{}.e30.c",
                URL_SAFE_NO_PAD.encode(r#"{"typ":"dpop+jwt","typ":"dpop+jwt"}"#)
            ),
            &format!("{}.e30.c", URL_SAFE_NO_PAD.encode(r#"{"typ":1}"#)),
            &format!("{header}=.e30.c"),
        ] {
            assert_eq!(
                verifier().verify_str(proof, &resource_request()),
                Err(DpopError::Malformed),
                "{proof}"
            );
        }
        let long_header = "a".repeat(MAX_HEADER_LEN + 1);
        assert_eq!(
            verifier().verify_str(&format!("{long_header}.e30.c"), &resource_request()),
            Err(DpopError::TooLarge)
        );
    }

    #[test]
    fn typ_is_a_media_type() {
        for typ in [
            "dpop+jwt",
            "DPoP+JWT",
            "application/dpop+jwt",
            "Application/DPOP+jwt",
        ] {
            assert!(is_dpop_jwt(typ), "{typ}");
        }
        for typ in [
            "jwt",
            "at+jwt",
            "dpop",
            "application/jwt",
            "dpop+jwt ",
            "x/dpop+jwt",
            "",
        ] {
            assert!(!is_dpop_jwt(typ), "{typ}");
        }
    }
}
