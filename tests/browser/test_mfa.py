"""TOTP and step-up in Chromium (issue 15 item 6): a password session, then a client asking
`acr_values=urn:tollgate:mfa` gets the second step inside it (SECURITY.md item 61): the
person sets up TOTP from the page (the key as text: the QR code is the same secret), keeps
the recovery codes and comes back with an ID token whose amr shows the factor. A new
browser then signs in with password and code, by keyboard alone. axe-core finds nothing on
the three second-step pages, in light, dark and phone layouts (TOLLGATE_SCREENSHOTS saves
them as in test_pages_a11y).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest
from playwright.sync_api import Browser, Page

from chalicelib.accounts import totp
from chalicelib.clock import SystemClock
from tests.browser.conftest import Stack
from tests.browser.test_pages_a11y import (
    AXE,
    VARIANTS,
    _focused,
    _keyboard_sign_in,
    _sign_in,
    _tab_to,
    axe_source,
    screenshots,
)
from tests.browser.test_sign_in import _authorize, _callback_params, _exchange
from tests.support.mfa import wrong_code

__all__ = ["axe_source", "screenshots"]  # the fixtures, shared with test_pages_a11y

pytestmark = pytest.mark.browser
MFA = "urn:tollgate:mfa"


def _check(page: Page, source: str, name: str, variant: str, shots: Path | None) -> None:
    page.evaluate(source)
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    violations = [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]
    assert violations == [], (name, variant, violations)
    if shots is not None:
        page.screenshot(path=str(shots / f"{name}-{variant}.png"), full_page=True)


def _code(secret: str, ahead: int = 0) -> str:
    return totp.code_at(secret, SystemClock().now() // totp.STEP + ahead)


def _tokens(stack: Stack, page: Page, verifier: str) -> dict[str, Any]:
    page.wait_for_url("**/demo/callback?**")
    tokens = _exchange(stack, _callback_params(page)["code"], verifier)
    claims: dict[str, Any] = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    return claims


def test_step_up_enrols_totp_then_a_new_browser_signs_in_with_it(
    stack: Stack, browser: Browser, axe_source: str, screenshots: Path | None
) -> None:
    assert AXE.exists()
    context = browser.new_context(**VARIANTS["light"])
    page = context.new_page()
    # A password session first.
    url, verifier, _state = _authorize(stack, stack.creds.web_client_id)
    page.goto(url)
    _sign_in(page, stack)
    page.wait_for_url("**/consent")
    page.get_by_role("button", name="Allow").click()
    assert _tokens(stack, page, verifier)["amr"] == ["pwd"]

    # The same client asks for MFA: the second step, not the password again.
    url, verifier, _state = _authorize(stack, stack.creds.web_client_id)
    page.goto(f"{url}&acr_values={MFA}")
    page.wait_for_url("**/mfa")
    page.get_by_role("img", name="QR code of the key below").wait_for()
    secret = page.locator(".manual-key code").inner_text().replace(" ", "")
    page.get_by_label("Code", exact=True).fill(_code(secret))
    page.get_by_role("button", name="Turn it on").click()
    page.get_by_role("heading", name="Save your recovery codes").wait_for()
    assert page.locator(".recovery-codes li").count() == totp.RECOVERY_CODES
    page.get_by_role("button", name="I saved them").click()
    claims = _tokens(stack, page, verifier)
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == MFA
    context.close()

    # A new browser: password, then the code, keyboard only (the code of the next step:
    # this one was spent at enrolment, SECURITY.md item 57).
    context = browser.new_context()
    page = context.new_page()
    url, verifier, _state = _authorize(stack, stack.creds.web_client_id)
    page.goto(url)
    page.wait_for_url("**/login")
    _keyboard_sign_in(page, stack)
    page.wait_for_url("**/mfa")
    assert _focused(page) == "Code"
    page.keyboard.type(_code(secret, +1))
    _tab_to(page, "Continue")
    page.keyboard.press("Enter")
    assert _tokens(stack, page, verifier)["amr"] == ["pwd", "otp", "mfa"]
    context.close()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_axe_finds_nothing_on_the_second_step_pages(
    stack: Stack,
    browser: Browser,
    axe_source: str,
    screenshots: Path | None,
    variant: str,
) -> None:
    from chalicelib.admin import local
    from chalicelib.stores.models import User

    store = local.local_store(stack.moto_url)
    username = f"axe-{variant}"
    user = store.users.get(stack.creds.username)
    assert user is not None
    store.users.create(User(username, f"sub-{username}", user.password_hash, mfa_required=True))
    context = browser.new_context(bypass_csp=True, **VARIANTS[variant])
    page = context.new_page()
    url, _verifier, _state = _authorize(stack, stack.creds.web_client_id)
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(stack.creds.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/mfa")
    _check(page, axe_source, "mfa-enrol", variant, screenshots)
    secret = page.locator(".manual-key code").inner_text().replace(" ", "")
    page.get_by_label("Code", exact=True).fill(wrong_code(secret, SystemClock().now()))
    page.get_by_role("button", name="Turn it on").click()
    page.get_by_role("alert").wait_for()
    _check(page, axe_source, "mfa-enrol-error", variant, screenshots)
    page.get_by_label("Code", exact=True).fill(_code(secret))
    page.get_by_role("button", name="Turn it on").click()
    page.get_by_role("heading", name="Save your recovery codes").wait_for()
    _check(page, axe_source, "mfa-recovery-codes", variant, screenshots)
    context.close()
    # The code page, in a new browser.
    context = browser.new_context(bypass_csp=True, **VARIANTS[variant])
    page = context.new_page()
    page.goto(url.replace("state=", "state=x"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(stack.creds.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/mfa")
    _check(page, axe_source, "mfa-code", variant, screenshots)
    context.close()
