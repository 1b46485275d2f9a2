//! Server nonces for DPoP (RFC 9449 §8, §9): [`NonceMode`], [`NonceSettings`] and
//! [`DpopNonces`], which issues and checks them.
//!
//! A nonce lets the server, not the client's clock, say how fresh a proof is: the client puts
//! the latest `DPoP-Nonce` it was sent in its proofs' `nonce` claim, and a proof without a
//! fresh one is answered 401 `error="use_dpop_nonce"` with a new nonce (§9); a new nonce may
//! ride on any response (§8.2).
//!
//! How they are made, why a fleet needs no store for them, and what they do to the replay
//! store: see [`DpopNonces`].
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use bearer_guard::dpop::{DpopNonces, NonceCheck, NonceMode, NonceSettings};
//! use bearer_guard::registration::SigningSecret;
//!
//! let fleet_secret = SigningSecret::from_bytes([7; 32]); // from your secret store
//! let nonces = DpopNonces::new(NonceSettings::default().mode(NonceMode::Required).secret(fleet_secret))?;
//! let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
//!
//! let nonce = nonces.issue(now).unwrap(); // sent in DPoP-Nonce
//! assert_eq!(nonces.check(Some(&nonce), now), NonceCheck::Fresh { renew: false });
//! // A slot later it still passes, but a new one should be sent (RFC 9449 §8.2).
//! assert_eq!(nonces.check(Some(&nonce), now + Duration::from_secs(30)), NonceCheck::Fresh { renew: true });
//! assert_eq!(nonces.check(Some(&nonce), now + Duration::from_secs(60)), NonceCheck::Stale);
//! assert_eq!(nonces.check(Some("made-up"), now), NonceCheck::Foreign);
//! assert_eq!(nonces.check(None, now), NonceCheck::Missing);
//! # Ok::<(), bearer_guard::ConfigError>(())
//! ```

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::config::ConfigError;
use crate::dpop::DpopError;
use crate::keys::SigningSecret;

/// Whether the API issues and checks server nonces (RFC 9449 §8). Defaults to
/// [`Off`](Self::Off).
///
/// # Example
///
/// ```
/// assert_eq!(bearer_guard::dpop::NonceMode::default(), bearer_guard::dpop::NonceMode::Off);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum NonceMode {
    /// No nonces: none issued, a proof's `nonce` claim ignored.
    #[default]
    Off,
    /// Nonces issued, and a proof that carries one must carry a fresh one; a proof without
    /// one passes (and is sent a nonce): for moving clients over.
    On,
    /// Every proof must carry a fresh nonce (RFC 9449 §9).
    Required,
}

/// The default slot: a nonce lives between 30 s and 60 s.
const DEFAULT_SLOT: Duration = Duration::from_secs(30);
const MIN_SLOT: Duration = Duration::from_secs(5);
const MAX_SLOT: Duration = Duration::from_secs(300);
/// The shortest secret taken: as long as SHA-256's output (RFC 2104 §3).
const MIN_SECRET_LEN: usize = 32;
/// What the tag covers before the slot number, so that no other HMAC of the secret is a nonce.
const CONTEXT: &[u8] = b"bearer-guard DPoP nonce v1\0";
/// Bytes of a nonce: the slot number and a tag truncated to 128 bits.
const SLOT_LEN: usize = 8;
const TAG_LEN: usize = 16;
/// Characters of a nonce: base64url of its 24 bytes, all NQCHARs (RFC 9449 §8.1).
const NONCE_LEN: usize = 32;

/// How server nonces are made and checked: the mode, the slot a nonce lives by, and the
/// secrets the fleet shares. Checked by [`DpopNonces::new`].
///
/// | setting | default | bounds |
/// |---|---|---|
/// | [`mode`](Self::mode) | [`NonceMode::Off`] | |
/// | [`slot`](Self::slot) | 30 s (a nonce lives 30 s to 60 s) | 5 s to 300 s |
/// | [`secret`](Self::secret) | none | at least 32 bytes; required unless off |
/// | [`previous_secret`](Self::previous_secret) | none | at least 32 bytes, not the current one |
///
/// Its `Debug` never shows a secret, and the secrets are zeroized on drop.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use bearer_guard::dpop::{NonceMode, NonceSettings};
/// use bearer_guard::registration::SigningSecret;
///
/// let settings = NonceSettings::default()
///     .mode(NonceMode::Required)
///     .slot(Duration::from_secs(20))
///     .secret(SigningSecret::from("the new 32-byte-or-longer secret!"))
///     .previous_secret(SigningSecret::from("the old 32-byte-or-longer secret!"));
/// assert!(!format!("{settings:?}").contains("secret!"));
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct NonceSettings {
    mode: NonceMode,
    slot: Option<Duration>,
    secret: Option<SigningSecret>,
    previous: Option<SigningSecret>,
}

impl NonceSettings {
    /// Whether nonces are issued and checked. Defaults to [`NonceMode::Off`].
    pub fn mode(mut self, mode: NonceMode) -> Self {
        self.mode = mode;
        self
    }

    /// The time slot nonces are made for: a nonce is fresh in its slot and the next, so it
    /// lives between one and two slots. Defaults to 30 s.
    pub fn slot(mut self, slot: Duration) -> Self {
        self.slot = Some(slot);
        self
    }

    /// The secret nonces are made with, shared by every instance of the API (at least 32
    /// bytes, from a CSPRNG). No default: required unless nonces are off.
    pub fn secret(mut self, secret: SigningSecret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// The secret before the current one, during a rotation: nonces made with it still pass,
    /// none are made with it. Defaults to none.
    pub fn previous_secret(mut self, secret: SigningSecret) -> Self {
        self.previous = Some(secret);
        self
    }
}

impl fmt::Debug for NonceSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |secret: &Option<SigningSecret>| secret.as_ref().map(|_| "<redacted>");
        f.debug_struct("NonceSettings")
            .field("mode", &self.mode)
            .field("slot", &self.slot.unwrap_or(DEFAULT_SLOT))
            .field("secret", &redacted(&self.secret))
            .field("previous_secret", &redacted(&self.previous))
            .finish()
    }
}

/// What a proof's `nonce` is, as [`DpopNonces::check`] reads it.
///
/// # Example
///
/// ```
/// use bearer_guard::dpop::NonceCheck;
///
/// assert!(NonceCheck::Fresh { renew: true }.send_new_nonce());
/// assert!(!NonceCheck::Fresh { renew: false }.send_new_nonce());
/// assert!(NonceCheck::Stale.send_new_nonce());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NonceCheck {
    /// One of ours, fresh. `renew`: its slot has turned since it was made, so a new nonce
    /// should ride on the response (RFC 9449 §8.2) before this one goes stale.
    Fresh {
        /// Whether to send a new nonce with the response.
        renew: bool,
    },
    /// The proof has no `nonce`.
    Missing,
    /// One of ours, too old (or made for a slot too far ahead).
    Stale,
    /// Not one of ours: made with another secret (another fleet's, or one rotated out), or not
    /// a nonce at all.
    Foreign,
}

impl NonceCheck {
    /// Whether the response should carry a new nonce in `DPoP-Nonce`: for every answer but a
    /// nonce fresh in the current slot.
    #[must_use]
    pub fn send_new_nonce(self) -> bool {
        self != Self::Fresh { renew: false }
    }
}

/// Issues and checks server nonces (RFC 9449 §8), with no state but its secrets: every
/// instance of a fleet configured with the same [`NonceSettings`] accepts every other's.
/// Cheap to clone; `Debug` shows the mode and slot, never a secret.
///
/// # Stateless, for a fleet
///
/// A nonce is the number of a time slot (30 s by default) and an HMAC-SHA-256 tag over it with
/// a secret every instance of the API shares: any instance checks any other's nonce with no
/// store and no coordination. A nonce is fresh while its slot is the current one or the one
/// before (or the one after, from an instance whose clock runs a little ahead): it lives
/// between one and two slots. Tags are compared in constant time; the secret is at least 32
/// bytes, kept only as the HMAC's keyed state (zeroized on drop) and never printed. To rotate,
/// make the new secret current and the old one [`previous`](NonceSettings::previous_secret):
/// nonces made with either pass, new ones are made with the current one; drop the previous
/// one after two slots.
///
/// # What it does to the replay store
///
/// A proof that carries a nonce is dead once its nonce is stale: a replay carries the same
/// signed nonce. Such a proof is remembered only until its nonce goes stale (at most two
/// slots: 60 s by default) instead of until its `iat` leaves the window (120 s, and up to
/// 130 s): with [`NonceMode::Required`] the store holds half as many proofs at the same
/// request rate, and a key's quota stands for twice the rate. Every instance sharing a replay
/// store must run the same mode: an instance with nonces off would take, within its `iat`
/// window, a proof the others remembered only for its nonce's life.
///
/// # Example
///
/// Rotation: an instance with the new secret (and the old as previous) takes the nonces of an
/// instance still on the old one; a fleet with another secret takes none.
///
/// ```
/// use std::time::SystemTime;
/// use bearer_guard::dpop::{DpopNonces, NonceCheck, NonceMode, NonceSettings};
/// use bearer_guard::registration::SigningSecret;
///
/// let settings = || NonceSettings::default().mode(NonceMode::Required);
/// let (old, new) = ([1; 32], [2; 32]);
/// let before = DpopNonces::new(settings().secret(SigningSecret::from_bytes(old)))?;
/// let after = DpopNonces::new(
///     settings().secret(SigningSecret::from_bytes(new)).previous_secret(SigningSecret::from_bytes(old)),
/// )?;
/// let elsewhere = DpopNonces::new(settings().secret(SigningSecret::from_bytes([3; 32])))?;
///
/// let now = SystemTime::now();
/// let nonce = before.issue(now).unwrap();
/// assert_eq!(after.check(Some(&nonce), now), NonceCheck::Fresh { renew: false });
/// assert_eq!(elsewhere.check(Some(&nonce), now), NonceCheck::Foreign);
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct DpopNonces {
    mode: NonceMode,
    slot_secs: u64,
    /// The keyed HMAC of each secret, current first: two SHA-256 states each, which zeroize
    /// themselves on drop (sha2's `zeroize` feature).
    keys: Box<[Hmac<Sha256>]>,
}

impl DpopNonces {
    /// Nonces made and checked as `settings` say, once they are checked.
    ///
    /// # Errors
    ///
    /// [`ConfigError::DpopSetting`] naming the setting: a slot outside 5 s to 300 s, no
    /// secret while nonces are on, a secret shorter than 32 bytes, a previous secret that is
    /// the current one. The message never quotes a secret.
    pub fn new(settings: NonceSettings) -> Result<Self, ConfigError> {
        let refuse = |setting: &'static str, problem: String| {
            Err(ConfigError::DpopSetting { setting, problem })
        };
        let slot = settings.slot.unwrap_or(DEFAULT_SLOT);
        if !(MIN_SLOT..=MAX_SLOT).contains(&slot) || slot.subsec_nanos() != 0 {
            return refuse(
                "nonce slot",
                format!(
                    "{slot:?} is not a whole number of seconds from {MIN_SLOT:?} to {MAX_SLOT:?}"
                ),
            );
        }
        if settings.mode != NonceMode::Off && settings.secret.is_none() {
            return refuse(
                "nonce secret",
                "nonces are on and no secret is set; give every instance the same secret of at least 32 random bytes".to_owned(),
            );
        }
        let mut keys = Vec::with_capacity(2);
        for (setting, secret) in [
            ("nonce secret", &settings.secret),
            ("nonce previous_secret", &settings.previous),
        ] {
            let Some(secret) = secret else { continue };
            if secret.len() < MIN_SECRET_LEN {
                return refuse(
                    setting,
                    format!(
                        "the secret has {} bytes; at least {MIN_SECRET_LEN} are needed. Use 32 random bytes",
                        secret.len()
                    ),
                );
            }
            // Any length is a valid HMAC key: longer ones are hashed (RFC 2104 §2).
            match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
                Ok(key) => keys.push(key),
                Err(_) => return refuse(setting, "HMAC-SHA-256 refused the secret".to_owned()),
            }
        }
        if let (Some(current), Some(previous)) = (&settings.secret, &settings.previous)
            && current.as_bytes() == previous.as_bytes()
        {
            return refuse(
                "nonce previous_secret",
                "it is the current secret; a rotation needs a new one".to_owned(),
            );
        }
        if settings.secret.is_none() && settings.previous.is_some() {
            return refuse(
                "nonce previous_secret",
                "there is no current secret to rotate to".to_owned(),
            );
        }
        Ok(Self {
            mode: settings.mode,
            slot_secs: slot.as_secs(),
            keys: keys.into(),
        })
    }

    /// Whether nonces are off, on or required.
    #[must_use]
    pub fn mode(&self) -> NonceMode {
        self.mode
    }

    /// The slot nonces are made for.
    #[must_use]
    pub fn slot(&self) -> Duration {
        Duration::from_secs(self.slot_secs)
    }

    /// The nonce for `now`, to send in `DPoP-Nonce`: 32 base64url characters. `None` when
    /// nonces are off.
    #[must_use]
    pub fn issue(&self, now: SystemTime) -> Option<String> {
        if self.mode == NonceMode::Off {
            return None;
        }
        let key = self.keys.first()?;
        let slot = self.slot_of(now);
        let mut nonce = [0u8; SLOT_LEN + TAG_LEN];
        nonce[..SLOT_LEN].copy_from_slice(&slot.to_be_bytes());
        let tag = tag(key, slot).finalize().into_bytes();
        nonce[SLOT_LEN..].copy_from_slice(&tag[..TAG_LEN]);
        Some(URL_SAFE_NO_PAD.encode(nonce))
    }

    /// What the `nonce` of a proof checked at `now` is: fresh (and whether to send a new one),
    /// missing, stale or foreign. Whatever the mode; [`admit`](Self::admit) applies it.
    #[must_use]
    pub fn check(&self, nonce: Option<&str>, now: SystemTime) -> NonceCheck {
        match self.read(nonce, now) {
            Read::Missing => NonceCheck::Missing,
            Read::Foreign => NonceCheck::Foreign,
            Read::Ours { slot, current } => {
                if slot.saturating_add(1) < current || slot > current.saturating_add(1) {
                    NonceCheck::Stale
                } else {
                    NonceCheck::Fresh {
                        renew: slot < current,
                    }
                }
            }
        }
    }

    /// The mode applied to a proof's `nonce` at `now`: `Ok` with the check when the proof may
    /// pass (always when off; without a nonce when on), the error to answer otherwise.
    ///
    /// # Errors
    ///
    /// [`DpopError::NonceRequired`] (missing, when required), [`DpopError::StaleNonce`],
    /// [`DpopError::ForeignNonce`]: each answered `use_dpop_nonce` with a new nonce.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use bearer_guard::dpop::{DpopError, DpopNonces, NonceCheck, NonceMode, NonceSettings};
    /// use bearer_guard::registration::SigningSecret;
    ///
    /// let with = |mode| {
    ///     DpopNonces::new(NonceSettings::default().mode(mode).secret(SigningSecret::from_bytes([9; 32]))).unwrap()
    /// };
    /// let now = SystemTime::now();
    /// assert_eq!(with(NonceMode::Required).admit(None, now), Err(DpopError::NonceRequired));
    /// assert_eq!(with(NonceMode::On).admit(None, now), Ok(NonceCheck::Missing));
    /// assert_eq!(with(NonceMode::On).admit(Some("forged"), now), Err(DpopError::ForeignNonce));
    /// assert_eq!(with(NonceMode::Off).admit(Some("forged"), now), Ok(NonceCheck::Foreign));
    /// ```
    pub fn admit(&self, nonce: Option<&str>, now: SystemTime) -> Result<NonceCheck, DpopError> {
        let check = self.check(nonce, now);
        match (self.mode, check) {
            (NonceMode::Off, _) | (_, NonceCheck::Fresh { .. }) => Ok(check),
            (NonceMode::Required, NonceCheck::Missing) => Err(DpopError::NonceRequired),
            (_, NonceCheck::Missing) => Ok(check),
            (_, NonceCheck::Stale) => Err(DpopError::StaleNonce),
            (_, NonceCheck::Foreign) => Err(DpopError::ForeignNonce),
        }
    }

    /// Until when (seconds since the epoch) a fresh `nonce` passes: the end of the slot after
    /// its own. `None` for a nonce that is not ours.
    pub(crate) fn fresh_until(&self, nonce: &str, now: SystemTime) -> Option<u64> {
        match self.read(Some(nonce), now) {
            Read::Ours { slot, .. } => Some(slot.saturating_add(2).saturating_mul(self.slot_secs)),
            _ => None,
        }
    }

    fn slot_of(&self, now: SystemTime) -> u64 {
        let secs = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        secs / self.slot_secs
    }

    fn read(&self, nonce: Option<&str>, now: SystemTime) -> Read {
        let Some(nonce) = nonce else {
            return Read::Missing;
        };
        let mut bytes = [0u8; SLOT_LEN + TAG_LEN];
        if nonce.len() != NONCE_LEN
            || URL_SAFE_NO_PAD.decode_slice(nonce, &mut bytes) != Ok(bytes.len())
        {
            return Read::Foreign;
        }
        let (slot, tag_bytes) = bytes.split_at(SLOT_LEN);
        let mut slot_bytes = [0u8; SLOT_LEN];
        slot_bytes.copy_from_slice(slot);
        let slot = u64::from_be_bytes(slot_bytes);
        // Each key's tag is compared in constant time (`subtle`, inside `verify_truncated_left`).
        let ours = self
            .keys
            .iter()
            .any(|key| tag(key, slot).verify_truncated_left(tag_bytes).is_ok());
        if !ours {
            return Read::Foreign;
        }
        Read::Ours {
            slot,
            current: self.slot_of(now),
        }
    }
}

/// A nonce as read: whose, and for which slot.
enum Read {
    Missing,
    Foreign,
    Ours { slot: u64, current: u64 },
}

/// The HMAC of slot `slot` under `key`, not yet finalized.
fn tag(key: &Hmac<Sha256>, slot: u64) -> Hmac<Sha256> {
    let mut mac = key.clone();
    mac.update(CONTEXT);
    mac.update(&slot.to_be_bytes());
    mac
}

impl fmt::Debug for DpopNonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopNonces")
            .field("mode", &self.mode)
            .field("slot", &self.slot())
            .field("secrets", &format_args!("{} <redacted>", self.keys.len()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOT: u64 = 30;
    /// The start of a slot, so that the tests can step through slots exactly.
    const T0: u64 = 1_800_000_000 / SLOT * SLOT;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn secret(byte: u8) -> SigningSecret {
        SigningSecret::from_bytes([byte; 32])
    }

    fn nonces(mode: NonceMode) -> DpopNonces {
        DpopNonces::new(NonceSettings::default().mode(mode).secret(secret(1))).unwrap()
    }

    #[test]
    fn a_nonce_is_fresh_for_its_slot_and_the_next_then_stale() {
        let nonces = nonces(NonceMode::Required);
        let nonce = nonces.issue(at(T0 + 29)).unwrap();
        assert_eq!(nonce.len(), NONCE_LEN);
        // Made late in its slot: the same nonce as at its start.
        assert_eq!(nonces.issue(at(T0)).as_deref(), Some(&*nonce));
        for (t, check) in [
            (T0, NonceCheck::Fresh { renew: false }),
            (T0 + 29, NonceCheck::Fresh { renew: false }),
            (T0 + 30, NonceCheck::Fresh { renew: true }),
            (T0 + 59, NonceCheck::Fresh { renew: true }),
            (T0 + 60, NonceCheck::Stale),
            (T0 + 3_600, NonceCheck::Stale),
            // From an instance whose clock runs ahead by less than a slot.
            (T0 - 1, NonceCheck::Fresh { renew: false }),
            (T0 - 30, NonceCheck::Fresh { renew: false }),
            (T0 - 31, NonceCheck::Stale),
        ] {
            assert_eq!(
                nonces.check(Some(&nonce), at(t)),
                check,
                "at T0{:+}",
                t as i64 - T0 as i64
            );
        }
        assert_eq!(nonces.fresh_until(&nonce, at(T0)), Some(T0 + 60));
        // The next slot's nonce is another.
        assert_ne!(nonces.issue(at(T0 + 30)).unwrap(), nonce);
    }

    #[test]
    fn nonces_are_nqchars() {
        let nonce = nonces(NonceMode::On).issue(at(T0)).unwrap();
        // RFC 9449 §8.1: NQCHAR is %x21 / %x23-5B / %x5D-7E.
        assert!(
            nonce
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)),
            "{nonce}"
        );
    }

    #[test]
    fn another_fleets_or_a_tampered_nonce_is_foreign() {
        let ours = nonces(NonceMode::Required);
        let theirs = DpopNonces::new(
            NonceSettings::default()
                .mode(NonceMode::Required)
                .secret(secret(2)),
        )
        .unwrap();
        let nonce = theirs.issue(at(T0)).unwrap();
        assert_eq!(
            theirs.check(Some(&nonce), at(T0)),
            NonceCheck::Fresh { renew: false }
        );
        assert_eq!(ours.check(Some(&nonce), at(T0)), NonceCheck::Foreign);
        // Our nonce, with its slot moved forward (to live longer) or a tag bit flipped.
        let mut bytes = URL_SAFE_NO_PAD.decode(ours.issue(at(T0)).unwrap()).unwrap();
        bytes[7] ^= 1;
        assert_eq!(
            ours.check(Some(&URL_SAFE_NO_PAD.encode(&bytes)), at(T0)),
            NonceCheck::Foreign
        );
        bytes[7] ^= 1;
        bytes[23] ^= 0x80;
        assert_eq!(
            ours.check(Some(&URL_SAFE_NO_PAD.encode(&bytes)), at(T0)),
            NonceCheck::Foreign
        );
        let good = ours.issue(at(T0)).unwrap();
        for junk in [
            "",
            "x",
            &good[..31],
            &format!("{good}A"),
            &format!("{}=", &good[..31]),
            "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        ] {
            assert_eq!(
                ours.check(Some(junk), at(T0)),
                NonceCheck::Foreign,
                "{junk:?}"
            );
            assert_eq!(ours.fresh_until(junk, at(T0)), None, "{junk:?}");
        }
    }

    #[test]
    fn a_rotation_takes_the_previous_secrets_nonces_and_makes_the_currents() {
        let old = nonces(NonceMode::Required);
        let rotated = DpopNonces::new(
            NonceSettings::default()
                .mode(NonceMode::Required)
                .secret(secret(2))
                .previous_secret(secret(1)),
        )
        .unwrap();
        let from_old = old.issue(at(T0)).unwrap();
        assert_eq!(
            rotated.check(Some(&from_old), at(T0)),
            NonceCheck::Fresh { renew: false }
        );
        let from_rotated = rotated.issue(at(T0)).unwrap();
        assert_ne!(from_rotated, from_old);
        // An instance not yet rotated does not know the new secret.
        assert_eq!(old.check(Some(&from_rotated), at(T0)), NonceCheck::Foreign);
        // Once the previous secret is dropped, its nonces are foreign.
        let done = DpopNonces::new(
            NonceSettings::default()
                .mode(NonceMode::Required)
                .secret(secret(2)),
        )
        .unwrap();
        assert_eq!(done.check(Some(&from_old), at(T0)), NonceCheck::Foreign);
        assert_eq!(
            done.check(Some(&from_rotated), at(T0)),
            NonceCheck::Fresh { renew: false }
        );
    }

    #[test]
    fn each_mode_admits_what_it_says() {
        let required = nonces(NonceMode::Required);
        let on = nonces(NonceMode::On);
        let off = nonces(NonceMode::Off);
        let fresh = required.issue(at(T0)).unwrap();
        let stale = Some(&*fresh);
        let later = at(T0 + 60);
        type Case<'a> = (
            &'a str,
            &'a DpopNonces,
            Option<&'a str>,
            SystemTime,
            Result<NonceCheck, DpopError>,
        );
        let cases: [Case<'_>; 9] = [
            (
                "required, fresh",
                &required,
                Some(&fresh),
                at(T0),
                Ok(NonceCheck::Fresh { renew: false }),
            ),
            (
                "required, missing",
                &required,
                None,
                at(T0),
                Err(DpopError::NonceRequired),
            ),
            (
                "required, stale",
                &required,
                stale,
                later,
                Err(DpopError::StaleNonce),
            ),
            (
                "required, foreign",
                &required,
                Some("x"),
                at(T0),
                Err(DpopError::ForeignNonce),
            ),
            ("on, missing", &on, None, at(T0), Ok(NonceCheck::Missing)),
            ("on, stale", &on, stale, later, Err(DpopError::StaleNonce)),
            (
                "on, foreign",
                &on,
                Some("x"),
                at(T0),
                Err(DpopError::ForeignNonce),
            ),
            ("off, stale", &off, stale, later, Ok(NonceCheck::Stale)),
            ("off, missing", &off, None, at(T0), Ok(NonceCheck::Missing)),
        ];
        for (name, nonces, nonce, now, admitted) in cases {
            assert_eq!(nonces.admit(nonce, now), admitted, "{name}");
        }
        assert_eq!(off.issue(at(T0)), None);
        assert!(on.issue(at(T0)).is_some());
    }

    #[test]
    fn settings_out_of_bounds_are_refused_naming_the_setting_and_never_the_secret() {
        let refused = |settings: NonceSettings| match DpopNonces::new(settings) {
            Err(ConfigError::DpopSetting { setting, problem }) => {
                assert!(!problem.contains("short-secret"), "{problem}");
                setting
            }
            other => panic!("{other:?}"),
        };
        let on = || {
            NonceSettings::default()
                .mode(NonceMode::On)
                .secret(secret(1))
        };
        let s = Duration::from_secs;
        assert_eq!(
            refused(NonceSettings::default().mode(NonceMode::Required)),
            "nonce secret"
        );
        assert_eq!(
            refused(
                NonceSettings::default()
                    .mode(NonceMode::On)
                    .secret(SigningSecret::from("short-secret"))
            ),
            "nonce secret"
        );
        assert_eq!(
            refused(on().previous_secret(SigningSecret::from("short-secret"))),
            "nonce previous_secret"
        );
        assert_eq!(
            refused(on().previous_secret(secret(1))),
            "nonce previous_secret"
        );
        assert_eq!(
            refused(NonceSettings::default().previous_secret(secret(1))),
            "nonce previous_secret"
        );
        assert_eq!(refused(on().slot(s(4))), "nonce slot");
        assert_eq!(refused(on().slot(s(301))), "nonce slot");
        assert_eq!(
            refused(on().slot(Duration::from_millis(5_500))),
            "nonce slot"
        );
        for edge in [
            on().slot(s(5)),
            on().slot(s(300)),
            on().secret(SigningSecret::from_bytes(
                [1; 31].iter().chain(&[2]).copied().collect::<Vec<_>>(),
            )),
            NonceSettings::default(),
        ] {
            assert!(DpopNonces::new(edge.clone()).is_ok(), "{edge:?}");
        }
        let defaults = DpopNonces::new(NonceSettings::default()).unwrap();
        assert_eq!((defaults.mode(), defaults.slot()), (NonceMode::Off, s(30)));
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let settings = NonceSettings::default()
            .mode(NonceMode::On)
            .secret(SigningSecret::from("a-secret-of-at-least-32-bytes-long"))
            .previous_secret(SigningSecret::from("an-old-secret-of-at-least-32-bytes"));
        let printed = format!(
            "{settings:?} {:?}",
            DpopNonces::new(settings.clone()).unwrap()
        );
        assert!(!printed.contains("secret-of"), "{printed}");
        assert_eq!(
            printed,
            "NonceSettings { mode: On, slot: 30s, secret: Some(\"<redacted>\"), previous_secret: Some(\"<redacted>\") } \
             DpopNonces { mode: On, slot: 30s, secrets: 2 <redacted> }"
        );
    }

    #[test]
    fn every_answer_but_a_nonce_of_the_current_slot_sends_a_new_one() {
        assert!(!NonceCheck::Fresh { renew: false }.send_new_nonce());
        for check in [
            NonceCheck::Fresh { renew: true },
            NonceCheck::Missing,
            NonceCheck::Stale,
            NonceCheck::Foreign,
        ] {
            assert!(check.send_new_nonce(), "{check:?}");
        }
    }
}
