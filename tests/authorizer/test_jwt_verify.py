"""chalicelib/tokens/jwt_verify.py on its own: every check refuses a token that differs from
a good one in exactly that way (SECURITY.md 21, RFC 8725), and keys are built strictly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.tokens import jwt_verify
from tests.authorizer.tokens import (
    AUDIENCE,
    ISSUER,
    NOW,
    KeyPair,
    access_claims,
    b64,
    jws,
    non_canonical,
)

REQUIRED = ("exp", "iat", "iss", "sub", "aud", "client_id", "jti")
TYPS = frozenset({"at+jwt", "application/at+jwt"})


@pytest.fixture(scope="module")
def published(ec_key: KeyPair, rsa_key: KeyPair) -> dict[str, jwt_verify.Verifier]:
    return {key.kid: jwt_verify.verifier(key.jwk, key.alg) for key in (ec_key, rsa_key)}


def decode(
    token: str, published: dict[str, jwt_verify.Verifier], now: int = NOW, leeway: int = 30
) -> dict[str, Any]:
    return jwt_verify.decode(
        token,
        published.get,
        typs=TYPS,
        issuer=ISSUER,
        audience=AUDIENCE,
        required=REQUIRED,
        now=now,
        leeway=leeway,
        max_bytes=8192,
    )


def test_good_tokens_of_both_algorithms(
    ec_key: KeyPair, rsa_key: KeyPair, published: dict[str, jwt_verify.Verifier]
) -> None:
    for key in (ec_key, rsa_key):
        assert decode(key.token(), published) == access_claims()
    assert decode(ec_key.token(typ="Application/AT+JWT"), published)["sub"] == "sub-alice"
    aud = ["https://other.example", AUDIENCE]
    assert decode(ec_key.token(access_claims(aud=aud)), published)["aud"] == aud


def _header(key: KeyPair, **changes: Any) -> Callable[[], str]:
    return lambda: key.token(**changes)


def _claims(key: KeyPair, **changes: Any) -> Callable[[], str]:
    return lambda: key.token(access_claims(**changes))


def _signed_by(key: KeyPair, other: KeyPair | None = None, **header: Any) -> Callable[[], str]:
    """Our kid in the header, the signature by `other` (or raw bytes of another shape)."""
    full = {"alg": key.alg, "typ": "at+jwt", "kid": key.kid, **header}
    return lambda: jws(full, access_claims(), (other or KeyPair.ec(key.kid)).sign)


# (what differs from a good token, how to make it, what the refusal names)
CASES: list[tuple[str, Callable[[KeyPair, KeyPair], Callable[[], str]], str]] = [
    ("alg none", lambda e, r: _header(e, alg="none"), "alg 'none'"),
    ("alg HS256", lambda e, r: _header(e, alg="HS256"), "alg 'HS256'"),
    ("alg ES384", lambda e, r: _header(e, alg="ES384"), "alg 'ES384'"),
    ("alg PS256", lambda e, r: _header(r, alg="PS256"), "alg 'PS256'"),
    ("alg missing", lambda e, r: _header(e, alg=None), "alg None"),
    ("typ JWT", lambda e, r: _header(e, typ="JWT"), "typ 'JWT'"),
    ("typ missing", lambda e, r: _header(e, typ=None), "typ None"),
    ("kid missing", lambda e, r: _header(e, kid=None), "kid missing"),
    ("kid empty", lambda e, r: _header(e, kid=""), "kid missing"),
    ("kid too long", lambda e, r: _header(e, kid="k" * 129), "kid missing"),
    ("kid unknown", lambda e, r: _header(e, kid="other"), "no published key"),
    ("crit", lambda e, r: _header(e, crit=["exp"]), "crit"),
    ("jku", lambda e, r: _header(e, jku="https://evil.example/jwks"), "jku"),
    ("RS256 on the EC key", lambda e, r: _signed_by(e, r, alg="RS256"), "does not fit"),
    ("ES256 on the RSA key", lambda e, r: _signed_by(r, e, alg="ES256"), "does not fit"),
    ("another EC key", lambda e, r: _signed_by(e), "signature does not verify"),
    ("another RSA key", lambda e, r: _signed_by(r, KeyPair.rsa("x")), "signature does not verify"),
    (
        "DER signature",
        lambda e, r: lambda: jws(_good_header(e), access_claims(), e.der),
        "64 bytes",
    ),
    ("iss other", lambda e, r: _claims(e, iss="https://evil.example"), "not our issuer"),
    ("iss a list", lambda e, r: _claims(e, iss=[ISSUER]), "not our issuer"),
    ("aud foreign", lambda e, r: _claims(e, aud="https://other.example"), "our audience"),
    ("aud empty list", lambda e, r: _claims(e, aud=[]), "aud is not"),
    ("aud a number", lambda e, r: _claims(e, aud=1), "aud is not"),
    ("aud list of lists", lambda e, r: _claims(e, aud=[[AUDIENCE]]), "aud is not"),
    ("exp missing", lambda e, r: _claims(e, exp=None), "exp claim is missing"),
    ("jti null", lambda e, r: lambda: e.token({**access_claims(), "jti": None}), "jti claim"),
    ("client_id missing", lambda e, r: _claims(e, client_id=None), "client_id claim"),
    ("exp a string", lambda e, r: _claims(e, exp="later"), "exp is not a number"),
    ("exp true", lambda e, r: _claims(e, exp=True), "exp is not a number"),
    ("iat in the future", lambda e, r: _claims(e, iat=NOW + 31, exp=NOW + 600), "future"),
    ("nbf in the future", lambda e, r: _claims(e, nbf=NOW + 31), "not valid before"),
    ("nbf a list", lambda e, r: _claims(e, nbf=[NOW]), "nbf is not a number"),
]


def _good_header(key: KeyPair) -> dict[str, str]:
    return {"alg": key.alg, "typ": "at+jwt", "kid": key.kid}


@pytest.mark.parametrize(
    ("make", "reason"), [pytest.param(make, reason, id=name) for name, make, reason in CASES]
)
def test_each_check_refuses_on_its_own(
    make: Callable[[KeyPair, KeyPair], Callable[[], str]],
    reason: str,
    ec_key: KeyPair,
    rsa_key: KeyPair,
    published: dict[str, jwt_verify.Verifier],
) -> None:
    """SECURITY.md 21: one difference from a good token, one refusal that names it."""
    with pytest.raises(jwt_verify.Rejected) as refused:
        decode(make(ec_key, rsa_key)(), published)
    assert reason in str(refused.value)
    assert not isinstance(refused.value, jwt_verify.Expired)


def test_the_strict_reader_comes_first(
    ec_key: KeyPair, published: dict[str, jwt_verify.Verifier]
) -> None:
    head, body, signature = ec_key.token().split(".")
    spelled = f"{head}.{body}.{non_canonical(signature)}"
    for token, reason in [
        (spelled, "canonical"),
        (f"{head}.{body}", "segments"),
        (f"{head}.{body}.", "empty signature"),
        (ec_key.token(access_claims(pad="x" * 9000)), "at most 8192"),
        (f"{head}.{b64(b'[1]')}.{signature}", "not a JSON object"),
    ]:
        with pytest.raises(jwt_verify.Rejected, match=reason):
            decode(token, published)


def test_an_unknown_kid_is_looked_up_only_after_the_header_passed(ec_key: KeyPair) -> None:
    asked: list[str] = []

    def find(kid: str) -> None:
        asked.append(kid)

    for token in (ec_key.token(alg="none"), ec_key.token(typ="JWT"), ec_key.token(x5u="x")):
        with pytest.raises(jwt_verify.Rejected):
            jwt_verify.decode(
                token,
                find,
                typs=TYPS,
                issuer=ISSUER,
                audience=AUDIENCE,
                required=(),
                now=NOW,
                leeway=0,
            )
    assert asked == []


def test_time_claims_with_leeway(
    ec_key: KeyPair, published: dict[str, jwt_verify.Verifier]
) -> None:
    token = ec_key.token(access_claims(nbf=NOW + 30, iat=NOW + 30, exp=NOW + 300))
    assert decode(token, published, now=NOW)["sub"] == "sub-alice"
    assert decode(token, published, now=NOW + 329)["sub"] == "sub-alice"
    with pytest.raises(jwt_verify.Expired, match="expired"):
        decode(token, published, now=NOW + 330)
    with pytest.raises(jwt_verify.Rejected, match="future"):
        decode(token, published, now=NOW, leeway=29)


def test_a_signature_of_the_right_size_but_zero_is_refused(
    ec_key: KeyPair, published: dict[str, jwt_verify.Verifier]
) -> None:
    """r = s = 0 is not a signature (the classic psychic-signature check, CVE-2022-21449)."""
    head, body, _ = ec_key.token().split(".")
    with pytest.raises(jwt_verify.Rejected, match="does not verify"):
        decode(f"{head}.{body}.{b64(bytes(64))}", published)


def _refused(jwk: dict[str, Any], alg: str) -> str:
    with pytest.raises(jwt_verify.KeyRefused) as refused:
        jwt_verify.verifier(jwk, alg)
    return str(refused.value)


def test_keys_are_built_strictly(ec_key: KeyPair, rsa_key: KeyPair) -> None:
    ec, rsa = ec_key.jwk, rsa_key.jwk
    assert jwt_verify.verifier(ec, "ES256").alg == "ES256"
    assert jwt_verify.verifier(rsa, "RS256").kty == "RSA"
    assert "private key members ['d']" in _refused({**ec, "d": ec["x"]}, "ES256")
    assert "cannot verify" in _refused(ec, "RS256")
    assert "cannot verify" in _refused(rsa, "ES256")
    assert "cannot verify" in _refused(ec, "HS256")
    assert "P-256" in _refused({**ec, "crv": "P-384"}, "ES256")
    assert "32 bytes" in _refused({**ec, "x": b64(bytes(31))}, "ES256")
    assert "not a P-256 public key" in _refused({**ec, "y": ec["x"]}, "ES256")
    assert "canonical" in _refused({**ec, "x": non_canonical(ec["x"])}, "ES256")
    assert "missing" in _refused({k: v for k, v in ec.items() if k != "y"}, "ES256")
    assert "bits" in _refused({**rsa, "n": b64(b"\xff" * 128)}, "RS256")
    assert "not an RSA public key" in _refused({**rsa, "e": b64(b"\x02")}, "RS256")


def test_headers_read_once_are_judged_the_same_every_time(
    ec_key: KeyPair, published: dict[str, jwt_verify.Verifier]
) -> None:
    """The reader keeps headers that passed (they repeat for every token of a key): a refused
    header is refused again, and a kept one still passes only with a valid signature."""
    refused = ec_key.token(jku="https://evil.example/jwks")
    for _ in range(2):
        with pytest.raises(jwt_verify.Rejected, match="jku"):
            decode(refused, published)
    good = ec_key.token()
    assert decode(good, published)["sub"] == "sub-alice"
    head, _, signature = good.split(".")
    forged = f"{head}.{b64(b'{}')}.{signature}"
    with pytest.raises(jwt_verify.Rejected, match="does not verify"):
        decode(forged, published)
