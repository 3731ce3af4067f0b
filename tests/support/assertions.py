"""Test helpers for private_key_jwt: client key pairs, their JWK Sets, and signed assertions."""

from __future__ import annotations

import base64
import functools
import json
import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from chalicelib.protocol.client_assertion import JWT_BEARER
from tests.support.oauth import ISSUER

TOKEN_ENDPOINT = f"{ISSUER}/token"


@dataclass(frozen=True)
class ClientKey:
    """A client's key pair: it signs assertions; its public JWK is what Tollgate stores."""

    kid: str
    alg: str
    private: Any

    def public_jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        jwk: dict[str, Any] = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}

    def private_jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        jwk: dict[str, Any] = json.loads(algorithm.to_jwk(self.private))
        return {**jwk, "kid": self.kid}

    def sign(self, claims: dict[str, Any], *, alg: str | None = None, **headers: Any) -> str:
        """A compact JWS; `kid` is this key's unless given (None leaves it out)."""
        header: dict[str, Any] = {"kid": self.kid, **headers}
        if header["kid"] is None:
            del header["kid"]
        return jwt.encode(claims, self.private, algorithm=alg or self.alg, headers=header)


@functools.cache
def client_key(kid: str, alg: str = "ES256", bits: int = 2048) -> ClientKey:
    """One key pair per (kid, alg, bits) for the whole test run (RSA generation is slow)."""
    if alg == "ES256":
        return ClientKey(kid, alg, ec.generate_private_key(ec.SECP256R1()))
    return ClientKey(kid, alg, rsa.generate_private_key(public_exponent=65537, key_size=bits))


def jwks(*keys: ClientKey) -> dict[str, Any]:
    return {"keys": [key.public_jwk() for key in keys]}


def claims(client_id: str, now: int, **changes: Any) -> dict[str, Any]:
    """An assertion's claims (RFC 7523 3) valid at `now`; a change to None removes a claim."""
    values: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_ENDPOINT,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def b64(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def form(assertion: str, **fields: str) -> dict[str, str]:
    """Token request fields authenticating with `assertion` (RFC 7523 2.2)."""
    return {"client_assertion_type": JWT_BEARER, "client_assertion": assertion, **fields}
