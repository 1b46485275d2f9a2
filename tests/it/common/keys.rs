//! The fixture keys of `tests/data/keys`: their public JWKs, and tokens signed with them by
//! jsonwebtoken.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

fn key_file(name: &str) -> String {
    let path = format!("{}/tests/data/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// The private key of fixture `name`, as a PEM file's text.
pub(crate) fn pem(name: &str) -> String {
    key_file(&format!("{name}.pem"))
}

/// The public JWK of fixture key `name`, with `kid` and any `extra` members.
pub(crate) fn jwk(name: &str, kid: &str, extra: &Value) -> Value {
    let mut jwk: Value = serde_json::from_str(&key_file(&format!("{name}.jwk.json"))).unwrap();
    jwk["kid"] = kid.into();
    for (member, value) in extra.as_object().unwrap() {
        jwk[member] = value.clone();
    }
    jwk
}

/// A JWK set document holding `keys`.
pub(crate) fn jwks(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

/// A token over `claims`, signed by jsonwebtoken with fixture key `name` as `alg`, naming
/// `kid`.
pub(crate) fn signed_claims(
    alg: Algorithm,
    name: &str,
    kid: Option<&str>,
    claims: &Value,
) -> String {
    let pem = pem(name);
    let key = match alg {
        Algorithm::RS256 | Algorithm::PS256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
        other => panic!("no fixture key for {other:?}"),
    }
    .unwrap();
    let header = Header {
        kid: kid.map(str::to_owned),
        ..Header::new(alg)
    };
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// A token with the usual claims and scope `read:messages`, signed with fixture key `name`.
pub(crate) fn signed(alg: Algorithm, name: &str, kid: Option<&str>) -> String {
    signed_claims(alg, name, kid, &super::claims("read:messages", json!({})))
}

/// The public JWK of fixture key `name`, exactly as its file has it.
pub(crate) fn public_jwk(name: &str) -> Value {
    serde_json::from_str(&key_file(&format!("{name}.jwk.json"))).unwrap()
}

/// jsonwebtoken's signing key of fixture key `name`, for `alg`.
fn encoding_key(alg: Algorithm, name: &str) -> EncodingKey {
    let pem = pem(name);
    match alg {
        Algorithm::RS256 | Algorithm::PS256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem.as_bytes()),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
        other => panic!("no fixture key for {other:?}"),
    }
    .unwrap()
}

/// A compact JWS of exactly these header and claims objects, signed by jsonwebtoken with
/// fixture key `name` as `alg`, whatever the header says: DPoP proofs of any shape.
pub(crate) fn signed_raw(alg: Algorithm, name: &str, header: &Value, claims: &Value) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature =
        jsonwebtoken::crypto::sign(input.as_bytes(), &encoding_key(alg, name), alg).unwrap();
    format!("{input}.{signature}")
}

/// A DPoP proof (RFC 9449 §4.2) made by jsonwebtoken's own encoder: header `typ`
/// `dpop+jwt`, `alg`, and the public JWK of fixture key `name`; `claims` as given.
pub(crate) fn dpop_proof(alg: Algorithm, name: &str, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.typ = Some("dpop+jwt".to_owned());
    header.jwk = Some(serde_json::from_value(public_jwk(name)).unwrap());
    jsonwebtoken::encode(&header, claims, &encoding_key(alg, name)).unwrap()
}
