"""Dynamic Client Registration (RFC 7591): discovery, the registration policy, the client
it makes working end to end, and its answers (SECURITY.md 50, 51)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.models import DYNAMIC
from chalicelib.stores.registration_tokens import InitialAccessToken
from tests.functional.flows import oauth_error, redeem, sign_in, token
from tests.functional.registering import NATIVE, PUBLIC_WEB, initial_token, manage, register
from tests.support.logs import captured
from tests.support.oauth import ISSUER, Browser, basic, tollgate

CONFIDENTIAL = {
    "client_name": "Reports job",
    "grant_types": ["client_credentials"],
    "scope": "notes:read",
}


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
)
def test_both_discovery_documents_advertise_the_registration_endpoint(
    browser: Browser, path: str
) -> None:
    assert browser.get(path).json()["registration_endpoint"] == f"{ISSUER}/register"


def test_registration_off_is_not_advertised_and_refused() -> None:
    with tollgate(registration="off") as (_deps, _clock, http):
        browser = Browser(http)
        doc = browser.get("/.well-known/oauth-authorization-server").json()
        assert "registration_endpoint" not in doc
        oauth_error(register(browser, NATIVE), "access_denied", 403)


def test_a_native_public_client_registers_openly(browser: Browser, deps: Deps) -> None:
    """SECURITY.md 50: open registration is for public clients (method none)."""
    answer = register(browser, NATIVE)
    assert answer.status == 201, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    client_id = body["client_id"]
    assert body["token_endpoint_auth_method"] == "none"
    assert body["redirect_uris"] == NATIVE["redirect_uris"]
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["response_types"] == ["code"]
    assert body["application_type"] == "native"  # inferred from its loopback redirect URI
    assert body["registration_client_uri"] == f"{ISSUER}/register/{client_id}"
    assert body["client_id_issued_at"] == deps.clock.now()
    assert "client_secret" not in body and "client_secret_expires_at" not in body
    assert set(body["scope"].split()) == set(deps.settings.scopes)  # none asked: all offered
    stored = deps.store.clients.get(client_id)
    assert stored is not None
    assert stored.origin == DYNAMIC and not stored.verified
    assert stored.scope_policy == "subset"  # MCP clients ask for every scope (RFC 6749 3.3)
    assert stored.pkce_required and stored.is_public


def test_a_dynamic_client_signs_a_user_in_and_refreshes(browser: Browser) -> None:
    registered = register(browser, PUBLIC_WEB).json()
    client_id = registered["client_id"]
    done = sign_in(browser, client_id=client_id, scope="openid profile offline_access")
    tokens = redeem(done)
    assert tokens.status == 200, tokens.text
    refreshed = token(
        browser,
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens.json()["refresh_token"],
            "client_id": client_id,
        },
    )
    assert refreshed.status == 200, refreshed.text


def test_a_confidential_client_needs_an_initial_access_token(browser: Browser) -> None:
    """SECURITY.md 50: anything but a public client needs an initial access token."""
    answer = register(browser, CONFIDENTIAL)
    body = oauth_error(answer, "invalid_token", 401)
    assert "initial access token" in body["error_description"]
    assert answer.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def test_with_an_initial_access_token_a_secret_client_gets_a_secret(
    browser: Browser, deps: Deps
) -> None:
    iat = initial_token(deps.store)
    answer = register(browser, CONFIDENTIAL, token=iat)
    assert answer.status == 201, answer.text
    body = answer.json()
    # RFC 7591 2: client_secret_basic when no method is sent; the secret never expires.
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["client_secret_expires_at"] == 0
    assert body["response_types"] == []
    secret = body["client_secret"]
    issued = token(browser, {"grant_type": "client_credentials"}, basic(body["client_id"], secret))
    assert issued.status == 200, issued.text
    # SECURITY.md 51: only hashes are stored.
    stored = deps.store.clients.get(body["client_id"])
    assert stored is not None and stored.registered_with_token
    assert stored.secret_hash == digest(secret)
    assert stored.registration_token_hash == digest(body["registration_access_token"])
    dump = json.dumps(list(deps.store.table._items.values()))  # type: ignore[attr-defined]
    for value in (secret, body["registration_access_token"], iat):
        assert value not in dump


def test_a_single_use_token_admits_one_registration(browser: Browser, deps: Deps) -> None:
    """SECURITY.md 51: a single-use initial access token is spent by its registration."""
    iat = initial_token(deps.store, "--single-use")
    assert register(browser, CONFIDENTIAL, token=iat).status == 201
    oauth_error(register(browser, CONFIDENTIAL, token=iat), "invalid_token", 401)


def test_an_expired_or_revoked_initial_access_token_is_refused(
    browser: Browser, deps: Deps
) -> None:
    """SECURITY.md 51: initial access tokens expire and can be revoked."""
    now = deps.clock.now()
    iat = "iat-for-tests-0123456789"
    deps.store.registration_tokens.create(
        InitialAccessToken(digest(iat), created_at=now, expires_at=now + 600)
    )
    assert register(browser, CONFIDENTIAL, token=iat).status == 201
    deps.clock.advance(600)  # type: ignore[attr-defined]
    oauth_error(register(browser, CONFIDENTIAL, token=iat), "invalid_token", 401)

    from chalicelib.admin.cli import main

    other = initial_token(deps.store)
    assert main(["registration", "token", "revoke", other], store=deps.store) == 0
    oauth_error(register(browser, CONFIDENTIAL, token=other), "invalid_token", 401)
    assert main(["registration", "token", "revoke", other], store=deps.store) == 3


def test_a_wrong_initial_access_token_is_refused_even_for_an_open_registration(
    browser: Browser,
) -> None:
    oauth_error(register(browser, NATIVE, token="not-a-token"), "invalid_token", 401)


def test_mode_token_needs_an_initial_access_token_for_every_client() -> None:
    with tollgate(registration="token") as (deps, _clock, http):
        browser = Browser(http)
        oauth_error(register(browser, NATIVE), "invalid_token", 401)
        assert register(browser, NATIVE, token=initial_token(deps.store)).status == 201


def test_every_registration_is_audited(browser: Browser, deps: Deps) -> None:
    with captured() as lines:
        created = register(browser, NATIVE).json()
        register(browser, CONFIDENTIAL)
    [made] = lines.audit("registration.created")
    assert made["client_id"] == created["client_id"] and made["outcome"] == "success"
    [refused] = lines.audit("registration.refused")
    assert refused["outcome"] == "failure" and "invalid_token" in refused["reason"]
    text = json.dumps(lines.lines)
    assert created["registration_access_token"] not in text


def test_the_cli_prints_the_initial_access_token_once_and_stores_its_hash(
    deps: Deps, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.admin.cli import main

    assert (
        main(
            ["registration", "token", "create", "--single-use", "--expires-in", "3600"],
            store=deps.store,
        )
        == 0
    )
    out, err = capsys.readouterr()
    token_value = out.split("initial_access_token: ")[1].split()[0]
    # Read raw: the command line's clock is the system's, the server's a fake one.
    item = deps.store.table._items[(f"IAT#{digest(token_value)}", "IAT")]  # type: ignore[attr-defined]
    assert item["single_use"] is True
    assert item["ttl"] == item["expires_at"] == item["created_at"] + 3600
    assert token_value not in err  # the audit record on stderr holds no token
    assert "admin.registration_token.created" in err
    assert main(["registration", "token", "create", "--expires-in", "5"], store=deps.store) == 2


def test_the_endpoint_takes_post_only(browser: Browser) -> None:
    answer = browser.get("/register")
    assert answer.status == 405
    assert answer.headers["allow"] == "OPTIONS, POST"


def dynamic(deps: Deps, client_id: str) -> Any:
    return deps.store.clients.get(client_id)


def test_mode_open_admits_secret_clients_that_act_for_users_only() -> None:
    """SECURITY.md 50: "open" never admits a client_credentials client without a token."""
    with tollgate(registration="open") as (deps, _clock, http):
        browser = Browser(http)
        sdk = {**NATIVE, "token_endpoint_auth_method": "client_secret_post"}
        made = register(browser, sdk)
        assert made.status == 201, made.text
        assert made.json()["client_secret"]
        oauth_error(register(browser, CONFIDENTIAL), "invalid_token", 401)
        assert register(browser, CONFIDENTIAL, token=initial_token(deps.store)).status == 201
        # An openly registered client cannot add client_credentials by an update.
        created = made.json()
        doc = {**sdk, "client_id": created["client_id"]}
        doc["grant_types"] = ["authorization_code", "client_credentials"]
        doc["redirect_uris"] = ["https://app.example/cb"]
        oauth_error(manage(browser, "PUT", created, doc), "invalid_client_metadata")
