"""Access token validation (RFC 9068 section 4, RFC 8725): the core every authorizer shares.

The JOSE header is parsed and judged here before any key is looked up (RFC 8725 3.1, 3.11):
compact serialization only (no JWE, no JSON serialization), at most 8 KB, `alg` on an
allow-list and fitting the key's type, `typ` at+jwt, and no header that would make a
verifier fetch, trust or skip something (`jku`, `x5u`, `jwk`, `x5c`, `crit`, `b64`).
PyJWT then checks the signature with exactly that algorithm and key, and the claims:
`iss` equal to ours as a string, `aud` containing our audience, and exp, iat, iss, sub, aud,
client_id and jti present. Time is checked against the caller's clock with a small leeway.

PyJWT and cryptography load on first use, so that importing this module costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.authorizer.errors import ExpiredToken, InvalidToken, MissingToken
from chalicelib.authorizer.keys import KEY_TYPES, KeySource
from chalicelib.tokens import jose

MAX_TOKEN_BYTES = 8 * 1024
DEFAULT_LEEWAY = 30
ACCEPTED_TYP = frozenset({"at+jwt", "application/at+jwt"})  # RFC 9068 4: compared without case
# Headers that point a verifier at other keys, or change how the token is read: never honoured.
REFUSED_HEADERS = jose.REFUSED_HEADERS
REQUIRED_CLAIMS = ("exp", "iat", "iss", "sub", "aud", "client_id", "jti")
MAX_KID = 128

_BEARER = re.compile(r"Bearer +([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)


@dataclass(frozen=True)
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


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header value (RFC 6750 2.1)."""
    if not authorization or not authorization.strip():
        raise MissingToken("no Authorization header")
    scheme = authorization.strip().split(" ", 1)[0]
    if scheme.lower() != "bearer":
        raise MissingToken(f"scheme {scheme[:20]!r} is not Bearer")
    match = _BEARER.fullmatch(authorization.strip())
    if match is None:
        raise InvalidToken("malformed Bearer credentials")
    return match.group(1)


def parse_header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS, judged before anything else is done with it.

    Every segment is read by the strict reader (chalicelib/tokens/jose.py) first."""
    try:
        read = jose.read(token, MAX_TOKEN_BYTES)
    except jose.JoseError as error:
        raise InvalidToken(str(error)) from None
    header = read.header
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in KEY_TYPES:
        raise InvalidToken(f"alg {alg!r} is not accepted")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYP:
        raise InvalidToken(f"typ {typ!r} is not at+jwt")
    kid = header.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID:
        raise InvalidToken("kid missing or malformed")
    if not read.signature:
        raise InvalidToken("empty signature")
    return header


def _int_claim(claims: Mapping[str, Any], name: str) -> int:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"{name} is not a number")
    return int(value)


def _str_claim(claims: Mapping[str, Any], name: str) -> str:
    value = claims[name]
    if not isinstance(value, str) or not value:
        raise InvalidToken(f"{name} is not a non-empty string")
    return value


def _audiences(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(a, str) for a in value):
        return tuple(value)
    raise InvalidToken("aud is not a string or a list of strings")


def _check_time(claims: Mapping[str, Any], leeway: int, now: int) -> tuple[int, int]:
    exp = _int_claim(claims, "exp")
    iat = _int_claim(claims, "iat")
    if now >= exp + leeway:
        raise ExpiredToken(f"expired at {exp} (now {now})")
    if iat > now + leeway:
        raise InvalidToken(f"issued in the future ({iat}, now {now})")
    if "nbf" in claims and _int_claim(claims, "nbf") > now + leeway:
        raise InvalidToken(f"not valid before {claims['nbf']} (now {now})")
    return exp, iat


def _decode(token: str, alg: str, key: Any, *, issuer: str, audience: str) -> dict[str, Any]:
    import jwt

    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            issuer=issuer,
            audience=audience,
            options={
                "require": list(REQUIRED_CLAIMS),
                # Time is judged below against the caller's clock, not PyJWT's.
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise InvalidToken(f"{type(error).__name__}: {error}") from None
    return claims


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
    header = parse_header(token)
    alg, kid = header["alg"], header["kid"]
    key = keys.get(kid)
    if key is None:
        raise InvalidToken(f"no published key has kid {kid!r}")
    if key.alg != alg or key.kty != KEY_TYPES[alg]:
        raise InvalidToken(f"alg {alg} does not fit the {key.kty} key {kid!r}")
    claims = _decode(token, alg, key.key, issuer=issuer, audience=audience)
    # PyJWT checked these too; the rules are ours, so they are stated here as well.
    iss = claims.get("iss")
    if not isinstance(iss, str) or iss != issuer:
        raise InvalidToken("wrong issuer")
    audiences = _audiences(claims.get("aud"))
    if audience not in audiences:
        raise InvalidToken("not for this audience")
    expires_at, issued_at = _check_time(claims, leeway, now)
    scope = claims.get("scope", "")
    if not isinstance(scope, str):
        raise InvalidToken("scope is not a string")
    grant_id = claims.get("gid")
    if grant_id is not None and not isinstance(grant_id, str):
        raise InvalidToken("gid is not a string")
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    if cnf is not None and not (isinstance(jkt, str) and jkt):
        raise InvalidToken("cnf is not a JSON object with a jkt string")
    return Claims(
        sub=_str_claim(claims, "sub"),
        client_id=_str_claim(claims, "client_id"),
        scopes=tuple(dict.fromkeys(s for s in scope.split(" ") if s)),
        issuer=issuer,
        audience=audiences,
        expires_at=expires_at,
        issued_at=issued_at,
        jti=_str_claim(claims, "jti"),
        grant_id=grant_id,
        raw=claims,
        jkt=jkt,
    )


def preload() -> None:
    """Import PyJWT and cryptography now (a Lambda's init phase) rather than on first use."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: F401

    jwt.get_algorithm_by_name("ES256")
