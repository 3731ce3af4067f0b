"""The validation core (RFC 9068 section 4, RFC 8725): what it accepts and what it refuses."""

from __future__ import annotations

import pytest

from chalicelib.authorizer import validate
from chalicelib.authorizer.errors import InvalidToken, MissingToken
from chalicelib.authorizer.keys import KeySource, LocalKeys, PublicKey
from chalicelib.authorizer.validate import Claims, bearer_token, verify
from tests.authorizer.tokens import AUDIENCE, ISSUER, NOW, KeyPair, access_claims, attacks


def check(token: str, keys: KeySource, now: int = NOW, leeway: int = 30) -> Claims:
    return verify(token, keys, issuer=ISSUER, audience=AUDIENCE, leeway=leeway, now=now)


def test_a_valid_es256_token(ec_key: KeyPair, keys: LocalKeys) -> None:
    claims = check(ec_key.token(access_claims(gid="g-1", scope="notes:read notes:write")), keys)
    assert claims.sub == "sub-alice"
    assert claims.client_id == "web"
    assert claims.scopes == ("notes:read", "notes:write")
    assert claims.scope == "notes:read notes:write"
    assert claims.audience == (AUDIENCE,)
    assert (claims.issued_at, claims.expires_at) == (NOW, NOW + 300)
    assert claims.grant_id == "g-1"
    assert claims.jti == "jti-1"
    assert claims.has_scopes(["notes:read"]) and not claims.has_scopes(["admin"])


def test_a_valid_rs256_token(rsa_key: KeyPair, keys: LocalKeys) -> None:
    assert check(rsa_key.token(), keys).sub == "sub-alice"


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"])
def test_typ_is_compared_without_case(typ: str, ec_key: KeyPair, keys: LocalKeys) -> None:
    """RFC 9068 4: "at+jwt" or "application/at+jwt", media types are case-insensitive."""
    assert check(ec_key.token(typ=typ), keys).sub == "sub-alice"


def test_aud_may_be_a_list_holding_ours(ec_key: KeyPair, keys: LocalKeys) -> None:
    token = ec_key.token(access_claims(aud=["https://other.example", AUDIENCE]))
    assert check(token, keys).audience == ("https://other.example", AUDIENCE)


def test_no_scope_claim_means_no_scopes(ec_key: KeyPair, keys: LocalKeys) -> None:
    assert check(ec_key.token(access_claims(scope=None)), keys).scopes == ()


def test_leeway_on_exp_nbf_and_iat(ec_key: KeyPair, keys: LocalKeys) -> None:
    """A small clock skew is tolerated on every time claim, and no more than that."""
    token = ec_key.token(access_claims(nbf=NOW + 20, iat=NOW + 20, exp=NOW + 300))
    assert check(token, keys, now=NOW).sub == "sub-alice"
    assert check(token, keys, now=NOW + 300 + 29).sub == "sub-alice"
    with pytest.raises(InvalidToken, match="expired"):
        check(token, keys, now=NOW + 300 + 30)
    with pytest.raises(InvalidToken, match="future"):
        check(token, keys, now=NOW, leeway=0)
    with pytest.raises(InvalidToken, match="expired"):
        check(ec_key.token(access_claims(exp=NOW)), keys, now=NOW, leeway=0)


def test_every_attack_is_refused(ec_key: KeyPair, rsa_key: KeyPair, keys: LocalKeys) -> None:
    """SECURITY.md 21: each of these tokens is refused with invalid_token."""
    tokens = attacks(ec_key, rsa_key)
    assert len(tokens) >= 45
    accepted = []
    for name, token in tokens.items():
        try:
            check(token, keys)
        except InvalidToken as refused:
            assert refused.error == "invalid_token", name
        else:
            accepted.append(name)
    assert accepted == []


def test_the_attack_list_is_made_of_real_tokens(ec_key: KeyPair, keys: LocalKeys) -> None:
    """The attacks differ from a good token in one way only: the same helper makes good ones."""
    for typ in ("at+jwt", "application/at+jwt"):
        check(ec_key.token(typ=typ), keys)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("alg none", "alg 'none'"),
        ("alg None", "alg 'None'"),
        ("HS256 with the public key PEM", "alg 'HS256'"),
        ("RS256 header on the EC key", "does not fit"),
        ("ES256 header on the RSA key", "does not fit"),
        ("ES256 DER-encoded signature", "64 bytes r||s"),
        ("signed by another key with our kid", "signature does not verify"),
        ("payload swapped", "signature does not verify"),
        ("an ID token", "typ 'JWT'"),
        ("iss prefixed", "not our issuer"),
        ("iss as a list", "not our issuer"),
        ("aud foreign", "our audience"),
        ("aud missing", "aud"),
        ("exp passed", "expired"),
        ("nbf in the future", "not valid before"),
        ("crit unknown", "crit"),
        ("jku header", "jku"),
        ("x5u header", "x5u"),
        ("jwk header with the attacker's key", "jwk"),
        ("x5c header", "x5c"),
        ("b64 false", "b64"),
        ("kid a path", "no published key"),
        ("JWE (five parts)", "JWE"),
        ("JSON serialization", "JSON serialization"),
        ("oversize", "at most 8192"),
        ("header parameter twice", "appears twice"),
        ("client_id missing", "client_id"),
        ("jti missing", "jti"),
    ],
)
def test_each_attack_fails_for_its_own_reason(
    name: str, reason: str, ec_key: KeyPair, rsa_key: KeyPair, keys: LocalKeys
) -> None:
    """SECURITY.md 21: the refusal names the check that caught it (not some earlier accident)."""
    with pytest.raises(InvalidToken) as refused:
        check(attacks(ec_key, rsa_key)[name], keys)
    assert reason in refused.value.detail


def test_der_signature_is_the_only_difference(ec_key: KeyPair, keys: LocalKeys) -> None:
    """SECURITY.md 21: the same signing input with the raw r||s signature verifies."""
    token = ec_key.token()
    head, body, _ = token.split(".")
    from tests.authorizer.tokens import b64

    der = f"{head}.{body}.{b64(ec_key.der(f'{head}.{body}'.encode()))}"
    assert check(token, keys).sub == "sub-alice"
    with pytest.raises(InvalidToken, match="64 bytes"):
        check(der, keys)


class CountingKeys:
    """A key source that records every kid it is asked about."""

    def __init__(self, inner: KeySource) -> None:
        self.inner = inner
        self.asked: list[str] = []

    def get(self, kid: str) -> PublicKey | None:
        self.asked.append(kid)
        return self.inner.get(kid)


def test_the_header_is_judged_before_any_key_lookup(
    ec_key: KeyPair, rsa_key: KeyPair, keys: LocalKeys
) -> None:
    """RFC 8725 3.1: a token with a refused header never reaches the key source."""
    counting = CountingKeys(keys)
    tokens = attacks(ec_key, rsa_key)
    for name in ("alg none", "HS256 with the public key PEM", "jku header", "typ JWT", "oversize"):
        with pytest.raises(InvalidToken):
            check(tokens[name], counting)
    assert counting.asked == []


def test_the_kid_is_only_a_dictionary_key(
    ec_key: KeyPair, rsa_key: KeyPair, keys: LocalKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SECURITY.md 21: a kid like ../../dev/null is looked up, not opened."""
    opened: list[object] = []
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a))
    with pytest.raises(InvalidToken, match="no published key"):
        check(attacks(ec_key, rsa_key)["kid a path"], keys)
    assert opened == []


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc.def.ghi", "abc.def.ghi"),
        ("BEARER   abc.def-_~+/ghi==", "abc.def-_~+/ghi=="),
    ],
)
def test_bearer_token(header: str, token: str) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", [None, "", "   ", "Basic dXNlcjpwYXNz", "Token abc"])
def test_no_bearer_token_is_missing(header: str | None) -> None:
    """RFC 6750 3.1: without bearer credentials the challenge carries no error code."""
    with pytest.raises(MissingToken) as missing:
        bearer_token(header)
    assert missing.value.www_authenticate() == "Bearer"


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer a b", "Bearer a,Bearer b", "Bearer <x>", "Bearer a\nb", "Bearer ="]
)
def test_malformed_bearer_credentials_are_invalid(header: str) -> None:
    with pytest.raises(InvalidToken) as invalid:
        bearer_token(header)
    assert invalid.value.www_authenticate() == 'Bearer error="invalid_token"'


def test_importing_the_core_loads_no_crypto() -> None:
    """cryptography loads with the first key (the app's cold start stays light); PyJWT never."""
    import subprocess
    import sys

    probe = (
        "import sys, chalicelib.authorizer.validate; "
        "print(sorted({'jwt', 'cryptography'} & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert validate.MAX_TOKEN_BYTES == 8192
