"""Resource servers are records (issue 12 item 1): a client may ask for any registered
resource unless its registration lists the ones it may ask for, and a token for a resource
carries its URI as `aud`, only its scopes and its lifetime (RFC 8707, SECURITY.md 49)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import jwt
import pytest

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.models import Client
from tests.functional.flows import authorize_path, finish, oauth_error, to_client, token
from tests.support.oauth import (
    ISSUER,
    REDIRECT,
    SECRET,
    Answer,
    Browser,
    basic,
    pkce_pair,
    register_resource,
)

MCP = "https://mcp.example.com/mcp"
USERINFO = f"{ISSUER}/userinfo"  # named by every token granting openid (README)
NOTES = "https://notes.example/api"
SCOPES = ["openid", "offline_access", "profile", "tools:read", "tools:write", "notes:read"]


@pytest.fixture(autouse=True)
def registered(deps: Deps) -> None:
    register_resource(deps, MCP, ["tools:read", "tools:write"], token_ttl=120)
    register_resource(deps, NOTES, ["notes:read"])
    for client_id, auth_method, grants, resources in (
        ("agent", "none", ["authorization_code", "refresh_token"], []),
        ("notes-only", "none", ["authorization_code"], [NOTES]),
        ("job", "client_secret_basic", ["client_credentials"], []),
    ):
        deps.store.clients.create(
            Client(
                client_id=client_id,
                name=client_id,
                client_type="public" if auth_method == "none" else "confidential",
                auth_method=auth_method,
                redirect_uris=[REDIRECT],
                grant_types=grants,
                scopes=SCOPES,
                secret_hash=None if auth_method == "none" else digest(SECRET),
                resources=resources,
            )
        )


def _claims(body: dict[str, Any]) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(body["access_token"], options={"verify_signature": False})
    return claims


def _authorize(browser: Browser, client_id: str, scope: str, *resources: str) -> Answer:
    _verifier, challenge = pkce_pair()
    path = authorize_path(client_id=client_id, scope=scope, challenge=challenge)
    return browser.get(path + "".join(f"&resource={quote(r, safe='')}" for r in resources))


def _tokens(browser: Browser, client_id: str, scope: str, *resources: str) -> Answer:
    verifier, challenge = pkce_pair()
    path = authorize_path(client_id=client_id, scope=scope, challenge=challenge)
    path += "".join(f"&resource={quote(r, safe='')}" for r in resources)
    code = to_client(finish(browser, browser.get(path)))["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": client_id,
    }
    return token(browser, form)


def test_any_client_may_ask_for_a_registered_resource(browser: Browser) -> None:
    """An MCP client sends resource=<MCP server URL> with no per-client configuration."""
    answer = _tokens(browser, "agent", "tools:read", MCP)
    assert answer.status == 200, answer.text
    body = answer.json()
    assert _claims(body)["aud"] == MCP
    assert _claims(body)["scope"] == body["scope"] == "tools:read"


def test_an_openid_request_for_a_resource_also_names_userinfo(browser: Browser) -> None:
    """The resource's scopes and the OpenID Connect ones, which UserInfo reads; never
    another resource's (notes:read, which the client may have, is not asked for here)."""
    answer = _tokens(browser, "agent", "openid offline_access profile tools:read", MCP)
    body = answer.json()
    claims = _claims(body)
    assert claims["aud"] == [MCP, USERINFO]
    assert claims["scope"] == body["scope"] == "openid offline_access profile tools:read"
    assert "id_token" in body and "refresh_token" in body
    userinfo = browser.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert userinfo.status == 200, userinfo.text


def test_a_resource_token_lives_the_resources_lifetime(browser: Browser) -> None:
    body = _tokens(browser, "agent", "openid tools:read", MCP).json()
    claims = _claims(body)
    assert body["expires_in"] == 120
    assert claims["exp"] - claims["iat"] == 120


def test_a_resource_never_lengthens_the_stages_lifetime(browser: Browser, deps: Deps) -> None:
    register_resource(deps, "https://long.example/", ["tools:read"], token_ttl=86400)
    body = _tokens(browser, "agent", "tools:read", "https://long.example/").json()
    assert body["expires_in"] == deps.settings.access_token_ttl
    assert _claims(body)["exp"] - _claims(body)["iat"] == deps.settings.access_token_ttl


def test_an_unknown_resource_is_invalid_target(browser: Browser) -> None:
    answer = _authorize(browser, "agent", "tools:read", "https://unknown.example/mcp")
    assert to_client(answer)["error"] == "invalid_target"


def test_a_clients_resource_list_restricts_it(browser: Browser) -> None:
    assert to_client(_authorize(browser, "notes-only", "tools:read", MCP))["error"] == (
        "invalid_target"
    )
    answer = _tokens(browser, "notes-only", "notes:read", NOTES)
    assert _claims(answer.json())["aud"] == NOTES


@pytest.mark.parametrize("scope", ["openid notes:read", "notes:read", "tools:read notes:read"])
def test_scopes_the_requested_resource_does_not_define_are_refused(
    browser: Browser, scope: str
) -> None:
    """A client with the default scope policy (strict) gets invalid_scope, naming them."""
    answer = to_client(_authorize(browser, "agent", scope, MCP))
    assert answer["error"] == "invalid_scope"


def test_a_new_resource_works_at_once(browser: Browser, deps: Deps) -> None:
    """The registered resources are cached per container; a URI not in the cached copy is
    looked up again before it is refused."""
    assert "/interaction/" in (_authorize(browser, "agent", "tools:read", MCP).location or "")
    register_resource(deps, "https://new.example/mcp", ["tools:read"])
    answer = _authorize(browser, "agent", "tools:read", "https://new.example/mcp")
    assert answer.status == 303 and "/interaction/" in (answer.location or "")


def test_a_deleted_resource_gets_no_more_tokens(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    body = _tokens(browser, "agent", "openid offline_access tools:read", MCP).json()
    deps.store.resources.delete(MCP)
    clock.advance(deps.settings.client_cache_ttl)
    form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    form["client_id"] = "agent"
    oauth_error(token(browser, form), "invalid_grant")


def test_without_resource_tokens_keep_the_default_audience(browser: Browser) -> None:
    """An unregistered default audience (the issuer here) takes every granted scope."""
    body = _tokens(browser, "agent", "openid tools:read notes:read").json()
    claims = _claims(body)
    assert claims["aud"] == [ISSUER, USERINFO]
    assert claims["scope"].split() == ["openid", "tools:read", "notes:read"]


def test_a_registered_default_audience_carries_only_its_scopes_and_the_openid_ones(
    browser: Browser, deps: Deps
) -> None:
    """The demo API is registered at the default audience, where UserInfo is too."""
    register_resource(deps, ISSUER, ["notes:read"])
    body = _tokens(browser, "agent", "openid profile notes:read").json()
    claims = _claims(body)
    assert claims["aud"] == [ISSUER, USERINFO]
    assert claims["scope"].split() == ["openid", "profile", "notes:read"]
    answer = to_client(_authorize(browser, "agent", "openid tools:read"))
    assert answer["error"] == "invalid_scope"
    userinfo = browser.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert userinfo.status == 200, userinfo.text


def test_client_credentials_for_a_registered_resource(browser: Browser) -> None:
    form = {"grant_type": "client_credentials", "resource": MCP}
    body = token(browser, form, basic("job", SECRET)).json()
    assert _claims(body)["aud"] == MCP
    assert body["scope"] == "tools:read tools:write"
    assert body["expires_in"] == 120
    form["resource"] = "https://unknown.example/"
    oauth_error(token(browser, form, basic("job", SECRET)), "invalid_target")


def test_discovery_lists_the_resources_scopes(browser: Browser, deps: Deps) -> None:
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        supported = browser.get(path).json()["scopes_supported"]
        assert {"tools:read", "tools:write", "notes:read"} <= set(supported)
        assert supported[: len(deps.settings.scopes)] == list(deps.settings.scopes)
