"""DPoP at the edge (RFC 9449 7): the standalone authorizer, through API Gateway's events and
its answer cache (tests/authorizer/gateway.py). SECURITY.md 44 and 45.

The API is https://api.example.test/prod (the execute-api domain: the stage is in the path
the client calls); a proof names the method and that URL, and the token's `ath`.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from typing import Any

import pytest

from chalicelib.authorizer.config import from_env
from chalicelib.authorizer.errors import Unauthorized
from chalicelib.authorizer.events import request_url
from chalicelib.authorizer.keys import LocalKeys
from chalicelib.authorizer.lambda_handler import Authorizer
from chalicelib.clock import FakeClock
from chalicelib.stores.memory import MemoryTable
from chalicelib.stores.repository import Store
from chalicelib.stores.table import Item, Table
from tests.authorizer.gateway import Gateway, http_api_event, rest_event, token_event
from tests.authorizer.test_lambda_handler import ROUTES, make_config
from tests.authorizer.tokens import ISSUER, NOW, KeyPair, access_claims
from tests.support.dpop import DpopKey, dpop_key

URL = "https://api.example.test/prod/notes"


class Counting:
    """A table that counts the calls made to it, by method."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.table, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(*args, **kwargs)

        return counted


@pytest.fixture
def table() -> Counting:
    return Counting(MemoryTable(FakeClock(NOW)))


def _authorizer(keys: LocalKeys, table: Counting | None, **config: Any) -> Authorizer:
    """An authorizer told that API Gateway caches nothing (DPoP needs it), unless `config`
    says otherwise."""
    replay = Store(table).dpop if table is not None else None
    config.setdefault("cache_ttl", 0)
    return Authorizer(make_config(**config), keys=keys, clock=lambda: NOW, replay=replay)


def bound(issuer: KeyPair, key: DpopKey, **claims: Any) -> str:
    return issuer.token(access_claims(cnf={"jkt": key.jkt}, **claims))


def _proof(key: DpopKey, token: str, method: str = "GET", url: str = URL, **kw: Any) -> str:
    return key.proof(method, url, NOW, token=token, **kw)


def _call(authorizer: Authorizer, event: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return authorizer(event)
    except Unauthorized:
        return None


def test_a_bound_token_with_its_proof_is_allowed(
    keys: LocalKeys, ec_key: KeyPair, table: Counting
) -> None:
    """SECURITY.md 44; and the cost: one conditional PutItem, nothing else (SECURITY.md 45)."""
    key = dpop_key()
    token = bound(ec_key, key)
    authorizer = _authorizer(keys, table)
    event = rest_event("GET", "/notes", f"DPoP {token}", extra={"DPoP": _proof(key, token)})
    answer = _call(authorizer, event)
    assert answer is not None and answer["principalId"] == "sub-alice"
    assert dict(table.calls) == {"put": 1}


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_a_replayed_proof_is_refused_by_another_container(
    keys: LocalKeys, ec_key: KeyPair, table: Counting, alg: str
) -> None:
    """SECURITY.md 45: two containers (two Authorizers) over the one table."""
    key = dpop_key(alg)
    token = bound(ec_key, key)
    event = rest_event("GET", "/notes", f"DPoP {token}", extra={"DPoP": _proof(key, token)})
    assert _call(_authorizer(keys, table), event) is not None
    assert _call(_authorizer(keys, table), event) is None


@pytest.mark.parametrize(
    "change",
    [
        {"method": "POST"},
        {"url": "https://api.example.test/notes"},  # the stage left out
        {"url": "https://api.example.test/prod/health"},
        {"url": "https://evil.example/prod/notes"},
        {"token": "another token"},
        {"iat": NOW - 3600},
    ],
)
def test_a_proof_for_another_request_is_refused(
    keys: LocalKeys, ec_key: KeyPair, table: Counting, change: dict[str, Any]
) -> None:
    """SECURITY.md 44: method and URL of this request, ath of this token; nothing written."""
    key = dpop_key()
    token = bound(ec_key, key)
    kw: dict[str, Any] = {"token": token, **change}
    proof = key.proof(kw.pop("method", "GET"), kw.pop("url", URL), kw.pop("iat", NOW), **kw)
    event = rest_event("GET", "/notes", f"DPoP {token}", extra={"DPoP": proof})
    assert _call(_authorizer(keys, table), event) is None
    assert not table.calls


def test_a_bound_token_as_bearer_or_without_its_key_is_refused(
    keys: LocalKeys, ec_key: KeyPair, table: Counting
) -> None:
    """SECURITY.md 44."""
    key, other = dpop_key(), dpop_key(name="other")
    token = bound(ec_key, key)
    authorizer = _authorizer(keys, table)
    assert _call(authorizer, rest_event("GET", "/notes", f"Bearer {token}")) is None
    proof = {"DPoP": _proof(key, token)}
    assert _call(authorizer, rest_event("GET", "/notes", f"Bearer {token}", extra=proof)) is None
    assert _call(authorizer, rest_event("GET", "/notes", f"DPoP {token}")) is None
    foreign = {"DPoP": _proof(other, token)}
    assert _call(authorizer, rest_event("GET", "/notes", f"DPoP {token}", extra=foreign)) is None


def test_the_dpop_scheme_with_an_unbound_token_is_refused(
    keys: LocalKeys, ec_key: KeyPair, table: Counting
) -> None:
    """SECURITY.md 44; the same token as Bearer is fine (DPoP is the client's choice)."""
    key = dpop_key()
    token = ec_key.token(access_claims())
    extra = {"DPoP": _proof(key, token)}
    authorizer = _authorizer(keys, table)
    assert _call(authorizer, rest_event("GET", "/notes", f"DPoP {token}", extra=extra)) is None
    assert _call(authorizer, rest_event("GET", "/notes", f"Bearer {token}")) is not None


def test_two_dpop_headers_are_refused(keys: LocalKeys, ec_key: KeyPair, table: Counting) -> None:
    key = dpop_key()
    token = bound(ec_key, key)
    event = rest_event("GET", "/notes", f"DPoP {token}", extra={"DPoP": _proof(key, token)})
    event["multiValueHeaders"]["DPoP"] = [_proof(key, token), _proof(key, token)]
    assert _call(_authorizer(keys, table), event) is None


def test_a_token_authorizer_and_an_authorizer_without_a_table_refuse_dpop(
    keys: LocalKeys, ec_key: KeyPair, table: Counting
) -> None:
    """SECURITY.md 45: no request to check the proof against, or no replay guard: refused
    rather than accepted unchecked."""
    key = dpop_key()
    token = bound(ec_key, key)
    assert _call(_authorizer(keys, table), token_event("GET", "/notes", f"DPoP {token}")) is None
    event = rest_event("GET", "/notes", f"DPoP {token}", extra={"DPoP": _proof(key, token)})
    assert _call(_authorizer(keys, None), event) is None


@pytest.mark.parametrize("env", [{}, {"TOLLGATE_AUTHORIZER_CACHE_TTL": "60"}])
def test_an_authorizer_behind_a_cache_refuses_dpop(
    keys: LocalKeys, ec_key: KeyPair, table: Counting, env: dict[str, str]
) -> None:
    """SECURITY.md 45: API Gateway would answer later requests with the same DPoP header from
    its cached allow, proof or not: unless the function is told the cache is off
    (TOLLGATE_AUTHORIZER_CACHE_TTL=0), a DPoP request is refused, even with a valid proof."""
    cached = from_env(
        {"TOLLGATE_ISSUER": ISSUER, "TOLLGATE_ROUTE_POLICY": json.dumps(ROUTES), **env}
    )
    assert cached.cache_ttl == 60 and not cached.accepts_dpop
    key = dpop_key()
    token = bound(ec_key, key)
    event = rest_event("GET", "/notes", f"DPoP {token}", extra={"DPoP": _proof(key, token)})
    authorizer = Authorizer(
        dataclasses.replace(make_config(), cache_ttl=cached.cache_ttl),
        keys=keys,
        clock=lambda: NOW,
        replay=Store(table).dpop,
    )
    assert _call(authorizer, event) is None
    assert _call(_authorizer(keys, table), event) is not None  # the same, cache off


def test_an_http_api_event(keys: LocalKeys, ec_key: KeyPair, table: Counting) -> None:
    """HTTP API payload 2.0: the URL is https:// + host + rawPath ($default stage)."""
    key = dpop_key()
    token = bound(ec_key, key)
    proof = _proof(key, token, url="https://api.example.test/notes")
    event = http_api_event("GET", "/notes", f"DPoP {token}", extra={"DPoP": proof})
    assert _call(_authorizer(keys, table), event) is not None


def test_a_custom_domain_s_url_comes_from_the_configuration(
    keys: LocalKeys, ec_key: KeyPair, table: Counting
) -> None:
    """TOLLGATE_API_URL: the base URL clients call (a custom domain with a base path)."""
    key = dpop_key()
    token = bound(ec_key, key)
    authorizer = _authorizer(keys, table, api_url="https://api.example.com/v1")
    good = _proof(key, token, url="https://api.example.com/v1/notes")
    event = rest_event("GET", "/notes", f"DPoP {token}", extra={"DPoP": good})
    assert _call(authorizer, event) is not None
    bad = _proof(key, token)  # the execute-api URL
    event = rest_event("GET", "/notes", f"DPoP {token}", extra={"DPoP": bad})
    assert _call(authorizer, event) is None


def test_the_request_url_as_the_client_called_it() -> None:
    event = rest_event("GET", "/notes", "x")
    assert request_url(event, None) == URL
    assert request_url(event, "https://api.example.com/v1") == "https://api.example.com/v1/notes"
    assert request_url(token_event("GET", "/notes", "x"), None) is None
    no_host: Item = {**event, "headers": {}, "multiValueHeaders": {}}
    assert request_url(no_host, None) is None


# -- the authorizer cache (SECURITY.md 45) ---------------------------------------------------


def test_with_the_cache_off_every_request_needs_its_own_proof(
    keys: LocalKeys, ec_key: KeyPair, table: Counting
) -> None:
    """SECURITY.md 45: TTL 0 (what a DPoP-accepting authorizer runs with): each request calls
    the authorizer; a fresh proof passes, the replayed one does not."""
    key = dpop_key()
    token = bound(ec_key, key)
    gateway = Gateway(_authorizer(keys, table), ttl=0)
    proof = _proof(key, token)
    assert gateway.request("GET", "/notes", f"DPoP {token}", {"DPoP": proof})[0] == 200
    assert gateway.request("GET", "/notes", f"DPoP {token}", {"DPoP": proof})[0] == 401
    fresh = _proof(key, token)
    assert gateway.request("GET", "/notes", f"DPoP {token}", {"DPoP": fresh})[0] == 200
    assert gateway.request("GET", "/notes", f"DPoP {token}")[0] == 401
    assert gateway.calls == 4


def test_why_the_cache_must_be_off(keys: LocalKeys, ec_key: KeyPair, table: Counting) -> None:
    """SECURITY.md 45: with a cache keyed on the token alone, a cached allow skips the proof
    (no proof at all passes); keyed on the token and the proof, a replayed proof still
    passes from the cache, and a Bearer request (no DPoP header) is refused unheard."""
    key = dpop_key()
    token = bound(ec_key, key)
    proof = {"DPoP": _proof(key, token)}
    by_token = Gateway(_authorizer(keys, table), ttl=300)
    assert by_token.request("GET", "/notes", f"DPoP {token}", proof)[0] == 200
    assert by_token.request("GET", "/notes", f"DPoP {token}")[0] == 200  # no proof: cached

    both = Gateway(_authorizer(keys, table), ttl=300, identity=("Authorization", "DPoP"))
    proof = {"DPoP": _proof(key, token)}
    assert both.request("GET", "/notes", f"DPoP {token}", proof)[0] == 200
    assert both.request("GET", "/notes", f"DPoP {token}", proof)[0] == 200  # replay: cached
    assert both.calls == 1
    plain = ec_key.token(access_claims())
    assert both.request("GET", "/notes", f"Bearer {plain}")[0] == 401
