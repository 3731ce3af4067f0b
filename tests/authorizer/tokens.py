"""Hand-made JWS tokens for the authorizer tests: well-formed ones and every attack of
SECURITY.md 21, signed with test keys through `cryptography` directly (not PyJWT), so that a
token can be wrong in exactly one way."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ISSUER = "https://auth.example.test"
AUDIENCE = "https://api.example.test"
NOW = 1_800_000_000
NOT_UTF8_HEADER = b'{"alg":"ES256","typ":"at+jwt","kid":"\xff"}'

Sign = Callable[[bytes], bytes]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(value: object) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def jws(header: dict[str, Any], claims: dict[str, Any], sign: Sign | None) -> str:
    signing_input = f"{b64json(header)}.{b64json(claims)}"
    signature = sign(signing_input.encode("ascii")) if sign else b""
    return f"{signing_input}.{b64(signature)}"


def raw_jws(header: str, payload: str, sign: Sign | None) -> str:
    """A JWS of JSON texts as written (what json.dumps cannot write: 1e400, "\\ud800")."""
    signing_input = f"{b64(header.encode())}.{b64(payload.encode())}"
    signature = sign(signing_input.encode("ascii")) if sign else b""
    return f"{signing_input}.{b64(signature)}"


def non_canonical(segment: str) -> str:
    """The same bytes spelled differently: the last character's unused bits set."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    unused = {2: 0b1111, 3: 0b11}[len(segment) % 4]  # bits of the last character not used
    return segment[:-1] + alphabet[alphabet.index(segment[-1]) | unused]


def public_jwk(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        jwk: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        jwk["alg"] = "ES256"
    else:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        jwk["alg"] = "RS256"
    jwk.update({"kid": kid, "use": "sig"})
    return jwk


@dataclass
class KeyPair:
    kid: str
    alg: str
    private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    jwk: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.jwk = public_jwk(self.private, self.kid)

    @classmethod
    def ec(cls, kid: str) -> KeyPair:
        return cls(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def rsa(cls, kid: str) -> KeyPair:
        return cls(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def der(self, data: bytes) -> bytes:
        """ECDSA as DER (what KMS returns): not a valid JWS signature."""
        assert isinstance(self.private, ec.EllipticCurvePrivateKey)
        return self.private.sign(data, ec.ECDSA(hashes.SHA256()))

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.private, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(self.der(data))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def token(self, claims: dict[str, Any] | None = None, **header: Any) -> str:
        """A well-formed access token by this key; `header` adds or overrides parameters
        (a value of None removes one)."""
        full = {"alg": self.alg, "typ": "at+jwt", "kid": self.kid, **header}
        full = {k: v for k, v in full.items() if v is not None}
        return jws(full, claims if claims is not None else access_claims(), self.sign)

    def jwks(self, *others: KeyPair) -> dict[str, Any]:
        return {"keys": [self.jwk, *(o.jwk for o in others)]}


class StaticSigner:
    """A Signer whose keys are the test's own, so attacks can use the real private key."""

    def __init__(self, ec_key: KeyPair, rsa_key: KeyPair) -> None:
        self.ec_key, self.rsa_key = ec_key, rsa_key

    def sign(self, claims: dict[str, Any], *, alg: str, typ: str) -> str:
        key = self.ec_key if alg == "ES256" else self.rsa_key
        return key.token(claims, typ=typ)

    def jwks(self) -> dict[str, Any]:
        return self.ec_key.jwks(self.rsa_key)


def access_claims(**overrides: Any) -> dict[str, Any]:
    """RFC 9068 claims valid at NOW; an override of None removes the claim."""
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "sub-alice",
        "aud": AUDIENCE,
        "client_id": "web",
        "scope": "notes:read",
        "iat": NOW,
        "exp": NOW + 300,
        "jti": "jti-1",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def hs256(secret: bytes) -> Sign:
    return lambda data: hmac.new(secret, data, hashlib.sha256).digest()


def attacks(
    ec_key: KeyPair,
    rsa_key: KeyPair,
    *,
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
    now: int = NOW,
    jku: str = "https://evil.example/jwks.json",
) -> dict[str, str]:
    """SECURITY.md 21: each token must be refused with 401 invalid_token.

    `ec_key` and `rsa_key` are the issuer's published keys; everything else is the attacker's.
    """
    good = access_claims(iss=issuer, aud=audience, iat=now, exp=now + 300)

    def claims(**overrides: Any) -> dict[str, Any]:
        out = {**good, **overrides}
        return {k: v for k, v in out.items() if v is not None}

    attacker = KeyPair.ec(ec_key.kid)  # same kid, other key
    header = {"alg": "ES256", "typ": "at+jwt", "kid": ec_key.kid}
    jwk_secret = json.dumps(ec_key.jwk, separators=(",", ":")).encode()
    id_token_claims = claims(aud="web", scope=None, nonce="n")
    out = {
        "alg none": jws({**header, "alg": "none"}, good, None),
        "alg None": jws({**header, "alg": "None"}, good, None),
        "alg NONE": jws({**header, "alg": "NONE"}, good, None),
        "alg none with a signature": jws({**header, "alg": "none"}, good, ec_key.sign),
        "alg missing": jws({"typ": "at+jwt", "kid": ec_key.kid}, good, ec_key.sign),
        "HS256 with the public key PEM": jws(
            {**header, "alg": "HS256"}, good, hs256(ec_key.public_pem())
        ),
        "HS256 with the RSA public key PEM": jws(
            {**header, "alg": "HS256", "kid": rsa_key.kid}, good, hs256(rsa_key.public_pem())
        ),
        "HS256 with the public JWK": jws({**header, "alg": "HS256"}, good, hs256(jwk_secret)),
        "RS256 header on the EC key": jws({**header, "alg": "RS256"}, good, KeyPair.rsa("x").sign),
        "ES256 header on the RSA key": jws(
            {**header, "kid": rsa_key.kid}, good, KeyPair.ec("y").sign
        ),
        "ES256 DER-encoded signature": jws(header, good, ec_key.der),
        "signed by another key with our kid": attacker.token(claims()),
        "typ JWT": ec_key.token(claims(), typ="JWT"),
        "typ missing": ec_key.token(claims(), typ=None),
        "typ at+jwt+evil": ec_key.token(claims(), typ="at+jwt+evil"),
        "an ID token": rsa_key.token(id_token_claims, typ="JWT"),
        "iss wrong": ec_key.token(claims(iss="https://evil.example")),
        "iss prefixed": ec_key.token(claims(iss=issuer + ".evil.example")),
        "iss with a path added": ec_key.token(claims(iss=issuer + "/x")),
        "iss as a list": ec_key.token(claims(iss=[issuer])),
        "aud missing": ec_key.token(claims(aud=None)),
        "aud foreign": ec_key.token(claims(aud="https://other-api.example")),
        "aud list without ours": ec_key.token(claims(aud=["https://other-api.example"])),
        "exp passed": ec_key.token(claims(iat=now - 600, exp=now - 60)),
        "nbf in the future": ec_key.token(claims(nbf=now + 600)),
        "iat in the future": ec_key.token(claims(iat=now + 600, exp=now + 900)),
        "crit unknown": ec_key.token(claims(), crit=["x-unknown"]),
        "crit exp": ec_key.token(claims(), crit=["exp"]),
        "b64 false": ec_key.token(claims(), b64=False, crit=["b64"]),
        "jku header": ec_key.token(claims(), jku=jku),
        "x5u header": ec_key.token(claims(), x5u=jku),
        "jwk header with the attacker's key": jws(
            {**header, "jwk": attacker.jwk}, claims(), attacker.sign
        ),
        "x5c header": ec_key.token(claims(), x5c=["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]),
        "kid a path": ec_key.token(claims(), kid="../../dev/null"),
        "kid a query": ec_key.token(claims(), kid="x' OR '1'='1"),
        "kid missing": ec_key.token(claims(), kid=None),
        "kid not a string": ec_key.token(claims(), kid=1),
        "JWE (five parts)": ".".join([b64json({"alg": "RSA-OAEP", "enc": "A256GCM"}), *"abcd"]),
        "JSON serialization": json.dumps(
            {
                "payload": b64json(good),
                "signatures": [{"protected": b64json(header), "signature": "AAAA"}],
            }
        ),
        "oversize": ec_key.token(claims(pad="x" * 9000)),
        "two segments": ".".join(ec_key.token(claims()).split(".")[:2]),
        "signature cut": ec_key.token(claims())[:-4],
        "payload swapped": _swap_payload(ec_key.token(claims()), claims(scope="admin")),
        "not base64": "%%%." + ec_key.token(claims()).split(".", 1)[1],
        "header not an object": jws([], claims(), ec_key.sign),  # type: ignore[arg-type]
        "header parameter twice": _duplicate_alg(ec_key, claims()),
    }
    for name in ("exp", "iat", "iss", "sub", "aud", "client_id", "jti"):
        out[f"{name} missing"] = ec_key.token(claims(**{name: None}))
    out["sub empty"] = ec_key.token(claims(sub=""))
    out["exp not a number"] = ec_key.token(claims(exp="tomorrow"))
    out["scope not a string"] = ec_key.token(claims(scope=["notes:read"]))
    out.update(malformed(ec_key, header, claims()))
    return out


def malformed(key: KeyPair, header: dict[str, Any], claims: dict[str, Any]) -> dict[str, str]:
    """Bad input that must be refused before it can crash a reader: nesting, spellings,
    types, numbers and strings JSON can write but a token must not hold (issue 10 items 3
    and 10; issue 17 items 1, 3 and 4). Signed with `key`, so only the reader can refuse."""
    good = jws(header, claims, key.sign)
    head, body, signature = good.split(".")
    deep = "[" * 1500  # the parser recursed into these before it saw the JSON is unbalanced
    head_text = json.dumps(header, separators=(",", ":"))

    def with_claim(name: str, raw: str) -> str:
        rest = json.dumps({k: v for k, v in claims.items() if k != name}, separators=(",", ":"))
        return raw_jws(head_text, rest[:-1] + f',"{name}":{raw}}}', key.sign)

    out = {
        "header nested 1500 deep": f"{b64(deep.encode())}.{body}.{signature}",
        "header objects nested 500 deep": raw_jws('{"":' * 500 + "1" + "}" * 500, "{}", None),
        "payload nested 1500 deep": with_claim("x", deep),
        "signature padded ==": good + "==",
        "header padded ==": f"{head}==.{body}.{signature}",
        "payload padded =": f"{head}.{body}=.{signature}",
        "alg a list": jws({**header, "alg": []}, claims, key.sign),
        "alg an object": jws({**header, "alg": {}}, claims, key.sign),
        "typ a list": jws({**header, "typ": ["at+jwt"]}, claims, key.sign),
        "kid an object": jws({**header, "kid": {"a": 1}}, claims, key.sign),
        "header not UTF-8": f"{b64(NOT_UTF8_HEADER)}.{body}.{signature}",
        "exp 1e400": with_claim("exp", "1e400"),
        "exp -1e400": with_claim("exp", "-1e400"),
        "iat 1e400": with_claim("iat", "1e400"),
        "nbf -1e400": with_claim("nbf", "-1e400"),
        "exp beyond 2**53": with_claim("exp", str(2**60)),
        "jti a lone surrogate": with_claim("jti", '"\\ud800"'),
        "sub a lone surrogate": with_claim("sub", '"a\\udc00"'),
    }
    out["signature spelled otherwise"] = f"{head}.{body}.{non_canonical(signature)}"
    return out


def _swap_payload(token: str, claims: dict[str, Any]) -> str:
    head, _, signature = token.split(".")
    return f"{head}.{b64json(claims)}.{signature}"


def _duplicate_alg(key: KeyPair, claims: dict[str, Any]) -> str:
    raw = f'{{"alg":"HS256","alg":"ES256","typ":"at+jwt","kid":"{key.kid}"}}'
    signing_input = f"{b64(raw.encode())}.{b64json(claims)}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"
