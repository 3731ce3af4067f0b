"""Passkeys in Chromium with its virtual authenticator (CDP `WebAuthn`, issue 15 items 1, 2,
3 and 5), under a stage-path issuer (`http://localhost:<port>/dev`, behind
tests/support/stage_proxy.py as on API Gateway): WebAuthn refuses an IP address as RP ID,
so the issuer's host is `localhost` (Chromium maps it to 127.0.0.1).

One person's story: a password session; a passkey added on the security page (by keyboard);
a client asking `acr_values=phr` gets the passkey step inside that password session; new
sign-ins with the passkey alone (autofill, then the button), then password + passkey. Not
one request leaves the stage. SECURITY.md 65 (UV), 66 (challenges), 68 (origin and RP ID from the
issuer's host under a stage path). axe-core finds nothing on the pages with a passkey form,
light, dark and phone (TOLLGATE_SCREENSHOTS saves them).
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from playwright.sync_api import Browser, CDPSession, Page, sync_playwright

from chalicelib.admin import local
from tests.browser.conftest import ARGS, Stack, free_port, running_stack
from tests.browser.test_mfa import _check
from tests.browser.test_pages_a11y import VARIANTS, _tab_to, axe_source, screenshots
from tests.support.stage_proxy import stage_proxy

__all__ = ["axe_source", "screenshots"]  # the fixtures, shared with test_pages_a11y

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def passkey_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    port = free_port()
    state = tmp_path_factory.mktemp("passkeys")
    with stage_proxy(port, "dev") as proxy:
        issuer = proxy.url.replace("127.0.0.1", "localhost")
        with running_stack(state, port, issuer) as s:
            yield Stack(s.issuer, s.creds, s.moto_url, proxy)


@pytest.fixture(scope="module")
def chromium(chromium_path: str) -> Iterator[Browser]:
    args = [*ARGS, "--host-resolver-rules=MAP localhost 127.0.0.1"]
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium_path, headless=True, args=args)
        yield launched
        launched.close()


def _authenticator(page: Page) -> tuple[CDPSession, str]:
    """A platform authenticator that holds discoverable credentials and verifies the user."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, str(added["authenticatorId"])


def _credentials(cdp: CDPSession, authenticator: str) -> list[dict[str, Any]]:
    found = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    return list(found["credentials"])


def _authorize(stack: Stack, **extra: str) -> tuple[str, str]:
    url, verifier = local.authorization_url(
        f"{stack.issuer}/authorize", stack.creds.web_client_id, stack.creds.redirect_uri
    )
    return (f"{url}&{urlencode(extra)}" if extra else url), verifier


def _claims(stack: Stack, page: Page, verifier: str) -> dict[str, Any]:
    page.wait_for_url("**/demo/callback?**")
    code = parse_qs(urlsplit(page.url).query)["code"][0]
    creds = stack.creds
    body = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": creds.redirect_uri,
            "code_verifier": verifier,
        }
    ).encode()
    basic = base64.b64encode(f"{creds.web_client_id}:{creds.web_client_secret}".encode()).decode()
    request = urllib.request.Request(
        f"{stack.issuer}/token", data=body, headers={"Authorization": f"Basic {basic}"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as answer:
        tokens = json.loads(answer.read())
    claims: dict[str, Any] = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    return claims


def _password(page: Page, stack: Stack) -> None:
    page.get_by_label("Username").fill(stack.creds.username)
    page.get_by_label("Password").fill(stack.creds.password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def _password_session(stack: Stack, page: Page) -> None:
    url, verifier = _authorize(stack)
    page.goto(url)
    _password(page, stack)
    page.wait_for_url("**/consent")
    page.get_by_role("button", name="Allow").click()
    assert _claims(stack, page, verifier)["amr"] == ["pwd"]


def _add_passkey_by_keyboard(stack: Stack, page: Page) -> None:
    """The security page, from the issuer: Tab to the password (SECURITY.md 72: a first
    factor needs it typed on the page), type it, Enter; Tab to "Add a passkey", Enter."""
    page.goto(f"{stack.issuer}/account/security")
    page.get_by_role("heading", name="Security").wait_for()
    page.keyboard.press("Tab")
    _tab_to(page, "Password", limit=12)
    page.keyboard.type(stack.creds.password)
    page.keyboard.press("Enter")
    page.get_by_text("Confirmed. You can change your settings now.").wait_for()
    page.keyboard.press("Tab")
    _tab_to(page, "Add a passkey", limit=12)
    page.keyboard.press("Enter")
    page.get_by_text("Passkey added.").wait_for()
    assert page.locator(".recovery-codes li").count() == 10


def test_register_then_step_up_then_sign_in_with_the_passkey_alone_and_as_second_step(
    passkey_stack: Stack, chromium: Browser
) -> None:
    stack = passkey_stack
    assert stack.proxy is not None and urlsplit(stack.issuer).path == "/dev"
    seen = len(stack.proxy.seen)
    context = chromium.new_context()
    page = context.new_page()
    cdp, authenticator = _authenticator(page)

    _password_session(stack, page)
    _add_passkey_by_keyboard(stack, page)
    [credential] = _credentials(cdp, authenticator)
    assert credential["isResidentCredential"] is True
    assert credential["rpId"] == "localhost"  # the issuer's host, not its stage path

    # The same password session, a client asking for phr: the passkey step, and only it.
    url, verifier = _authorize(stack, acr_values="phr")
    page.goto(url)
    page.wait_for_url("**/mfa")
    assert page.get_by_label("Code", exact=True).count() == 0
    page.get_by_role("button", name="Use your passkey").click()
    claims = _claims(stack, page, verifier)
    assert claims["acr"] == "phr"
    assert claims["amr"] == ["pwd", "hwk", "user", "mfa"]

    # A new sign-in with the passkey alone, by autofill (conditional UI): the page asks the
    # browser for this site's passkeys as it loads, the virtual authenticator answers
    # (automatic presence), and the page signs in with no click.
    context.clear_cookies()
    url, verifier = _authorize(stack)
    page.goto(url)
    claims = _claims(stack, page, verifier)
    assert (claims["amr"], claims["acr"]) == (["hwk", "user", "mfa"], "phr")

    # The same with the button, in a browser without conditional UI.
    context.clear_cookies()
    page.add_init_script("PublicKeyCredential.isConditionalMediationAvailable = undefined")
    url, verifier = _authorize(stack)
    page.goto(url)
    page.wait_for_url("**/login")
    assert page.get_by_label("Username").get_attribute("autocomplete") == "username webauthn"
    page.get_by_role("button", name="Continue with a passkey").click()
    claims = _claims(stack, page, verifier)
    assert (claims["amr"], claims["acr"]) == (["hwk", "user", "mfa"], "phr")

    # Password, then the passkey as the second step.
    context.clear_cookies()
    url, verifier = _authorize(stack)
    page.goto(url)
    _password(page, stack)
    page.wait_for_url("**/mfa")
    page.get_by_role("button", name="Use your passkey").click()
    claims = _claims(stack, page, verifier)
    assert claims["amr"] == ["pwd", "hwk", "user", "mfa"]

    # The counter the authenticator keeps is the one stored (moved on by each use).
    [credential] = _credentials(cdp, authenticator)
    store = local.local_store(stack.moto_url)
    [factor] = [f for f in store.factors.list_for(stack.creds.username) if f.kind == "passkey"]
    assert factor.sign_count == credential["signCount"] >= 4
    assert stack.proxy.refused(seen) == []
    context.close()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_axe_finds_nothing_on_the_pages_with_a_passkey_form(
    passkey_stack: Stack,
    chromium: Browser,
    axe_source: str,
    screenshots: Path | None,
    variant: str,
) -> None:
    """After the story above: the user has a passkey."""
    stack = passkey_stack
    context = chromium.new_context(bypass_csp=True, **VARIANTS[variant])
    page = context.new_page()
    _authenticator(page)
    url, _verifier = _authorize(stack)
    page.goto(url)
    page.wait_for_url("**/login")
    _check(page, axe_source, "passkey-login", variant, screenshots)
    _password(page, stack)
    page.wait_for_url("**/mfa")
    _check(page, axe_source, "passkey-step", variant, screenshots)
    page.get_by_label("Code", exact=True).fill("000000")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("alert").wait_for()
    _check(page, axe_source, "passkey-step-error", variant, screenshots)
    context.close()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_axe_finds_nothing_on_the_security_page(
    passkey_stack: Stack,
    chromium: Browser,
    axe_source: str,
    screenshots: Path | None,
    variant: str,
) -> None:
    """A user with no factor yet: the page, then with a passkey and its recovery codes."""
    from chalicelib.stores.models import User

    stack = passkey_stack
    store = local.local_store(stack.moto_url)
    demo = store.users.get(stack.creds.username)
    assert demo is not None
    username = f"security-{variant}"
    store.users.create(User(username, f"sub-{username}", demo.password_hash))
    context = chromium.new_context(bypass_csp=True, **VARIANTS[variant])
    page = context.new_page()
    _authenticator(page)
    page.goto(f"{stack.issuer}/account/security")
    page.get_by_role("heading", name="You are not signed in").wait_for()
    _check(page, axe_source, "security-signed-out", variant, screenshots)
    url, _verifier = _authorize(stack)
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(stack.creds.password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/consent")
    page.goto(f"{stack.issuer}/account/security")
    _check(page, axe_source, "security-empty", variant, screenshots)
    page.get_by_label("Password").fill(stack.creds.password)  # SECURITY.md 72
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("Confirmed. You can change your settings now.").wait_for()
    page.get_by_role("button", name="Add a passkey").click()
    page.get_by_text("Passkey added.").wait_for()
    _check(page, axe_source, "security-added", variant, screenshots)
    context.close()
