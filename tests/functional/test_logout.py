"""RP-Initiated Logout 1.0 and id_token_hint (OIDC Core 3.1.2.1)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.deps import Deps
from tests.functional.flows import authorize_path, redeem, sign_in, to_client
from tests.support.oauth import REDIRECT, Browser, action_of, csrf_of

AFTER = "https://app.example/signed-out"


@pytest.fixture(autouse=True)
def registered(deps: Deps) -> None:
    client = deps.store.clients.get("web")
    assert client is not None
    client.post_logout_redirect_uris = [AFTER]
    deps.store.clients.save(client)


def _id_token(browser: Browser) -> str:
    answer = redeem(sign_in(browser))
    body: dict[str, Any] = answer.json()
    token: str = body["id_token"]
    return token


def _session_count(deps: Deps) -> int:
    return len(deps.store.table.scan_prefix("SESSION#"))


def test_logout_with_id_token_hint_ends_the_session_and_redirects(
    browser: Browser, deps: Deps
) -> None:
    hint = _id_token(browser)
    assert _session_count(deps) == 1
    answer = browser.get(
        "/logout?" + f"id_token_hint={hint}&post_logout_redirect_uri={AFTER}&state=bye%20now"
    )
    assert answer.status == 303, answer.text
    assert answer.location == f"{AFTER}?state=bye+now"
    assert _session_count(deps) == 0
    assert any("Max-Age=0" in c for c in answer.set_cookies)
    # After it, prompt=none gives login_required.
    after = browser.get(authorize_path(prompt="none"))
    assert to_client(after)["error"] == "login_required"


def test_logout_without_hint_asks_first(browser: Browser, deps: Deps) -> None:
    sign_in(browser)
    page = browser.get("/logout")
    assert page.status == 200
    assert "Sign out of Tollgate?" in page.text
    assert _session_count(deps) == 1  # a GET alone signs no one out
    # A forged POST without the session-bound CSRF token is refused.
    forged = browser.post_form("/logout", {"csrf": "x" * 64, "decision": "logout"})
    assert forged.status == 403
    assert _session_count(deps) == 1
    done = browser.post_form(action_of(page.text), {"csrf": csrf_of(page.text)})
    assert done.status == 200
    assert "You are signed out" in done.text
    assert _session_count(deps) == 0


def test_unregistered_post_logout_redirect_is_never_followed(browser: Browser, deps: Deps) -> None:
    hint = _id_token(browser)
    for uri in ("https://evil.example/", AFTER + "/x", AFTER.upper(), REDIRECT):
        answer = browser.get(f"/logout?id_token_hint={hint}&post_logout_redirect_uri={uri}")
        assert answer.status == 400, uri
        assert answer.location is None
    assert _session_count(deps) == 1


def test_a_forged_hint_is_refused(browser: Browser, deps: Deps) -> None:
    hint = _id_token(browser)
    header, payload, signature = hint.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    answer = browser.get(f"/logout?id_token_hint={forged}")
    assert answer.status == 400
    assert _session_count(deps) == 1


def test_id_token_hint_at_authorize(browser: Browser, deps: Deps) -> None:
    """conformance oidcc-id-token-hint: prompt=none with the hint of the signed-in user."""
    hint = _id_token(browser)
    ok = browser.get(authorize_path(prompt="none", id_token_hint=hint))
    assert "code" in to_client(ok)
    bad = browser.get(authorize_path(prompt="none", id_token_hint="not.a.token"))
    assert to_client(bad)["error"] == "invalid_request"


def test_a_hint_for_another_user_requires_login(browser: Browser, deps: Deps) -> None:
    hint = _id_token(browser)
    user = deps.store.users.get("alice")
    assert user is not None
    user.sub = "someone-else"
    deps.store.users.save(user)
    # alice's session now names a sub that the store no longer has: treated as signed out.
    answer = browser.get(authorize_path(prompt="none", id_token_hint=hint))
    assert to_client(answer)["error"] == "login_required"


def test_access_token_is_not_an_id_token_hint(browser: Browser) -> None:
    answer = redeem(sign_in(browser))
    access = answer.json()["access_token"]
    bad = browser.get(authorize_path(prompt="none", id_token_hint=access))
    assert to_client(bad)["error"] == "invalid_request"
