"""JWT client assertions: private_key_jwt (RFC 7523 2.2 and 3, OpenID Connect Core 9).

A client proves itself with a JWT it signed with a private key whose public half it
registered (a JWK Set). Checked here, before and after the signature:

- compact JWS only; `alg` ES256 or RS256 and fitting the key (never `none` or HS*);
- no `jku`, `x5u`, `jwk`, `x5c`, `crit` or `b64` header: keys come only from the client's
  registration, and a `kid` is only ever a dictionary key (none: the client's only key);
- `iss` and `sub` both equal to the client_id;
- `aud` containing the token endpoint's URL or the issuer (OIDC Core 9 names the former,
  RFC 7523 and recent guidance the latter; both name this server and no other);
- `exp` present, not past, and at most MAX_LIFETIME ahead, which bounds how long a `jti`
  must be remembered; `iat` and `nbf`, when present, not in the future;
- `jti` present. Its single use is the caller's business (Store.assertions.use), after
  the signature has been verified, so that a forged assertion writes nothing.

`check_jwks` judges a JWK Set at registration, strictly, with messages an admin can act on.
PyJWT and cryptography load on first use.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.tokens import jose

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("ES256", "RS256")
FAPI2_ALGORITHMS = ("ES256",)
LEEWAY = 30  # seconds of clock skew allowed either way
MAX_LIFETIME = 300  # exp at most this far (plus LEEWAY) ahead of now
MAX_JTI = 256
MAX_ASSERTION = 8 * 1024
REFUSED_HEADERS = jose.REFUSED_HEADERS
# JWK members that only a private (or symmetric) key has (RFC 7518 6.2.2, 6.3.2, 6.4.1).
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
MAX_KEYS = 32
MAX_KID = 128
MIN_RSA_BITS = 2048


class BadAssertion(Exception):
    """The assertion does not authenticate the client; the message is for the log only."""


class JwksError(ValueError):
    """A JWK Set offered at registration is not acceptable; the message says why."""


@dataclass(frozen=True)
class Verified:
    """What a valid assertion says: its id and until when it must be remembered."""

    client_id: str
    jti: str
    expires_at: int


def _split(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and (unverified) claims of a compact JWS, read strictly (tokens/jose.py)."""
    try:
        read = jose.read(assertion, MAX_ASSERTION)
    except jose.JoseError as error:
        raise BadAssertion(str(error)) from None
    if not read.signature:
        raise BadAssertion("empty signature")
    return read.header, read.claims


def claimed_client(assertion: str) -> str:
    """The client the assertion claims to come from (its `sub`), before any verification."""
    _, claims = _split(assertion)
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise BadAssertion("sub missing")
    return sub


def _number(claims: Mapping[str, Any], name: str) -> int:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadAssertion(f"{name} is not a number")
    return int(value)


def _audiences(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(a, str) for a in value):
        return value
    raise BadAssertion("aud missing, or not a string or a list of strings")


def _check_header(
    header: Mapping[str, Any], algorithms: Collection[str] = ALGORITHMS
) -> tuple[str, str | None]:
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms:
        raise BadAssertion(f"alg {alg!r} is not accepted")
    refused = sorted(REFUSED_HEADERS & header.keys())
    if refused:
        raise BadAssertion(f"header parameters {refused} are not accepted")
    kid = header.get("kid")
    if kid is not None and (not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID):
        raise BadAssertion("kid malformed")
    return alg, kid


def _signature_key(jwks: Mapping[str, Any] | None, alg: str, kid: str | None) -> Any:
    from chalicelib.authorizer.keys import KeyLoadError, parse_jwks

    try:
        keys = parse_jwks(dict(jwks or {}))
    except KeyLoadError as error:
        raise BadAssertion(f"the client's registered keys are unusable: {error}") from None
    if kid is None:
        if len(keys) != 1:
            raise BadAssertion(f"no kid, and the client has {len(keys)} keys")
        (key,) = keys.values()
    else:
        found = keys.get(kid)
        if found is None:
            raise BadAssertion(f"the client has no key with kid {kid!r}")
        key = found
    if key.alg != alg:
        raise BadAssertion(f"alg {alg} does not fit the client's {key.kty} key {key.kid!r}")
    return key.key


def _verify_signature(assertion: str, alg: str, key: Any) -> None:
    import jwt

    try:
        jwt.decode(
            assertion,
            key,
            algorithms=[alg],
            # The claims are judged below, by this module's rules and clock.
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
                "verify_sub": False,
                "verify_jti": False,
            },
        )
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise BadAssertion(f"{type(error).__name__}: {error}") from None


def verify(
    assertion: str,
    client_id: str,
    jwks: Mapping[str, Any] | None,
    *,
    audiences: Collection[str],
    now: int,
    fapi2_issuer: str | None = None,
) -> Verified:
    """The assertion's id and expiry if it authenticates `client_id`; BadAssertion otherwise.

    With `fapi2_issuer` (a FAPI 2.0 client), `aud` must be that issuer as a string
    (FAPI 2.0 5.3.2.1-8) and the signature ES256 (5.4.1: RS256 is not among its algorithms).
    """
    header, claims = _split(assertion)
    alg, kid = _check_header(header, ALGORITHMS if fapi2_issuer is None else FAPI2_ALGORITHMS)
    _verify_signature(assertion, alg, _signature_key(jwks, alg, kid))

    for name in ("iss", "sub"):
        if claims.get(name) != client_id:
            raise BadAssertion(f"{name} {claims.get(name)!r} is not the client_id")
    if fapi2_issuer is not None and claims.get("aud") != fapi2_issuer:
        raise BadAssertion(f"aud {claims.get('aud')!r} is not the issuer, as a string")
    if not set(_audiences(claims.get("aud"))) & set(audiences):
        raise BadAssertion(f"aud {claims.get('aud')!r} does not name this server")
    if "exp" not in claims:
        raise BadAssertion("exp missing")
    exp = _number(claims, "exp")
    if now >= exp + LEEWAY:
        raise BadAssertion(f"expired at {exp} (now {now})")
    if exp > now + MAX_LIFETIME + LEEWAY:
        raise BadAssertion(f"exp {exp} is more than {MAX_LIFETIME} s ahead (now {now})")
    for name in ("iat", "nbf"):
        if name in claims and _number(claims, name) > now + LEEWAY:
            raise BadAssertion(f"{name} is in the future ({claims[name]}, now {now})")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI:
        raise BadAssertion("jti missing or malformed")
    return Verified(client_id=client_id, jti=jti, expires_at=exp)


# -- registration ---------------------------------------------------------------------------


def _key_problem(jwk: Mapping[str, Any]) -> str | None:
    private = [m for m in PRIVATE_MEMBERS if m in jwk]
    if private:
        return f"holds private key material ({', '.join(private)}): register the public key only"
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "EC":
        if crv != "P-256":
            return f"EC curve {crv!r} is not supported (P-256 only, for ES256)"
        alg = "ES256"
    elif kty == "RSA":
        alg = "RS256"
    else:
        return f"kty {kty!r} is not supported (EC P-256 or RSA)"
    if jwk.get("use", "sig") != "sig":
        return f"use {jwk.get('use')!r}, but a client assertion key is for 'sig'"
    if jwk.get("alg", alg) != alg:
        return f"alg {jwk.get('alg')!r} does not fit the {kty} key (its alg is {alg})"
    return _load_problem(jwk, alg)


def _load_problem(jwk: Mapping[str, Any], alg: str) -> str | None:
    import jwt

    try:
        key = jwt.PyJWK(dict(jwk), algorithm=alg).key
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
        return f"not a valid {alg} public key ({error})"
    if alg == "RS256" and key.key_size < MIN_RSA_BITS:
        return f"RSA key of {key.key_size} bits (at least {MIN_RSA_BITS})"
    return None


def check_jwks(doc: object) -> dict[str, Any]:
    """A client's JWK Set as it will be stored, or JwksError saying what is wrong with it.

    Every key must be an ES256 (EC P-256) or RS256 (RSA of at least 2048 bits) public
    signature key with its own `kid`.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        hint = ' (wrap a single key as {"keys": [KEY]})' if isinstance(doc, dict) else ""
        raise JwksError(f'not a JWK Set: expected an object with a "keys" list{hint}')
    keys: list[Any] = doc["keys"]
    if not keys:
        raise JwksError("the JWK Set has no keys")
    if len(keys) > MAX_KEYS:
        raise JwksError(f"the JWK Set has {len(keys)} keys (at most {MAX_KEYS})")
    kids: set[str] = set()
    for index, jwk in enumerate(keys, 1):
        if not isinstance(jwk, dict):
            raise JwksError(f"key {index} is not a JSON object")
        kid = jwk.get("kid")
        name = f"key {index}" + (f" ({kid!r})" if isinstance(kid, str) else "")
        if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID:
            raise JwksError(f'{name} needs a "kid" of 1 to {MAX_KID} characters')
        if kid in kids:
            raise JwksError(f"kid {kid!r} appears twice: each key needs its own kid")
        kids.add(kid)
        problem = _key_problem(jwk)
        if problem:
            raise JwksError(f"{name}: {problem}")
    return {"keys": [dict(jwk) for jwk in keys]}
