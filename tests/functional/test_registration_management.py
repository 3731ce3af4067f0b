"""RFC 7592: a dynamic client reads, replaces and deletes its registration with its
registration access token; nothing else can (SECURITY.md 51). Abuse is bounded: per-source
registration limits and the expiry of clients never used (SECURITY.md 53)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from chalicelib.admin.cli import main
from chalicelib.deps import Deps
from chalicelib.ids import digest
from tests.functional.flows import oauth_error, redeem, sign_in, token
from tests.functional.registering import NATIVE, PUBLIC_WEB, initial_token, manage, register
from tests.support.logs import captured
from tests.support.oauth import REDIRECT, Browser, basic, tollgate


@pytest.fixture
def registered(browser: Browser) -> dict[str, Any]:
    answer = register(browser, NATIVE)
    assert answer.status == 201
    body: dict[str, Any] = answer.json()
    return body


def test_read_returns_the_registration_without_secrets(
    browser: Browser, registered: dict[str, Any]
) -> None:
    answer = manage(browser, "GET", registered)
    assert answer.status == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["client_id"] == registered["client_id"]
    assert body["redirect_uris"] == NATIVE["redirect_uris"]
    assert "registration_access_token" not in body


def test_update_replaces_the_metadata(
    browser: Browser, deps: Deps, registered: dict[str, Any]
) -> None:
    doc = {**NATIVE, "client_id": registered["client_id"], "client_name": "Renamed"}
    doc["redirect_uris"] = ["http://127.0.0.1:9000/cb"]
    with captured() as lines:
        answer = manage(browser, "PUT", registered, doc)
    assert answer.status == 200, answer.text
    assert answer.json()["client_name"] == "Renamed"
    stored = deps.store.clients.get(registered["client_id"])
    assert stored is not None and stored.redirect_uris == ["http://127.0.0.1:9000/cb"]
    assert stored.registration_token_hash == digest(registered["registration_access_token"])
    assert [r["client_id"] for r in lines.audit("registration.updated")] == [stored.client_id]


def test_an_update_keeps_what_the_operator_set(
    browser: Browser, deps: Deps, registered: dict[str, Any]
) -> None:
    """RFC 7592 replaces the client's metadata, not the operator's restrictions on it
    (`tollgate client update`): re-sending its registration must not undo them."""
    stored = deps.store.clients.get(registered["client_id"])
    assert stored is not None
    locked = dataclasses.replace(
        stored,
        require_mfa=True,
        require_pushed_authorization_requests=True,
        scope_policy="strict",
        resources=["https://mcp.example.com/mcp"],
        dpop_bound_access_tokens=True,
        may_introspect=False,
        pkce_required=True,
    )
    deps.store.clients.save(locked)
    deps.clients.reload(locked.client_id)
    doc = {**NATIVE, "client_id": registered["client_id"], "client_name": "Renamed"}
    doc["dpop_bound_access_tokens"] = False
    answer = manage(browser, "PUT", registered, doc)
    assert answer.status == 200, answer.text
    after = deps.store.clients.get(registered["client_id"])
    assert after is not None and after.name == "Renamed"
    kept = ("require_mfa", "require_pushed_authorization_requests", "scope_policy", "resources")
    assert {name: getattr(after, name) for name in kept} == {
        name: getattr(locked, name) for name in kept
    }
    assert after.dpop_bound_access_tokens is True
    assert answer.json()["dpop_bound_access_tokens"] is True
    assert (after.origin, after.created_at) == (stored.origin, stored.created_at)


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": "someone-else"},
        {"registration_access_token": "x"},
        {"registration_client_uri": "https://evil.example/"},
        {"client_id_issued_at": 1},
        {"client_secret_expires_at": 0},
        {"client_secret": "guess"},
    ],
)
def test_update_refuses_what_rfc_7592_forbids(
    browser: Browser, deps: Deps, registered: dict[str, Any], change: dict[str, Any]
) -> None:
    before = deps.store.clients.get(registered["client_id"])
    doc = {**NATIVE, "client_id": registered["client_id"], **change}
    oauth_error(manage(browser, "PUT", registered, doc), "invalid_request")
    assert deps.store.clients.get(registered["client_id"]) == before


def test_update_is_checked_like_a_registration(
    browser: Browser, registered: dict[str, Any]
) -> None:
    doc = {**NATIVE, "client_id": registered["client_id"], "redirect_uris": ["http://x.example/"]}
    oauth_error(manage(browser, "PUT", registered, doc), "invalid_redirect_uri")


def test_an_openly_registered_client_cannot_become_confidential(
    browser: Browser, registered: dict[str, Any]
) -> None:
    """SECURITY.md 50: "public" registration makes public clients, and updates keep them so."""
    doc = {**NATIVE, "client_id": registered["client_id"]}
    doc["token_endpoint_auth_method"] = "client_secret_basic"
    oauth_error(manage(browser, "PUT", registered, doc), "invalid_client_metadata")


def test_a_token_admitted_client_may_switch_to_a_secret(browser: Browser, deps: Deps) -> None:
    created = register(browser, NATIVE, token=initial_token(deps.store)).json()
    doc = {
        **NATIVE,
        "client_id": created["client_id"],
        "token_endpoint_auth_method": "client_secret_post",
    }
    doc["grant_types"] = ["authorization_code", "client_credentials"]
    doc["redirect_uris"] = [REDIRECT]
    answer = manage(browser, "PUT", created, doc)
    assert answer.status == 200, answer.text
    secret = answer.json()["client_secret"]
    form = {
        "grant_type": "client_credentials",
        "client_id": created["client_id"],
        "client_secret": secret,
    }
    assert token(browser, form).status == 200


def test_a_revoked_initial_token_no_longer_widens_its_client(browser: Browser, deps: Deps) -> None:
    """SECURITY.md 50: the trust an initial access token gave ends with the token: after
    `registration token revoke`, its client's updates stay within open registration."""
    token = initial_token(deps.store)
    created = register(browser, NATIVE, token=token).json()
    assert main(["registration", "token", "revoke", token], store=deps.store) == 0
    doc = {
        **NATIVE,
        "client_id": created["client_id"],
        "token_endpoint_auth_method": "client_secret_post",
        "grant_types": ["authorization_code", "client_credentials"],
        "redirect_uris": [REDIRECT],
    }
    before = deps.store.clients.get(created["client_id"])
    oauth_error(manage(browser, "PUT", created, doc), "invalid_client_metadata")
    assert deps.store.clients.get(created["client_id"]) == before
    # Within open registration it may still update itself.
    renamed = {**NATIVE, "client_id": created["client_id"], "client_name": "Renamed"}
    assert manage(browser, "PUT", created, renamed).status == 200


def test_delete_removes_the_client(
    browser: Browser, deps: Deps, registered: dict[str, Any]
) -> None:
    answer = manage(browser, "DELETE", registered)
    assert answer.status == 204
    assert deps.store.clients.get(registered["client_id"]) is None
    oauth_error(manage(browser, "GET", registered), "invalid_token", 401)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_wrong_token_gets_401_whatever_the_client(
    browser: Browser, deps: Deps, registered: dict[str, Any], method: str
) -> None:
    """SECURITY.md 51: only the client's own registration access token manages it; an
    operator's client (no token) and an unknown one answer the same."""
    other = register(browser, NATIVE).json()
    doc = {**NATIVE, "client_id": registered["client_id"]}
    for token_value in (other["registration_access_token"], "x" * 43):
        answer = manage(browser, method, registered, doc, token=token_value)
        oauth_error(answer, "invalid_token", 401)
        assert answer.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    admin_client = {"registration_client_uri": "/register/web", "registration_access_token": "x"}
    oauth_error(manage(browser, method, admin_client, doc), "invalid_token", 401)
    unknown = {"registration_client_uri": "/register/nope", "registration_access_token": "x"}
    oauth_error(manage(browser, method, unknown, doc), "invalid_token", 401)
    assert deps.store.clients.get(registered["client_id"]) is not None
    answer = browser.request("GET", registered["registration_client_uri"], cookies=False)
    oauth_error(answer, "invalid_token", 401)


def test_deletion_is_audited(browser: Browser, registered: dict[str, Any]) -> None:
    with captured() as lines:
        manage(browser, "DELETE", registered)
    [deleted] = lines.audit("registration.deleted")
    assert deleted["client_id"] == registered["client_id"]


# -- abuse (SECURITY.md 53) ------------------------------------------------------------------


def test_registrations_are_limited_per_source_address() -> None:
    with tollgate(registration_limit_ip=3) as (deps, clock, http):
        browser = Browser(http)
        for _ in range(3):
            assert register(browser, NATIVE).status == 201
        refused = register(browser, NATIVE)
        oauth_error(refused, "invalid_request", 429)
        assert int(refused.headers["retry-after"]) > 0
        clock.advance(deps.settings.registration_window)
        assert register(browser, NATIVE).status == 201


def test_a_dynamic_client_never_used_expires(browser: Browser, deps: Deps) -> None:
    """SECURITY.md 53: the registration, its index entry and its subject reservation go."""
    client_id = register(browser, NATIVE).json()["client_id"]
    deps.clock.advance(deps.settings.registration_unused_ttl)  # type: ignore[attr-defined]
    assert deps.store.clients.get(client_id) is None
    assert deps.store.table.get(f"SUB#{client_id}", "SUB") is None
    assert client_id not in [c.client_id for c in deps.store.clients.all()]


def test_a_dynamic_client_used_once_stays(browser: Browser, deps: Deps) -> None:
    client_id = register(browser, PUBLIC_WEB).json()["client_id"]
    tokens = redeem(sign_in(browser, client_id=client_id, scope="openid"))
    assert tokens.status == 200
    stored = deps.store.clients.get(client_id)
    assert stored is not None and stored.unused_expires_at is None
    deps.clock.advance(deps.settings.registration_unused_ttl * 10)  # type: ignore[attr-defined]
    assert deps.store.clients.get(client_id) is not None
    assert deps.store.table.get(f"SUB#{client_id}", "SUB") is not None
    assert client_id in [c.client_id for c in deps.store.clients.all()]


def test_a_machine_client_is_used_by_its_first_token(browser: Browser, deps: Deps) -> None:
    doc = {"grant_types": ["client_credentials"], "scope": "notes:read"}
    created = register(browser, doc, token=initial_token(deps.store)).json()
    auth = basic(created["client_id"], created["client_secret"])
    assert token(browser, {"grant_type": "client_credentials"}, auth).status == 200
    stored = deps.store.clients.get(created["client_id"])
    assert stored is not None and stored.unused_expires_at is None
