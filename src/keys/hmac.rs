//! HMAC keys (HS256, HS384, HS512): the key of each accepted secret, and the set a
//! validator tries.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::{Digest, Key};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha384, Sha512};
use zeroize::{Zeroize, Zeroizing};

use crate::keys::{Algorithm, SigningSecret};

/// The longest tag: HMAC-SHA512's 64 bytes.
const MAX_TAG_LEN: usize = 64;

/// Most secrets a validator holds: the current one and a few previous ones. Each costs an
/// HMAC for a token without `kid`, so a forged token costs at most this many.
pub(crate) const MAX_KEYS: usize = 4;

/// An HMAC key with its inner and outer pads already hashed, for one algorithm. The hash
/// states that hold it are zeroized on drop (sha2's `zeroize` feature).
#[derive(Clone)]
pub(crate) enum HmacKey {
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
}

/// `secret` as HMAC would make it a key for a hash of block size `BLOCK`: zero-padded up to
/// the block, or hashed first when longer (RFC 2104 §2). HMAC takes a block-sized key
/// without a `Result`.
fn block_key<const BLOCK: usize, D: Digest>(secret: &[u8]) -> Zeroizing<[u8; BLOCK]> {
    let mut block = Zeroizing::new([0u8; BLOCK]);
    if let Some(prefix) = block.get_mut(..secret.len()) {
        prefix.copy_from_slice(secret);
    } else {
        let mut digest = D::digest(secret);
        block[..digest.len()].copy_from_slice(&digest);
        digest.as_mut_slice().zeroize();
    }
    block
}

impl HmacKey {
    /// The key of `secret` for `alg`; `None` when `alg` is not an HMAC algorithm.
    pub(crate) fn new(alg: Algorithm, secret: &SigningSecret) -> Option<Self> {
        let bytes = secret.as_bytes();
        // Block sizes: 64 bytes for SHA-256, 128 for SHA-384 and SHA-512.
        Some(match alg {
            Algorithm::Hs256 => {
                let block = block_key::<64, Sha256>(bytes);
                let key: &Key<Hmac<Sha256>> = (&*block).into();
                Self::Sha256(Hmac::new(key))
            }
            Algorithm::Hs384 => {
                let block = block_key::<128, Sha384>(bytes);
                let key: &Key<Hmac<Sha384>> = (&*block).into();
                Self::Sha384(Hmac::new(key))
            }
            Algorithm::Hs512 => {
                let block = block_key::<128, Sha512>(bytes);
                let key: &Key<Hmac<Sha512>> = (&*block).into();
                Self::Sha512(Hmac::new(key))
            }
            _ => return None,
        })
    }

    /// The algorithm this key signs and verifies.
    pub(crate) fn alg(&self) -> Algorithm {
        match self {
            Self::Sha256(_) => Algorithm::Hs256,
            Self::Sha384(_) => Algorithm::Hs384,
            Self::Sha512(_) => Algorithm::Hs512,
        }
    }

    /// Whether `tag` is the HMAC of `signing_input`, compared in constant time.
    fn verifies(&self, signing_input: &str, tag: &[u8]) -> bool {
        // `verify_slice` refuses a tag of another length, and compares with `subtle`'s
        // constant-time equality.
        let input = signing_input.as_bytes();
        match self {
            Self::Sha256(key) => key.clone().chain_update(input).verify_slice(tag).is_ok(),
            Self::Sha384(key) => key.clone().chain_update(input).verify_slice(tag).is_ok(),
            Self::Sha512(key) => key.clone().chain_update(input).verify_slice(tag).is_ok(),
        }
    }

    /// The HMAC tag of `signing_input`, for the token issuer.
    #[cfg(feature = "issuer")]
    pub(crate) fn sign(&self, signing_input: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256(key) => key
                .clone()
                .chain_update(signing_input)
                .finalize()
                .into_bytes()
                .to_vec(),
            Self::Sha384(key) => key
                .clone()
                .chain_update(signing_input)
                .finalize()
                .into_bytes()
                .to_vec(),
            Self::Sha512(key) => key
                .clone()
                .chain_update(signing_input)
                .finalize()
                .into_bytes()
                .to_vec(),
        }
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HmacKey({}, <redacted>)", self.alg())
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

/// The secrets a token may be signed with, current first, each perhaps labelled with a `kid`;
/// all keys of one HMAC algorithm.
#[derive(Debug, Clone)]
pub(crate) struct HmacKeys {
    alg: Algorithm,
    keys: Box<[HmacKey]>,
    /// One per key, same order.
    kids: Box<[Option<Box<str>>]>,
}

impl HmacKeys {
    /// A set from `(kid, key)` pairs of `alg`, current first. The builder checks the count,
    /// that no two kids are equal, and that every key is of `alg`.
    pub(crate) fn new(alg: Algorithm, entries: Vec<(Option<Box<str>>, HmacKey)>) -> Self {
        debug_assert!(entries.iter().all(|(_, key)| key.alg() == alg));
        let (kids, keys): (Vec<_>, Vec<_>) = entries.into_iter().unzip();
        Self {
            alg,
            keys: keys.into(),
            kids: kids.into(),
        }
    }

    /// The algorithm of every key.
    pub(crate) fn alg(&self) -> Algorithm {
        self.alg
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
        let Some(tag_len) = self.alg.hmac_len() else {
            return false;
        };
        // A signature of the wrong length cannot be a tag of this algorithm: refuse it
        // before any hashing (43, 64 or 86 characters of base64url).
        if signature.len() != (tag_len * 4).div_ceil(3) {
            return false;
        }
        let mut buf = [0u8; MAX_TAG_LEN];
        if URL_SAFE_NO_PAD.decode_slice(signature, &mut buf) != Ok(tag_len) {
            return false;
        }
        let tag = &buf[..tag_len];
        match choice {
            KeyChoice::Only(index) => self
                .keys
                .get(index)
                .is_some_and(|key| key.verifies(signing_input, tag)),
            // Which key matched is not secret; stopping at the first keeps the common case
            // (the current secret) at one HMAC.
            KeyChoice::InOrder => self.keys.iter().any(|key| key.verifies(signing_input, tag)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HMAC: [Algorithm; 3] = [Algorithm::Hs256, Algorithm::Hs384, Algorithm::Hs512];

    fn key(alg: Algorithm, secret: &[u8]) -> HmacKey {
        HmacKey::new(alg, &SigningSecret::from_bytes(secret)).unwrap()
    }

    /// HS256 keys with these kids, each with its own secret (`kid` or the index, repeated).
    pub(crate) fn keys(kids: &[Option<&str>]) -> HmacKeys {
        HmacKeys::new(
            Algorithm::Hs256,
            kids.iter()
                .enumerate()
                .map(|(index, kid)| {
                    let secret = kid
                        .map_or_else(|| index.to_string(), str::to_owned)
                        .repeat(40);
                    (kid.map(Box::from), key(Algorithm::Hs256, secret.as_bytes()))
                })
                .collect(),
        )
    }

    /// The base64url tag that jsonwebtoken computes: a signer that is not this file.
    fn sign_as(alg: Algorithm, secret: &[u8], input: &str) -> String {
        let alg = match alg {
            Algorithm::Hs256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::Hs384 => jsonwebtoken::Algorithm::HS384,
            _ => jsonwebtoken::Algorithm::HS512,
        };
        let key = jsonwebtoken::EncodingKey::from_secret(secret);
        jsonwebtoken::crypto::sign(input.as_bytes(), &key, alg).unwrap()
    }

    fn sign(secret: &[u8], input: &str) -> String {
        sign_as(Algorithm::Hs256, secret, input)
    }

    #[test]
    fn only_hmac_algorithms_make_hmac_keys() {
        let secret = SigningSecret::from("a secret of thirty-two bytes, ok");
        for alg in Algorithm::ALL {
            let made = HmacKey::new(alg, &secret).map(|key| key.alg());
            assert_eq!(made, (!alg.is_asymmetric()).then_some(alg), "{alg}");
        }
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
        // Short, exactly one block, and longer than a block (hashed first, as HMAC does), for
        // SHA-256's 64-byte block and SHA-384's and SHA-512's 128-byte one.
        for alg in HMAC {
            for len in [1, 32, 48, 63, 64, 65, 127, 128, 129, 300] {
                let secret = vec![0xA5; len];
                let set = HmacKeys::new(alg, vec![(None, key(alg, &secret))]);
                let input = "eyJhbGciOiJIUzI1NiJ9.e30";
                let tag = sign_as(alg, &secret, input);
                assert!(set.verify(KeyChoice::InOrder, input, &tag), "{alg} {len}");
                #[cfg(feature = "issuer")]
                assert_eq!(
                    key(alg, &secret).sign(input.as_bytes()).len(),
                    alg.hmac_len().unwrap()
                );
            }
        }
    }

    #[test]
    fn a_tag_of_another_hmac_algorithm_never_verifies() {
        // The same secret and input: HS256, HS384 and HS512 tags (and a prefix of a longer
        // tag, which is what a truncation attack would send) verify only under their own
        // algorithm.
        let secret = [7u8; 64];
        let input = "e30.e30";
        for alg in HMAC {
            let set = HmacKeys::new(alg, vec![(None, key(alg, &secret))]);
            for other in HMAC {
                let tag = sign_as(other, &secret, input);
                assert_eq!(
                    set.verify(KeyChoice::InOrder, input, &tag),
                    alg == other,
                    "{alg} key, {other} tag"
                );
            }
            let long = sign_as(Algorithm::Hs512, &secret, input);
            let raw = URL_SAFE_NO_PAD.decode(&long).unwrap();
            let prefix = URL_SAFE_NO_PAD.encode(&raw[..alg.hmac_len().unwrap()]);
            assert_eq!(
                set.verify(KeyChoice::InOrder, input, &prefix),
                alg == Algorithm::Hs512,
                "{alg}"
            );
            for bad in ["", "AAAA", &"A".repeat(200), &format!("{long}=")] {
                assert!(!set.verify(KeyChoice::InOrder, input, bad), "{alg} {bad}");
            }
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
        // `Hmac` keeps the key as two hash states (inner and outer pad); each wipes itself
        // on drop. This compiles only while sha2's `zeroize` feature is on.
        fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        zeroized_on_drop::<<Sha256 as hmac::digest::block_api::CoreProxy>::Core>();
        zeroized_on_drop::<<Sha384 as hmac::digest::block_api::CoreProxy>::Core>();
        zeroized_on_drop::<<Sha512 as hmac::digest::block_api::CoreProxy>::Core>();
    }

    #[test]
    fn key_debug_is_redacted() {
        for alg in HMAC {
            let key = key(alg, b"FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5");
            assert_eq!(format!("{key:?}"), format!("HmacKey({alg}, <redacted>)"));
        }
    }
}
