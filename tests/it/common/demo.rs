//! The demo resource server's secret and audience, and the one signer that the unit and
//! black-box tests, the benches, the fuzz targets and the soak tool mint tokens with:
//! jsonwebtoken, never the code under test. Each of them includes this file by path.

#![allow(dead_code)] // Each includer uses its own share.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};

/// The demo resource server's `signing_secret` (public: demo and tests only).
pub(crate) const SECRET: &str = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";

/// The demo resource server's identifier: the tokens' audience.
pub(crate) const AUDIENCE: &str = "https://my-api-urn";

/// A compact JWS of exactly these header and payload bytes, signed with `secret` by
/// jsonwebtoken using the HMAC `alg`, whatever the header says.
pub(crate) fn sign(alg: Algorithm, secret: &[u8], header: &[u8], payload: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature =
        jsonwebtoken::crypto::sign(input.as_bytes(), &EncodingKey::from_secret(secret), alg)
            .unwrap_or_else(|err| panic!("jsonwebtoken refused to sign with {alg:?}: {err}"));
    format!("{input}.{signature}")
}
