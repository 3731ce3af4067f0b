"""ID tokens (OpenID Connect Core 1.0, 2 and 3.1.3.6), signed RS256 unless the client asks."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from chalicelib.tokens import jose
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
    acr: str = "0",
) -> str:
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": sub,
        "aud": client_id,
        "azp": client_id,
        "iat": now,
        "exp": now + ttl,
        "auth_time": auth_time,
        # What the sign-in proved (accounts/mfa.py): "0" is ISO/IEC 29115 level 0, a
        # password and nothing stronger claimed.
        "acr": acr,
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


def read_hint(signer: Signer, token: str, issuer: str) -> dict[str, Any] | None:
    """The claims of an ID token this issuer signed, or None (id_token_hint, OIDC Core 3.1.2.1).

    Read by the same strict reader as access tokens and client assertions (tokens/jose.py),
    so its header's members are strings before they are used (issue 17 item 1). The
    signature and issuer must hold; expiry need not: a hint is often an old ID token.
    """
    import jwt

    try:
        read = jose.read(token)
    except jose.JoseError:
        return None
    kid, alg = read.string("kid"), read.string("alg")
    if alg not in _HASHES or kid is None or read.string("typ") == "at+jwt":
        return None
    keys = {k.get("kid"): k for k in signer.jwks()["keys"]}
    jwk = keys.get(kid)
    if jwk is None or jwk.get("alg") != alg:
        return None
    try:
        jwt.decode(
            token,
            jwt.PyJWK.from_dict(jwk).key,
            algorithms=[alg],
            issuer=issuer,
            # Time claims are not checked: a hint is often an expired ID token.
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
                "require": ["iss", "sub", "aud"],
            },
        )
    except jwt.PyJWTError:
        return None
    claims = read.claims  # as the strict reader read them, now that the signature holds
    if claims.get("iss") != issuer or not isinstance(claims.get("sub"), str):
        return None
    return claims
