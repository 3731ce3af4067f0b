"""Signed JWTs checked on `cryptography` directly (RFC 7515, RFC 7519, RFC 8725): the
authorizer's hot path without PyJWT, which cost about a third of a warm validation and most
of the standalone authorizer's import (through cryptography.x509; issue 13).

    verifier(jwk)         the Verifier of one published signature key: ES256 on P-256, or
                          RS256 on RSA of at least MIN_RSA_BITS; KeyRefused otherwise
    decode(token, find)   the header and claims of a JWT that passes every check below

`decode` judges, in this order, each refusal a Rejected whose message names the check:

1. the strict reader (chalicelib/tokens/jose.py): size, compact serialization only,
   canonical base64url, strict JSON, string-typed headers, and no `jku`, `x5u`, `jwk`,
   `x5c`, `crit` (no extension is understood), `b64`, `enc` or `zip` (RFC 8725 3.1, 3.11);
2. `alg` on the allow-list (never `none`, never HS*), `typ` one of the caller's (compared
   without case, RFC 8725 3.11), `kid` a short string, a signature present;
3. the key by kid (`find`, the caller's cache), whose one algorithm must be the header's:
   the algorithm comes from the key, never from the token alone (RFC 8725 3.1);
4. the signature with exactly that algorithm: ES256 is 64 bytes r||s (RFC 7518 3.4, turned
   into DER for `cryptography`; a DER signature in the JWS is refused), RS256 PKCS#1 v1.5;
5. the claims: the required ones present (not null), `iss` equal to ours as a string,
   `aud` a string or list of strings holding ours, `exp`, `iat` and `nbf` numbers (not
   booleans) judged against the caller's clock with `leeway` (Expired for `exp`).

cryptography loads when the first key is built (`verifier`), so importing this costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, Protocol

from chalicelib.tokens import jose

ALGORITHMS = ("ES256", "RS256")
KEY_TYPES = {"ES256": "EC", "RS256": "RSA"}  # what a key must be for each algorithm
MIN_RSA_BITS = 2048
MAX_KID = 128
# JWK members only a private (or symmetric) key has: such a key is never published.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class Rejected(ValueError):
    """The token is not acceptable; the message names the check (for the log only)."""


class Expired(Rejected):
    """The token was valid but its `exp` has passed (beyond the leeway)."""


class KeyRefused(ValueError):
    """A JWK that cannot verify tokens here; the message says why."""


class Key(Protocol):
    """A key `find` returns: its one algorithm, and its verification."""

    @property
    def alg(self) -> str: ...

    def verify(self, signing_input: bytes, signature: bytes) -> bool: ...


class Verifier:
    """One public key and the one algorithm it verifies; built once per key and kept."""

    __slots__ = ("alg", "key", "kty", "verify")

    def __init__(self, alg: str, key: Any, check: Callable[[bytes, bytes], bool]) -> None:
        self.alg = alg
        self.kty = KEY_TYPES[alg]
        self.key = key  # the `cryptography` public key
        # verify(signing_input, signature) -> bool: the check itself, no method in between
        self.verify = check


def _member(jwk: Mapping[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str) or not value:
        raise KeyRefused(f"{name} is missing or not a string")
    try:
        return jose.segment_bytes(value, name)
    except jose.JoseError as error:
        raise KeyRefused(str(error)) from None


def _es256(jwk: Mapping[str, Any]) -> Verifier:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    if jwk.get("crv") != "P-256":
        raise KeyRefused(f"curve {jwk.get('crv')!r} is not P-256")
    x, y = _member(jwk, "x"), _member(jwk, "y")
    if len(x) != 32 or len(y) != 32:
        raise KeyRefused("x and y are not 32 bytes each")
    try:  # refuses a point that is not on the curve
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
    except ValueError as error:
        raise KeyRefused(f"not a P-256 public key: {error}") from None
    algorithm = ec.ECDSA(hashes.SHA256())

    def check(signing_input: bytes, signature: bytes) -> bool:
        if len(signature) != 64:  # r||s of 32 bytes each; DER (or anything else) is not
            return False
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        try:
            key.verify(der, signing_input, algorithm)
        except InvalidSignature:
            return False
        return True

    return Verifier("ES256", key, check)


def _rs256(jwk: Mapping[str, Any]) -> Verifier:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    n = int.from_bytes(_member(jwk, "n"), "big")
    e = int.from_bytes(_member(jwk, "e"), "big")
    if n.bit_length() < MIN_RSA_BITS:
        raise KeyRefused(f"an RSA key of {n.bit_length()} bits")
    try:
        key = rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError as error:
        raise KeyRefused(f"not an RSA public key: {error}") from None
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()

    def check(signing_input: bytes, signature: bytes) -> bool:
        try:
            key.verify(signature, signing_input, pkcs1, sha256)
        except InvalidSignature:
            return False
        return True

    return Verifier("RS256", key, check)


def verifier(jwk: Mapping[str, Any], alg: str) -> Verifier:
    """The Verifier of a public JWK for `alg` (ES256 or RS256); KeyRefused otherwise."""
    private = sorted(PRIVATE_MEMBERS & jwk.keys())
    if private:
        raise KeyRefused(f"the JWK holds private key members {private}")
    if alg not in KEY_TYPES or jwk.get("kty") != KEY_TYPES[alg]:
        raise KeyRefused(f"a {jwk.get('kty')!r} key cannot verify {alg!r}")
    return _es256(jwk) if alg == "ES256" else _rs256(jwk)


def _number(claims: Mapping[str, Any], name: str) -> int:
    value = claims[name]
    if value.__class__ is not int and (isinstance(value, bool) or not isinstance(value, float)):
        raise Rejected(f"{name} is not a number")
    return int(value)


def check_claims(
    claims: Mapping[str, Any],
    *,
    issuer: str,
    audience: str,
    required: Collection[str],
    now: int,
    leeway: int,
) -> None:
    """Step 5 of the module docstring: Rejected (or Expired) unless every claim check holds."""
    if None in map(claims.get, required):  # one pass in C; the loop only names the one missing
        missing = next(name for name in required if claims.get(name) is None)
        raise Rejected(f"the {missing} claim is missing")
    iss = claims.get("iss")
    if iss.__class__ is not str or iss != issuer:
        raise Rejected("iss is not our issuer")
    aud = claims.get("aud")
    if aud.__class__ is str:
        if aud != audience:
            raise Rejected("aud does not hold our audience")
    elif not (isinstance(aud, list) and aud and all(a.__class__ is str for a in aud)):
        raise Rejected("aud is not a string or a list of strings")
    elif audience not in aud:
        raise Rejected("aud does not hold our audience")
    if "exp" in claims and now >= _number(claims, "exp") + leeway:
        raise Expired(f"expired at {claims['exp']} (now {now})")
    if "iat" in claims and _number(claims, "iat") > now + leeway:
        raise Rejected(f"issued in the future ({claims['iat']}, now {now})")
    if "nbf" in claims and _number(claims, "nbf") > now + leeway:
        raise Rejected(f"not valid before {claims['nbf']} (now {now})")


def read_header(token: str, typs: Collection[str], max_bytes: int) -> jose.Compact:
    """Steps 1 and 2: the token read strictly, its header judged before any key is looked up."""
    try:
        read = jose.read(token, max_bytes)
    except jose.JoseError as error:
        raise Rejected(str(error)) from None
    header = read.header
    alg = header.get("alg")
    if alg not in ALGORITHMS:  # a string or absent: checked by the reader
        raise Rejected(f"alg {alg!r} is not accepted")
    typ = header.get("typ")
    if typ is None or typ.lower() not in typs:
        raise Rejected(f"typ {typ!r} is not accepted")
    kid = header.get("kid")
    if kid is None or not 0 < len(kid) <= MAX_KID:
        raise Rejected("kid missing or malformed")
    if not read.signature:
        raise Rejected("empty signature")
    return read


def decode(
    token: str,
    find: Callable[[str], Key | None],
    *,
    typs: Collection[str],
    issuer: str,
    audience: str,
    required: Collection[str],
    now: int,
    leeway: int,
    max_bytes: int = jose.MAX_JWS,
) -> dict[str, Any]:
    """The claims of a JWT that passes every check of the module docstring; Rejected (or
    Expired) otherwise. `typs` are lower case. Whatever `find` raises passes through."""
    read = read_header(token, typs, max_bytes)
    alg, kid = read.header["alg"], read.header["kid"]
    key = find(kid)
    if key is None:
        raise Rejected(f"no published key has kid {kid!r}")
    if key.alg != alg:
        raise Rejected(f"alg {alg} does not fit the {key.alg} key {kid!r}")
    if alg == "ES256" and len(read.signature) != 64:
        raise Rejected("an ES256 signature is 64 bytes r||s (not DER)")
    signing_input = token[: token.rindex(".")].encode("ascii")
    if not key.verify(signing_input, read.signature):
        raise Rejected("the signature does not verify")
    check_claims(
        read.claims,
        issuer=issuer,
        audience=audience,
        required=required,
        now=now,
        leeway=leeway,
    )
    return read.claims
