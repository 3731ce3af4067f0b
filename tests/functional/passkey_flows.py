"""The passkey steps the functional tests share: the security page's and the login page's
passkey forms answered by a software authenticator (tests/support/webauthn.py)."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from chalicelib.deps import Deps
from chalicelib.stores.models import Factor
from tests.functional.flows import hidden_fields, sign_in
from tests.functional.test_mfa import start
from tests.support.oauth import ISSUER, PASSWORD, Answer, Browser
from tests.support.webauthn import SoftAuthenticator

SECURITY = "/account/security"


def passkey_form(page: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The page's passkey form: its action, hidden fields and WebAuthn options."""
    found = re.search(r'<form class="passkey"[^>]*>.*?</form>', page, re.S)
    assert found is not None, "no passkey form"
    form = found.group()
    action = re.search(r'action="([^"]+)"', form)
    options = re.search(r'data-passkey-options="([^"]+)"', form)
    assert action is not None and options is not None
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    fields = {k: html.unescape(v) for k, v in fields.items()}
    return html.unescape(action.group(1)), fields, json.loads(html.unescape(options.group(1)))


def post_passkey(browser: Browser, page: Answer, answer: Any) -> Answer:
    """Answer the page's passkey options with `answer(options)` and post it as the script does."""
    action, fields, options = passkey_form(page.text)
    return browser.post_form(action, {**fields, "credential": answer(options)})


def confirm_password(browser: Browser) -> Answer:
    """The security page, confirmed with the password typed on it (SECURITY.md 72: a user
    with no factor needs it to add the first)."""
    page = browser.get(SECURITY)
    fields = {"csrf": hidden_fields(page.text)["csrf"], "action": "confirm", "password": PASSWORD}
    done = browser.post_form(SECURITY, fields)
    assert done.status == 200 and "Confirmed." in done.text, done.text
    return done


def register(browser: Browser, authenticator: SoftAuthenticator | None = None) -> Answer:
    """alice signs in with her password, confirms it on the security page, then adds a
    passkey there."""
    sign_in(browser)
    device = authenticator or SoftAuthenticator(ISSUER)
    return post_passkey(browser, confirm_password(browser), device.create)


def passkeys_of(deps: Deps) -> list[Factor]:
    return [f for f in deps.store.factors.list_for("alice") if f.kind == "passkey"]


def login_page(browser: Browser, **extra: str) -> tuple[Answer, str]:
    started, verifier = start(browser, **extra)
    return browser.follow(started), verifier
