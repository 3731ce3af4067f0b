"""The standalone Lambda authorizer: events of REST (REQUEST and TOKEN) and HTTP APIs, its
answers (401 by "Unauthorized", 403 by policy, 500 when it cannot decide), its configuration,
and the optional revocation check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.authorizer import config as configuration
from chalicelib.authorizer import lambda_handler
from chalicelib.authorizer.config import AuthorizerConfig
from chalicelib.authorizer.errors import Unauthorized
from chalicelib.authorizer.keys import LocalKeys
from chalicelib.authorizer.lambda_handler import Authorizer, AuthorizerFailed, handler
from chalicelib.authorizer.policy import RoutePolicy
from chalicelib.clock import FakeClock
from chalicelib.settings import SettingsError
from chalicelib.stores.memory import MemoryTable
from chalicelib.stores.models import Grant
from chalicelib.stores.repository import Store
from chalicelib.stores.table import StoreUnavailable
from tests.authorizer.gateway import API, Gateway, http_api_event, rest_event, token_event
from tests.authorizer.issuer import Issuer
from tests.authorizer.tokens import AUDIENCE, ISSUER, NOW, KeyPair, access_claims, attacks

ROUTES = {"GET /notes": ["notes:read"], "POST /notes": ["notes:write"], "GET /health": []}


def make_config(**overrides: Any) -> AuthorizerConfig:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "policy": RoutePolicy.from_mapping(ROUTES),
    }
    values.update(overrides)
    return AuthorizerConfig(**values)


@pytest.fixture
def authorizer(keys: LocalKeys) -> Authorizer:
    return Authorizer(make_config(), keys=keys, clock=lambda: NOW)


def bearer(key: KeyPair, **claims: Any) -> str:
    return "Bearer " + key.token(access_claims(**claims))


# -- events and answers -----------------------------------------------------------------------


def test_a_rest_request_event(authorizer: Authorizer, ec_key: KeyPair) -> None:
    answer = authorizer(rest_event("GET", "/notes", bearer(ec_key, scope="notes:read")))
    assert answer["principalId"] == "sub-alice"
    assert answer["context"] == {"sub": "sub-alice", "client_id": "web", "scope": "notes:read"}
    statement = answer["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == [f"{API}/prod/GET/health", f"{API}/prod/GET/notes"]


def test_a_token_event(authorizer: Authorizer, ec_key: KeyPair) -> None:
    """Chalice's CustomAuthorizer and TOKEN authorizers send the header as authorizationToken."""
    answer = authorizer(token_event("POST", "/notes", bearer(ec_key, scope="notes:write")))
    assert answer["policyDocument"]["Statement"][0]["Resource"] == [
        f"{API}/prod/GET/health",
        f"{API}/prod/POST/notes",
    ]


def test_an_http_api_event(authorizer: Authorizer, ec_key: KeyPair) -> None:
    answer = authorizer(http_api_event("GET", "/notes", bearer(ec_key, scope="notes:read")))
    assert f"{API}/$default/GET/notes" in answer["policyDocument"]["Statement"][0]["Resource"]


@pytest.mark.parametrize("authorization", [None, "", "Basic dXNlcjpwYXNz"])
def test_no_bearer_token_is_unauthorized(authorizer: Authorizer, authorization: str | None) -> None:
    with pytest.raises(Unauthorized, match=r"^Unauthorized$"):
        authorizer(rest_event("GET", "/notes", authorization))
    with pytest.raises(Unauthorized):
        authorizer(http_api_event("GET", "/notes", authorization))


def test_every_attack_is_a_401(authorizer: Authorizer, ec_key: KeyPair, rsa_key: KeyPair) -> None:
    """SECURITY.md 21: API Gateway answers 401 when the authorizer fails with "Unauthorized"."""
    gateway = Gateway(authorizer, ttl=0)
    statuses = {
        name: gateway.request("GET", "/health", f"Bearer {token}")[0]
        for name, token in attacks(ec_key, rsa_key).items()
    }
    assert {name: s for name, s in statuses.items() if s != 401} == {}
    assert gateway.request("GET", "/health", bearer(ec_key))[0] == 200


def test_two_authorization_headers_are_unauthorized(
    authorizer: Authorizer, ec_key: KeyPair
) -> None:
    event = rest_event("GET", "/notes", bearer(ec_key))
    event["multiValueHeaders"]["Authorization"] = [bearer(ec_key), bearer(ec_key, sub="mallory")]
    with pytest.raises(Unauthorized):
        authorizer(event)
    event = rest_event("GET", "/notes", None)
    event["headers"].update({"Authorization": bearer(ec_key), "authorization": bearer(ec_key)})
    with pytest.raises(Unauthorized):
        authorizer(event)


def test_insufficient_scope_is_a_403_by_policy(authorizer: Authorizer, ec_key: KeyPair) -> None:
    gateway = Gateway(authorizer)
    assert gateway.request("POST", "/notes", bearer(ec_key, scope="notes:read"))[0] == 403
    assert gateway.request("DELETE", "/notes", bearer(ec_key, scope="notes:read"))[0] == 403


def test_no_decision_is_a_500_never_an_allow(ec_key: KeyPair) -> None:
    down = Issuer()
    down.close()
    authorizer = Authorizer(make_config(issuer=down.url), clock=lambda: NOW)
    with pytest.raises(AuthorizerFailed):
        authorizer(rest_event("GET", "/health", bearer(ec_key)))
    assert Gateway(authorizer).request("GET", "/health", bearer(ec_key))[0] == 500
    without_arn = rest_event("GET", "/health", bearer(ec_key))
    del without_arn["methodArn"]
    with pytest.raises(AuthorizerFailed):
        authorizer(without_arn)


# -- the Lambda entry point and its configuration ------------------------------------------


@pytest.fixture
def issuer(ec_key: KeyPair) -> Iterator[Issuer]:
    server = Issuer()
    server.publish(ec_key)
    yield server
    server.close()


@pytest.fixture
def env(issuer: Issuer, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    values = {
        "TOLLGATE_ISSUER": issuer.url,
        "TOLLGATE_AUDIENCE": AUDIENCE,
        "TOLLGATE_ROUTE_POLICY": json.dumps(ROUTES),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for proxy in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    lambda_handler.reset()
    yield values
    lambda_handler.reset()


def test_handler_end_to_end(env: dict[str, str], issuer: Issuer, ec_key: KeyPair) -> None:
    """Configuration from the environment, keys discovered and fetched over HTTP, cached."""
    import time

    now = int(time.time())
    token = "Bearer " + ec_key.token(access_claims(iss=issuer.url, iat=now, exp=now + 300))
    answer = handler(rest_event("GET", "/notes", token), None)
    assert answer["principalId"] == "sub-alice"
    handler(rest_event("GET", "/health", token), None)
    assert issuer.requests == ["/.well-known/oauth-authorization-server", "/jwks.json"]
    with pytest.raises(Unauthorized):
        handler(rest_event("GET", "/notes", bearer(ec_key)), None)  # iss is not this issuer


def test_config_from_env(tmp_path: Path) -> None:
    (tmp_path / "routes.json").write_text(json.dumps(ROUTES))
    cfg = configuration.from_env(
        {
            "TOLLGATE_ISSUER": "https://auth.example/",
            "TOLLGATE_ROUTE_POLICY": "routes.json",
            "TOLLGATE_JWKS_URI": "https://auth.example/jwks.json",
            "TOLLGATE_LEEWAY": "10",
            "TOLLGATE_JWKS_MIN_REFETCH": "60",
            "TOLLGATE_REVOCATION_CHECK": "true",
            "TOLLGATE_TABLE": "tollgate-dev",
            "AWS_REGION": "eu-west-1",
        },
        base=tmp_path,
    )
    assert cfg.issuer == "https://auth.example"
    assert cfg.audience == "https://auth.example"  # the issuer unless configured
    assert cfg.jwks_uri == "https://auth.example/jwks.json"
    assert (cfg.leeway, cfg.jwks_min_refetch, cfg.jwks_max_age) == (10, 60, 300)
    assert cfg.revocation_check and cfg.table_name == "tollgate-dev"
    assert cfg.region == "eu-west-1"
    assert len(cfg.policy.routes) == 3


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "TOLLGATE_ISSUER"),
        ({"TOLLGATE_ISSUER": "https://a.example"}, "TOLLGATE_ROUTE_POLICY is not set"),
        ({"TOLLGATE_ISSUER": "http://a.example", "TOLLGATE_ROUTE_POLICY": "{}"}, "https"),
        (
            {"TOLLGATE_ISSUER": "https://a.example", "TOLLGATE_ROUTE_POLICY": "nope.json"},
            "cannot read",
        ),
        (
            {
                "TOLLGATE_ISSUER": "https://a.example",
                "TOLLGATE_ROUTE_POLICY": '{"GET /a": []}',
                "TOLLGATE_REVOCATION_CHECK": "yes",
            },
            "TOLLGATE_TABLE",
        ),
        (
            {
                "TOLLGATE_ISSUER": "https://a.example",
                "TOLLGATE_ROUTE_POLICY": '{"GET /a": []}',
                "TOLLGATE_LEEWAY": "3600",
            },
            "TOLLGATE_LEEWAY",
        ),
    ],
)
def test_config_errors(env: dict[str, str], message: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=message):
        configuration.from_env(
            {"TOLLGATE_ISSUER": "", "TOLLGATE_ROUTE_POLICY": "", **env}, base=tmp_path
        )


# -- revocation (README, "Revocation") ------------------------------------------------------


@pytest.fixture
def store() -> Store:
    store = Store(MemoryTable(FakeClock(NOW)))
    store.grants.put(Grant("g-1", "sub-alice", "web", ["notes:read"], NOW))
    store.grants.put(Grant("g-bob", "sub-bob", "web", ["notes:read"], NOW))
    return store


def checking(keys: LocalKeys, store: Store) -> Authorizer:
    return Authorizer(
        make_config(revocation_check=True), keys=keys, grants=store.grants, clock=lambda: NOW
    )


def test_revocation_check(keys: LocalKeys, store: Store, ec_key: KeyPair) -> None:
    authorizer = checking(keys, store)
    event = rest_event("GET", "/notes", bearer(ec_key, gid="g-1"))
    assert authorizer(event)["principalId"] == "sub-alice"
    store.grants.revoke("g-1", NOW + 1, "test")
    with pytest.raises(Unauthorized):
        authorizer(event)
    # Without the check, the same token passes until it expires.
    assert Authorizer(make_config(), keys=keys, grants=store.grants, clock=lambda: NOW)(event)


def test_revocation_check_refuses_unknown_and_foreign_grants(
    keys: LocalKeys, store: Store, ec_key: KeyPair
) -> None:
    authorizer = checking(keys, store)
    for gid in ("g-unknown", "g-bob"):
        with pytest.raises(Unauthorized):
            authorizer(rest_event("GET", "/notes", bearer(ec_key, gid=gid)))
    # A token without a grant (a machine client's) has nothing to revoke.
    assert authorizer(rest_event("GET", "/notes", bearer(ec_key)))


def test_revocation_check_fails_closed(keys: LocalKeys, ec_key: KeyPair) -> None:
    class Down:
        def get(self, grant_id: str) -> Grant | None:
            raise StoreUnavailable("throttled")

        def is_jti_revoked(self, jti: str) -> bool:
            raise StoreUnavailable("throttled")

    authorizer = Authorizer(
        make_config(revocation_check=True), keys=keys, grants=Down(), clock=lambda: NOW
    )
    with pytest.raises(AuthorizerFailed):
        authorizer(rest_event("GET", "/notes", bearer(ec_key, gid="g-1")))


def test_revocation_check_reads_dynamodb(
    keys: LocalKeys, ec_key: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the check on (and only then), the standalone authorizer reads the table itself:
    one GetItem per validation, with the lean client over HTTP (moto's server here)."""
    from chalicelib.clock import SystemClock
    from chalicelib.stores.dynamodb import DynamoTable, make_client
    from tests.support.tables import create_table, moto_server

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with moto_server() as url:
        create_table(url, "tollgate-test")
        client = make_client("us-east-1", url)
        Store(DynamoTable(client, "tollgate-test", SystemClock())).grants.put(
            Grant("g-1", "sub-alice", "web", ["notes:read"], NOW)
        )
        cfg = make_config(revocation_check=True, table_name="tollgate-test", endpoint_url=url)
        authorizer = Authorizer(cfg, keys=keys, clock=lambda: NOW)
        assert authorizer(rest_event("GET", "/notes", bearer(ec_key, gid="g-1")))
        with pytest.raises(Unauthorized):
            authorizer(rest_event("GET", "/notes", bearer(ec_key, gid="g-2")))
