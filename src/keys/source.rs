//! Where an API's verification keys come from ([`KeySource`]), built from the key settings a
//! builder collects ([`KeySettings`]) with every check of its own: the HMAC secrets, or the
//! public keys of a JWK set (static, fetched from a URL, or found by discovery).

#[cfg(feature = "jwks")]
use std::fmt;
#[cfg(feature = "jwks")]
use std::sync::Arc;

use crate::config::ConfigError;
use crate::config::ResourceServer;
use crate::keys::algorithm::{Algorithm, Algorithms};
use crate::keys::hmac::{HmacKey, HmacKeys, MAX_KEYS};
use crate::keys::secret::SigningSecret;
#[cfg(feature = "jwks")]
use crate::keys::{JwkSet, JwksFetcher, KeyCache, KeyCacheSettings, Location};

/// The keys a validator verifies with.
#[derive(Debug, Clone)]
pub(crate) enum KeySource {
    /// HS256, HS384 or HS512: the resource server's secret, current first, then the
    /// previous ones.
    Secrets(HmacKeys),
    /// Public keys from a JWK set given at startup, parsed once (feature `jwks`).
    #[cfg(feature = "jwks")]
    KeySet(Arc<JwkSet>),
    /// Public keys from the key cache, fetched and refreshed in the background.
    #[cfg(feature = "jwks")]
    Cache(Arc<KeyCache>),
}

/// What a builder collects about keys besides the registration.
#[derive(Debug, Default)]
pub(crate) struct KeySettings {
    pub(crate) allow_short_secret: bool,
    /// The key id of the resource server's own secret.
    pub(crate) signing_secret_kid: Option<String>,
    /// Secrets accepted besides the resource server's, in the order they are tried.
    pub(crate) other_secrets: Vec<(Option<String>, SigningSecret)>,
    /// Where the public keys come from, for an API signed with them.
    #[cfg(feature = "jwks")]
    pub(crate) public: PublicKeySettings,
}

/// Where an API signed with public keys finds them (feature `jwks`).
#[cfg(feature = "jwks")]
#[derive(Debug, Default)]
pub(crate) struct PublicKeySettings {
    /// A JWK set document given at startup.
    pub(crate) static_jwks: Option<String>,
    /// Where to fetch the JWK set, instead of discovering it from the issuer.
    pub(crate) jwks_uri: Option<String>,
    pub(crate) fetcher: Option<Fetcher>,
    pub(crate) cache: KeyCacheSettings,
    /// Algorithms accepted besides the resource server's `signing_alg`.
    pub(crate) also_accepted: Vec<Algorithm>,
}

/// A fetcher given to the builder; its `Debug` names it only.
#[cfg(feature = "jwks")]
pub(crate) struct Fetcher(pub(crate) Arc<dyn JwksFetcher>);

#[cfg(feature = "jwks")]
impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwksFetcher")
    }
}

impl KeySource {
    /// The keys of `api` as `settings` say, and the algorithms they verify; `issuer` is where
    /// discovery starts for keys that are fetched.
    pub(crate) fn from_settings(
        api: &ResourceServer,
        settings: &KeySettings,
        issuer: Option<&str>,
    ) -> Result<(Self, Algorithms), ConfigError> {
        match api.algorithm()? {
            alg if !alg.is_asymmetric() => Ok((settings.secrets(api)?, Algorithms::of([alg]))),
            alg => settings.public_keys(alg, issuer),
        }
    }
}

impl KeySource {
    /// The keys of `issuer`, an issuer after the first of an API with several, whose first
    /// issuer verifies with `self`: a key cache of its own, found by its own discovery, where
    /// the first's keys are fetched (each issuer publishes its own discovery document); `None`,
    /// the first's keys shared, for an HMAC secret (the resource server's one secret signs for
    /// every domain) or a static JWK set (given once, for every issuer).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidIssuers`] with `jwks_uri`, which names one issuer's JWK set;
    /// the errors of the key cache.
    pub(crate) fn for_another_issuer(
        &self,
        api: &ResourceServer,
        settings: &KeySettings,
        issuer: &str,
    ) -> Result<Option<Self>, ConfigError> {
        #[cfg(not(feature = "jwks"))]
        let _ = (api, settings, issuer);
        match self {
            Self::Secrets(_) => Ok(None),
            #[cfg(feature = "jwks")]
            Self::KeySet(_) => Ok(None),
            #[cfg(feature = "jwks")]
            Self::Cache(_) => {
                if settings.public.jwks_uri.is_some() {
                    return Err(ConfigError::InvalidIssuers {
                        problem: "jwks_uri names one JWK set, and each of several issuers has its own, found by its own discovery: drop jwks_uri (or give the keys every issuer signs with to static_jwks)".to_owned(),
                    });
                }
                Self::from_settings(api, settings, Some(issuer)).map(|(keys, _)| Some(keys))
            }
        }
    }
}

impl KeySettings {
    /// The HMAC secrets, checked, for an HS256, HS384 or HS512 API.
    fn secrets(&self, api: &ResourceServer) -> Result<KeySource, ConfigError> {
        #[cfg(feature = "jwks")]
        self.public.refuse_for_hs256()?;
        let (alg, secret) = api.hmac_secret()?;
        let keys = key_set(
            alg,
            (self.signing_secret_kid.as_deref(), secret),
            &self.other_secrets,
            self.allow_short_secret,
        )?;
        Ok(KeySource::Secrets(keys))
    }

    /// The public keys, and the algorithms they verify, for an API signed with `alg`.
    #[cfg(feature = "jwks")]
    fn public_keys(
        &self,
        alg: Algorithm,
        issuer: Option<&str>,
    ) -> Result<(KeySource, Algorithms), ConfigError> {
        self.refuse_secret_settings(alg)?;
        self.public.keys(alg, issuer)
    }

    /// Without the `jwks` feature, an API signed with public keys cannot be verified.
    #[cfg(not(feature = "jwks"))]
    fn public_keys(
        &self,
        alg: Algorithm,
        _: Option<&str>,
    ) -> Result<(KeySource, Algorithms), ConfigError> {
        self.refuse_secret_settings(alg)?;
        Err(ConfigError::AlgorithmNeedsJwksFeature {
            alg: alg.name().to_owned(),
        })
    }

    /// Refuses the HS256 secret settings for an API signed with `alg`, which has no secret.
    fn refuse_secret_settings(&self, alg: Algorithm) -> Result<(), ConfigError> {
        let setting = if !self.other_secrets.is_empty() {
            Some("previous_secret / secret_with_kid")
        } else if self.signing_secret_kid.is_some() {
            Some("signing_secret_kid")
        } else if self.allow_short_secret {
            Some("allow_short_secret")
        } else {
            None
        };
        match setting {
            Some(setting) => Err(ConfigError::SecretSettingWithoutHs256 {
                setting,
                alg: alg.name().to_owned(),
            }),
            None => Ok(()),
        }
    }
}

#[cfg(feature = "jwks")]
impl PublicKeySettings {
    /// Refuses the public-key settings for an HS256 API, which verifies with its secret.
    fn refuse_for_hs256(&self) -> Result<(), ConfigError> {
        for (setting, given) in [
            ("static_jwks", self.static_jwks.is_some()),
            ("jwks_uri", self.jwks_uri.is_some()),
            ("jwks_fetcher", self.fetcher.is_some()),
            ("also_accept_algorithm", !self.also_accepted.is_empty()),
        ] {
            if given {
                return Err(ConfigError::KeySetSettingForHs256 { setting });
            }
        }
        Ok(())
    }

    /// The public keys for `alg` (and the algorithms added to it): the static set, or a key
    /// cache that fetches from the configured URL or by discovery from `issuer`.
    fn keys(
        &self,
        alg: Algorithm,
        issuer: Option<&str>,
    ) -> Result<(KeySource, Algorithms), ConfigError> {
        if let Some(added) = self
            .also_accepted
            .iter()
            .find(|added| !added.is_asymmetric())
        {
            return Err(ConfigError::UnsupportedAlgorithm {
                alg: format!(
                    "{added} (from also_accept_algorithm: HS* never verifies with a JWK set)"
                ),
            });
        }
        let accepted =
            Algorithms::of(std::iter::once(alg).chain(self.also_accepted.iter().copied()));
        if let Some(document) = &self.static_jwks {
            let set = JwkSet::parse(document.as_bytes(), accepted).map_err(|err| {
                ConfigError::InvalidJwks {
                    problem: err.to_string(),
                }
            })?;
            return Ok((KeySource::KeySet(Arc::new(set)), accepted));
        }
        // Keys are fetched: from the configured URL, or by discovery from the issuer.
        let location = match (&self.jwks_uri, issuer) {
            (Some(url), _) => Location::JwksUri(url.as_str().into()),
            (None, Some(issuer)) => Location::Discovery {
                issuer: issuer.into(),
            },
            (None, None) => {
                return Err(ConfigError::NoKeySource {
                    alg: alg.name().to_owned(),
                });
            }
        };
        let fetcher = match &self.fetcher {
            Some(Fetcher(fetcher)) => Arc::clone(fetcher),
            None => default_fetcher(alg, &self.cache)?,
        };
        let cache = KeyCache::new(location, accepted, fetcher, self.cache.clone())?;
        Ok((KeySource::Cache(cache), accepted))
    }
}

/// The `reqwest` feature's fetcher, or, without it, the advice to bring one.
#[cfg(feature = "jwks")]
fn default_fetcher(
    alg: Algorithm,
    settings: &KeyCacheSettings,
) -> Result<Arc<dyn JwksFetcher>, ConfigError> {
    #[cfg(feature = "reqwest")]
    {
        let _ = alg;
        Ok(Arc::new(crate::keys::ReqwestFetcher::new(settings)?))
    }
    #[cfg(not(feature = "reqwest"))]
    {
        let _ = settings;
        Err(ConfigError::NoFetcher {
            alg: alg.name().to_owned(),
        })
    }
}

/// Checks every secret and key id, and derives the HMAC keys of `alg`, the resource server's
/// first. A secret is at least the hash size (RFC 7518 §3.2) unless `allow_short_secret`.
fn key_set(
    alg: Algorithm,
    current: (Option<&str>, &SigningSecret),
    others: &[(Option<String>, SigningSecret)],
    allow_short_secret: bool,
) -> Result<HmacKeys, ConfigError> {
    let count = 1 + others.len();
    if count > MAX_KEYS {
        return Err(ConfigError::TooManySecrets {
            count,
            max: MAX_KEYS,
        });
    }
    let all =
        std::iter::once(current).chain(others.iter().map(|(kid, secret)| (kid.as_deref(), secret)));
    let mut entries: Vec<(Option<Box<str>>, HmacKey)> = Vec::with_capacity(count);
    let min = alg.hmac_len().unwrap_or_default();
    for (kid, secret) in all {
        if secret.is_empty() {
            return Err(ConfigError::EmptySecret);
        }
        if secret.len() < min && !allow_short_secret {
            return Err(ConfigError::SecretTooShort {
                len: secret.len(),
                min,
            });
        }
        if let Some(kid) = kid {
            if kid.is_empty() {
                return Err(ConfigError::EmptyKeyId);
            }
            if entries.iter().any(|(seen, _)| seen.as_deref() == Some(kid)) {
                return Err(ConfigError::DuplicateKeyId {
                    kid: kid.to_owned(),
                });
            }
        }
        let key = HmacKey::new(alg, secret).ok_or_else(|| ConfigError::UnsupportedAlgorithm {
            alg: alg.name().to_owned(),
        })?;
        entries.push((kid.map(Box::from), key));
    }
    Ok(HmacKeys::new(alg, entries))
}
