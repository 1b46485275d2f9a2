#!/usr/bin/env python3
"""Write independent_tokens.json: access tokens for the algorithms jsonwebtoken cannot sign
(ES512, and EdDSA under its RFC 9864 name `Ed25519`), signed by python `cryptography` with
the fixture keys, so that no token a test accepts comes from the code under test.

Needs: pip install cryptography. Run from anywhere: python3 tests/data/sign_tokens.py
Each token's claims are CLAIMS (valid until 2100, the tests' audience and issuer), its header
{"alg": ..., "typ": "JWT", "kid": "k1"}. ECDSA signatures are random, so running this again
writes other ES512 signatures (equally valid); Ed25519 signatures are deterministic.
"rfc8037_a4_as_ed25519" is RFC 8037 A.4's payload under the header {"alg":"Ed25519"}, signed
with RFC 8037 A.1's private key: the A.4 vector relabelled with the fully specified name.
Every signature is verified again before the file is written.
"""
import base64, json, os
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils

HERE = os.path.dirname(os.path.abspath(__file__))
CLAIMS = {"iss": "https://tenant.example.com/", "sub": "client-1@clients", "aud": "https://my-api-urn",
          "iat": 1764547200, "exp": 4102444800, "azp": "client-1", "scope": "read:messages"}

def b64e(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def b64d(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def compact(header, payload): return f"{b64e(json.dumps(header, separators=(',', ':')).encode())}.{b64e(payload)}"
def pem(name): return serialization.load_pem_private_key(open(os.path.join(HERE, "keys", f"{name}.pem"), "rb").read(), None)

def es512(key, header, payload):
    assert isinstance(key.curve, ec.SECP521R1)
    signing_input = compact(header, payload)
    r, s = utils.decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA512())))
    signature = r.to_bytes(66, "big") + s.to_bytes(66, "big")  # RFC 7518 §3.4: R || S, fixed size
    key.public_key().verify(utils.encode_dss_signature(r, s), signing_input.encode(), ec.ECDSA(hashes.SHA512()))
    return f"{signing_input}.{b64e(signature)}"

def ed(key, header, payload):
    signing_input = compact(header, payload)
    signature = key.sign(signing_input.encode())
    key.public_key().verify(signature, signing_input.encode())
    return f"{signing_input}.{b64e(signature)}"

claims = json.dumps(CLAIMS, separators=(",", ":")).encode()
header = lambda alg: {"alg": alg, "typ": "JWT", "kid": "k1"}
rfc8037_a1 = ed25519.Ed25519PrivateKey.from_private_bytes(b64d("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"))
assert b64e(rfc8037_a1.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)) \
    == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "RFC 8037 A.1's d does not give A.2's x"
out = {
    "claims": CLAIMS,
    "ES512": es512(pem("p521"), header("ES512"), claims),
    "Ed25519": ed(pem("ed25519"), header("Ed25519"), claims),
    "EdDSA": ed(pem("ed25519"), header("EdDSA"), claims),
    "rfc8037_a4_as_ed25519": ed(rfc8037_a1, {"alg": "Ed25519"}, b"Example of Ed25519 signing"),
}
# The same key signing the RFC's own header must give the RFC's own A.4 token.
a4 = json.load(open(os.path.join(HERE, "rfc8037_a4_ed25519.json")))["token"]
assert ed(rfc8037_a1, {"alg": "EdDSA"}, b"Example of Ed25519 signing") == a4, "RFC 8037 A.4 not reproduced"
with open(os.path.join(HERE, "independent_tokens.json"), "w") as f:
    json.dump(out, f, indent=2); f.write("\n")
print("independent_tokens.json: ES512, Ed25519, EdDSA and the relabelled RFC 8037 A.4 written and verified")
