"""The sign-in pages in Chromium: axe-core finds nothing, in light and dark, on a desktop and
a phone; a person with a keyboard alone can sign in and consent, cancel, sign out on the
consent page ("Not you?"), cancel a sign-out and start an expired sign-in again.

axe-core is pinned in tests/clients (npm ci by `make test`) and injected by Playwright (the
pages' own CSP forbids scripts, so those contexts bypass it; nothing else differs). The
keyboard paths run behind the stage proxy (an issuer with a path): a URL that left the
stage would answer 403. With TOLLGATE_SCREENSHOTS=<dir>, every checked page is saved there
as <page>-<light|dark|phone>.png.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from chalicelib.admin import local
from tests.browser.conftest import Stack

pytestmark = pytest.mark.browser

AXE = (
    Path(__file__).resolve().parent.parent / "clients" / "node_modules" / "axe-core" / "axe.min.js"
)
VARIANTS: dict[str, dict[str, Any]] = {
    "light": {"color_scheme": "light", "viewport": {"width": 1024, "height": 800}},
    "dark": {"color_scheme": "dark", "viewport": {"width": 1024, "height": 800}},
    "phone": {
        "color_scheme": "light",
        "viewport": {"width": 375, "height": 740},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail("tests/clients/node_modules is missing: `make test` installs it")
        pytest.skip("axe-core is not installed (make test runs npm ci in tests/clients)")
    return AXE.read_text(encoding="utf-8")


def _authorize(stack: Stack, client_id: str | None = None) -> tuple[str, str]:
    url, _verifier = local.authorization_url(
        f"{stack.issuer}/authorize",
        client_id or stack.creds.web_client_id,
        stack.creds.redirect_uri,
    )
    return url, parse_qs(urlsplit(url).query)["state"][0]


def _sign_in(page: Page, stack: Stack) -> None:
    page.get_by_label("Username").fill(stack.creds.username)
    page.get_by_label("Password").fill(stack.creds.password)
    page.get_by_role("button", name="Sign in").click()


def _expire_pending_authorizations(stack: Stack) -> None:
    """What DynamoDB's TTL does after 10 minutes, at once: the pending authorizations go."""
    table = local.local_store(stack.moto_url).table
    for item in table.scan_prefix("INTERACTION#"):
        table.delete(str(item["pk"]), str(item["sk"]))


# -- the pages, each reached as a person reaches it -------------------------------------------


def _login(page: Page, stack: Stack) -> None:
    page.goto(_authorize(stack)[0])
    page.wait_for_url("**/login")


def _login_error(page: Page, stack: Stack) -> None:
    _login(page, stack)
    page.get_by_label("Username").fill(stack.creds.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").wait_for()


def _consent(page: Page, stack: Stack) -> None:
    _login(page, stack)
    _sign_in(page, stack)
    page.wait_for_url("**/consent")


def _logout(page: Page, stack: Stack) -> None:
    _consent(page, stack)
    page.goto(f"{stack.issuer}/logout")
    page.get_by_role("button", name="Cancel").wait_for()


def _still_signed_in(page: Page, stack: Stack) -> None:
    _logout(page, stack)
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("You are still signed in").wait_for()


def _expired(page: Page, stack: Stack) -> None:
    _login(page, stack)
    _expire_pending_authorizations(stack)
    _sign_in(page, stack)
    page.get_by_role("link", name="Start again").wait_for()


def _unverified_consent(page: Page, stack: Stack) -> None:
    """Consent for a client that registered itself (RFC 7591): the notice is on the page
    (SECURITY.md 54)."""
    doc = {"client_name": "Self-registered app", "redirect_uris": [stack.creds.redirect_uri]}
    doc["token_endpoint_auth_method"] = "none"
    request = urllib.request.Request(
        f"{stack.issuer}/register",
        data=json.dumps(doc).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the local stack
    with opener.open(request, timeout=10) as answer:
        client_id = json.load(answer)["client_id"]
    page.goto(_authorize(stack, client_id)[0])
    page.wait_for_url("**/login")
    _sign_in(page, stack)
    page.wait_for_url("**/consent")
    page.get_by_text("Not verified by the operator of this server.").wait_for()


PAGES: dict[str, Callable[[Page, Stack], None]] = {
    "login": _login,
    "login-error": _login_error,
    "consent": _consent,
    "consent-unverified": _unverified_consent,
    "logout": _logout,
    "still-signed-in": _still_signed_in,
    "expired": _expired,
}


@pytest.fixture(scope="module")
def screenshots() -> Iterator[Path | None]:
    target = os.environ.get("TOLLGATE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
    yield Path(target) if target else None


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", sorted(PAGES))
def test_axe_finds_nothing(
    stack: Stack,
    browser: Browser,
    *,
    axe_source: str,
    screenshots: Path | None,
    name: str,
    variant: str,
) -> None:
    context = browser.new_context(bypass_csp=True, **VARIANTS[variant])
    try:
        page = context.new_page()
        PAGES[name](page, stack)
        page.evaluate(axe_source)
        result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        violations = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in result["violations"]
        ]
        assert violations == [], violations
        if screenshots is not None:
            page.screenshot(path=str(screenshots / f"{name}-{variant}.png"), full_page=True)
    finally:
        context.close()


# -- keyboard only --------------------------------------------------------------------------


def _focused(page: Page) -> str:
    """The accessible text of the focused element (its label for a field)."""
    found: str = page.evaluate(
        """() => {
            const e = document.activeElement;
            if (!e || e === document.body) return "";
            if (e.labels && e.labels.length) return e.labels[0].textContent.trim();
            return (e.textContent || "").replace(/\\s+/g, " ").trim();
        }"""
    )
    return found


def _tab_to(page: Page, name: str, limit: int = 8) -> list[str]:
    """Press Tab until `name` has the focus; the names passed on the way."""
    seen = [_focused(page)]
    for _ in range(limit):
        if seen[-1] == name:
            return seen
        page.keyboard.press("Tab")
        seen.append(_focused(page))
    raise AssertionError(f"{name!r} never got the focus: {seen}")


def _keyboard_sign_in(page: Page, stack: Stack) -> None:
    """Username has the focus on arrival (autofocus); type, Tab, type, Tab to the button."""
    assert _focused(page) == "Username"
    page.keyboard.type(stack.creds.username)
    _tab_to(page, "Password")
    page.keyboard.type(stack.creds.password)
    _tab_to(page, "Sign in")
    page.keyboard.press("Enter")


def _callback(page: Page) -> dict[str, str]:
    page.wait_for_url("**/demo/callback?**")
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


@pytest.fixture
def keyboard_page(staged_stack: Stack, browser: Browser) -> Iterator[Page]:
    context: BrowserContext = browser.new_context()
    outside: list[str] = []
    context.on(
        "request",
        lambda r: None if r.url.startswith(staged_stack.issuer) else outside.append(r.url),
    )
    yield context.new_page()
    context.close()
    assert outside == [], outside  # nothing left the stage


def test_keyboard_only_cancel_then_sign_in_consent_and_not_you(
    staged_stack: Stack, keyboard_page: Page
) -> None:
    stack, page = staged_stack, keyboard_page
    # Cancel on the login page: back at the app with access_denied, state and iss.
    url, state = _authorize(stack)
    page.goto(url)
    page.wait_for_url("**/login")
    passed = _tab_to(page, "Cancel and return to Demo Web App")
    assert passed[:3] == ["Username", "Password", "Sign in"], passed
    page.keyboard.press("Enter")
    params = _callback(page)
    assert (params["error"], params["state"], params["iss"]) == (
        "access_denied",
        state,
        stack.issuer,
    )

    # Sign in and reach consent; "Not you? Sign out" returns to the same sign-in.
    url, state = _authorize(stack)
    page.goto(url)
    page.wait_for_url("**/login")
    _keyboard_sign_in(page, stack)
    page.wait_for_url("**/consent")
    consent_url = page.url
    _tab_to(page, "Not you? Sign out")
    page.keyboard.press("Enter")
    page.wait_for_url("**/login")
    assert page.url == consent_url.replace("/consent", "/login")

    # Sign in again on it, Tab to Allow (past Deny), and the code arrives with the state.
    _keyboard_sign_in(page, stack)
    page.wait_for_url("**/consent")
    passed = _tab_to(page, "Allow")
    assert "Deny" in passed and "Not you? Sign out" in passed, passed
    page.keyboard.press("Enter")
    params = _callback(page)
    assert params["state"] == state and "code" in params

    # The sign-out confirmation: Cancel is the first button; Enter on it keeps the session.
    page.goto(f"{stack.issuer}/logout")
    _tab_to(page, "Cancel")
    page.keyboard.press("Enter")
    page.get_by_text("You are still signed in").wait_for()


def test_keyboard_only_expired_sign_in_starts_again_with_the_username(
    staged_stack: Stack, keyboard_page: Page
) -> None:
    stack, page = staged_stack, keyboard_page
    url, state = _authorize(stack, stack.creds.spa_client_id)
    page.goto(url)
    page.wait_for_url("**/login")
    _expire_pending_authorizations(staged_stack)
    _keyboard_sign_in(page, stack)
    page.get_by_role("link", name="Start again").wait_for()
    _tab_to(page, "Start again")
    page.keyboard.press("Enter")
    page.wait_for_url("**/login")
    assert page.get_by_label("Username").input_value() == stack.creds.username
    # The username is kept, so the password has the focus.
    assert _focused(page) == "Password"
    page.keyboard.type(stack.creds.password)
    _tab_to(page, "Sign in")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/(consent|demo/callback\?.*)$"))
    if page.url.endswith("/consent"):
        _tab_to(page, "Allow")
        page.keyboard.press("Enter")
    assert _callback(page)["state"] == state
