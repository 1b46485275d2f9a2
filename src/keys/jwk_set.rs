//! A JSON Web Key Set (RFC 7517 §5): the public keys an authorization server publishes,
//! parsed once when the set loads.

use std::fmt;

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest as _, Sha256};

use crate::keys::jwk::{self, VerifyingKey};
use crate::keys::{Algorithm, Algorithms};

/// The largest key set document read, in bytes.
pub(crate) const MAX_DOCUMENT_LEN: usize = 64 * 1024;

/// The most keys a set may hold; a document with more is refused whole.
pub(crate) const MAX_KEYS: usize = 100;

/// The verifying keys of one JWK set document, for the accepted algorithms.
pub(crate) struct JwkSet {
    keys: Box<[VerifyingKey]>,
    /// SHA-256 of the document the keys came from: tells a changed set from the same one
    /// fetched again.
    digest: [u8; 32],
}

/// Why a key set document gives no keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JwkSetError {
    TooLarge(usize),
    NotAKeySet,
    TooManyKeys(usize),
    NoUsableKey { skipped: usize },
}

impl fmt::Display for JwkSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge(len) => write!(
                f,
                "the key set has {len} bytes; at most {MAX_DOCUMENT_LEN} are read"
            ),
            Self::NotAKeySet => f.write_str("not a JSON object with a \"keys\" array"),
            Self::TooManyKeys(count) => {
                write!(
                    f,
                    "the key set has {count} keys; at most {MAX_KEYS} are read"
                )
            }
            Self::NoUsableKey { skipped } => write!(
                f,
                "none of its {skipped} keys can verify the accepted algorithms"
            ),
        }
    }
}

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(borrow)]
    keys: Vec<&'a RawValue>,
}

/// How a key is looked up: the `kid` and `alg` of a token's header.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lookup<'k> {
    Found(&'k VerifyingKey),
    /// No key has this `kid` (for this algorithm).
    UnknownKid,
    /// The token names no `kid`, and more than one key could verify it.
    Ambiguous,
}

impl JwkSet {
    /// Parses a key set document for the `accepted` algorithms. A key that cannot be used is
    /// skipped (and logged with its `kid`), not fatal; a set with no usable key is an error.
    pub(crate) fn parse(document: &[u8], accepted: Algorithms) -> Result<Self, JwkSetError> {
        if document.len() > MAX_DOCUMENT_LEN {
            return Err(JwkSetError::TooLarge(document.len()));
        }
        let text = std::str::from_utf8(document).map_err(|_| JwkSetError::NotAKeySet)?;
        let parsed: Document<'_> =
            serde_json::from_str(text).map_err(|_| JwkSetError::NotAKeySet)?;
        if parsed.keys.len() > MAX_KEYS {
            return Err(JwkSetError::TooManyKeys(parsed.keys.len()));
        }
        let mut keys = Vec::with_capacity(parsed.keys.len());
        let mut skipped = 0;
        for raw in &parsed.keys {
            let jwk = jwk::parse(raw.get(), accepted);
            match jwk.keys {
                Ok(usable) => keys.extend(usable),
                Err(reason) => {
                    skipped += 1;
                    tracing::warn!(kid = jwk.kid.as_deref(), %reason, "bearer-guard skipped a JWK");
                }
            }
        }
        if keys.is_empty() {
            return Err(JwkSetError::NoUsableKey { skipped });
        }
        Ok(Self {
            keys: keys.into(),
            digest: Sha256::digest(document).into(),
        })
    }

    /// SHA-256 of the document the set was parsed from.
    pub(crate) fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// The key for a token whose header says `alg` and `kid`.
    ///
    /// With a `kid`, the key with that `kid` and algorithm; without one, the only key of
    /// that algorithm, if there is exactly one (an issuer with several keys names them).
    pub(crate) fn find(&self, alg: Algorithm, kid: Option<&str>) -> Lookup<'_> {
        let mut candidates = self
            .keys
            .iter()
            .filter(|key| key.alg() == alg && (kid.is_none() || key.kid() == kid));
        match (candidates.next(), candidates.next(), kid) {
            (Some(key), None, _) | (Some(key), Some(_), Some(_)) => Lookup::Found(key),
            (Some(_), Some(_), None) => Lookup::Ambiguous,
            (None, _, _) => Lookup::UnknownKid,
        }
    }

    /// The `kid`s of its keys (a `kid` once per key it names).
    pub(crate) fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter_map(VerifyingKey::kid)
    }

    /// Whether one of its keys has this `kid`.
    pub(crate) fn has_kid(&self, kid: &str) -> bool {
        self.kids().any(|own| own == kid)
    }

    /// How many verifying keys the set holds.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

impl fmt::Debug for JwkSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.keys.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::{Value, json};

    use super::*;
    use crate::keys::jwk::Unusable;

    const RSA: &str = include_str!("../../tests/data/keys/rsa2048.jwk.json");
    const RSA_1024: &str = include_str!("../../tests/data/keys/rsa1024.jwk.json");
    const P256: &str = include_str!("../../tests/data/keys/p256.jwk.json");
    const P384: &str = include_str!("../../tests/data/keys/p384.jwk.json");
    const P521: &str = include_str!("../../tests/data/keys/p521.jwk.json");
    const ED25519: &str = include_str!("../../tests/data/keys/ed25519.jwk.json");

    fn rs256() -> Algorithms {
        Algorithms::of([Algorithm::Rs256])
    }

    /// A fixture JWK with `changes` merged in (a `null` removes the member).
    fn jwk(base: &str, changes: &Value) -> String {
        let mut jwk: Value = serde_json::from_str(base).unwrap();
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                jwk.as_object_mut().unwrap().remove(name);
            } else {
                jwk[name] = value.clone();
            }
        }
        jwk.to_string()
    }

    fn unusable(json: &str, accepted: Algorithms) -> Option<Unusable> {
        jwk::parse(json, accepted).keys.err()
    }

    fn set(keys: &[String], accepted: Algorithms) -> Result<JwkSet, JwkSetError> {
        JwkSet::parse(
            format!(r#"{{"keys":[{}]}}"#, keys.join(",")).as_bytes(),
            accepted,
        )
    }

    #[test]
    fn each_key_type_serves_its_algorithm() {
        for (base, alg) in [
            (RSA, Algorithm::Rs256),
            (RSA, Algorithm::Rs384),
            (RSA, Algorithm::Rs512),
            (RSA, Algorithm::Ps256),
            (RSA, Algorithm::Ps384),
            (RSA, Algorithm::Ps512),
            (P256, Algorithm::Es256),
            (P384, Algorithm::Es384),
            (P521, Algorithm::Es512),
            (ED25519, Algorithm::EdDsa),
            (ED25519, Algorithm::Ed25519),
        ] {
            let keys = jwk::parse(base, Algorithms::of([alg])).keys.unwrap();
            assert_eq!(
                keys.iter().map(VerifyingKey::alg).collect::<Vec<_>>(),
                [alg]
            );
        }
        // Without `alg`, an RSA key serves both RSA algorithms when both are accepted.
        let both = Algorithms::of([Algorithm::Rs256, Algorithm::Ps256]);
        assert_eq!(jwk::parse(RSA, both).keys.unwrap().len(), 2);
        let pinned = jwk(RSA, &json!({"alg": "PS256", "kid": "k"}));
        let keys = jwk::parse(&pinned, both).keys.unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(
            (keys[0].alg(), keys[0].kid()),
            (Algorithm::Ps256, Some("k"))
        );
        // An OKP key without `alg` serves EdDSA and Ed25519 (the same signatures, two names);
        // one whose `alg` names either serves only that one.
        let both = Algorithms::of([Algorithm::EdDsa, Algorithm::Ed25519]);
        assert_eq!(jwk::parse(ED25519, both).keys.unwrap().len(), 2);
        for (name, alg) in [("EdDSA", Algorithm::EdDsa), ("Ed25519", Algorithm::Ed25519)] {
            let named = jwk(ED25519, &json!({ "alg": name }));
            let keys = jwk::parse(&named, both).keys.unwrap();
            assert_eq!(
                keys.iter().map(VerifyingKey::alg).collect::<Vec<_>>(),
                [alg]
            );
        }
    }

    #[test]
    fn a_jwk_alg_names_exactly_one_algorithm() {
        // RFC 9864 keeps `EdDSA` and `Ed25519` apart, and no RSA or ECDSA name stands for
        // another of its family.
        for (base, alg, accepted) in [
            (ED25519, "EdDSA", Algorithm::Ed25519),
            (ED25519, "Ed25519", Algorithm::EdDsa),
            (RSA, "RS256", Algorithm::Rs512),
            (RSA, "RS512", Algorithm::Rs256),
            (RSA, "PS384", Algorithm::Rs384),
            (RSA, "RS384", Algorithm::Ps384),
            (P384, "ES256", Algorithm::Es384),
            (P521, "ES384", Algorithm::Es512),
        ] {
            let named = jwk(base, &json!({ "alg": alg }));
            assert_eq!(
                unusable(&named, Algorithms::of([accepted])),
                Some(Unusable::NoAcceptedAlgorithm),
                "{alg} key for {accepted}"
            );
        }
    }

    #[test]
    fn a_key_fits_only_the_algorithms_of_its_type_alg_and_curve() {
        let es256 = Algorithms::of([Algorithm::Es256]);
        let es384 = Algorithms::of([Algorithm::Es384]);
        let es512 = Algorithms::of([Algorithm::Es512]);
        let ed25519 = Algorithms::of([Algorithm::Ed25519]);
        let hmac = Algorithms::of([Algorithm::Hs256, Algorithm::Hs384, Algorithm::Hs512]);
        for (json, accepted) in [
            // Each curve serves its own ES algorithm only.
            (P256.to_owned(), es384),
            (P256.to_owned(), es512),
            (P384.to_owned(), es512),
            (P521.to_owned(), es256),
            (P521.to_owned(), es384),
            (jwk(P384, &json!({"crv": "P-521"})), es384),
            (RSA.to_owned(), es512),
            (ED25519.to_owned(), es512),
            (P256.to_owned(), ed25519),
            (RSA.to_owned(), ed25519),
            (jwk(ED25519, &json!({"crv": "Ed448"})), ed25519),
            (jwk(ED25519, &json!({"kty": "EC"})), ed25519),
            (
                P521.to_owned(),
                Algorithms::of([Algorithm::Rs512, Algorithm::Ps512]),
            ),
            // A key set never gives a key to an HMAC algorithm.
            (RSA.to_owned(), hmac),
            (P256.to_owned(), hmac),
            (ED25519.to_owned(), hmac),
            (jwk(RSA, &json!({"alg": "PS256"})), rs256()),
            (jwk(RSA, &json!({"alg": "HS256"})), rs256()),
            (jwk(RSA, &json!({"alg": "none"})), rs256()),
            (P256.to_owned(), rs256()),
            (ED25519.to_owned(), rs256()),
            (RSA.to_owned(), es256),
            (P384.to_owned(), es256),
            (jwk(P256, &json!({"crv": "P-384"})), es256),
            (
                jwk(ED25519, &json!({"crv": "Ed448"})),
                Algorithms::of([Algorithm::EdDsa]),
            ),
        ] {
            assert_eq!(
                unusable(&json, accepted),
                Some(Unusable::NoAcceptedAlgorithm),
                "{json}"
            );
        }
    }

    #[test]
    fn keys_not_meant_for_verifying_signatures_are_not_used() {
        for (changes, reason) in [
            (json!({"use": "enc"}), Unusable::NotForSignatures),
            (json!({"key_ops": ["sign"]}), Unusable::NotForVerifying),
            (json!({"key_ops": []}), Unusable::NotForVerifying),
            (json!({"d": "AQAB"}), Unusable::PrivateMembers),
            (json!({"p": "AQAB", "q": "AQAB"}), Unusable::PrivateMembers),
            (json!({"kty": "oct", "k": "c2VjcmV0"}), Unusable::Symmetric),
            (json!({"k": "c2VjcmV0"}), Unusable::Symmetric),
            (json!({"n": 5}), Unusable::Malformed),
            (json!({"n": "not base64!"}), Unusable::Malformed),
            (json!({"e": null}), Unusable::Malformed),
            (json!({"kid": 7}), Unusable::Malformed),
        ] {
            assert_eq!(
                unusable(&jwk(RSA, &changes), rs256()),
                Some(reason.clone()),
                "{changes}"
            );
        }
        for fine in [
            json!({"use": "sig"}),
            json!({"key_ops": ["verify"]}),
            json!({"key_ops": ["sign", "verify"], "x5t": "thumb", "x5c": ["cert"]}),
        ] {
            assert_eq!(unusable(&jwk(RSA, &fine), rs256()), None, "{fine}");
        }
    }

    #[test]
    fn reasons_for_skipping_a_key_say_what_is_wrong() {
        for (reason, text) in [
            (Unusable::Malformed, "not a well-formed JWK"),
            (Unusable::PrivateMembers, "it carries private key members"),
            (Unusable::Symmetric, "a symmetric (oct) key"),
            (Unusable::NotForSignatures, "its use is not sig"),
            (Unusable::NotForVerifying, "its key_ops lack verify"),
            (
                Unusable::NoAcceptedAlgorithm,
                "its alg or key type fits no accepted algorithm",
            ),
            (
                Unusable::RsaSize(1024),
                "an RSA modulus of 1024 bits (2048 to 8192 accepted)",
            ),
            (
                Unusable::Rejected,
                "the crypto library refused its key material",
            ),
        ] {
            assert_eq!(reason.to_string(), text);
        }
    }

    #[test]
    fn rsa_moduli_outside_2048_to_8192_bits_are_refused() {
        assert_eq!(unusable(RSA_1024, rs256()), Some(Unusable::RsaSize(1024)));
        let four_k = include_str!("../../tests/data/keys/rsa4096.jwk.json");
        assert_eq!(unusable(four_k, rs256()), None);
        let eight_k = include_str!("../../tests/data/keys/rsa8192.jwk.json");
        assert_eq!(unusable(eight_k, rs256()), None);
    }

    #[test]
    fn a_repeated_member_makes_the_key_malformed() {
        let twice = RSA.replacen("\"kty\": \"RSA\"", "\"kty\": \"RSA\", \"kty\": \"RSA\"", 1);
        assert_ne!(twice, RSA);
        assert_eq!(unusable(&twice, rs256()), Some(Unusable::Malformed));
    }

    #[test]
    fn points_off_the_curve_are_refused() {
        let off = jwk(
            P256,
            &json!({"y": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
        );
        assert_eq!(
            unusable(&off, Algorithms::of([Algorithm::Es256])),
            Some(Unusable::Rejected)
        );
        for (base, alg, size) in [(P384, Algorithm::Es384, 48), (P521, Algorithm::Es512, 66)] {
            let zero = URL_SAFE_NO_PAD.encode(vec![0u8; size]);
            let off = jwk(base, &json!({ "y": zero }));
            assert_eq!(
                unusable(&off, Algorithms::of([alg])),
                Some(Unusable::Rejected),
                "{alg}"
            );
        }
    }

    #[test]
    fn ec_coordinates_must_be_the_full_field_size() {
        // RFC 7518 §6.2.1.2: a coordinate of the curve's full size, leading zeros kept. A
        // P-521 coordinate is 66 bytes; one byte more or less is refused.
        for (base, alg) in [
            (P256, Algorithm::Es256),
            (P384, Algorithm::Es384),
            (P521, Algorithm::Es512),
        ] {
            let x: Value = serde_json::from_str::<Value>(base).unwrap()["x"].clone();
            let bytes = URL_SAFE_NO_PAD.decode(x.as_str().unwrap()).unwrap();
            let longer = URL_SAFE_NO_PAD.encode([&[0u8][..], &bytes].concat());
            let shorter = URL_SAFE_NO_PAD.encode(&bytes[1..]);
            for changed in [longer, shorter] {
                assert_eq!(
                    unusable(&jwk(base, &json!({ "x": changed })), Algorithms::of([alg])),
                    Some(Unusable::Rejected),
                    "{alg}"
                );
            }
        }
    }

    #[test]
    fn one_bad_key_is_skipped_and_a_set_without_a_good_one_fails() {
        let good = jwk(RSA, &json!({"kid": "good"}));
        let bad = jwk(RSA, &json!({"kid": "bad", "use": "enc"}));
        let parsed = set(&[bad.clone(), good], rs256()).unwrap();
        assert_eq!(parsed.len(), 1);
        assert!(matches!(
            parsed.find(Algorithm::Rs256, Some("good")),
            Lookup::Found(_)
        ));
        assert!(matches!(
            parsed.find(Algorithm::Rs256, Some("bad")),
            Lookup::UnknownKid
        ));
        assert_eq!(
            set(&[bad.clone(), bad], rs256()).unwrap_err(),
            JwkSetError::NoUsableKey { skipped: 2 }
        );
        assert_eq!(
            set(&[], rs256()).unwrap_err(),
            JwkSetError::NoUsableKey { skipped: 0 }
        );
    }

    #[test]
    fn documents_that_are_not_small_key_sets_fail() {
        for document in [
            &b"[]"[..],
            b"{}",
            b"{\"keys\": {}}",
            b"{\"keys\": [], \"keys\": []}",
            b"\xff",
        ] {
            assert_eq!(
                JwkSet::parse(document, rs256()).unwrap_err(),
                JwkSetError::NotAKeySet,
                "{document:?}"
            );
        }
        let many = vec![jwk(RSA, &json!({})); MAX_KEYS + 1];
        assert_eq!(
            set(&many, rs256()).unwrap_err(),
            JwkSetError::TooManyKeys(101)
        );
        let most = vec![jwk(RSA, &json!({})); MAX_KEYS];
        assert_eq!(set(&most, rs256()).unwrap().len(), MAX_KEYS);
        // A document of exactly 64 KiB is read.
        let document = format!(r#"{{"keys":[{RSA}], "pad": ""}}"#);
        let padded = document.replace(
            r#""pad": """#,
            &format!(
                r#""pad": "{}""#,
                "x".repeat(MAX_DOCUMENT_LEN - document.len())
            ),
        );
        assert_eq!(padded.len(), MAX_DOCUMENT_LEN);
        assert_eq!(JwkSet::parse(padded.as_bytes(), rs256()).unwrap().len(), 1);
        let big = format!(
            r#"{{"keys":[{}], "pad": "{}"}}"#,
            RSA,
            "x".repeat(MAX_DOCUMENT_LEN)
        );
        assert!(matches!(
            JwkSet::parse(big.as_bytes(), rs256()),
            Err(JwkSetError::TooLarge(_))
        ));
    }

    #[test]
    fn kid_picks_the_key_and_without_one_only_a_single_candidate_will_do() {
        let a = jwk(RSA, &json!({"kid": "a"}));
        let b = jwk(
            include_str!("../../tests/data/keys/rsa2048_b.jwk.json"),
            &json!({"kid": "b"}),
        );
        let two = set(&[a.clone(), b], rs256()).unwrap();
        assert_eq!(two.len(), 2);
        assert!(
            matches!(two.find(Algorithm::Rs256, Some("b")), Lookup::Found(key) if key.kid() == Some("b"))
        );
        assert!(matches!(
            two.find(Algorithm::Rs256, Some("c")),
            Lookup::UnknownKid
        ));
        assert!(matches!(
            two.find(Algorithm::Ps256, Some("a")),
            Lookup::UnknownKid
        ));
        assert!(matches!(
            two.find(Algorithm::Rs256, None),
            Lookup::Ambiguous
        ));
        let one = set(&[a], rs256()).unwrap();
        assert!(matches!(one.find(Algorithm::Rs256, None), Lookup::Found(_)));
    }

    #[test]
    fn debug_shows_kids_and_algorithms_only() {
        let parsed = set(&[jwk(RSA, &json!({"kid": "k1"}))], rs256()).unwrap();
        let n = serde_json::from_str::<Value>(RSA).unwrap()["n"]
            .as_str()
            .unwrap()
            .to_owned();
        let printed = format!("{parsed:?}");
        assert!(
            printed.contains("k1") && printed.contains("RS256"),
            "{printed}"
        );
        assert!(!printed.contains(&n[..20]), "{printed}");
    }

    /// The published vectors: RFC 7515 A.2 (RS256), A.3 (ES256), A.4 (ES512) and RFC 8037
    /// A.4/A.5 (Ed25519 signing and validation, under `EdDSA`), and A.4's input relabelled
    /// `Ed25519` and signed with RFC 8037 A.1's key (`tests/data/sign_tokens.py`).
    #[test]
    fn published_vectors_verify_and_a_changed_signature_does_not() {
        let relabelled: Value =
            serde_json::from_str(include_str!("../../tests/data/independent_tokens.json")).unwrap();
        let rfc8037: Value =
            serde_json::from_str(include_str!("../../tests/data/rfc8037_a4_ed25519.json")).unwrap();
        let ed25519 = json!({
            "jwk": rfc8037["jwk"],
            "token": relabelled["rfc8037_a4_as_ed25519"],
        });
        for (vector, alg) in [
            (
                include_str!("../../tests/data/rfc7515_a2_rs256.json").to_owned(),
                Algorithm::Rs256,
            ),
            (
                include_str!("../../tests/data/rfc7515_a3_es256.json").to_owned(),
                Algorithm::Es256,
            ),
            (
                include_str!("../../tests/data/rfc7515_a4_es512.json").to_owned(),
                Algorithm::Es512,
            ),
            (rfc8037.to_string(), Algorithm::EdDsa),
            (ed25519.to_string(), Algorithm::Ed25519),
        ] {
            let vector: Value = serde_json::from_str(&vector).unwrap();
            let keys = jwk::parse(&vector["jwk"].to_string(), Algorithms::of([alg]))
                .keys
                .unwrap();
            let token = vector["token"].as_str().unwrap();
            let header = URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap();
            let header: Value = serde_json::from_slice(&header).unwrap();
            assert_eq!(header["alg"], alg.name());
            let (input, signature) = token.rsplit_once('.').unwrap();
            assert!(keys[0].verifies(input, signature), "{alg}");
            let mut changed = signature.to_owned();
            let flipped = if changed.starts_with('A') { "B" } else { "A" };
            changed.replace_range(..1, flipped);
            assert!(!keys[0].verifies(input, &changed), "{alg}");
            assert!(!keys[0].verifies(&format!("{input}x"), signature), "{alg}");
        }
    }
}
