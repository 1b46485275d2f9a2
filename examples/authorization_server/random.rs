//! Identifiers and secrets from the operating system's CSPRNG.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The OS gave no random bytes; nothing secret can be made without them.
#[derive(Debug)]
pub(crate) struct NoRandomness;

impl std::fmt::Display for NoRandomness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the operating system gave no random bytes")
    }
}

impl std::error::Error for NoRandomness {}

fn random_bytes<const N: usize>() -> Result<[u8; N], NoRandomness> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|_| NoRandomness)?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A resource server's `id`: 24 hex characters, like the Management API's.
pub(crate) fn resource_server_id() -> Result<String, NoRandomness> {
    random_bytes::<12>().map(|bytes| hex(&bytes))
}

/// A client grant's `id`: `cgr_` and 16 hex characters.
pub(crate) fn client_grant_id() -> Result<String, NoRandomness> {
    random_bytes::<8>().map(|bytes| format!("cgr_{}", hex(&bytes)))
}

/// A `client_id`: 32 hex characters.
pub(crate) fn client_id() -> Result<String, NoRandomness> {
    random_bytes::<16>().map(|bytes| hex(&bytes))
}

/// A `client_secret`: 48 random bytes, 64 base64url characters.
pub(crate) fn client_secret() -> Result<String, NoRandomness> {
    random_bytes::<48>().map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
}

/// A `signing_secret`: 32 random bytes (HS256's key size), 43 base64url characters.
pub(crate) fn signing_secret() -> Result<String, NoRandomness> {
    random_bytes::<32>().map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
}

/// A token's `jti`: 16 random bytes, 22 base64url characters.
pub(crate) fn jti() -> Result<String, NoRandomness> {
    random_bytes::<16>().map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
}

/// A signing key's `kid`: 16 random bytes, 22 base64url characters.
pub(crate) fn kid() -> Result<String, NoRandomness> {
    random_bytes::<16>().map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
}
