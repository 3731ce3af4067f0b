"""Signing key material (RFC 7517 JWKs, RFC 7518 3.4 signatures) with `cryptography`.

`cryptography` is imported on first use, never at module import (cold start).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

from chalicelib.stores.models import SigningKey

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

SUPPORTED_ALGS = ("ES256", "RS256")
ES256_SIZE = 32  # bytes of r and of s in an ES256 signature (P-256)
MIN_RSA_BITS = 2048


class KeyMismatch(ValueError):
    """A key does not fit the algorithm it is meant to sign with."""


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


def public_jwk(public: PublicKeyTypes, alg: str) -> dict[str, Any]:
    """The public JWK (with kid, alg and use) of a P-256 key for ES256 or an RSA key for RS256."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    jwk: dict[str, Any]
    if alg == "ES256":
        if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
            raise KeyMismatch("ES256 needs a P-256 (ECC_NIST_P256) key")
        numbers = public.public_numbers()
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": _int_b64(numbers.x, ES256_SIZE),
            "y": _int_b64(numbers.y, ES256_SIZE),
        }
    elif alg == "RS256":
        if not isinstance(public, rsa.RSAPublicKey) or public.key_size < MIN_RSA_BITS:
            raise KeyMismatch(f"RS256 needs an RSA key of at least {MIN_RSA_BITS} bits")
        rsa_numbers = public.public_numbers()
        jwk = {"kty": "RSA", "e": _int_b64(rsa_numbers.e), "n": _int_b64(rsa_numbers.n)}
    else:
        raise KeyMismatch(f"unsupported algorithm {alg}")
    jwk.update({"kid": thumbprint(jwk), "alg": alg, "use": "sig"})
    return jwk


def public_jwk_from_der(der: bytes, alg: str) -> dict[str, Any]:
    """The JWK of a DER SubjectPublicKeyInfo (what KMS GetPublicKey returns)."""
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    return public_jwk(load_der_public_key(der), alg)


def generate(alg: str, now: int, state: str = "active") -> SigningKey:
    """A new key pair; the private key as an unencrypted PKCS#8 PEM (callers protect it)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        raise KeyMismatch(f"unsupported algorithm {alg}")
    jwk = public_jwk(private.public_key(), alg)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return SigningKey(
        kid=jwk["kid"], alg=alg, public_jwk=jwk, private_pem=pem, state=state, created_at=now
    )


def ecdsa_raw(der: bytes, size: int = ES256_SIZE) -> bytes:
    """A DER ECDSA signature (cryptography's and KMS's form) as JWS wants it: r || s.

    RFC 7518 3.4: each integer is big-endian, left-padded with zeros to the curve size, so
    an ES256 signature is always exactly 64 bytes.
    """
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(der)
    if r.bit_length() > size * 8 or s.bit_length() > size * 8:
        raise ValueError("signature integer larger than the curve")
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")
