//! HS256 keys: the HMAC-SHA256 key of each accepted secret, and the set a validator tries.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::{Digest, Key};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::keys::SigningSecret;

/// base64url length of a 32-byte HMAC-SHA256 tag.
const SIGNATURE_LEN: usize = 43;

/// SHA-256's block size: HMAC keys are padded (or hashed) to this length (RFC 2104 §2).
const BLOCK_LEN: usize = 64;

/// Most secrets a validator holds: the current one and a few previous ones. Each costs an
/// HMAC for a token without `kid`, so a forged token costs at most this many.
pub(crate) const MAX_KEYS: usize = 4;

/// An HMAC-SHA256 key with its inner and outer pads already hashed. The two SHA-256 states
/// that hold it are zeroized on drop (sha2's `zeroize` feature).
#[derive(Clone)]
pub(crate) struct Hs256Key(Hmac<Sha256>);

impl Hs256Key {
    pub(crate) fn new(secret: &SigningSecret) -> Self {
        // HMAC zero-pads a key up to the block size and hashes a longer one (RFC 2104 §2).
        // Doing that here hands HMAC a block-sized key, which it takes without a `Result`.
        let bytes = secret.as_bytes();
        let mut block = Zeroizing::new([0u8; BLOCK_LEN]);
        if let Some(prefix) = block.get_mut(..bytes.len()) {
            prefix.copy_from_slice(bytes);
        } else {
            let mut digest = Sha256::digest(bytes);
            block[..digest.len()].copy_from_slice(&digest);
            digest.as_mut_slice().zeroize();
        }
        let key: &Key<Hmac<Sha256>> = (&*block).into();
        Self(Hmac::new(key))
    }

    /// The HMAC state after `signing_input`, from the precomputed pads.
    fn mac(&self, signing_input: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(signing_input);
        mac
    }

    /// Whether `tag` is the HMAC of `signing_input`, compared in constant time.
    fn verifies(&self, signing_input: &str, tag: &[u8; 32]) -> bool {
        // `verify_slice` compares with `subtle`'s constant-time equality.
        self.mac(signing_input.as_bytes()).verify_slice(tag).is_ok()
    }

    /// The HMAC-SHA256 tag of `signing_input`, for the token issuer.
    #[cfg(feature = "issuer")]
    pub(crate) fn sign(&self, signing_input: &[u8]) -> [u8; 32] {
        self.mac(signing_input).finalize().into_bytes().into()
    }
}

impl fmt::Debug for Hs256Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hs256Key(<redacted>)")
    }
}

/// Which keys a token's signature is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyChoice {
    /// The key its `kid` names.
    Only(usize),
    /// Every key, current first, until one verifies.
    InOrder,
}

/// The secrets a token may be signed with, current first, each perhaps labelled with a `kid`.
#[derive(Debug, Clone)]
pub(crate) struct Hs256Keys {
    keys: Box<[Hs256Key]>,
    /// One per key, same order.
    kids: Box<[Option<Box<str>>]>,
}

impl Hs256Keys {
    /// A set from `(kid, key)` pairs, current first. The builder checks the count and that
    /// no two kids are equal.
    pub(crate) fn new(entries: Vec<(Option<Box<str>>, Hs256Key)>) -> Self {
        let (kids, keys): (Vec<_>, Vec<_>) = entries.into_iter().unzip();
        Self {
            keys: keys.into(),
            kids: kids.into(),
        }
    }

    /// The key ids, one per key, when any key has one: only then does a token's `kid`
    /// select its key.
    pub(crate) fn labels(&self) -> Option<&[Option<Box<str>>]> {
        self.kids.iter().any(Option::is_some).then_some(&*self.kids)
    }

    /// The keys a token's `kid` selects: the one it labels, or every key in order when the
    /// token names none (or no key is labelled, so a `kid` means nothing). `None` for a `kid`
    /// that labels no key: it gets no fallback to the others.
    pub(crate) fn choose(&self, kid: Option<&str>) -> Option<KeyChoice> {
        match (kid, self.labels()) {
            (Some(kid), Some(labels)) => labels
                .iter()
                .position(|label| label.as_deref() == Some(kid))
                .map(KeyChoice::Only),
            _ => Some(KeyChoice::InOrder),
        }
    }

    /// Whether the base64url `signature` is the HMAC of `signing_input` under the chosen
    /// keys, each compared in constant time.
    pub(crate) fn verify(&self, choice: KeyChoice, signing_input: &str, signature: &str) -> bool {
        // A wrong-length signature cannot be an HS256 tag: refuse it before any hashing.
        if signature.len() != SIGNATURE_LEN {
            return false;
        }
        let mut tag = [0u8; 32];
        if URL_SAFE_NO_PAD.decode_slice(signature, &mut tag) != Ok(32) {
            return false;
        }
        match choice {
            KeyChoice::Only(index) => self
                .keys
                .get(index)
                .is_some_and(|key| key.verifies(signing_input, &tag)),
            // Which key matched is not secret; stopping at the first keeps the common case
            // (the current secret) at one HMAC.
            KeyChoice::InOrder => self
                .keys
                .iter()
                .any(|key| key.verifies(signing_input, &tag)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys with these kids, each with its own secret (`kid` or the index, repeated).
    pub(crate) fn keys(kids: &[Option<&str>]) -> Hs256Keys {
        Hs256Keys::new(
            kids.iter()
                .enumerate()
                .map(|(index, kid)| {
                    let secret = kid
                        .map_or_else(|| index.to_string(), str::to_owned)
                        .repeat(40);
                    let key = Hs256Key::new(&SigningSecret::from(secret.as_str()));
                    (kid.map(Box::from), key)
                })
                .collect(),
        )
    }

    fn sign(secret: &[u8], input: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(input.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    #[test]
    fn key_set_verifies_with_the_chosen_keys_only() {
        let set = keys(&[Some("new"), Some("old"), None]);
        let input = "e30.e30";
        let sign = |secret: &str| sign(secret.as_bytes(), input);
        let (new, old, third) = (
            sign(&"new".repeat(40)),
            sign(&"old".repeat(40)),
            sign(&"2".repeat(40)),
        );
        for signature in [&new, &old, &third] {
            assert!(set.verify(KeyChoice::InOrder, input, signature));
        }
        assert!(set.verify(KeyChoice::Only(1), input, &old));
        for (choice, signature) in [
            (KeyChoice::Only(0), &old),
            (KeyChoice::Only(1), &new),
            (KeyChoice::Only(1), &third),
            (KeyChoice::Only(3), &old),
            (KeyChoice::InOrder, &sign("another secret")),
        ] {
            assert!(!set.verify(choice, input, signature), "{choice:?}");
        }
    }

    #[test]
    fn block_sized_key_is_the_hmac_of_any_length_of_secret() {
        // Short, exactly one block, and longer than a block (hashed first, as HMAC does).
        for len in [1, 32, 63, 64, 65, 200] {
            let secret = vec![0xA5; len];
            let key = Hs256Key::new(&SigningSecret::from_bytes(secret.clone()));
            let set = Hs256Keys::new(vec![(None, key)]);
            let input = "eyJhbGciOiJIUzI1NiJ9.e30";
            assert!(
                set.verify(KeyChoice::InOrder, input, &sign(&secret, input)),
                "{len}"
            );
        }
    }

    #[test]
    fn kid_chooses_among_labelled_keys_only() {
        let labelled = keys(&[Some("new"), None, Some("old")]);
        assert_eq!(labelled.choose(Some("old")), Some(KeyChoice::Only(2)));
        assert_eq!(labelled.choose(Some("gone")), None);
        assert_eq!(labelled.choose(None), Some(KeyChoice::InOrder));
        assert_eq!(keys(&[None]).choose(Some("x")), Some(KeyChoice::InOrder));
    }

    #[test]
    fn labels_are_known_only_when_a_key_has_one() {
        assert!(keys(&[None, None]).labels().is_none());
        assert_eq!(keys(&[None, Some("k")]).labels().map(<[_]>::len), Some(2));
    }

    #[test]
    fn key_set_debug_is_redacted() {
        let printed = format!("{:?}", keys(&[Some("new"), None]));
        assert!(!printed.contains("newnew"), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
    }

    #[test]
    fn derived_hmac_key_is_zeroized_on_drop() {
        // `Hmac` keeps the key as two SHA-256 states (inner and outer pad); each wipes itself
        // on drop. This compiles only while sha2's `zeroize` feature is on.
        fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        zeroized_on_drop::<<Sha256 as hmac::digest::block_api::CoreProxy>::Core>();
    }

    #[test]
    fn key_debug_is_redacted() {
        let key = Hs256Key::new(&SigningSecret::from("FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5"));
        assert_eq!(format!("{key:?}"), "Hs256Key(<redacted>)");
    }
}
