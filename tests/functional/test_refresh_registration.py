"""A refresh re-reads the client's current registration (issue 16 item 2): what an admin
removed from a client since the grant is no longer issued, and a client that may no longer
hold refresh tokens, or no longer exists, gets none. RFC 6749 6, SECURITY.md 16.

Registrations reach a warm container within the client cache's ttl (README, "AWS calls per
request"); each test waits that long after the admin's change.
"""

from __future__ import annotations

import dataclasses
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

NOTES = "https://notes.example/api"
BILLING = "https://billing.example/api"


@pytest.fixture(autouse=True)
def client(deps: Deps) -> None:
    register_resource(deps, NOTES, ["notes:read"])
    register_resource(deps, BILLING, ["notes:read"])
    deps.store.clients.create(
        Client(
            client_id="rt",
            name="rt",
            client_type="confidential",
            auth_method="client_secret_basic",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            scopes=["openid", "offline_access", "profile", "notes:read"],
            secret_hash=digest(SECRET),
            resources=[NOTES, BILLING],
        )
    )


def _tokens(browser: Browser, scope: str, *resources: str) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    path = authorize_path(client_id="rt", scope=scope, challenge=challenge)
    path += "".join(f"&resource={quote(r, safe='')}" for r in resources)
    code = to_client(finish(browser, browser.get(path)))["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    answer = token(browser, form, basic("rt", SECRET))
    assert answer.status == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _refresh(browser: Browser, rt: str, **extra: str) -> Answer:
    form = {"grant_type": "refresh_token", "refresh_token": rt, **extra}
    return token(browser, form, basic("rt", SECRET))


def _change(deps: Deps, clock: FakeClock, **values: Any) -> None:
    """An admin's change to the client, seen once the cached registration has expired."""
    current = deps.store.clients.get("rt")
    assert current is not None
    deps.store.clients.save(dataclasses.replace(current, **values))
    clock.advance(deps.settings.client_cache_ttl)


def test_a_scope_removed_from_the_client_is_no_longer_issued(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    rt = _tokens(browser, "openid offline_access profile notes:read")["refresh_token"]
    _change(deps, clock, scopes=["openid", "offline_access", "notes:read"])

    answer = _refresh(browser, rt)

    assert answer.status == 200, answer.text
    body = answer.json()
    assert body["scope"].split() == ["openid", "offline_access", "notes:read"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert "profile" not in claims["scope"].split()
    # Nor can it be asked for again, by this refresh token or its successor.
    oauth_error(_refresh(browser, body["refresh_token"], scope="openid profile"), "invalid_scope")


def test_a_resource_removed_from_the_client_is_no_longer_in_the_audience(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    rt = _tokens(browser, "openid offline_access notes:read", NOTES, BILLING)["refresh_token"]
    _change(deps, clock, resources=[NOTES])

    answer = _refresh(browser, rt)

    assert answer.status == 200, answer.text
    # The removed API is gone; UserInfo stays named, as in every token granting openid.
    assert jwt.decode(answer.json()["access_token"], options={"verify_signature": False})[
        "aud"
    ] == [NOTES, f"{ISSUER}/userinfo"]
    oauth_error(
        _refresh(browser, answer.json()["refresh_token"], resource=BILLING), "invalid_target"
    )


def test_a_grant_whose_every_resource_was_removed_is_refused(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    """An empty audience list would mean the deployment's default audience: never widen."""
    rt = _tokens(browser, "openid offline_access notes:read", BILLING)["refresh_token"]
    _change(deps, clock, resources=[NOTES])

    oauth_error(_refresh(browser, rt), "invalid_grant")


def test_a_client_no_longer_allowed_offline_access_gets_no_refresh(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    rt = _tokens(browser, "openid offline_access")["refresh_token"]
    _change(deps, clock, scopes=["openid", "profile"])

    oauth_error(_refresh(browser, rt), "unauthorized_client")


def test_a_client_without_the_refresh_grant_type_is_refused(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    rt = _tokens(browser, "openid offline_access")["refresh_token"]
    _change(deps, clock, grant_types=["authorization_code"])

    oauth_error(_refresh(browser, rt), "unauthorized_client")


def test_a_deleted_client_is_refused(browser: Browser, deps: Deps, clock: FakeClock) -> None:
    rt = _tokens(browser, "openid offline_access")["refresh_token"]
    deps.store.clients.delete("rt")
    clock.advance(deps.settings.client_cache_ttl)

    oauth_error(_refresh(browser, rt), "invalid_client", status=401)
