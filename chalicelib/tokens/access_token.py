"""JWT access tokens (RFC 9068): what they carry and how they are minted."""

from __future__ import annotations

from typing import Any

from chalicelib.ids import new_id
from chalicelib.protocol.scope import render
from chalicelib.tokens.signer import Signer

ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 (a media type, not a secret)
ACCESS_TOKEN_ALG = "ES256"  # noqa: S105


def mint(
    signer: Signer,
    *,
    issuer: str,
    audience: str | list[str],
    sub: str,
    client_id: str,
    scopes: list[str],
    now: int,
    ttl: int,
    grant_id: str | None = None,
    auth_time: int | None = None,
    jkt: str | None = None,
    acr: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """`jkt`: the token is bound to this DPoP key (RFC 9449 6.1: `cnf.jkt`)."""
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": sub,
        "aud": audience,
        "client_id": client_id,
        "scope": render(scopes),
        "iat": now,
        "exp": now + ttl,
        "jti": new_id(),
    }
    if grant_id is not None:
        claims["gid"] = grant_id
    if auth_time is not None:
        claims["auth_time"] = auth_time
    if jkt is not None:
        claims["cnf"] = {"jkt": jkt}
    if acr is not None:
        # RFC 9470 3: what the user's sign-in proved, for a resource server's step-up check.
        claims["acr"] = acr
    token = signer.sign(claims, alg=ACCESS_TOKEN_ALG, typ=ACCESS_TOKEN_TYP)
    return token, claims
