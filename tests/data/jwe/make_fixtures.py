#!/usr/bin/env python3
"""Makes the JWE fixtures of src/token/jwe.rs with implementations that share no code with it.

Run from the repository root: python3 tests/data/jwe/make_fixtures.py
Needs: pip install jwcrypto  (which brings cryptography)

- jwcrypto (1.6) encrypts the RSA-OAEP-256 tokens and signs the inner HS256 JWS.
- jwcrypto has no RSA-OAEP-384 or -512, so those, and every deliberately broken token, are
  built from cryptography's primitives (OAEP, AES-GCM) by `compact` below; jwcrypto decrypts
  the RSA-OAEP-256 token `compact` builds, which checks `compact` itself.
- RFC 7516 A.1 (RSA-OAEP with SHA-1, A256GCM) is decrypted here with cryptography, and its CEK
  written out, so the content decryption can be checked against the published vector.

Every run makes a new key and new tokens: commit all the outputs together.

With `--decrypt TOKEN`, it makes nothing and prints what jwcrypto decrypts TOKEN to with the
committed key instead (to check bearer-guard's TokenEncryptionKey the other way round).
"""

import base64
import datetime
import json
import os
import pathlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from jwcrypto import jwe, jwk, jws
from jwcrypto.common import json_encode

HERE = pathlib.Path(__file__).resolve().parent
KEYS = HERE.parent / "keys"

# The unit tests' resource server (tests/it/common/demo.rs) and issuer (src/test_support.rs).
AUDIENCE = "https://my-api-urn"
SECRET = b"FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5"
ISSUER = "https://issuer.example/"
KID = "enc-2026"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


OAEP = {
    "RSA-OAEP": hashes.SHA1,
    "RSA-OAEP-256": hashes.SHA256,
    "RSA-OAEP-384": hashes.SHA384,
    "RSA-OAEP-512": hashes.SHA512,
}


def oaep(name):
    h = OAEP[name]
    return padding.OAEP(mgf=padding.MGF1(algorithm=h()), algorithm=h(), label=None)


def compact(header, plaintext: bytes, public_key, *, oaep_alg=None, cek=None, iv=None,
            aad_header=None, rsa1_5=False):
    """A compact JWE (RFC 7516 §7.1) with AES-GCM, built step by step.

    `header` is the exact protected-header text (a str, so duplicates and odd spacing survive)
    or a dict. The other arguments break one step on purpose: `oaep_alg` wraps the CEK with
    another OAEP hash than the header's, `cek` sets the CEK (its length picks AES-128/192/256),
    `aad_header` authenticates another header than the one sent.
    """
    text = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
    alg = json.loads(text)["alg"]
    cek = cek if cek is not None else os.urandom(32)
    iv = iv if iv is not None else os.urandom(12)
    if rsa1_5:
        encrypted_key = public_key.encrypt(cek, padding.PKCS1v15())
    elif alg == "dir":
        encrypted_key = b""
    else:
        encrypted_key = public_key.encrypt(cek, oaep(oaep_alg or alg))
    protected = b64(text.encode())
    aad = b64(aad_header.encode()) if aad_header is not None else protected
    sealed = AESGCM(cek).encrypt(iv, plaintext, aad.encode("ascii"))
    ciphertext, tag = sealed[:-16], sealed[-16:]
    return ".".join([protected, b64(encrypted_key), b64(iv), b64(ciphertext), b64(tag)])


def inner_jws(padding: int = 0) -> str:
    claims = {
        "iss": ISSUER,
        "sub": "client@clients",
        "aud": AUDIENCE,
        "iat": 1_700_000_000,
        "exp": 4_102_444_800,
        "scope": "read:messages",
    }
    if padding:
        claims["padding"] = "x" * padding
    token = jws.JWS(json_encode(claims))
    token.add_signature(jwk.JWK(kty="oct", k=b64(SECRET)), alg="HS256",
                        protected=json_encode({"alg": "HS256", "typ": "JWT"}))
    return token.serialize(compact=True)


def self_signed_certificate(private_key) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bearer-guard JWE fixture")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(private_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def main():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key()
    (HERE / "rsa2048_enc.pem").write_bytes(private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (HERE / "rsa2048_enc.pub.pem").write_bytes(public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    # Auth0's dashboard shows the registration's pem with CRLF line ends.
    cert = self_signed_certificate(private).replace(b"\n", b"\r\n")
    (HERE / "rsa2048_enc.crt.pem").write_bytes(cert)

    # A key rotated out (the registration's encryption_key before the current one).
    previous = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (HERE / "rsa2048_enc_previous.pem").write_bytes(previous.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (HERE / "rsa2048_enc_previous.pub.pem").write_bytes(previous.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    # Another key of the same size: the repository's RS256 fixture key.
    other = serialization.load_pem_private_key((KEYS / "rsa2048.pem").read_bytes(), None)
    other_public = other.public_key()

    jwt = inner_jws()
    jwt_bytes = jwt.encode()
    jwk_public = jwk.JWK.from_pyca(public)
    jwk_private = jwk.JWK.from_pyca(private)

    def jwcrypto_encrypt(header: dict) -> str:
        token = jwe.JWE(jwt_bytes, protected=json_encode(header))
        token.add_recipient(jwk_public)
        return token.serialize(compact=True)

    valid = {
        "oaep256_kid_cty": jwcrypto_encrypt(
            {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": KID, "cty": "JWT"}),
        "oaep256_no_kid": jwcrypto_encrypt({"alg": "RSA-OAEP-256", "enc": "A256GCM"}),
        "oaep256_unknown_members": jwcrypto_encrypt(
            {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": KID, "typ": "JWT",
             "x-vendor": {"a": [1, 2]}}),
        "oaep256_built_here": compact(
            {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": KID, "cty": "JWT"}, jwt_bytes,
            public),
    }
    for bits in ("384", "512"):
        alg = f"RSA-OAEP-{bits}"
        valid[f"oaep{bits}_kid_cty"] = compact(
            {"alg": alg, "enc": "A256GCM", "kid": KID, "cty": "JWT"}, jwt_bytes, public)
        valid[f"oaep{bits}_no_kid"] = compact({"alg": alg, "enc": "A256GCM"}, jwt_bytes, public)

    # jwcrypto checks what `compact` built, and what it encrypted itself.
    for name in ("oaep256_built_here", "oaep256_kid_cty", "oaep256_no_kid"):
        token = jwe.JWE()
        token.deserialize(valid[name], key=jwk_private)
        assert token.payload == jwt_bytes, name
    # cryptography checks the -384 and -512 ones, step by step.
    for name, token in valid.items():
        protected, key, iv, ciphertext, tag = token.split(".")
        alg = json.loads(b64d(protected))["alg"]
        cek = private.decrypt(b64d(key), oaep(alg))
        plain = AESGCM(cek).decrypt(b64d(iv), b64d(ciphertext) + b64d(tag), protected.encode())
        assert plain == jwt_bytes, name

    header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": KID, "cty": "JWT"}
    header_text = json.dumps(header, separators=(",", ":"))
    nested = valid["oaep256_no_kid"]
    # Refused after the RSA step: each must give the same answer.
    undecryptable = {
        # The CEK was wrapped with SHA-1 OAEP while the header says RSA-OAEP-256.
        "wrapped_with_sha1": compact(header, jwt_bytes, public, oaep_alg="RSA-OAEP"),
        # Wrapped for another RSA-2048 key.
        "wrapped_for_other_key": compact(header, jwt_bytes, other_public),
        # A 16-byte CEK (AES-128) under an A256GCM header.
        "cek_16_bytes": compact(header, jwt_bytes, public, cek=os.urandom(16)),
        # A 24-byte CEK.
        "cek_24_bytes": compact(header, jwt_bytes, public, cek=os.urandom(24)),
        # The tag covers another protected header (the same without kid).
        "aad_of_another_header": compact(
            header, jwt_bytes, public,
            aad_header='{"alg":"RSA-OAEP-256","enc":"A256GCM","cty":"JWT"}'),
        # Decrypts fine, but what is inside is not a JWS.
        "plaintext_not_jws": compact(header, b"The true sign of intelligence", public),
        "plaintext_json": compact(header, b'{"sub":"client@clients"}', public),
        "plaintext_two_segments": compact(header, b"eyJhbGciOiJIUzI1NiJ9.e30", public),
        "plaintext_not_utf8": compact(header, b"\xff\xfe.\xff.\xff", public),
        # A JWE inside the JWE.
        "plaintext_jwe": compact(header, nested.encode(), public),
    }
    # Refused before any private-key operation, with the segments otherwise real.
    before_rsa = {
        "alg_rsa1_5": compact({"alg": "RSA1_5", "enc": "A256GCM"}, jwt_bytes, public,
                              rsa1_5=True),
        "alg_dir": compact({"alg": "dir", "enc": "A256GCM"}, jwt_bytes, public),
        "alg_rsa_oaep_sha1": compact({"alg": "RSA-OAEP", "enc": "A256GCM"}, jwt_bytes, public),
        "enc_a128gcm": compact({"alg": "RSA-OAEP-256", "enc": "A128GCM"}, jwt_bytes, public,
                               cek=os.urandom(16)),
        "zip_def": compact({"alg": "RSA-OAEP-256", "enc": "A256GCM", "zip": "DEF"},
                           jwt_bytes, public),
        "crit": compact({"alg": "RSA-OAEP-256", "enc": "A256GCM", "crit": ["exp"], "exp": 1},
                        jwt_bytes, public),
        "cty_json": compact({"alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "json"},
                            jwt_bytes, public),
        "duplicate_alg": compact(
            '{"alg":"RSA-OAEP-256","enc":"A256GCM","alg":"RSA-OAEP-256"}', jwt_bytes, public),
        "duplicate_enc": compact(
            '{"alg":"RSA-OAEP-256","enc":"A256GCM","enc":"A256GCM"}', jwt_bytes, public),
        "wrong_kid": compact({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "enc-2025"},
                             jwt_bytes, public),
        "iv_16_bytes": compact(header, jwt_bytes, public, iv=os.urandom(16)),
    }
    # A CEK wrapped for a 3072-bit key: an encrypted key of 384 bytes, not 256.
    big = rsa.generate_private_key(public_exponent=65537, key_size=3072).public_key()
    before_rsa["encrypted_key_3072_bits"] = compact(header, jwt_bytes, big)

    # Against the token size cap (8192 characters by default), jwcrypto's JWEs of a padded
    # JWS: one of 7.9 KB (7,900 to 7,907 characters), which must pass, and one just over the
    # cap, refused before anything is decoded.
    def sized(target: int) -> str:
        def of(padding: int) -> str:
            token = jwe.JWE(inner_jws(padding).encode(), protected=json_encode(header))
            token.add_recipient(jwk_public)
            return token.serialize(compact=True)
        base = len(of(1))
        # Each byte of claims is 4/3 of a byte of JWS, which is 4/3 of a character of JWE.
        padding = max(1, (target - base) * 9 // 16 - 8)
        while len(of(padding)) < target:
            padding += 1
        return of(padding)

    size_cap = {"jwe_7_9_kb": sized(7900), "jwe_over_8_kib": sized(8193)}
    assert 7900 <= len(size_cap["jwe_7_9_kb"]) < 7908
    assert 8193 <= len(size_cap["jwe_over_8_kib"]) < 8201

    # RFC 7516 Appendix A.1 (its compact serialization, and its key as a JWK).
    a1 = json.loads((HERE / "rfc7516_a1.json").read_text())
    a1_key = jwk.JWK(**a1["jwk"]).get_op_key("decrypt")
    protected, key, iv, ciphertext, tag = a1["token"].split(".")
    a1_cek = a1_key.decrypt(b64d(key), oaep("RSA-OAEP"))
    a1_plain = AESGCM(a1_cek).decrypt(b64d(iv), b64d(ciphertext) + b64d(tag), protected.encode())
    assert a1_plain.decode() == a1["plaintext"]

    out = {
        "about": "made by tests/data/jwe/make_fixtures.py; see README.md",
        "kid": KID,
        "inner_jws": jwt,
        "valid": valid,
        "undecryptable": undecryptable,
        "refused_before_rsa": before_rsa,
        "size_cap": size_cap,
        "rfc7516_a1_cek": b64(a1_cek),
    }
    (HERE / "fixtures.json").write_text(json.dumps(out, indent=2) + "\n")


def decrypt(token: str):
    key = jwk.JWK.from_pem((HERE / "rsa2048_enc.pem").read_bytes())
    jwe_token = jwe.JWE()
    jwe_token.deserialize(token, key=key)
    print(json.dumps({"header": json.loads(jwe_token.objects["protected"]),
                      "plaintext": jwe_token.payload.decode()}))


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--decrypt":
        decrypt(sys.argv[2])
    else:
        main()
