#!/usr/bin/env python3
"""Write <name>.jwk.json (public members only) from each <name>.pem, then check them.

Needs python3 with `cryptography`, and `openssl` on PATH. Run: python3 tests/data/keys/derive_jwks.py
Checks, per key: the PEM is PKCS#8 of the expected type/size/curve; the public key rebuilt
from the JWK equals the PEM's public key, both as parsed by python and as printed by
`openssl pkey -pubout`; a signature made by openssl with the PEM verifies under the JWK.
JWK values are unpadded base64url of big-endian bytes: RSA n and e minimal (no leading
zero octet), EC x/y left-padded to the field size (32 for P-256, 48 for P-384, 66 for P-521).
"""
import base64, json, os, subprocess, tempfile
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = {"rsa2048": ("RSA", 2048), "rsa2048_b": ("RSA", 2048), "rsa1024": ("RSA", 1024), "rsa4096": ("RSA", 4096),
        "p256": ("EC", "P-256"), "p384": ("EC", "P-384"), "p521": ("EC", "P-521"), "ed25519": ("OKP", "Ed25519")}
CURVES = {"P-256": (ec.SECP256R1, 32, "sha256"), "P-384": (ec.SECP384R1, 48, "sha384"), "P-521": (ec.SECP521R1, 66, "sha512")}
SPKI = dict(encoding=serialization.Encoding.DER, format=serialization.PublicFormat.SubjectPublicKeyInfo)

def b64e(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def b64d(s):
    assert "=" not in s and "+" not in s and "/" not in s
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def minimal(i): return i.to_bytes((i.bit_length() + 7) // 8, "big")
def openssl(*args): return subprocess.run(["openssl", *args], capture_output=True, check=True).stdout

def jwk_of(pub, kty, param):
    if kty == "RSA":
        n = pub.public_numbers()
        return {"kty": "RSA", "n": b64e(minimal(n.n)), "e": b64e(minimal(n.e))}
    if kty == "EC":
        n, size = pub.public_numbers(), CURVES[param][1]
        return {"kty": "EC", "crv": param, "x": b64e(n.x.to_bytes(size, "big")), "y": b64e(n.y.to_bytes(size, "big"))}
    return {"kty": "OKP", "crv": "Ed25519", "x": b64e(pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))}

def key_of(jwk):
    if jwk["kty"] == "RSA":
        n = b64d(jwk["n"]); assert n[0] != 0
        return rsa.RSAPublicNumbers(int.from_bytes(b64d(jwk["e"]), "big"), int.from_bytes(n, "big")).public_key()
    if jwk["kty"] == "EC":
        curve, size, _ = CURVES[jwk["crv"]]
        x, y = b64d(jwk["x"]), b64d(jwk["y"]); assert len(x) == len(y) == size
        return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve()).public_key()
    x = b64d(jwk["x"]); assert len(x) == 32
    return ed25519.Ed25519PublicKey.from_public_bytes(x)

seen = set()
with tempfile.TemporaryDirectory() as tmp:
    msg_path = os.path.join(tmp, "msg"); msg = b"eyJhbGciOiJ0ZXN0In0.eyJzdWIiOiJ4In0"
    open(msg_path, "wb").write(msg)
    for name, (kty, param) in KEYS.items():
        pem_path = os.path.join(HERE, f"{name}.pem")
        pem = open(pem_path, "rb").read()
        assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n"), f"{name}: not PKCS#8"
        priv = serialization.load_pem_private_key(pem, password=None)
        if kty == "RSA": assert isinstance(priv, rsa.RSAPrivateKey) and priv.key_size == param
        if kty == "EC": assert isinstance(priv.curve, CURVES[param][0])
        if kty == "OKP": assert isinstance(priv, ed25519.Ed25519PrivateKey)
        jwk = jwk_of(priv.public_key(), kty, param)
        with open(os.path.join(HERE, f"{name}.jwk.json"), "w") as f:
            json.dump(jwk, f, indent=2); f.write("\n")
        back = key_of(json.load(open(os.path.join(HERE, f"{name}.jwk.json"))))
        assert back.public_bytes(**SPKI) == priv.public_key().public_bytes(**SPKI), name
        assert back.public_bytes(**SPKI) == openssl("pkey", "-in", pem_path, "-pubout", "-outform", "DER"), name
        if kty == "RSA":
            back.verify(openssl("dgst", "-sha256", "-sign", pem_path, msg_path), msg, padding.PKCS1v15(), hashes.SHA256())
            back.verify(openssl("dgst", "-sha256", "-sign", pem_path, "-sigopt", "rsa_padding_mode:pss",
                                "-sigopt", "rsa_pss_saltlen:32", msg_path),
                        msg, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        elif kty == "EC":
            digest = CURVES[param][2]
            back.verify(openssl("dgst", f"-{digest}", "-sign", pem_path, msg_path), msg, ec.ECDSA(getattr(hashes, digest.upper())()))
        else:
            back.verify(openssl("pkeyutl", "-sign", "-inkey", pem_path, "-rawin", "-in", msg_path), msg)
        seen.add(back.public_bytes(**SPKI))
        print(f"{name}.jwk.json: {kty} {param}, round trip ok, openssl signature verifies under the JWK")
assert len(seen) == len(KEYS), "two fixture files hold the same key"
