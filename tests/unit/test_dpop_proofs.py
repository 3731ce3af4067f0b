"""DPoP proofs read and judged (RFC 9449 4.3; SECURITY.md 43): every rule of
chalicelib/tokens/dpop.py, each with a proof that breaks only that rule."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest

from chalicelib.tokens import dpop
from chalicelib.tokens.dpop_nonce import Nonces
from tests.support.dpop import DpopKey, dpop_key

URL = "https://auth.example.test/dev/token"
NOW = 1_700_000_000


def _verify(proof: str, **kw: Any) -> dpop.Proof:
    values: dict[str, Any] = {"method": "POST", "url": URL, "now": NOW}
    values.update(kw)
    return dpop.verify(proof, **values)


def _b64(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _refused(proof: str, why: str, **kw: Any) -> None:
    with pytest.raises(dpop.InvalidProof, match=why):
        _verify(proof, **kw)


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256", "EdDSA"])
def test_a_proof_of_each_accepted_algorithm_verifies(alg: str) -> None:
    """SECURITY.md 43: ES256 and RS256 (and PS256, EdDSA) proofs; the key's RFC 7638
    thumbprint comes back."""
    key = dpop_key(alg)
    proof = _verify(key.proof("POST", URL, NOW))
    assert proof.jkt == key.jkt
    assert proof.keep_until == NOW + dpop.MAX_AGE + 1


def test_the_thumbprint_is_rfc_7638s() -> None:
    """RFC 7638 3.1's own example key and thumbprint."""
    jwk = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1"
            "L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4"
            "QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbO"
            "pbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF"
            "Cur-kEgU8awapJzKnqDKgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert dpop.thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_the_rfc_9449_ath_example() -> None:
    """RFC 9449 7.1: the access token of its example and its ath."""
    token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
    assert dpop.ath(token) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ({"typ": "JWT"}, "typ"),
        ({"typ": None}, "typ"),
        ({"typ": "at+jwt"}, "typ"),
        ({"kid": "k1"}, "kid"),
        ({"jku": "https://evil.example/jwks"}, "jku"),
        ({"x5c": ["MIIB"]}, "x5c"),
        ({"crit": ["exp"]}, "crit"),
        ({"jwk": None}, "jwk"),
        ({"jwk": "a key"}, "jwk"),
    ],
)
def test_a_wrong_header_is_refused(header: dict[str, Any], why: str) -> None:
    """SECURITY.md 43: typ dpop+jwt, the key in jwk and nowhere else."""
    _refused(dpop_key().proof("POST", URL, NOW, header=header), why)


def test_a_private_key_in_the_jwk_is_refused() -> None:
    """SECURITY.md 43: a jwk with `d` (the client leaked its private key) is refused."""
    key = dpop_key()
    _refused(key.proof("POST", URL, NOW, header={"jwk": key.private_jwk()}), "private")


def test_a_symmetric_jwk_and_hs256_are_refused() -> None:
    secret = "a" * 32
    jwk = {"kty": "oct", "k": _b64(secret.encode())}
    claims = {"jti": "j", "htm": "POST", "htu": URL, "iat": NOW}
    proof = jwt.encode(claims, secret, algorithm="HS256", headers={"typ": "dpop+jwt", "jwk": jwk})
    _refused(proof, "alg")


def test_alg_none_is_refused() -> None:
    key = dpop_key()
    claims = {"jti": "j", "htm": "POST", "htu": URL, "iat": NOW}
    header = {"alg": "none", "typ": "dpop+jwt", "jwk": key.public_jwk()}
    _refused(f"{_b64(header)}.{_b64(claims)}.", "alg")
    signed = key.proof("POST", URL, NOW)
    _refused(f"{_b64(header)}.{signed.split('.')[1]}.{signed.split('.')[2]}", "alg")


@pytest.mark.parametrize(
    ("alg", "other"), [("ES256", "RS256"), ("RS256", "ES256"), ("EdDSA", "ES256")]
)
def test_an_alg_that_does_not_fit_the_key_is_refused(alg: str, other: str) -> None:
    key, signer = dpop_key(alg), dpop_key(other)
    proof = signer.proof("POST", URL, NOW, header={"jwk": key.public_jwk()})
    _refused(proof, "fit|signature|Signature")


@pytest.mark.parametrize(
    ("alg", "jwk"),
    [
        ("ES256", {"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}),  # not base64url
        ("ES256", {"kty": "EC", "crv": "P-256", "x": "A" * 43, "y": "A" * 43}),  # off the curve
        ("ES256", {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}),  # short
        ("RS256", {"kty": "RSA", "n": "a", "e": "AQAB"}),
        ("RS256", {"kty": "RSA", "n": "A" * 342, "e": "!"}),
        ("EdDSA", {"kty": "OKP", "crv": "Ed25519", "x": "a"}),
    ],
)
def test_a_jwk_that_is_no_key_is_refused(alg: str, jwk: dict[str, str]) -> None:
    """SECURITY.md 29 and 43: a jwk whose members do not make a public key is an invalid
    proof (400 invalid_dpop_proof), never an exception of another kind (a 500)."""
    _refused(dpop_key(alg).proof("POST", URL, NOW, header={"jwk": jwk}), "usable key")


def test_a_proof_signed_by_another_key_than_its_jwk_is_refused() -> None:
    proof = dpop_key(name="b").proof("POST", URL, NOW, header={"jwk": dpop_key().public_jwk()})
    _refused(proof, "Signature")


@pytest.mark.filterwarnings("ignore:The RSA key is 1024 bits")
def test_a_small_rsa_key_is_refused() -> None:
    _refused(dpop_key("RS256", bits=1024).proof("POST", URL, NOW), "1024 bits")


@pytest.mark.parametrize("claim", ["jti", "htm", "htu", "iat"])
def test_a_missing_claim_is_refused(claim: str) -> None:
    """SECURITY.md 43."""
    _refused(dpop_key().proof("POST", URL, NOW, **{claim: None}), claim)


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"jti": 7}, "jti|JWT ID"),
        ({"jti": "j" * 257}, "jti"),
        ({"htm": ["POST"]}, "htm"),
        ({"iat": "1700000000"}, "iat"),
        ({"iat": True}, "iat"),
        ({"nonce": 5}, "nonce"),
    ],
)
def test_a_claim_of_the_wrong_type_is_refused(claims: dict[str, Any], why: str) -> None:
    _refused(dpop_key().proof("POST", URL, NOW, **claims), why)


@pytest.mark.parametrize(
    ("htm", "htu"),
    [
        ("GET", URL),
        ("post", URL),
        ("POST", "https://auth.example.test/token"),  # the stage path left out
        ("POST", "https://auth.example.test/dev/token/"),
        ("POST", "https://auth.example.test:8443/dev/token"),
        ("POST", "http://auth.example.test/dev/token"),
        ("POST", "https://evil.example/dev/token"),
        ("POST", "https://user@auth.example.test/dev/token"),
        ("POST", "/dev/token"),
        ("POST", "not a url"),
    ],
)
def test_a_proof_for_another_request_is_refused(htm: str, htu: str) -> None:
    """SECURITY.md 43: htm and htu name this request (the stage path of the issuer too)."""
    _refused(dpop_key().proof(htm, htu, NOW), "htm|htu")


@pytest.mark.parametrize(
    "htu",
    [
        URL + "?x=1",
        URL + "#frag",
        "HTTPS://AUTH.EXAMPLE.TEST/dev/token",
        "https://auth.example.test:443/dev/token",
    ],
)
def test_htu_is_compared_without_query_and_fragment_and_normalised(htu: str) -> None:
    """RFC 9449 4.3 item 9: query and fragment ignored; RFC 3986 6.2.2-6.2.3 normalisation."""
    assert _verify(dpop_key().proof("POST", htu, NOW)).jti


@pytest.mark.parametrize(
    ("iat", "ok"),
    [
        (NOW, True),
        (NOW - dpop.MAX_AGE, True),
        (NOW - dpop.MAX_AGE - 1, False),
        (NOW + dpop.MAX_SKEW, True),
        (NOW + dpop.MAX_SKEW + 1, False),
    ],
)
def test_iat_must_be_within_the_window(iat: int, ok: bool) -> None:
    """SECURITY.md 43: at most MAX_AGE old and MAX_SKEW ahead (README documents both)."""
    proof = dpop_key().proof("POST", URL, NOW, iat=iat)
    if ok:
        assert _verify(proof).iat == iat
    else:
        _refused(proof, "iat")


def test_ath_must_match_the_presented_token() -> None:
    key = dpop_key()
    assert _verify(key.proof("POST", URL, NOW, token="tok-1"), access_token="tok-1")
    _refused(key.proof("POST", URL, NOW, token="tok-2"), "ath", access_token="tok-1")
    _refused(key.proof("POST", URL, NOW), "ath", access_token="tok-1")


@pytest.mark.parametrize(
    "proof",
    [
        "",
        "a.b",
        "a.b.c.d.e",
        '{"payload": "x"}',
        "!!!.???.***",
        "eyJhbGciOiJFUzI1NiJ9=.e30.sig",
    ],
)
def test_malformed_proofs_are_refused(proof: str) -> None:
    """SECURITY.md 29 and 43: the strict JOSE reader, never an exception of another kind."""
    _refused(proof, ".")


def test_a_non_canonical_spelling_is_refused() -> None:
    proof = dpop_key().proof("POST", URL, NOW)
    head, body, signature = proof.split(".")
    _refused(f"{head}.{body}.{signature}==", "base64url")


def test_duplicate_members_in_the_header_are_refused() -> None:
    proof = dpop_key().proof("POST", URL, NOW)
    head = base64.urlsafe_b64decode(proof.split(".")[0] + "==").decode()
    doubled = head[:-1] + ', "typ": "dpop+jwt"}'
    _refused(f"{_b64(doubled.encode())}.{proof.split('.', 1)[1]}", "twice")


def test_a_huge_proof_is_refused_before_it_is_parsed() -> None:
    proof = dpop_key().proof("POST", URL, NOW, pad="x" * dpop.MAX_PROOF)
    _refused(proof, "bytes")


def test_a_nonce_is_required_when_the_caller_asks() -> None:
    """SECURITY.md 48: NonceNeeded (use_dpop_nonce) without a good nonce."""
    nonces = Nonces(b"k" * 32)
    key: DpopKey = dpop_key()

    def check(nonce: str | None) -> bool:
        return nonces.accepts(nonce, NOW)

    with pytest.raises(dpop.NonceNeeded):
        _verify(key.proof("POST", URL, NOW), nonce_ok=check)
    with pytest.raises(dpop.NonceNeeded):
        _verify(key.proof("POST", URL, NOW, nonce="made-up"), nonce_ok=check)
    good = nonces.current(NOW)
    assert _verify(key.proof("POST", URL, NOW, nonce=good), nonce_ok=check).nonce == good


def test_nonces_rotate_away() -> None:
    """SECURITY.md 48: a nonce is good for a few minutes, then refused; another key's
    nonces are not ours."""
    nonces = Nonces(b"k" * 32)
    issued = nonces.current(NOW)
    slot_start = NOW - NOW % 60
    assert nonces.accepts(issued, slot_start + 179)  # two slots on
    assert not nonces.accepts(issued, slot_start + 180)
    assert not Nonces(b"j" * 32).accepts(issued, NOW)


def test_several_dpop_headers_are_refused() -> None:
    with pytest.raises(dpop.InvalidProof, match="more than one"):
        dpop.single(["a", "b"])
    assert dpop.single([]) is None
