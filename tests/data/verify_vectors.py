#!/usr/bin/env python3
"""Re-verify the published JWS vectors in this directory (needs: pip install cryptography).

For each JSON file: the signature over `header.payload` must verify with the public JWK,
a one-bit change to the signature must not, and the decoded payload must equal "payload".
Run from anywhere: python3 tests/data/verify_vectors.py
"""
import base64, json, os
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

HERE = os.path.dirname(os.path.abspath(__file__))

def b64d(s):
    assert "=" not in s and "+" not in s and "/" not in s, "not unpadded base64url"
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def verifier(jwk, alg):
    if alg == "RS256":
        assert jwk["kty"] == "RSA"
        key = rsa.RSAPublicNumbers(int.from_bytes(b64d(jwk["e"]), "big"), int.from_bytes(b64d(jwk["n"]), "big")).public_key()
        return lambda sig, msg: key.verify(sig, msg, padding.PKCS1v15(), hashes.SHA256())
    if alg == "ES256":
        assert jwk["kty"] == "EC" and jwk["crv"] == "P-256"
        key = ec.EllipticCurvePublicNumbers(int.from_bytes(b64d(jwk["x"]), "big"), int.from_bytes(b64d(jwk["y"]), "big"), ec.SECP256R1()).public_key()
        def v(sig, msg):
            assert len(sig) == 64, "ES256 signature is R || S, 32 octets each"
            der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
            key.verify(der, msg, ec.ECDSA(hashes.SHA256()))
        return v
    if alg == "ES512":
        assert jwk["kty"] == "EC" and jwk["crv"] == "P-521"
        key = ec.EllipticCurvePublicNumbers(int.from_bytes(b64d(jwk["x"]), "big"), int.from_bytes(b64d(jwk["y"]), "big"), ec.SECP521R1()).public_key()
        def v(sig, msg):
            assert len(sig) == 132, "ES512 signature is R || S, 66 octets each"
            der = utils.encode_dss_signature(int.from_bytes(sig[:66], "big"), int.from_bytes(sig[66:], "big"))
            key.verify(der, msg, ec.ECDSA(hashes.SHA512()))
        return v
    if alg == "EdDSA":
        assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519"
        key = ed25519.Ed25519PublicKey.from_public_bytes(b64d(jwk["x"]))
        return key.verify
    raise ValueError(alg)

for name in ["rfc7515_a2_rs256.json", "rfc7515_a3_es256.json", "rfc7515_a4_es512.json", "rfc8037_a4_ed25519.json"]:
    v = json.load(open(os.path.join(HERE, name)))
    h, p, s = v["token"].split(".")
    alg = json.loads(b64d(h))["alg"]
    assert b64d(p).decode() == v["payload"], name
    verify, msg, sig = verifier(v["jwk"], alg), f"{h}.{p}".encode(), b64d(s)
    verify(sig, msg)
    bad = bytearray(sig); bad[len(bad) // 2] ^= 1
    try:
        verify(bytes(bad), msg)
        raise SystemExit(f"{name}: a tampered signature verified")
    except InvalidSignature:
        pass
    print(f"{name}: {alg} signature verifies; tampered signature rejected")
