"""Dynamic registration on DynamoDB (moto): the records' ttl, the single-use claim of an
initial access token, first use and deletion, through the same requests as in memory
(SECURITY.md 51, 53)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chalice.test import Client as ChaliceClient

from app import app
from chalicelib import deps as wiring
from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.registration_tokens import InitialAccessToken
from chalicelib.stores.repository import Store
from chalicelib.tokens.signer import LocalSigner
from tests.functional.flows import oauth_error, redeem, sign_in
from tests.functional.registering import NATIVE, PUBLIC_WEB, manage, register
from tests.support.oauth import Browser, seed, settings
from tests.support.tables import fresh_table


@pytest.fixture
def on_dynamodb() -> Iterator[tuple[Deps, Browser]]:
    clock = FakeClock()
    with fresh_table("dynamodb", clock, "tollgate-registration") as table:
        store = Store(table)
        deps = Deps(settings(), store, LocalSigner(store, clock), clock)
        seed(deps)
        wiring.override(deps)
        try:
            with ChaliceClient(app) as http:
                yield deps, Browser(http)
        finally:
            wiring.override(None)


def test_registration_and_management_on_dynamodb(on_dynamodb: tuple[Deps, Browser]) -> None:
    deps, browser = on_dynamodb
    iat = "iat-on-dynamodb-0123456789"
    now = deps.clock.now()
    deps.store.registration_tokens.create(
        InitialAccessToken(digest(iat), created_at=now, single_use=True)
    )
    doc = {"grant_types": ["client_credentials"], "scope": "notes:read"}
    made = register(browser, doc, token=iat)
    assert made.status == 201, made.text
    oauth_error(register(browser, doc, token=iat), "invalid_token", 401)  # spent
    created = made.json()
    assert manage(browser, "GET", created).json()["client_id"] == created["client_id"]
    assert manage(browser, "DELETE", created).status == 204
    assert deps.store.clients.get(created["client_id"]) is None


def test_unused_and_used_clients_on_dynamodb(on_dynamodb: tuple[Deps, Browser]) -> None:
    deps, browser = on_dynamodb
    unused = register(browser, NATIVE).json()["client_id"]
    used = register(browser, PUBLIC_WEB).json()["client_id"]
    ttl = deps.clock.now() + deps.settings.registration_unused_ttl
    for key in (
        (f"CLIENT#{unused}", "CLIENT"),
        ("CLIENTS", f"CLIENT#{unused}"),
        (f"SUB#{unused}", "SUB"),
    ):
        item = deps.store.table.get(*key)
        assert item is not None and item["ttl"] == ttl
    assert redeem(sign_in(browser, client_id=used, scope="openid")).status == 200
    for key in (
        (f"CLIENT#{used}", "CLIENT"),
        ("CLIENTS", f"CLIENT#{used}"),
        (f"SUB#{used}", "SUB"),
    ):
        item = deps.store.table.get(*key)
        assert item is not None and "ttl" not in item
    deps.clock.advance(deps.settings.registration_unused_ttl)  # type: ignore[attr-defined]
    assert deps.store.clients.get(unused) is None
    assert deps.store.clients.get(used) is not None
