"""Scopes for clients that ask for everything (issue 12 item 5; RFC 6749 3.3): a client whose
scope policy is `subset` gets the scopes it may have of those it asks for, and the token
response's `scope` (and the consent page) say which; only when none remains is the request
refused. A `strict` client (the default) gets invalid_scope for any scope it may not have."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import jwt
import pytest

from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.models import Client
from chalicelib.stores.scope_policies import DYNAMIC_SCOPE_POLICY
from tests.functional.flows import (
    authorize_path,
    finish,
    oauth_error,
    submit_consent,
    submit_login,
    to_client,
    token,
)
from tests.support.oauth import REDIRECT, SECRET, Answer, Browser, basic, pkce_pair
from tests.support.oauth import register_resource as register

MCP = "https://mcp.example.com/mcp"
ALLOWED = ["openid", "offline_access", "profile", "tools:read", "notes:read"]


@pytest.fixture(autouse=True)
def clients(deps: Deps) -> None:
    register(deps, MCP, ["tools:read", "tools:write"])
    for client_id, policy, grants in (
        ("greedy", "subset", ["authorization_code", "refresh_token"]),
        ("strict", "strict", ["authorization_code", "refresh_token"]),
        ("job", "subset", ["client_credentials"]),
    ):
        deps.store.clients.create(
            Client(
                client_id=client_id,
                name=client_id,
                client_type="confidential",
                auth_method="client_secret_basic",
                redirect_uris=[REDIRECT],
                grant_types=grants,
                scopes=ALLOWED,
                secret_hash=digest(SECRET),
                scope_policy=policy,
            )
        )


def _start(browser: Browser, client_id: str, scope: str, *resources: str) -> tuple[Answer, str]:
    verifier, challenge = pkce_pair()
    path = authorize_path(client_id=client_id, scope=scope, challenge=challenge)
    path += "".join(f"&resource={quote(r, safe='')}" for r in resources)
    return browser.get(path), verifier


def _redeem(browser: Browser, client_id: str, code: str, verifier: str) -> dict[str, Any]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    answer = token(browser, form, basic(client_id, SECRET))
    assert answer.status == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _scope_of(access_token: str) -> list[str]:
    claims = jwt.decode(access_token, options={"verify_signature": False})
    return str(claims["scope"]).split()


def test_a_subset_client_gets_the_scopes_it_may_have(browser: Browser) -> None:
    started, verifier = _start(browser, "greedy", "openid profile admin:all notes:read email")
    consent = browser.follow(submit_login(browser, browser.follow(started)))
    # The consent page asks only for what is granted.
    assert "Read your notes" in consent.text and "admin:all" not in consent.text
    code = to_client(submit_consent(browser, consent))["code"]
    body = _redeem(browser, "greedy", code, verifier)
    assert body["scope"].split() == ["openid", "profile", "notes:read"]
    assert _scope_of(body["access_token"]) == ["openid", "profile", "notes:read"]


def test_a_strict_client_is_refused_naming_the_scopes(browser: Browser) -> None:
    answer = to_client(_start(browser, "strict", "openid profile admin:all")[0])
    assert answer["error"] == "invalid_scope"
    assert "admin:all" in answer["error_description"]


def test_a_subset_client_with_nothing_left_is_refused(browser: Browser) -> None:
    answer = to_client(_start(browser, "greedy", "admin:all email")[0])
    assert answer["error"] == "invalid_scope"
    assert "admin:all email" in answer["error_description"]


def test_a_subset_client_asking_everything_of_a_resource(browser: Browser) -> None:
    """An MCP client asks for every scope it saw; the token is for what the resource
    defines and the client may have."""
    asked = "openid offline_access tools:read tools:write notes:read"
    started, verifier = _start(browser, "greedy", asked, MCP)
    code = to_client(finish(browser, started))["code"]
    body = _redeem(browser, "greedy", code, verifier)
    # tools:write (not the client's) and notes:read (not the resource's) are left out.
    assert body["scope"] == "openid offline_access tools:read"
    assert _scope_of(body["access_token"]) == ["openid", "offline_access", "tools:read"]
    assert "refresh_token" in body and "id_token" in body
    # Refreshing with the same greedy scope: what the grant holds of it.
    form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    refreshed = token(browser, {**form, "scope": asked}, basic("greedy", SECRET))
    assert refreshed.status == 200, refreshed.text
    assert refreshed.json()["scope"] == "openid offline_access tools:read"
    form = {**form, "refresh_token": refreshed.json()["refresh_token"]}
    narrowed = token(browser, {**form, "scope": "tools:read tools:write"}, basic("greedy", SECRET))
    assert narrowed.json()["scope"] == "tools:read"


def test_refresh_widening_is_refused_for_a_strict_client(browser: Browser) -> None:
    started, verifier = _start(browser, "strict", "openid offline_access profile")
    body = _redeem(browser, "strict", to_client(finish(browser, started))["code"], verifier)
    form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    form["scope"] = "openid notes:read"
    oauth_error(token(browser, form, basic("strict", SECRET)), "invalid_scope")


def test_refresh_with_nothing_left_is_refused_for_a_subset_client(browser: Browser) -> None:
    started, verifier = _start(browser, "greedy", "openid offline_access profile")
    body = _redeem(browser, "greedy", to_client(finish(browser, started))["code"], verifier)
    form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    form["scope"] = "notes:read"
    oauth_error(token(browser, form, basic("greedy", SECRET)), "invalid_scope")


def test_client_credentials_of_a_subset_client(browser: Browser) -> None:
    form = {"grant_type": "client_credentials", "scope": "notes:read admin:all openid"}
    answer = token(browser, form, basic("job", SECRET))
    assert answer.status == 200, answer.text
    assert answer.json()["scope"] == "notes:read"
    form["scope"] = "admin:all openid"
    oauth_error(token(browser, form, basic("job", SECRET)), "invalid_scope")


def test_dynamically_registered_clients_get_the_subset_policy() -> None:
    """The default the registration helpers set on the record (README "Scope policy")."""
    assert DYNAMIC_SCOPE_POLICY == "subset"
    assert Client("c", "c", "public", "none", [], [], []).scope_policy == "strict"
