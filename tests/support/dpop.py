"""Test helpers for DPoP (RFC 9449): a client's proof key and the proofs it signs."""

from __future__ import annotations

import functools
import json
import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from chalicelib.tokens import dpop


@dataclass(frozen=True)
class DpopKey:
    alg: str
    private: Any

    def public_jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        jwk: dict[str, Any] = json.loads(algorithm.to_jwk(self.private.public_key()))
        return jwk

    def private_jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        jwk: dict[str, Any] = json.loads(algorithm.to_jwk(self.private))
        return jwk

    @property
    def jkt(self) -> str:
        return dpop.thumbprint(self.public_jwk())

    def proof(
        self,
        method: str,
        url: str,
        now: int,
        *,
        token: str | None = None,
        header: dict[str, Any] | None = None,
        alg: str | None = None,
        **claims: Any,
    ) -> str:
        """A proof for `method` `url` at `now` (with `ath` of `token`); a claim or header
        member given as None is left out, any other replaces the valid one."""
        values: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method,
            "htu": url,
            "iat": now,
        }
        if token is not None:
            values["ath"] = dpop.ath(token)
        values.update(claims)
        head: dict[str, Any] = {"typ": "dpop+jwt", "jwk": self.public_jwk()}
        head.update(header or {})
        return jwt.encode(
            {k: v for k, v in values.items() if v is not None},
            self.private,
            algorithm=alg or self.alg,
            headers={k: v for k, v in head.items() if v is not None},
        )


@functools.cache
def dpop_key(alg: str = "ES256", name: str = "a", bits: int = 2048) -> DpopKey:
    """One key per (alg, name, bits) for the whole run (RSA generation is slow)."""
    if alg == "ES256":
        return DpopKey(alg, ec.generate_private_key(ec.SECP256R1()))
    if alg == "EdDSA":
        return DpopKey(alg, ed25519.Ed25519PrivateKey.generate())
    return DpopKey(alg, rsa.generate_private_key(public_exponent=65537, key_size=bits))
