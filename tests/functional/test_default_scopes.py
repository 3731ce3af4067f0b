"""/authorize naming a resource and no scope (MCP clients may send none when the server's
metadata names no scope): the request gets every scope the named registered resources
define that the client may have, and nothing else (SECURITY.md 71)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import jwt
import pytest

from chalicelib.deps import Deps
from chalicelib.stores.models import Client
from tests.functional.flows import authorize_path, finish, to_client, token
from tests.support.oauth import ISSUER, REDIRECT, Answer, Browser, pkce_pair, register_resource

MCP = "https://mcp.example.com/mcp"
NOTES = "https://notes.example/api"


@pytest.fixture(autouse=True)
def registered(deps: Deps) -> None:
    register_resource(deps, MCP, ["tools:read", "tools:write", "tools:admin"])
    register_resource(deps, NOTES, ["notes:read"])
    for client_id, scopes in (
        ("agent", ["openid", "offline_access", "profile", "tools:read", "tools:write"]),
        ("reader", ["openid", "tools:read", "notes:read"]),
    ):
        deps.store.clients.create(
            Client(
                client_id=client_id,
                name=client_id,
                client_type="public",
                auth_method="none",
                redirect_uris=[REDIRECT],
                grant_types=["authorization_code", "refresh_token"],
                scopes=scopes,
            )
        )


def _path(client_id: str, challenge: str, *resources: str) -> str:
    path = authorize_path(client_id=client_id, scope=None, challenge=challenge)
    return path + "".join(f"&resource={quote(r, safe='')}" for r in resources)


def _tokens(browser: Browser, client_id: str, *resources: str) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    code = to_client(finish(browser, browser.get(_path(client_id, challenge, *resources))))
    form = {
        "grant_type": "authorization_code",
        "code": code["code"],
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": client_id,
    }
    answer = token(browser, form)
    assert answer.status == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _refused(browser: Browser, client_id: str, *resources: str) -> dict[str, str]:
    _verifier, challenge = pkce_pair()
    answer: Answer = browser.get(_path(client_id, challenge, *resources))
    return to_client(answer)


def test_the_resource_s_scopes_the_client_may_have(browser: Browser) -> None:
    """Not tools:admin (the client may not have it), not the OpenID Connect scopes (no
    openid: an OAuth request, so no ID token), and a refresh token as for any OAuth grant."""
    body = _tokens(browser, "agent", MCP)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert body["scope"] == claims["scope"] == "tools:read tools:write"
    assert claims["aud"] == MCP
    assert "id_token" not in body
    assert "refresh_token" in body


def test_only_the_named_resources_scopes(browser: Browser) -> None:
    """notes:read is the client's, but no named resource defines it."""
    assert _tokens(browser, "reader", MCP)["scope"] == "tools:read"
    both = _tokens(browser, "reader", MCP, NOTES)
    assert both["scope"] == "tools:read notes:read"


def test_nothing_to_grant_is_invalid_scope(browser: Browser) -> None:
    assert _refused(browser, "agent", NOTES)["error"] == "invalid_scope"


def test_the_unregistered_default_audience_defines_no_default(browser: Browser) -> None:
    """It would take every scope of the client: a request for it must say which."""
    assert _refused(browser, "agent", ISSUER)["error"] == "invalid_scope"


def test_neither_scope_nor_resource_is_still_invalid_request(browser: Browser) -> None:
    assert _refused(browser, "agent")["error"] == "invalid_request"
