"""Keys from the issuer's JWKS: fetched with urllib, cached per container, refetched on an
unknown kid at most once per interval (SECURITY.md 22), never from a token's own URLs."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.authorizer.errors import AuthorizerUnavailable, InvalidToken
from chalicelib.authorizer.keys import (
    JwksFetcher,
    KeyLoadError,
    LocalKeys,
    check_url,
    get_json,
    opener,
    parse_jwks,
)
from chalicelib.authorizer.validate import verify
from tests.authorizer.issuer import Clock, Issuer
from tests.authorizer.tokens import AUDIENCE, ISSUER, NOW, KeyPair, attacks


@pytest.fixture
def issuer(ec_key: KeyPair) -> Iterator[Issuer]:
    server = Issuer()
    server.publish(ec_key)
    yield server
    server.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def jwks_fetches(issuer: Issuer) -> int:
    return issuer.requests.count("/jwks.json")


def test_discovery_then_jwks_then_cached(issuer: Issuer, clock: Clock, ec_key: KeyPair) -> None:
    fetcher = issuer.fetcher(clock)
    key = fetcher.get(ec_key.kid)
    assert key is not None and key.alg == "ES256" and key.kty == "EC"
    for _ in range(20):
        assert fetcher.get(ec_key.kid) is key
    assert issuer.requests == ["/.well-known/oauth-authorization-server", "/jwks.json"]


def test_a_configured_jwks_uri_skips_discovery(
    issuer: Issuer, clock: Clock, ec_key: KeyPair
) -> None:
    fetcher = issuer.fetcher(clock, jwks_uri=f"{issuer.url}/jwks.json")
    assert fetcher.get(ec_key.kid) is not None
    assert issuer.requests == ["/jwks.json"]


def test_keys_are_reloaded_after_max_age(issuer: Issuer, clock: Clock, ec_key: KeyPair) -> None:
    fetcher = issuer.fetcher(clock, max_age=300)
    fetcher.get(ec_key.kid)
    clock.now += 299
    fetcher.get(ec_key.kid)
    assert jwks_fetches(issuer) == 1
    clock.now += 1
    fetcher.get(ec_key.kid)
    assert jwks_fetches(issuer) == 2


def test_a_newly_rotated_key_is_accepted(issuer: Issuer, clock: Clock, ec_key: KeyPair) -> None:
    """SECURITY.md 22: the first token of a key published after our last fetch verifies."""
    fetcher = issuer.fetcher(clock, min_refetch_interval=30)
    fetcher.get(ec_key.kid)
    clock.now += 31
    rotated = KeyPair.ec("ec-2")
    issuer.publish(ec_key, rotated)
    claims = verify(rotated.token(), fetcher, issuer=ISSUER, audience=AUDIENCE, now=NOW)
    assert claims.sub == "sub-alice"
    assert jwks_fetches(issuer) == 2


def test_random_kids_do_not_flood_the_issuer(issuer: Issuer, clock: Clock, ec_key: KeyPair) -> None:
    """SECURITY.md 22: a stream of unknown kids costs at most one fetch per interval."""
    fetcher = issuer.fetcher(clock, min_refetch_interval=30)
    fetcher.get(ec_key.kid)
    for _second in range(90):
        for _ in range(10):
            assert fetcher.get(secrets.token_urlsafe(8)) is None
        clock.now += 1
    # One initial fetch, then at most one per 30 s over 90 s.
    assert jwks_fetches(issuer) <= 1 + 3
    assert fetcher.loads == jwks_fetches(issuer)


def test_random_kids_in_tokens_do_not_flood_either(
    issuer: Issuer, clock: Clock, ec_key: KeyPair
) -> None:
    fetcher = issuer.fetcher(clock)
    for _ in range(50):
        token = ec_key.token(kid=secrets.token_urlsafe(8))
        with pytest.raises(InvalidToken, match="no published key"):
            verify(token, fetcher, issuer=ISSUER, audience=AUDIENCE, now=NOW)
    assert jwks_fetches(issuer) == 1


def test_token_urls_are_never_fetched(
    issuer: Issuer, clock: Clock, ec_key: KeyPair, rsa_key: KeyPair
) -> None:
    """SECURITY.md 21: jku and x5u point at our own server here, and it is never asked."""
    fetcher = issuer.fetcher(clock)
    evil = f"{issuer.url}/evil-jwks.json"
    issuer.serve("/evil-jwks.json", {"keys": [KeyPair.ec(ec_key.kid).jwk]})
    tokens = attacks(ec_key, rsa_key, jku=evil)
    for name in ("jku header", "x5u header", "jwk header with the attacker's key", "kid a path"):
        with pytest.raises(InvalidToken):
            verify(tokens[name], fetcher, issuer=ISSUER, audience=AUDIENCE, now=NOW)
    assert not any("evil" in path or "dev/null" in path for path in issuer.requests)


def test_an_unreachable_issuer_is_unavailable_never_an_allow(clock: Clock, ec_key: KeyPair) -> None:
    server = Issuer()
    server.close()  # nothing listens any more
    fetcher = JwksFetcher(server.url, clock=clock, proxies={}, timeout=1)
    with pytest.raises(AuthorizerUnavailable):
        verify(ec_key.token(), fetcher, issuer=ISSUER, audience=AUDIENCE, now=NOW)
    # A failed load is retried after a short pause, not on every request.
    with pytest.raises(AuthorizerUnavailable):
        fetcher.get(ec_key.kid)
    assert fetcher.loads == 1
    clock.now += 5
    with pytest.raises(AuthorizerUnavailable):
        fetcher.get(ec_key.kid)
    assert fetcher.loads == 2


def test_keys_held_stay_in_use_when_a_reload_fails(
    issuer: Issuer, clock: Clock, ec_key: KeyPair
) -> None:
    fetcher = issuer.fetcher(clock, max_age=60)
    key = fetcher.get(ec_key.kid)
    issuer.serve("/jwks.json", {"error": "broken"}, status=500)
    clock.now += 61
    assert fetcher.get(ec_key.kid) is key
    issuer.publish(ec_key)
    clock.now += 60
    assert fetcher.get(ec_key.kid) is not None
    assert jwks_fetches(issuer) == 3


def test_a_metadata_document_of_another_issuer_is_refused(
    issuer: Issuer, clock: Clock, ec_key: KeyPair
) -> None:
    issuer.serve(
        "/.well-known/oauth-authorization-server",
        {"issuer": "https://evil.example", "jwks_uri": f"{issuer.url}/jwks.json"},
    )
    with pytest.raises(AuthorizerUnavailable):
        issuer.fetcher(clock).get(ec_key.kid)
    assert "/jwks.json" not in issuer.requests


def test_redirects_are_not_followed(issuer: Issuer, clock: Clock, ec_key: KeyPair) -> None:
    issuer.serve("/moved", f"{issuer.url}/jwks.json".encode(), status=302)
    fetcher = issuer.fetcher(clock, jwks_uri=f"{issuer.url}/moved")
    with pytest.raises(AuthorizerUnavailable):
        fetcher.get(ec_key.kid)
    assert issuer.requests == ["/moved"]


def test_an_oversized_jwks_is_refused(issuer: Issuer) -> None:
    issuer.serve("/big.json", b'{"keys": []' + b" " * 70_000 + b"}")
    with pytest.raises(KeyLoadError, match="bytes"):
        get_json(f"{issuer.url}/big.json", via=opener({}))
    issuer.serve("/text", b"<html>")
    with pytest.raises(KeyLoadError, match="not JSON"):
        get_json(f"{issuer.url}/text", via=opener({}))


@pytest.mark.parametrize(
    "url",
    ["http://auth.example/jwks.json", "file:///etc/passwd", "ftp://x/y", "https://", "jwks.json"],
)
def test_only_https_or_loopback_http(url: str) -> None:
    with pytest.raises(KeyLoadError):
        check_url(url)
    assert check_url("https://auth.example/jwks.json")
    assert check_url("http://127.0.0.1:8000/jwks.json")


def test_parse_jwks_keeps_only_usable_signature_keys(ec_key: KeyPair, rsa_key: KeyPair) -> None:
    small_rsa = KeyPair("rsa-small", "RS256", _small_rsa())
    oct_key = {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0", "alg": "HS256"}
    p384 = {**ec_key.jwk, "kid": "p384", "crv": "P-384"}
    enc = {**rsa_key.jwk, "kid": "enc", "use": "enc"}
    wrong_alg = {**rsa_key.jwk, "kid": "ps256", "alg": "PS256"}
    no_kid = {k: v for k, v in ec_key.jwk.items() if k != "kid"}
    twice = [{**ec_key.jwk, "kid": "dup"}, {**rsa_key.jwk, "kid": "dup"}]
    broken = {**ec_key.jwk, "kid": "broken", "x": "AAAA"}
    doc = {
        "keys": [
            ec_key.jwk,
            rsa_key.jwk,
            small_rsa.jwk,
            oct_key,
            p384,
            enc,
            wrong_alg,
            no_kid,
            *twice,
            broken,
            "junk",
        ]
    }
    assert sorted(parse_jwks(doc)) == [ec_key.kid, rsa_key.kid]


@pytest.mark.parametrize("doc", [None, [], {"keys": {}}, {"nokeys": []}, "x"])
def test_parse_jwks_refuses_what_is_not_a_key_set(doc: object) -> None:
    with pytest.raises(KeyLoadError):
        parse_jwks(doc)


def test_parse_jwks_refuses_too_many_keys(ec_key: KeyPair) -> None:
    doc = {"keys": [{**ec_key.jwk, "kid": f"k{n}"} for n in range(33)]}
    with pytest.raises(KeyLoadError, match="at most"):
        parse_jwks(doc)


def test_local_keys_follow_the_signer(ec_key: KeyPair) -> None:
    """The in-process source reloads the signer's JWKS on an unknown kid (rotation)."""
    published = [ec_key.jwk]
    clock = Clock()
    calls: list[int] = []

    def jwks() -> dict[str, Any]:
        calls.append(1)
        return {"keys": list(published)}

    keys = LocalKeys(jwks, clock=clock, min_refetch_interval=30)
    assert keys.get(ec_key.kid) is not None
    rotated = KeyPair.ec("ec-next")
    published.append(rotated.jwk)
    clock.now += 30
    assert keys.get(rotated.kid) is not None
    assert keys.get("nope") is None
    assert len(calls) == 2


def _small_rsa() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (on purpose)
