//! Encrypted tokens in the validator (feature `jwks`): the private keys a builder collects
//! ([`DecryptionSettings`]), checked against the registration's `token_encryption` into the
//! validator's first step ([`Decryption`]), which turns a JWE into the signed token it holds.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::config::{ConfigError, ResourceServer};
use crate::token::TokenErrorKind;
use crate::token::jwe::{
    self, ContentEncryption, DecryptionKey, JweDecryptionKeys, JweKeyError, JweRules,
};

/// The private keys a builder collects, checked only at `build`.
#[derive(Debug, Default)]
pub(crate) struct DecryptionSettings {
    /// The private key of the registration's `encryption_key`.
    pub(crate) current: Option<PrivateKeyBytes>,
    /// Keys rotated out, each with the `kid` its tokens name, in the order they are tried.
    pub(crate) previous: Vec<(String, PrivateKeyBytes)>,
    /// Content encryptions accepted beside A256GCM.
    pub(crate) also_accept: Vec<ContentEncryption>,
}

impl DecryptionSettings {
    fn is_empty(&self) -> bool {
        self.current.is_none() && self.previous.is_empty() && self.also_accept.is_empty()
    }
}

/// A private key as given (PKCS#8 PEM or DER), zeroized when dropped; `Debug` shows nothing
/// of it.
pub(crate) struct PrivateKeyBytes(pub(crate) Zeroizing<Vec<u8>>);

impl fmt::Debug for PrivateKeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The validator's decryption step: the keys and the header rules of an API whose
/// registration has `token_encryption`.
#[derive(Debug)]
pub(crate) struct Decryption {
    keys: JweDecryptionKeys,
    rules: JweRules,
}

impl Decryption {
    /// The decryption step `api`'s registration and `settings` make: none without
    /// `token_encryption` (and then no key may be given), else its keys, each checked: the
    /// current one against the registration's `pem`, `alg` and `kid`.
    pub(crate) fn from_settings(
        api: &ResourceServer,
        settings: &DecryptionSettings,
    ) -> Result<Option<Arc<Self>>, ConfigError> {
        let Some(registration) = api.token_encryption() else {
            return if settings.is_empty() {
                Ok(None)
            } else {
                Err(ConfigError::DecryptionKeyWithoutTokenEncryption)
            };
        };
        registration.check()?;
        let current = settings
            .current
            .as_ref()
            .ok_or(ConfigError::MissingDecryptionKey)?;
        let alg = registration.alg();
        let mut keys = vec![
            DecryptionKey::from_pkcs8(
                &current.0,
                alg,
                registration.kid(),
                Some(registration.pem()),
            )
            .map_err(config_error)?,
        ];
        for (kid, key) in &settings.previous {
            keys.push(
                DecryptionKey::from_pkcs8(&key.0, alg, Some(kid), None).map_err(config_error)?,
            );
        }
        let keys = JweDecryptionKeys::new(keys).map_err(config_error)?;
        let rules =
            (settings.also_accept.iter()).fold(JweRules::AUTH0, |rules, enc| rules.widen(*enc));
        Ok(Some(Arc::new(Self { keys, rules })))
    }

    /// Whether the JWE `token`'s protected header is one this API's keys take: no
    /// private-key operation.
    pub(crate) fn takes(&self, token: &str) -> bool {
        jwe::header_fits(token, &self.keys, self.rules)
    }

    /// The signed token inside the JWE `token`. A refusal is logged at debug level with the
    /// step that failed, which the answer never names past the header checks.
    pub(crate) fn decrypt(&self, token: &str) -> Result<String, TokenErrorKind> {
        jwe::decrypt(token, &self.keys, self.rules).map_err(|err| {
            tracing::debug!(
                reason = err.kind().reason(),
                failure = ?err.failure(),
                "bearer-guard could not decrypt an access token"
            );
            err.kind()
        })
    }
}

fn config_error(err: JweKeyError) -> ConfigError {
    match err {
        JweKeyError::PublicKeyMismatch => ConfigError::DecryptionKeyMismatch,
        other => ConfigError::InvalidDecryptionKey {
            problem: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::Value;

    use crate::config::TokenEncryption;
    use crate::test_support::{NOW, resource_server, validator};
    use crate::token::jwe::private_key_operations;
    use crate::token::{TokenCache, TokenCacheSettings, TokenValidator, VerifiedToken};

    const KID: &str = "enc-2026";
    const KEY: &str = include_str!("../../tests/data/jwe/rsa2048_enc.pem");
    const SPKI: &str = include_str!("../../tests/data/jwe/rsa2048_enc.pub.pem");
    const CERTIFICATE: &str = include_str!("../../tests/data/jwe/rsa2048_enc.crt.pem");
    const OTHER_KEY: &str = include_str!("../../tests/data/keys/rsa2048.pem");

    fn fixtures() -> Value {
        serde_json::from_str(include_str!("../../tests/data/jwe/fixtures.json")).unwrap()
    }

    fn fixture(group: &str, name: &str) -> String {
        fixtures()[group][name].as_str().unwrap().to_owned()
    }

    fn key(pkcs8: impl AsRef<[u8]>) -> PrivateKeyBytes {
        PrivateKeyBytes(Zeroizing::new(pkcs8.as_ref().to_vec()))
    }

    fn settings(current: Option<&str>, previous: &[(&str, &str)]) -> DecryptionSettings {
        DecryptionSettings {
            current: current.map(key),
            previous: previous
                .iter()
                .map(|(kid, pem)| ((*kid).to_owned(), key(pem)))
                .collect(),
            also_accept: Vec::new(),
        }
    }

    fn encrypted_api(registration: TokenEncryption) -> ResourceServer {
        resource_server().with_token_encryption(registration)
    }

    fn registration(kid: Option<&str>) -> TokenEncryption {
        let registration = TokenEncryption::compact_nested_jwe("RSA-OAEP-256", SPKI);
        match kid {
            Some(kid) => registration.with_kid(kid),
            None => registration,
        }
    }

    fn built(
        api: &ResourceServer,
        settings: &DecryptionSettings,
    ) -> Result<Option<Arc<Decryption>>, ConfigError> {
        Decryption::from_settings(api, settings)
    }

    /// The demo validator, decrypting with the fixture key registered with `kid`, with the
    /// verified-token cache.
    fn decrypting(kid: Option<&str>) -> TokenValidator {
        let decryption = built(&encrypted_api(registration(kid)), &settings(Some(KEY), &[]))
            .unwrap()
            .unwrap();
        TokenValidator {
            decryption: Some(decryption),
            cache: TokenCache::new(&TokenCacheSettings::default())
                .unwrap()
                .map(Arc::new),
            ..validator()
        }
    }

    /// Validates `token`, and counts the private-key operations that took.
    fn run(
        validator: &TokenValidator,
        token: &str,
    ) -> (Result<VerifiedToken, TokenErrorKind>, usize) {
        let before = private_key_operations();
        let result = validator.verify(token, NOW, None);
        (result, private_key_operations() - before)
    }

    fn der_of(pem: &str) -> Vec<u8> {
        let body: String = pem
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        STANDARD.decode(body.trim()).unwrap()
    }

    #[test]
    fn without_token_encryption_no_key_is_taken() {
        assert!(
            built(&resource_server(), &settings(None, &[]))
                .unwrap()
                .is_none()
        );
        for given in [
            settings(Some(KEY), &[]),
            settings(None, &[("old", OTHER_KEY)]),
        ] {
            let err = built(&resource_server(), &given).unwrap_err();
            assert_eq!(err, ConfigError::DecryptionKeyWithoutTokenEncryption);
            assert!(
                err.to_string().contains("register token_encryption"),
                "{err}"
            );
        }
    }

    #[test]
    fn token_encryption_without_a_private_key_fails() {
        for given in [settings(None, &[]), settings(None, &[("old", KEY)])] {
            let err = built(&encrypted_api(registration(None)), &given).unwrap_err();
            assert_eq!(err, ConfigError::MissingDecryptionKey);
            assert!(err.to_string().contains("TOKEN_DECRYPTION_KEY"), "{err}");
        }
    }

    #[test]
    fn a_private_key_whose_public_half_is_not_the_registrations_fails() {
        let err = built(
            &encrypted_api(registration(None)),
            &settings(Some(OTHER_KEY), &[]),
        )
        .unwrap_err();
        assert_eq!(err, ConfigError::DecryptionKeyMismatch);
        assert!(err.to_string().contains("does not match"), "{err}");
    }

    #[test]
    fn the_key_is_pem_or_der_and_the_pem_a_public_key_or_a_crlf_certificate() {
        let token = fixture("valid", "oaep256_kid_cty");
        let crlf_spki = SPKI.replace('\n', "\r\n");
        for pem in [SPKI, &crlf_spki, CERTIFICATE] {
            let api = encrypted_api(TokenEncryption::compact_nested_jwe("RSA-OAEP-256", pem));
            for private in [key(KEY), key(der_of(KEY))] {
                let given = DecryptionSettings {
                    current: Some(private),
                    ..DecryptionSettings::default()
                };
                let decryption = built(&api, &given).unwrap().unwrap();
                assert_eq!(
                    decryption.decrypt(&token),
                    Ok(fixtures()["inner_jws"].as_str().unwrap().to_owned())
                );
            }
        }
    }

    #[test]
    fn unusable_keys_and_registrations_fail_saying_what_is_wrong() {
        let api = encrypted_api(registration(None));
        for (given, says) in [
            (
                settings(
                    Some("-----BEGIN RSA PRIVATE KEY-----\nAA\n-----END RSA PRIVATE KEY-----"),
                    &[],
                ),
                "PKCS#8",
            ),
            (settings(Some("not a key"), &[]), "PKCS#8"),
            (settings(Some(KEY), &[("", KEY)]), "kid"),
            (settings(Some(KEY), &[("a", KEY), ("a", KEY)]), "\"a\""),
            (
                settings(Some(KEY), &[("a", KEY), ("b", KEY), ("c", KEY), ("d", KEY)]),
                "at most 4",
            ),
        ] {
            let err = built(&api, &given).unwrap_err();
            assert!(
                matches!(err, ConfigError::InvalidDecryptionKey { .. }),
                "{err}"
            );
            assert!(err.to_string().contains(says), "{says}: {err}");
            assert!(!err.to_string().contains("MII"), "{err}");
        }
        assert!(
            built(
                &api,
                &settings(Some(KEY), &[("a", KEY), ("b", KEY), ("c", KEY)])
            )
            .is_ok()
        );
        let not_a_public_key = TokenEncryption::compact_nested_jwe("RSA-OAEP-256", KEY);
        assert!(matches!(
            built(&encrypted_api(not_a_public_key), &settings(Some(KEY), &[])),
            Err(ConfigError::InvalidDecryptionKey { .. })
        ));
    }

    #[test]
    fn a_registration_read_by_the_callers_own_serde_is_checked_at_build() {
        for (encryption, expected) in [
            (
                r#"{"format": "compact-jwe", "encryption_key": {"alg": "RSA-OAEP-256", "pem": ""}}"#,
                ConfigError::UnknownTokenEncryptionFormat {
                    format: "compact-jwe".into(),
                },
            ),
            (
                r#"{"format": "compact-nested-jwe", "encryption_key": {"alg": "RSA1_5", "pem": ""}}"#,
                ConfigError::UnsupportedTokenEncryptionAlgorithm {
                    alg: "RSA1_5".into(),
                },
            ),
        ] {
            let api: ResourceServer = serde_json::from_str(&format!(
                r#"{{"identifier": "https://my-api-urn", "signing_alg": "HS256", "token_encryption": {encryption}}}"#
            ))
            .unwrap();
            assert_eq!(
                built(&api, &settings(Some(KEY), &[])).unwrap_err(),
                expected
            );
            let from_json = ResourceServer::from_json(&format!(
                r#"{{"identifier": "https://my-api-urn", "signing_alg": "HS256", "token_encryption": {encryption}}}"#
            ));
            assert_eq!(from_json.unwrap_err(), expected);
        }
    }

    #[test]
    fn an_encrypted_token_is_decrypted_then_verified_as_any_signed_token() {
        for (kid, name) in [(Some(KID), "oaep256_kid_cty"), (None, "oaep256_no_kid")] {
            let (result, operations) = run(&decrypting(kid), &fixture("valid", name));
            assert_eq!(result.unwrap().subject(), Some("client@clients"), "{name}");
            assert_eq!(operations, 1, "{name}");
        }
    }

    #[test]
    fn with_token_encryption_a_plain_jws_is_refused_before_any_private_key_operation() {
        let inner = fixtures()["inner_jws"].as_str().unwrap().to_owned();
        assert!(validator().verify(&inner, NOW, None).is_ok());
        let (result, operations) = run(&decrypting(Some(KID)), &inner);
        assert_eq!(result.map(|_| ()), Err(TokenErrorKind::NotEncrypted));
        assert_eq!(operations, 0);
    }

    #[test]
    fn without_token_encryption_a_jwe_is_malformed_as_before() {
        let (result, operations) = run(&validator(), &fixture("valid", "oaep256_kid_cty"));
        assert_eq!(result.map(|_| ()), Err(TokenErrorKind::Malformed));
        assert_eq!(operations, 0);
    }

    #[test]
    fn a_repeated_jwe_is_a_cache_hit_without_a_private_key_operation() {
        let validator = decrypting(Some(KID));
        let token = fixture("valid", "oaep256_kid_cty");
        assert_eq!(run(&validator, &token).1, 1);
        for _ in 0..3 {
            let (result, operations) = run(&validator, &token);
            assert_eq!(result.unwrap().subject(), Some("client@clients"));
            assert_eq!(operations, 0);
        }
        let status = validator.token_cache_status().unwrap();
        assert_eq!((status.misses, status.hits, status.entries), (1, 3, 1));
        // The cache holds the JWE's text: the signed token inside is not a hit.
        let inner = fixtures()["inner_jws"].as_str().unwrap().to_owned();
        assert_eq!(
            run(&validator, &inner).0.map(|_| ()),
            Err(TokenErrorKind::NotEncrypted)
        );
        // Another JWE of the same JWS is another entry, and another RSA operation.
        let (result, operations) = run(&validator, &fixture("valid", "oaep256_built_here"));
        assert!(result.is_ok());
        assert_eq!(operations, 1);
    }

    #[test]
    fn a_7_9_kb_jwe_passes_the_default_cap_and_one_over_it_is_refused_before_decoding() {
        let validator = decrypting(Some(KID));
        assert_eq!(validator.max_token_len, 8192);
        let large = fixture("size_cap", "jwe_7_9_kb");
        assert!((7900..8000).contains(&large.len()));
        let (result, operations) = run(&validator, &large);
        assert_eq!(result.unwrap().subject(), Some("client@clients"));
        assert_eq!(operations, 1);
        let over = fixture("size_cap", "jwe_over_8_kib");
        assert!(over.len() > 8192);
        let (result, operations) = run(&validator, &over);
        assert_eq!(result.map(|_| ()), Err(TokenErrorKind::TooLarge));
        assert_eq!(operations, 0);
    }

    #[test]
    fn every_refusal_of_the_fixtures_answers_its_kind_through_the_validator() {
        use TokenErrorKind as K;
        let validator = decrypting(Some(KID));
        for (name, token) in fixtures()["undecryptable"].as_object().unwrap() {
            let (result, operations) = run(&validator, token.as_str().unwrap());
            assert_eq!(result.map(|_| ()), Err(K::Undecryptable), "{name}");
            assert_eq!(operations, 1, "{name}");
        }
        for (name, expected) in [
            ("alg_rsa1_5", K::UnsupportedEncryption),
            ("alg_dir", K::UnsupportedEncryption),
            ("alg_rsa_oaep_sha1", K::UnsupportedEncryption),
            ("enc_a128gcm", K::UnsupportedEncryption),
            ("zip_def", K::UnsupportedEncryption),
            ("crit", K::CriticalHeader),
            ("cty_json", K::UnsupportedEncryption),
            ("duplicate_alg", K::Malformed),
            ("duplicate_enc", K::Malformed),
            ("wrong_kid", K::UnknownKeyId),
            ("iv_16_bytes", K::Malformed),
            ("encrypted_key_3072_bits", K::Malformed),
        ] {
            let (result, operations) = run(&validator, &fixture("refused_before_rsa", name));
            assert_eq!(result.map(|_| ()), Err(expected), "{name}");
            assert_eq!(operations, 0, "{name}");
        }
        // Nothing refused was cached.
        assert_eq!(validator.token_cache_status().unwrap().entries, 0);
    }

    #[test]
    fn a_tampered_byte_in_each_of_the_five_segments_is_refused() {
        let validator = decrypting(Some(KID));
        let token = fixture("valid", "oaep256_kid_cty");
        let segments: Vec<&str> = token.split('.').collect();
        for (index, segment) in segments.iter().enumerate() {
            // The middle character's low bit: still base64url, another byte.
            let mut bytes = segment.as_bytes().to_vec();
            let at = bytes.len() / 2;
            bytes[at] = match bytes[at] {
                b'A' => b'B',
                b'-' => b'_',
                other => other ^ 1,
            };
            let mut tampered = segments.clone();
            let changed = String::from_utf8(bytes).unwrap();
            tampered[index] = &changed;
            let (result, _) = run(&validator, &tampered.join("."));
            let kind = result.map(|_| ()).unwrap_err();
            // The header's byte may break its JSON or its names (before RSA); every other
            // segment's fails after it, with the one answer.
            if index == 0 {
                assert!(
                    matches!(
                        kind,
                        TokenErrorKind::Malformed
                            | TokenErrorKind::UnsupportedEncryption
                            | TokenErrorKind::UnknownKeyId
                            | TokenErrorKind::Undecryptable
                    ),
                    "segment 0: {kind:?}"
                );
            } else {
                assert_eq!(kind, TokenErrorKind::Undecryptable, "segment {index}");
            }
        }
    }

    #[test]
    fn a_content_encryption_beside_a256gcm_is_taken_only_when_asked_for() {
        let token = fixture("refused_before_rsa", "enc_a128gcm");
        let (result, operations) = run(&decrypting(None), &token);
        assert!(result.is_err());
        assert_eq!(operations, 0);
        let widened = DecryptionSettings {
            also_accept: vec![ContentEncryption::A128Gcm],
            ..settings(Some(KEY), &[])
        };
        let decryption = built(&encrypted_api(registration(None)), &widened)
            .unwrap()
            .unwrap();
        let validator = TokenValidator {
            decryption: Some(decryption),
            ..validator()
        };
        let (result, operations) = run(&validator, &token);
        assert_eq!(result.unwrap().subject(), Some("client@clients"));
        assert_eq!(operations, 1);
        // Widening means nothing without token_encryption: refused, not ignored.
        let alone = DecryptionSettings {
            also_accept: vec![ContentEncryption::A128Gcm],
            ..DecryptionSettings::default()
        };
        assert_eq!(
            built(&resource_server(), &alone).unwrap_err(),
            ConfigError::DecryptionKeyWithoutTokenEncryption
        );
    }

    #[test]
    fn debug_shows_no_key_material() {
        let given = settings(Some(KEY), &[("old", KEY)]);
        let shown = format!("{given:?}");
        assert!(!shown.contains("MII"), "{shown}");
        let decryption = built(&encrypted_api(registration(Some(KID))), &given)
            .unwrap()
            .unwrap();
        let shown = format!("{decryption:?}");
        assert!(
            shown.contains("enc-2026") && !shown.contains("MII"),
            "{shown}"
        );
    }
}
