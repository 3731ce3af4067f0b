"""ID tokens (OpenID Connect Core 1.0, 2 and 3.1.3.6), signed RS256 unless the client asks."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from chalicelib.tokens.signer import Signer

DEFAULT_ALG = "RS256"
_HASHES = {"RS256": hashlib.sha256, "ES256": hashlib.sha256}


def token_hash(value: str, alg: str) -> str:
    """at_hash / c_hash: the left half of the hash of the ASCII value, base64url (3.1.3.6)."""
    digest = _HASHES[alg](value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def mint(
    signer: Signer,
    *,
    issuer: str,
    client_id: str,
    sub: str,
    now: int,
    ttl: int,
    auth_time: int,
    nonce: str | None,
    amr: list[str],
    sid: str | None,
    access_token: str | None,
    alg: str = DEFAULT_ALG,
) -> str:
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": sub,
        "aud": client_id,
        "azp": client_id,
        "iat": now,
        "exp": now + ttl,
        "auth_time": auth_time,
        "acr": "0",  # ISO/IEC 29115 level 0: a password, nothing stronger claimed
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if amr:
        claims["amr"] = amr
    if sid:
        claims["sid"] = sid
    if access_token is not None:
        claims["at_hash"] = token_hash(access_token, alg)
    return signer.sign(claims, alg=alg, typ="JWT")
