"""acr `phr` (issue 15 item 2): asking for it forces the passkey step even inside a password
or TOTP session, and only a passkey makes an ID token say `phr` (SECURITY.md 61).
"""

from __future__ import annotations

import dataclasses

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from tests.functional.flows import path_of
from tests.functional.passkey_flows import SECURITY, passkey_form, post_passkey, register
from tests.functional.test_mfa import code, enrol, finish, send_code, start, to_second_step
from tests.support.oauth import ISSUER, Browser
from tests.support.webauthn import SoftAuthenticator

PHR = "phr"
CALLBACK = "https://app.example/cb?code="  # straight back to the client: no second step


def test_phr_steps_up_a_password_session_with_the_passkey_alone(browser: Browser) -> None:
    device = SoftAuthenticator(ISSUER)
    register(browser, device)  # the session is the password's: the passkey came after
    started, verifier = start(browser, acr_values=PHR)
    assert path_of(started.location).endswith("/mfa"), started.location
    page = browser.follow(started)
    assert 'name="code"' not in page.text  # only the passkey will do
    claims = finish(browser, post_passkey(browser, page, device.get), verifier)
    assert claims["acr"] == PHR
    assert claims["amr"] == ["pwd", "hwk", "user", "mfa"]
    # The session now meets phr: no second step for the next request.
    again, _verifier = start(browser, acr_values=PHR)
    assert (again.location or "").startswith(CALLBACK)


def test_phr_steps_up_a_totp_session_and_a_code_is_not_enough(
    deps: Deps, clock: FakeClock, browser: Browser
) -> None:
    secret = enrol(deps)
    page, verifier = to_second_step(browser)
    claims = finish(browser, send_code(browser, page, code(secret, clock)), verifier)
    assert claims["acr"] == "urn:tollgate:mfa"
    device = SoftAuthenticator(ISSUER)  # added in this TOTP session
    assert post_passkey(browser, browser.get(SECURITY), device.create).status == 200
    started, verifier = start(browser, acr_values=PHR)
    assert path_of(started.location).endswith("/mfa")
    page = browser.follow(started)
    assert 'name="code"' not in page.text
    action, fields, _options = passkey_form(page.text)
    # A code posted anyway (no form offers it): refused unchecked, the passkey is needed.
    posted = browser.post_form(action.replace("/passkey", "/mfa"), {**fields, "code": "123456"})
    assert posted.status == 400 and "Use your passkey." in posted.text
    claims = finish(browser, post_passkey(browser, page, device.get), verifier)
    assert claims["acr"] == PHR
    assert claims["amr"] == ["pwd", "otp", "hwk", "user", "mfa"]


def test_without_a_passkey_phr_gets_the_most_there_is_and_no_endless_step_up(
    deps: Deps, clock: FakeClock, browser: Browser
) -> None:
    user = deps.store.users.get("alice")
    assert user is not None
    deps.store.users.save(dataclasses.replace(user, mfa_required=False))
    secret = enrol(deps)
    page, verifier = to_second_step(browser, acr_values=PHR)
    claims = finish(browser, send_code(browser, page, code(secret, clock)), verifier)
    assert claims["acr"] == "urn:tollgate:mfa"  # acr_values are voluntary (OIDC Core 5.5.1.1)
    again, _verifier = start(browser, acr_values=PHR)
    assert (again.location or "").startswith(CALLBACK)


def test_a_passkey_session_meets_an_mfa_request(browser: Browser) -> None:
    device = SoftAuthenticator(ISSUER)
    register(browser, device)
    browser.cookies.clear()
    started, verifier = start(browser)
    page = browser.follow(started)
    finish(browser, post_passkey(browser, page, device.get), verifier)
    again, _verifier = start(browser, acr_values="urn:tollgate:mfa")
    assert (again.location or "").startswith(CALLBACK)
