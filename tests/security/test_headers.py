"""SECURITY.md item 7: framing, referrer and content policies on every page; no CORS."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from tests.security.conftest import ISSUER, PASSWORD, Server, auth_params, authorize_path
from tests.support.oauth import Answer, Browser, action_of, csrf_of

ORIGIN = "https://evil.example"


def login_page(server: Server, browser: Browser) -> Answer:
    return browser.follow(server.authorize(browser, auth_params("web")))


def consent_page(server: Server, browser: Browser) -> Answer:
    page = login_page(server, browser)
    form = {"csrf": csrf_of(page.text), "username": "alice", "password": PASSWORD}
    return browser.follow(browser.post_form(action_of(page.text), form))


def wrong_password_page(server: Server, browser: Browser) -> Answer:
    page = login_page(server, browser)
    form = {"csrf": csrf_of(page.text), "username": "alice", "password": "wrong password"}
    return browser.post_form(action_of(page.text), form)


def unknown_client_page(server: Server, browser: Browser) -> Answer:
    return browser.get(authorize_path(auth_params("nobody")))


def bad_redirect_page(server: Server, browser: Browser) -> Answer:
    return browser.get(authorize_path(auth_params("web", redirect_uri="https://evil.example/")))


def malformed_post_page(server: Server, browser: Browser) -> Answer:
    body = b'{"client_id": "web"}'
    return browser.request("POST", "/authorize", body=body, headers={"Content-Type": "text/json"})


def expired_interaction_page(server: Server, browser: Browser) -> Answer:
    return browser.get("/interaction/no-such-interaction/login")


def foreign_browser_page(server: Server, browser: Browser) -> Answer:
    page = login_page(server, server.browser())
    return browser.get(action_of(page.text))


def csrf_refused_page(server: Server, browser: Browser) -> Answer:
    page = login_page(server, browser)
    return browser.post_form(action_of(page.text), {"username": "alice", "password": PASSWORD})


def security_page(server: Server, browser: Browser) -> Answer:
    """The signed-in person's security page (SECURITY.md 70), with its passkey script."""
    consent_page(server, browser)  # signed in
    return browser.get("/account/security")


def signed_out_security_page(server: Server, browser: Browser) -> Answer:
    return browser.get("/account/security")


PAGES: dict[str, Callable[[Server, Browser], Answer]] = {
    "login": login_page,
    "consent": consent_page,
    "wrong password": wrong_password_page,
    "unknown client": unknown_client_page,
    "bad redirect_uri": bad_redirect_page,
    "malformed POST": malformed_post_page,
    "expired interaction": expired_interaction_page,
    "other browser": foreign_browser_page,
    "csrf refused": csrf_refused_page,
    "security": security_page,
    "security signed out": signed_out_security_page,
}

_ATTRIBUTE = re.compile(
    r"""\b(src|href|action|srcset|poster|data|formaction)\s*=\s*["']?([^"'\s>]*)"""
)


def directives(policy: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            assert words[0].lower() not in out, f"directive {words[0]} twice"
            out[words[0].lower()] = words[1:]
    return out


@pytest.mark.parametrize("name", PAGES)
def test_every_page_forbids_framing_and_referrers(server: Server, name: str) -> None:
    """SECURITY.md 7; RFC 6749 10.13, RFC 9700 4.16 (clickjacking) and 4.2.4 (Referer), CSP3."""
    answer = PAGES[name](server, server.browser())
    assert answer.headers["content-type"].startswith("text/html"), answer.headers
    assert "<!doctype html>" in answer.text.lower()
    policy = directives(answer.headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["default-src"] == ["'none'"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("name", PAGES)
def test_every_page_loads_nothing_from_third_parties(server: Server, name: str) -> None:
    """SECURITY.md 7; RFC 9700 4.2.4 (no third-party resources), CSP3: same origin, no scripts."""
    answer = PAGES[name](server, server.browser())
    text = answer.text
    for attribute, value in _ATTRIBUTE.findall(text):
        if value.startswith("data:"):
            continue  # inline (an empty favicon): loaded from nowhere
        # The issuer's own (issue 9: never root-relative, which would leave a stage path).
        assert value.startswith(ISSUER + "/"), f"{attribute}={value}"
        assert urlsplit(value).netloc == urlsplit(ISSUER).netloc, f"{attribute}={value}"
    # One script at most: Tollgate's own passkey ceremonies, from the issuer, nothing inline
    # (the login page: SECURITY.md 68).
    own = f'<script src="{ISSUER}/static/passkey.js" defer></script>'
    assert "<script" not in text.replace(own, "", 1).lower()
    assert "@import" not in text
    assert "url(" not in text
    policy = directives(answer.headers["content-security-policy"])
    for directive, sources in policy.items():
        if directive == "form-action":
            continue  # the client's own origin: where the form's answer redirects to
        for source in sources:
            assert source.startswith("'") or source == "data:", (directive, source)
            assert source not in {"'unsafe-inline'", "'unsafe-eval'"}, (directive, source)
    assert policy.get("script-src", ["'self'"]) == ["'self'"]
    assert ("script-src" in policy) == (own in text)


def test_stylesheet_loads_nothing_else(server: Server) -> None:
    """SECURITY.md 7; CSP3: the one stylesheet pulls in no third-party font or image."""
    answer = server.browser().get("/static/tollgate.css")
    assert answer.status == 200
    assert "@import" not in answer.text
    for url in re.findall(r"url\(\s*['\"]?([^'\")]*)", answer.text):
        assert url.startswith(("data:", "/")) and not url.startswith("//"), url


def test_consent_form_may_only_post_to_self_and_the_client(server: Server) -> None:
    """SECURITY.md 7; CSP3 form-action: the form's answer may only reach the client's origin."""
    answer = consent_page(server, server.browser())
    policy = directives(answer.headers["content-security-policy"])
    assert policy["form-action"] == ["'self'", "https://app.example"]


def authorize_answers(server: Server, browser: Browser) -> list[Answer]:
    headers = {"Origin": ORIGIN}
    answers = [
        browser.get(authorize_path(auth_params("web")), headers=headers),
        browser.get(authorize_path(auth_params("web", scope="admin")), headers=headers),
        browser.get(authorize_path(auth_params("nobody")), headers=headers),
        browser.post_form("/authorize", auth_params("web"), headers=headers),
    ]
    signed_in = server.browser()
    server.sign_in("web", browser=signed_in)
    answers.append(signed_in.get(authorize_path(auth_params("web")), headers=headers))
    return answers


def test_authorize_sends_no_cors_headers(server: Server) -> None:
    """SECURITY.md 7; RFC 9700 2.6 (CORS MUST NOT be supported at the authorization endpoint)."""
    answers = authorize_answers(server, server.browser())
    statuses = sorted(a.status for a in answers)
    assert statuses == [303, 303, 303, 303, 400], statuses
    assert any("code=" in (a.location or "") for a in answers)
    for answer in answers:
        cors = [name for name in answer.headers if name.startswith("access-control-")]
        assert cors == [], answer.headers
        assert ORIGIN not in str(answer.headers)
