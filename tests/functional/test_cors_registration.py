"""CORS for browser-based MCP clients (MCP Inspector runs in a page): registration (RFC 7591)
and its management (RFC 7592) answer preflights and let a page read the answer for a client
whose redirect URIs are on its own origin, like /token (SECURITY.md 42). No CORS answer
ever allows credentials, and none of these endpoints sets a cookie."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.registering import NATIVE, manage, register
from tests.functional.test_cors import EVIL, PUBLIC, cors_headers, preflight, varies_by_origin
from tests.support.oauth import Browser

INSPECTOR = "http://localhost:6274"  # MCP Inspector's page, and its redirect URI's origin
DOC = {**NATIVE, "redirect_uris": [f"{INSPECTOR}/oauth/callback"]}
ALLOW_HEADERS = "Authorization, Content-Type, DPoP, MCP-Protocol-Version"


def _registered(browser: Browser) -> dict[str, Any]:
    answer = register(browser, DOC, Origin=INSPECTOR)
    assert answer.status == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_registration_preflight_is_answered_for_post(browser: Browser) -> None:
    """The preflight has no body, so no redirect URIs: the origin is checked on the POST."""
    answer = preflight(browser, "/register", INSPECTOR)
    assert answer.status == 204
    assert cors_headers(answer) == {
        "access-control-allow-origin": INSPECTOR,
        "access-control-allow-methods": "POST",
        "access-control-allow-headers": ALLOW_HEADERS,
        "access-control-max-age": "600",
    }
    assert varies_by_origin(answer)


def test_a_page_registers_a_client_of_its_own_origin(browser: Browser) -> None:
    answer = register(browser, DOC, Origin=INSPECTOR)
    assert answer.status == 201
    assert answer.headers["access-control-allow-origin"] == INSPECTOR
    assert "WWW-Authenticate" in answer.headers["access-control-expose-headers"]
    assert varies_by_origin(answer)


def test_a_page_cannot_register_a_client_of_another_origin(browser: Browser) -> None:
    answer = register(browser, DOC, Origin=EVIL)
    assert answer.status == 400
    assert answer.json()["error"] == "invalid_request"
    assert cors_headers(answer) == {}
    assert "client_id" not in answer.json()


def test_without_origin_registration_has_no_cors_but_varies(browser: Browser) -> None:
    """A native MCP host sends no Origin: nothing to decide."""
    answer = register(browser, NATIVE)
    assert answer.status == 201
    assert cors_headers(answer) == {}
    assert varies_by_origin(answer)


def test_the_client_s_page_manages_its_registration(browser: Browser) -> None:
    registered = _registered(browser)
    path = registered["registration_client_uri"]
    answer = preflight(browser, path, INSPECTOR, "PUT")
    assert answer.headers["access-control-allow-methods"] == "DELETE, GET, PUT"
    token = registered["registration_access_token"]
    for origin, status in ((INSPECTOR, 200), (EVIL, 400)):
        headers = {"Authorization": f"Bearer {token}", "Origin": origin}
        answer = browser.request("GET", path, headers=headers, cookies=False)
        assert answer.status == status, answer.text
        expected = {"access-control-allow-origin": INSPECTOR} if status == 200 else {}
        assert {k: v for k, v in cors_headers(answer).items() if "origin" in k} == expected
    assert manage(browser, "GET", registered).status == 200  # the page's answer changed nothing


@pytest.mark.parametrize("path", [*PUBLIC, "/token", "/revoke", "/register", "/userinfo"])
def test_no_cors_answer_allows_credentials_or_sets_a_cookie(browser: Browser, path: str) -> None:
    for method in ("GET", "POST"):
        for answer in (
            preflight(browser, path, INSPECTOR, method),
            browser.request(method, path, headers={"Origin": INSPECTOR}, cookies=False),
        ):
            assert "access-control-allow-credentials" not in answer.headers, (path, method)
            assert answer.set_cookies == [], (path, method)
