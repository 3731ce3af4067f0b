"""Signing key material (RFC 7517 JWKs) made with `cryptography`, imported on first use."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from chalicelib.stores.models import SigningKey

SUPPORTED_ALGS = ("ES256", "RS256")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64(value: int, length: int | None = None) -> str:
    size = length or (value.bit_length() + 7) // 8
    return _b64(value.to_bytes(size, "big"))


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint: the kid, so a kid is derived from the key, never chosen."""
    required = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n")
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def generate(alg: str, now: int, state: str = "active") -> SigningKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    jwk: dict[str, Any]
    private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        numbers = private.public_key().public_numbers()
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": _int_b64(numbers.x, 32),
            "y": _int_b64(numbers.y, 32),
        }
    elif alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        rsa_numbers = private.public_key().public_numbers()
        jwk = {"kty": "RSA", "e": _int_b64(rsa_numbers.e), "n": _int_b64(rsa_numbers.n)}
    else:
        raise ValueError(f"unsupported algorithm {alg}")
    kid = thumbprint(jwk)
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return SigningKey(
        kid=kid, alg=alg, public_jwk=jwk, private_pem=pem, state=state, created_at=now
    )
