//! The tenant's signing keys, as a tenant keeps them: a current key that signs, a next key
//! already published, previous keys published until revoked.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bearer_guard::Algorithm;
use bearer_guard::issuer::SigningKey;
use serde::Serialize;
use serde_json::Value;

use super::api_error::ApiError;
use super::random;

/// One signing key as `GET /api/v2/keys/signing` shows it: Auth0's field names. `cert` is the
/// PEM public key (a local server has no certificate), and `fingerprint`/`thumbprint` are the
/// SHA-1 of that key's DER, in Auth0's two spellings.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SigningKeyRecord {
    pub(crate) kid: String,
    pub(crate) cert: String,
    pub(crate) fingerprint: String,
    pub(crate) thumbprint: String,
    pub(crate) current: bool,
    pub(crate) next: bool,
    pub(crate) previous: bool,
    pub(crate) revoked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) current_since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) current_until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) revoked_at: Option<String>,
}

/// `POST …/rotate` and `PUT …/revoke` answer with the key's `cert` and `kid`, as Auth0 does.
#[derive(Debug, Serialize)]
pub(crate) struct KeyChange {
    pub(crate) cert: String,
    pub(crate) kid: String,
}

/// One key and its history, in seconds since the epoch.
struct TenantKey {
    key: SigningKey,
    current_since: Option<u64>,
    current_until: Option<u64>,
    revoked_at: Option<u64>,
}

/// The keys, oldest first, with the positions of the current and the next one.
pub(crate) struct SigningKeys {
    keys: Vec<TenantKey>,
    current: usize,
    next: usize,
}

impl SigningKeys {
    /// A current RSA-2048 key and a next one, both fresh.
    pub(crate) fn new() -> Result<Self, ApiError> {
        let mut current = TenantKey::generate()?;
        current.current_since = Some(now());
        Ok(Self {
            keys: vec![current, TenantKey::generate()?],
            current: 0,
            next: 1,
        })
    }

    /// The key that signs RS256, RS512 and PS256 tokens now, for `alg`.
    pub(crate) fn current_for(&self, alg: Algorithm) -> Option<SigningKey> {
        self.keys[self.current].key.with_algorithm(alg).ok()
    }

    /// The JWK set: current, next and previous keys not revoked, public members only. RSA keys
    /// are published without `alg`, because one key signs RS256, RS512 and PS256 APIs' tokens.
    pub(crate) fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .filter(|key| key.revoked_at.is_none())
            .map(|key| {
                let mut jwk = key.key.public_jwk();
                if let Some(members) = jwk.as_object_mut() {
                    members.remove("alg");
                }
                jwk
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    pub(crate) fn list(&self) -> Vec<SigningKeyRecord> {
        (0..self.keys.len())
            .map(|index| self.record(index))
            .collect()
    }

    pub(crate) fn get(&self, kid: &str) -> Result<SigningKeyRecord, ApiError> {
        self.index_of(kid).map(|index| self.record(index))
    }

    /// The next key becomes current, the current one previous (still published), and a new
    /// next key is made; answers with the new next key.
    pub(crate) fn rotate(&mut self) -> Result<KeyChange, ApiError> {
        let new_next = TenantKey::generate()?;
        let now = now();
        self.keys[self.current].current_until = Some(now);
        self.keys[self.next].current_since = Some(now);
        self.current = self.next;
        self.keys.push(new_next);
        self.next = self.keys.len() - 1;
        Ok(self.change(self.next))
    }

    /// Revokes a previous key: it leaves the JWK set. Revoking it again changes nothing.
    pub(crate) fn revoke(&mut self, kid: &str) -> Result<KeyChange, ApiError> {
        let index = self.index_of(kid)?;
        if index == self.current || index == self.next {
            let which = if index == self.current {
                "current"
            } else {
                "next"
            };
            return Err(ApiError::bad_request(format!(
                "The {which} signing key cannot be revoked: rotate first, then revoke the previous key"
            )));
        }
        let key = &mut self.keys[index];
        key.revoked_at.get_or_insert_with(now);
        Ok(self.change(index))
    }

    fn index_of(&self, kid: &str) -> Result<usize, ApiError> {
        self.keys
            .iter()
            .position(|key| key.key.kid() == kid)
            .ok_or_else(|| {
                ApiError::not_found(
                    "inexistent_signing_key",
                    format!("No signing key with kid {kid:?}"),
                )
            })
    }

    fn change(&self, index: usize) -> KeyChange {
        let key = &self.keys[index].key;
        KeyChange {
            cert: key.public_key_pem(),
            kid: key.kid().to_owned(),
        }
    }

    fn record(&self, index: usize) -> SigningKeyRecord {
        let key = &self.keys[index];
        let cert = key.key.public_key_pem();
        let der = pem_body(&cert);
        let sha1 = digest(&SHA1_FOR_LEGACY_USE_ONLY, &der);
        let hex: Vec<String> = sha1
            .as_ref()
            .iter()
            .map(|byte| format!("{byte:02X}"))
            .collect();
        SigningKeyRecord {
            kid: key.key.kid().to_owned(),
            cert,
            fingerprint: hex.join(":"),
            thumbprint: hex.concat(),
            current: index == self.current,
            next: index == self.next,
            previous: key.current_until.is_some(),
            revoked: key.revoked_at.is_some(),
            current_since: key.current_since.map(iso8601),
            current_until: key.current_until.map(iso8601),
            revoked_at: key.revoked_at.map(iso8601),
        }
    }
}

impl TenantKey {
    /// A fresh RSA-2048 key with a random `kid` (22 base64url characters, like Auth0's).
    fn generate() -> Result<Self, ApiError> {
        let kid = random::kid()?;
        let key = SigningKey::generate(Algorithm::Rs256, kid)
            .map_err(|err| ApiError::internal(err.to_string()))?;
        Ok(Self {
            key,
            current_since: None,
            current_until: None,
            revoked_at: None,
        })
    }
}

/// The DER inside a PEM block.
fn pem_body(pem: &str) -> Vec<u8> {
    let base64: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    STANDARD.decode(base64).unwrap_or_default()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// `2026-12-01T06:49:04.000Z`, as the Management API writes dates.
pub(crate) fn iso8601(seconds: u64) -> String {
    let days = seconds / 86_400;
    let time = seconds % 86_400;
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let z = days.cast_signed() + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000Z",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

#[cfg(test)]
mod tests {
    use super::iso8601;

    #[test]
    fn dates_are_written_as_the_management_api_writes_them() {
        for (seconds, date) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (951_782_400, "2000-02-29T00:00:00.000Z"),
            (1_700_000_000, "2023-11-14T22:13:20.000Z"),
            (4_107_542_399, "2100-02-28T23:59:59.000Z"),
        ] {
            assert_eq!(iso8601(seconds), date, "{seconds}");
        }
    }
}
