"""DPoP proofs (RFC 9449 4): the one verifier of the `DPoP` header, shared by the token
endpoint, UserInfo and both authorizers (SECURITY.md 43-47).

A proof is accepted only when, in this order (RFC 9449 4.3):

- it is a single compact JWS of at most MAX_PROOF bytes, read by the strict reader
  (chalicelib/tokens/jose.py: canonical base64url, strict JSON), whose header is
  `typ: dpop+jwt`, `alg` one of ALGORITHMS (never `none`, never HS*), and `jwk` a PUBLIC key
  of the type the alg names (a member of a private or symmetric key is refused: the client
  would have leaked its key), and no `kid`, `jku`, `x5u`, `x5c` or `crit`;
- its signature verifies with that key (PyJWT, exactly that algorithm);
- `jti` (a string of at most MAX_JTI), `htm` (the request's method), `htu` (the request's URL,
  compared without query and fragment after the normalisation of RFC 3986 6.2.2-6.2.3:
  scheme and host in lower case, default port dropped, empty path is `/`) and `iat` are
  present; `iat` is at most MAX_AGE seconds old and at most MAX_SKEW seconds ahead;
- `ath` equals base64url(SHA-256(access token)) when a token is presented with it;
- a server nonce, where the caller asks for one, is one it issued (chalicelib/tokens/dpop_nonce.py).

The caller then records the `jti` once (ReplayGuard: a conditional put whose item lives
until the proof's `iat` leaves the window), so a proof is good for one request. The key's
RFC 7638 thumbprint (`jkt`) is what tokens are bound to (`cnf.jkt`, RFC 9449 6).

PyJWT and cryptography load on first use.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from chalicelib.tokens import jose

TYP = "dpop+jwt"
ALGORITHMS = ("ES256", "RS256", "PS256", "EdDSA")
MAX_PROOF = 8 * 1024  # an RSA-4096 key's proof is about 2.3 KB
MAX_JTI = 256
MAX_AGE = 300  # seconds a proof stays acceptable after its iat (its jti is kept as long)
MAX_SKEW = 60  # seconds a proof's iat may be ahead of our clock
MIN_RSA_BITS = 2048
# JWK members that only a private (or symmetric) key has (RFC 7518 6.2.2, 6.3.2, 6.4.1).
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# The key type and curve each algorithm takes, and the members of its RFC 7638 thumbprint.
KEY_OF_ALG: dict[str, tuple[str, str | None]] = {
    "ES256": ("EC", "P-256"),
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
    "EdDSA": ("OKP", "Ed25519"),
}
THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}
# Of the headers jose.read refuses, a proof needs `jwk`; `kid` would name another key.
_ALLOWED_HEADERS = frozenset({"jwk"})
_PROOF_REFUSED = frozenset({"kid"})
_DEFAULT_PORTS = {"https": 443, "http": 80}


class InvalidProof(ValueError):
    """The proof is not acceptable; the message is for the log (the caller's answer is
    `invalid_dpop_proof`)."""


class NonceNeeded(InvalidProof):
    """A valid proof without the current server nonce: answer `use_dpop_nonce` with a fresh
    `DPoP-Nonce` (RFC 9449 8)."""


class ReplayGuard(Protocol):
    def use(self, jkt: str, jti: str, until: int) -> bool:
        """Record a proof's jti as used; False when it was used before."""
        ...


@dataclass(frozen=True)
class Proof:
    jkt: str  # the key's RFC 7638 thumbprint
    jti: str
    iat: int
    nonce: str | None

    @property
    def keep_until(self) -> int:
        """How long the jti must be remembered: past this, the iat check refuses it."""
        return self.iat + MAX_AGE + 1


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def ath(access_token: str) -> str:
    """The `ath` of an access token (RFC 9449 4.2): base64url(SHA-256(ASCII(token)))."""
    return b64url(hashlib.sha256(access_token.encode("ascii", "replace")).digest())


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, without whitespace."""
    members = THUMBPRINT_MEMBERS[str(jwk["kty"])]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def is_thumbprint(value: object) -> bool:
    """Whether `value` can be a SHA-256 JWK thumbprint: 43 canonical base64url characters."""
    if not isinstance(value, str) or len(value) != 43:
        return False
    try:
        return len(jose.segment_bytes(value, "thumbprint")) == 32
    except jose.JoseError:
        return False


def normalized_url(url: str) -> str | None:
    """`url` without query and fragment, scheme and host in lower case, the default port
    dropped and an empty path as `/`; None when it is not an absolute http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username is not None:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path or "/", "", ""))


def _public_key(alg: str, jwk: object) -> tuple[Any, str]:
    """The verification key and thumbprint of the header's `jwk`; InvalidProof otherwise."""
    if not isinstance(jwk, dict):
        raise InvalidProof("the header's jwk is not a JSON object")
    private = sorted(PRIVATE_MEMBERS & jwk.keys())
    if private:
        raise InvalidProof(f"the jwk holds private key members {private}")
    kty, crv = KEY_OF_ALG[alg]
    if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
        raise InvalidProof(f"alg {alg} does not fit a {jwk.get('kty')!r} key")
    for member in THUMBPRINT_MEMBERS[kty]:
        if not isinstance(jwk.get(member), str) or not jwk[member]:
            raise InvalidProof(f"the jwk's {member} is missing or not a string")
    from jwt import PyJWK, PyJWTError

    try:
        key = PyJWK(dict(jwk), alg).key
    # PyJWTError: both PyJWKError and InvalidKeyError (members that are not base64url, a
    # point off the curve), which a client's bad jwk must never turn into a 500.
    except (PyJWTError, ValueError, TypeError) as error:
        raise InvalidProof(f"the jwk is not a usable key: {type(error).__name__}") from None
    if kty == "RSA" and key.key_size < MIN_RSA_BITS:
        raise InvalidProof(f"an RSA key of {key.key_size} bits")
    return key, thumbprint(jwk)


def _header(proof: str) -> jose.Compact:
    try:
        read = jose.read(proof, MAX_PROOF, allow=_ALLOWED_HEADERS)
    except jose.JoseError as error:
        raise InvalidProof(str(error)) from None
    typ, alg = read.string("typ"), read.string("alg")
    if typ is None or typ.lower() != TYP:
        raise InvalidProof(f"typ {typ!r} is not {TYP}")
    if alg not in ALGORITHMS:
        raise InvalidProof(f"alg {alg!r} is not accepted")
    refused = sorted(_PROOF_REFUSED & read.header.keys())
    if refused:
        raise InvalidProof(f"header parameters {refused} are not accepted in a proof")
    if not read.signature:
        raise InvalidProof("empty signature")
    return read


def _claims(proof: str, alg: str, key: Any) -> dict[str, Any]:
    import jwt

    try:
        claims: dict[str, Any] = jwt.decode(
            proof,
            key,
            algorithms=[alg],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise InvalidProof(f"{type(error).__name__}: {error}") from None
    return claims


def _string(claims: Mapping[str, Any], name: str, most: int = 2048) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= most:
        raise InvalidProof(f"{name} is missing or not a string of at most {most}")
    return value


def verify(
    proof: str,
    *,
    method: str,
    url: str,
    now: int,
    access_token: str | None = None,
    nonce_ok: Callable[[str | None], bool] | None = None,
) -> Proof:
    """The proof's key thumbprint and jti, once every rule of the module docstring holds;
    InvalidProof (or NonceNeeded) otherwise. `nonce_ok` judges the proof's `nonce` claim
    (None: nonces are off and any nonce is ignored)."""
    read = _header(proof)
    alg = str(read.header["alg"])
    key, jkt = _public_key(alg, read.header.get("jwk"))
    claims = _claims(proof, alg, key)
    jti = _string(claims, "jti", MAX_JTI)
    if _string(claims, "htm", 16) != method:
        raise InvalidProof("htm does not match the request's method")
    expected = normalized_url(url)
    if expected is None or normalized_url(_string(claims, "htu")) != expected:
        raise InvalidProof("htu does not match the request's URL")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise InvalidProof("iat is missing or not a number")
    if not now - MAX_AGE <= iat <= now + MAX_SKEW:
        raise InvalidProof(f"iat {int(iat)} is outside the window (now {now})")
    if access_token is not None and claims.get("ath") != ath(access_token):
        raise InvalidProof("ath does not match the access token")
    nonce = claims.get("nonce")
    if nonce is not None and not isinstance(nonce, str):
        raise InvalidProof("nonce is not a string")
    if nonce_ok is not None and not nonce_ok(nonce):
        raise NonceNeeded("the proof lacks the current server nonce")
    return Proof(jkt=jkt, jti=jti, iat=int(iat), nonce=nonce)


def single(values: list[str]) -> str | None:
    """The one `DPoP` header of a request (RFC 9449 4.3: exactly one); None when there is
    none, InvalidProof for several."""
    if len(values) > 1:
        raise InvalidProof("more than one DPoP header")
    return values[0] if values else None


def use_once(guard: ReplayGuard, proof: Proof) -> None:
    """Record the proof's jti (after its signature was verified, so that a forged proof
    writes nothing); InvalidProof when it was used before."""
    if not guard.use(proof.jkt, proof.jti, proof.keep_until):
        raise InvalidProof("the proof's jti was used before (replay)")
