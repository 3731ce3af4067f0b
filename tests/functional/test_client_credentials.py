"""Client credentials grant (RFC 6749 4.4)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.models import Client
from tests.functional.flows import oauth_error, token
from tests.support.oauth import SECRET, Browser, basic


@pytest.fixture(autouse=True)
def machine(deps: Deps) -> None:
    deps.store.clients.create(
        Client(
            client_id="machine",
            name="Nightly Job",
            client_type="confidential",
            auth_method="client_secret_basic",
            redirect_uris=[],
            grant_types=["client_credentials"],
            scopes=["notes:read", "notes:write", "openid"],
            secret_hash=digest(SECRET),
        )
    )


def _grant(browser: Browser, client_id: str = "machine", **form: str) -> Any:
    return token(browser, {"grant_type": "client_credentials", **form}, basic(client_id, SECRET))


def test_a_machine_client_gets_a_token_for_itself(browser: Browser) -> None:
    answer = _grant(browser, scope="notes:read")
    assert answer.status == 200, answer.text
    body = answer.json()
    assert body["scope"] == "notes:read"
    assert "refresh_token" not in body and "id_token" not in body
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "machine" and claims["client_id"] == "machine"
    assert "gid" not in claims


def test_without_scope_it_gets_its_machine_scopes(browser: Browser) -> None:
    body = _grant(browser).json()
    assert body["scope"] == "notes:read notes:write"


@pytest.mark.parametrize("asked", ["openid", "notes:read admin", "offline_access"])
def test_scopes_beyond_the_client_are_refused(browser: Browser, asked: str) -> None:
    oauth_error(_grant(browser, scope=asked), "invalid_scope")


def test_clients_without_the_grant_are_refused(browser: Browser) -> None:
    oauth_error(_grant(browser, client_id="web"), "unauthorized_client")


def test_public_clients_are_refused(browser: Browser, deps: Deps) -> None:
    client = deps.store.clients.get("spa")
    assert client is not None
    client.grant_types = ["authorization_code", "client_credentials"]
    deps.store.clients.save(client)
    answer = token(browser, {"grant_type": "client_credentials", "client_id": "spa"})
    oauth_error(answer, "unauthorized_client")
