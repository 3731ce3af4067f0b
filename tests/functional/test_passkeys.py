"""Passkeys through the real routes (issue 15 item 1), with a software authenticator
(tests/support/webauthn.py): registration on the security page, sign-in with a passkey
alone and as the second step, and every answer the server must refuse.

SECURITY.md 65 (user verification), 66 (challenges: single use, 5 minutes, bound to the
page), 67 (a counter that goes back), 68 (origin and RP ID).
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from chalicelib.accounts import passkeys
from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from tests.functional.flows import path_of, sign_in, submit_login
from tests.functional.passkey_flows import (
    SECURITY,
    confirm_password,
    login_page,
    passkey_form,
    passkeys_of,
    post_passkey,
    register,
)
from tests.functional.test_mfa import finish, start
from tests.support.logs import captured
from tests.support.oauth import ISSUER, Browser
from tests.support.webauthn import SoftAuthenticator, b64url


def test_a_signed_in_user_registers_a_passkey_with_its_flags_and_recovery_codes(
    deps: Deps, browser: Browser
) -> None:
    """SECURITY.md 65: registration asks for a discoverable credential with UV required."""
    with captured() as lines:
        added = register(browser, SoftAuthenticator(ISSUER, synced=True))
    assert added.status == 200, added.text
    _action, _fields, options = passkey_form(browser.get(SECURITY).text)
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["rp"]["id"] == "auth.example.test"
    assert len(options["excludeCredentials"]) == 1  # the one just added: not twice
    [factor] = passkeys_of(deps)
    assert (factor.backup_eligible, factor.backed_up, factor.sign_count) == (True, True, 0)
    assert factor.transports == ["internal"]
    # The first factor comes with recovery codes, shown once.
    assert len(re.findall(r"<li><code>[A-Z2-7-]{19}</code></li>", added.text)) == 10
    assert "account.factor_added" in lines.events()


def test_a_passkey_alone_signs_in_with_amr_and_acr_phr(
    deps: Deps, browser: Browser, device: SoftAuthenticator
) -> None:
    page, verifier = login_page(browser)
    assert 'autocomplete="username webauthn"' in page.text
    assert "Continue with a passkey" in page.text
    answer = post_passkey(browser, page, device.get)
    assert answer.status == 303, answer.text
    claims = finish(browser, answer, verifier)
    assert claims["amr"] == ["hwk", "user", "mfa"]
    assert claims["acr"] == "phr"
    assert passkeys_of(deps)[0].sign_count == 1  # stored, and moved forward by each use


def test_a_synced_passkey_says_swk(browser: Browser) -> None:
    register(browser, device := SoftAuthenticator(ISSUER, synced=True))
    browser.cookies.clear()
    page, verifier = login_page(browser)
    claims = finish(browser, post_passkey(browser, page, device.get), verifier)
    assert claims["amr"] == ["swk", "user", "mfa"]


def test_a_passkey_is_the_second_step_after_a_password(
    browser: Browser, device: SoftAuthenticator
) -> None:
    started, verifier = start(browser)
    password = submit_login(browser, browser.follow(started))
    assert path_of(password.location).endswith("/mfa")
    second = browser.follow(password)
    assert "Use your passkey" in second.text and 'name="code"' in second.text
    _action, _fields, options = passkey_form(second.text)
    assert [c["id"] for c in options["allowCredentials"]] == [b64url(device.credential_id)]
    claims = finish(browser, post_passkey(browser, second, device.get), verifier)
    assert claims["amr"] == ["pwd", "hwk", "user", "mfa"]
    assert claims["acr"] == "phr"


def test_without_user_verification_a_passkey_is_refused(
    deps: Deps, browser: Browser, device: SoftAuthenticator
) -> None:
    """SECURITY.md 65: UV is required at every use (and at registration)."""
    page, _verifier = login_page(browser)
    with captured() as lines:
        refused = post_passkey(browser, page, lambda o: device.get(o, verified=False))
    assert refused.status == 400 and "not accepted" in refused.text
    assert "passkey.refused" in lines.events()


def test_without_user_verification_no_passkey_is_added(deps: Deps, browser: Browser) -> None:
    """SECURITY.md 65, at registration."""
    sign_in(browser)
    page = confirm_password(browser)
    added = post_passkey(
        browser, page, lambda o: SoftAuthenticator(ISSUER).create(o, verified=False)
    )
    assert added.status == 400 and "could not be added" in added.text
    assert passkeys_of(deps) == []


def test_a_challenge_works_once_and_only_while_its_sign_in_lasts(
    clock: FakeClock, browser: Browser, device: SoftAuthenticator
) -> None:
    """SECURITY.md 66: the same signed response twice is refused, as is a late one; a
    registration's challenge lasts 5 minutes."""
    page, _verifier = login_page(browser)
    action, fields, options = passkey_form(page.text)
    response = device.get(options)
    assert browser.post_form(action, {**fields, "credential": response}).status == 303
    browser.cookies.pop(next(n for n in browser.cookies if "session" in n))
    again = browser.post_form(action, {**fields, "credential": response})
    assert again.status in {400, 403}
    browser.cookies.clear()
    page, _verifier = login_page(browser)
    clock.advance(601)
    late = post_passkey(browser, page, device.get)
    assert late.status == 400 and "This sign-in has expired" in late.text
    page, verifier = login_page(browser)
    finish(browser, post_passkey(browser, page, device.get), verifier)
    security = browser.get(SECURITY)
    clock.advance(301)
    refused = post_passkey(browser, security, SoftAuthenticator(ISSUER).create)
    assert refused.status == 400 and "could not be added" in refused.text


def test_a_challenge_of_another_sign_in_is_refused(
    browser: Browser, device: SoftAuthenticator
) -> None:
    """SECURITY.md 66: bound to the pending authorization it was shown for."""
    first, _ = login_page(browser)
    second, _ = login_page(browser)
    _action, _fields, options = passkey_form(first.text)
    action, fields, _options = passkey_form(second.text)
    refused = browser.post_form(action, {**fields, "credential": device.get(options)})
    assert refused.status == 400 and "not accepted" in refused.text


def test_a_counter_that_goes_back_is_refused_and_audited(
    deps: Deps, browser: Browser, device: SoftAuthenticator
) -> None:
    """SECURITY.md 67: a cloned authenticator shows itself by an older counter."""
    page, verifier = login_page(browser)
    finish(browser, post_passkey(browser, page, lambda o: device.get(o, counter=5)), verifier)
    browser.cookies.clear()
    page, _verifier = login_page(browser)
    with captured() as lines:
        refused = post_passkey(browser, page, lambda o: device.get(o, counter=5))
    assert refused.status == 400
    assert "passkey.counter_regressed" in lines.events()
    assert passkeys_of(deps)[0].sign_count == 5


@pytest.mark.parametrize(
    "wrong",
    [{"origin": "https://evil.example"}, {"rp_id": "evil.example"}, {"origin": ISSUER + ":8443"}],
)
def test_another_origin_or_rp_id_is_refused(
    browser: Browser, device: SoftAuthenticator, wrong: dict[str, str]
) -> None:
    """SECURITY.md 68: a response made for another site (a phishing page) signs nothing."""
    page, _verifier = login_page(browser)
    refused = post_passkey(
        browser, page, lambda o: device.get(o, origin=wrong.get("origin"), rp_id=wrong.get("rp_id"))
    )
    assert refused.status == 400 and "not accepted" in refused.text


def test_an_unknown_credential_a_disabled_user_or_garbage_signs_nobody_in(
    deps: Deps, browser: Browser, device: SoftAuthenticator
) -> None:
    page, _verifier = login_page(browser)
    stranger = SoftAuthenticator(ISSUER)
    stranger.user_handle = device.user_handle  # names alice, but not her credential
    assert post_passkey(browser, page, stranger.get).status == 400
    page, _verifier = login_page(browser)
    assert post_passkey(browser, page, lambda _o: "{not json").status == 400
    user = deps.store.users.get("alice")
    assert user is not None
    deps.store.users.save(dataclasses.replace(user, disabled=True))
    page, _verifier = login_page(browser)
    assert post_passkey(browser, page, device.get).status == 400
    assert "tollgate-session" not in " ".join(browser.cookies)


def test_a_passkey_post_needs_the_pages_csrf_token_and_a_get_is_refused(
    browser: Browser, device: SoftAuthenticator
) -> None:
    """SECURITY.md 66 and 6: the response is tied to this pending authorization's form."""
    page, _verifier = login_page(browser)
    action, fields, options = passkey_form(page.text)
    forged = browser.post_form(
        action, {**fields, "csrf": "forged", "credential": device.get(options)}
    )
    assert forged.status == 403
    assert browser.get(action).status == 405
    assert "tollgate-session" not in " ".join(browser.cookies)


def spoiled(answer: Any, where: tuple[str, ...], value: str) -> Any:
    """`answer`, its JSON's member at `where` replaced by `value`."""

    def spoil(options: dict[str, Any]) -> str:
        credential = json.loads(answer(options))
        parent = credential
        for name in where[:-1]:
            parent = parent[name]
        parent[where[-1]] = value
        return json.dumps(credential)

    return spoil


BAD_BASE64URL = ["a", "abcde", "é", "a+b/", "ab==c", "abc==="]


@pytest.mark.parametrize("value", BAD_BASE64URL)
@pytest.mark.parametrize(
    "where", [("response", "userHandle"), ("response", "clientDataJSON")], ids=["handle", "data"]
)
def test_a_field_that_is_no_base64url_is_refused_at_sign_in(
    browser: Browser, device: SoftAuthenticator, where: tuple[str, ...], value: str
) -> None:
    """A malformed field of a posted passkey response is a refused response (400, audited),
    never a server error, before anyone is known."""
    page, _verifier = login_page(browser)
    with captured() as lines:
        refused = post_passkey(browser, page, spoiled(device.get, where, value))
    assert refused.status == 400 and "passkey" in refused.text
    assert "passkey.refused" in lines.events()
    assert "tollgate-session" not in " ".join(browser.cookies)


@pytest.mark.parametrize("value", BAD_BASE64URL)
def test_a_field_that_is_no_base64url_is_refused_on_the_security_page(
    deps: Deps, browser: Browser, value: str
) -> None:
    sign_in(browser)
    device = SoftAuthenticator(ISSUER)
    answer = spoiled(device.create, ("response", "clientDataJSON"), value)
    refused = post_passkey(browser, confirm_password(browser), answer)
    assert refused.status == 400 and "Passkey added." not in refused.text
    assert passkeys_of(deps) == []


# base64url, but not the structure the field decodes to (CBOR, authenticator data).
NOT_THE_STRUCTURE = ["AAAA", "oA", "gQ", b64url(b"\xa1\x63fmt\x64none")]


@pytest.mark.parametrize("value", NOT_THE_STRUCTURE)
def test_a_field_of_the_wrong_structure_is_refused_on_the_security_page(
    deps: Deps, browser: Browser, value: str
) -> None:
    """A registration whose attestationObject decodes to no attestation: 400, audited."""
    sign_in(browser)
    answer = spoiled(SoftAuthenticator(ISSUER).create, ("response", "attestationObject"), value)
    page = confirm_password(browser)
    with captured() as lines:
        refused = post_passkey(browser, page, answer)
    assert refused.status == 400 and "could not be added" in refused.text
    assert passkeys_of(deps) == []
    assert lines.events() == ["account.factor_added"]
    assert [r["outcome"] for r in lines.audit()] == ["failure"]


@pytest.mark.parametrize("value", NOT_THE_STRUCTURE)
def test_a_field_of_the_wrong_structure_is_refused_at_sign_in(
    browser: Browser, device: SoftAuthenticator, value: str
) -> None:
    page, _verifier = login_page(browser)
    answer = spoiled(device.get, ("response", "authenticatorData"), value)
    with captured() as lines:
        refused = post_passkey(browser, page, answer)
    assert refused.status == 400 and "passkey" in refused.text
    assert "passkey.refused" in lines.events()


@pytest.mark.parametrize(
    "issuer",
    ["https://Auth.Example.test", "https://auth.example.test:443", "https://AUTH.example.test/dev"],
)
def test_the_origin_is_what_a_browser_sends_whatever_the_issuer_s_spelling(
    deps: Deps, issuer: str
) -> None:
    """SECURITY.md 68: a browser serialises its origin with a lower-case host and no default
    port; the library compares it byte for byte."""
    settings = dataclasses.replace(deps.settings, issuer=issuer)
    assert passkeys.origin(settings) == "https://auth.example.test"
    assert passkeys.rp_id(settings) == "auth.example.test"


@pytest.mark.parametrize("synced_first", [False, True], ids=["became-synced", "became-bound"])
def test_a_credential_whose_backup_eligibility_changed_is_refused(
    browser: Browser, synced_first: bool
) -> None:
    """WebAuthn L3 7.2 step 20: BE never changes for a credential; a response that says it
    did signs nobody in (and the amr its registration earned stays true)."""
    device = SoftAuthenticator(ISSUER, synced=synced_first)
    assert "Passkey added." in register(browser, device).text
    browser.cookies.clear()
    device.synced = not synced_first
    page, _verifier = login_page(browser)
    with captured() as lines:
        refused = post_passkey(browser, page, device.get)
    assert refused.status == 400 and "not accepted" in refused.text
    assert "passkey.refused" in lines.events()
    device.synced = synced_first
    page, verifier = login_page(browser)
    finish(browser, post_passkey(browser, page, device.get), verifier)
