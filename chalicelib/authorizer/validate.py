"""Access token validation (RFC 9068 section 4, RFC 8725): the core every authorizer shares.

Every check is chalicelib/tokens/jwt_verify.py's, on `cryptography` directly: the strict
reader (compact serialization only, at most 8 KB, canonical base64url, strict JSON), the
header judged before any key is looked up (`alg` on an allow-list and fitting the key,
`typ` at+jwt, no header that would make a verifier fetch, trust or skip something: `jku`,
`x5u`, `jwk`, `x5c`, `crit`, `b64`), the signature with exactly the key's algorithm, and
the claims: `iss` equal to ours as a string, `aud` containing our audience, exp, iat, iss,
sub, aud, client_id and jti present, time against the caller's clock with a small leeway.
Here they become an InvalidToken (ExpiredToken), and the claims a typed Claims.

cryptography loads with the first key (keys.py), so that importing this module costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.authorizer.errors import ExpiredToken, InvalidToken, MissingToken
from chalicelib.authorizer.keys import KeySource
from chalicelib.tokens import jose, jwt_verify

MAX_TOKEN_BYTES = 8 * 1024
DEFAULT_LEEWAY = 30
ACCEPTED_TYP = frozenset({"at+jwt", "application/at+jwt"})  # RFC 9068 4: compared without case
# Headers that point a verifier at other keys, or change how the token is read: never honoured.
REFUSED_HEADERS = jose.REFUSED_HEADERS
REQUIRED_CLAIMS = ("exp", "iat", "iss", "sub", "aud", "client_id", "jti")
MAX_KID = jwt_verify.MAX_KID

# RFC 6750 2.1 b64token (RFC 7235 token68). Matched without IGNORECASE: case-folding every
# character of a 300-byte token cost more than the rest of the header's handling.
TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@dataclass(frozen=True, slots=True)
class Claims:
    """What a valid access token says, typed."""

    sub: str
    client_id: str
    scopes: tuple[str, ...]
    issuer: str
    audience: tuple[str, ...]
    expires_at: int
    issued_at: int
    jti: str
    grant_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    jkt: str | None = None  # the DPoP key the token is bound to (RFC 9449 6.1, cnf.jkt)

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)

    def has_scopes(self, needed: Iterable[str]) -> bool:
        return set(needed) <= set(self.scopes)


def credentials(value: str) -> tuple[str, str]:
    """(scheme, credentials) of a stripped Authorization header value: the scheme before the
    first space, the credentials after the spaces that follow it."""
    scheme, _, rest = value.partition(" ")
    return scheme, rest.lstrip(" ")


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header value (RFC 6750 2.1)."""
    value = (authorization or "").strip()
    return bearer_of(value, *credentials(value))


def bearer_of(value: str, scheme: str, token: str) -> str:
    """bearer_token of a header value already split by `credentials`."""
    if not value:
        raise MissingToken("no Authorization header")
    if scheme.lower() != "bearer":
        raise MissingToken(f"scheme {scheme[:20]!r} is not Bearer")
    if not TOKEN68.fullmatch(token):
        raise InvalidToken("malformed Bearer credentials")
    return token


def verify(
    token: str,
    keys: KeySource,
    *,
    issuer: str,
    audience: str,
    leeway: int = DEFAULT_LEEWAY,
    now: int,
) -> Claims:
    """The claims of a valid access token; InvalidToken for anything else.

    AuthorizerUnavailable (from the key source) means no decision could be made.
    """
    try:
        claims = jwt_verify.decode(
            token,
            keys.get,
            typs=ACCEPTED_TYP,
            issuer=issuer,
            audience=audience,
            required=REQUIRED_CLAIMS,
            now=now,
            leeway=leeway,
            max_bytes=MAX_TOKEN_BYTES,
        )
    except jwt_verify.Expired as error:
        raise ExpiredToken(str(error)) from None
    except jwt_verify.Rejected as error:
        raise InvalidToken(str(error)) from None
    aud = claims["aud"]
    scope = claims.get("scope", "")
    if scope.__class__ is not str:
        raise InvalidToken("scope is not a string")
    grant_id = claims.get("gid")
    if grant_id is not None and grant_id.__class__ is not str:
        raise InvalidToken("gid is not a string")
    cnf = claims.get("cnf")
    jkt = None
    if cnf is not None:
        jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
        if not (isinstance(jkt, str) and jkt):
            raise InvalidToken("cnf is not a JSON object with a jkt string")
    sub, client_id, jti = claims["sub"], claims["client_id"], claims["jti"]
    for name, value in (("sub", sub), ("client_id", client_id), ("jti", jti)):
        if value.__class__ is not str or not value:
            raise InvalidToken(f"{name} is not a non-empty string")
    scopes = dict.fromkeys(scope.split(" "))  # first-seen order, duplicates dropped
    scopes.pop("", None)
    return Claims(
        sub,
        client_id,
        tuple(scopes),
        issuer,
        (aud,) if aud.__class__ is str else tuple(aud),
        int(claims["exp"]),
        int(claims["iat"]),
        jti,
        grant_id,
        claims,
        jkt,
    )


def preload() -> None:
    """Import what the first verification needs now (a Lambda's init phase, which runs at
    full speed) rather than on first use: cryptography's EC and RSA verification only. The
    first ECDSA object loads cryptography's OpenSSL backend: made here too."""
    from cryptography.exceptions import InvalidSignature  # noqa: F401
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils  # noqa: F401

    ec.ECDSA(hashes.SHA256())
