"""The security page (issue 15 item 3): a signed-in person's own factors.

SECURITY.md 70: every change needs the account's full strength within 10 minutes (a sign-in
with its second factor, or the password and a code confirmed on the page; 72: a user with no
factor: the password typed on the page) and the page's CSRF token, ends other sessions when
a factor goes, and is an audit record; 58: new recovery codes replace the old.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from chalicelib.accounts import totp
from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.stores.table import StoreUnavailable
from tests.functional.flows import (
    Authorized,
    factor_queries,
    hidden_fields,
    redeem,
    sign_in,
    submit_consent,
    to_client,
    token,
)
from tests.functional.passkey_flows import (
    SECURITY,
    confirm_password,
    login_page,
    passkeys_of,
    post_passkey,
    register,
)
from tests.functional.test_mfa import code, finish, path_of_or_none, send_code, to_second_step
from tests.support.logs import captured
from tests.support.mfa import wrong_code
from tests.support.oauth import ISSUER, PASSWORD, SECRET, Answer, Browser, basic
from tests.support.webauthn import SoftAuthenticator, b64url


def change(browser: Browser, page: Answer, **fields: str) -> Answer:
    return browser.post_form(SECURITY, {"csrf": hidden_fields(page.text)["csrf"], **fields})


def test_signed_out_the_page_says_so_and_changes_nothing(deps: Deps, browser: Browser) -> None:
    page = browser.get(SECURITY)
    assert page.status == 401 and "You are not signed in" in page.text
    posted = browser.post_form(SECURITY, {"csrf": "x", "action": "recovery"})
    assert posted.status == 401
    assert deps.store.factors.list_for("alice") == []


def test_a_change_without_the_page_csrf_token_is_refused_and_audited(
    deps: Deps, browser: Browser
) -> None:
    confirmed(browser, register(browser))
    [factor] = passkeys_of(deps)
    with captured() as lines:
        refused = browser.post_form(
            SECURITY, {"csrf": "forged", "action": "remove", "factor": factor.factor_id}
        )
        unknown = change(browser, browser.get(SECURITY), action="everything")
    assert refused.status == 403 and unknown.status == 400
    assert passkeys_of(deps) == [factor]
    assert lines.events() == ["account.factor_removed", "account.change"]
    assert [r["outcome"] for r in lines.audit()] == ["failure", "failure"]


def test_a_credential_already_registered_is_not_registered_again(
    deps: Deps, browser: Browser
) -> None:
    """SECURITY.md 70 (WebAuthn L3 7.1 step 27): excludeCredentials is only a hint."""
    device = SoftAuthenticator(ISSUER)
    page = confirmed(browser, register(browser, device))
    twin = SoftAuthenticator(ISSUER, credential_id=device.credential_id)
    with captured() as lines:
        refused = post_passkey(browser, page, twin.create)
    assert refused.status == 400 and "already registered" in refused.text
    assert [f.credential_id for f in passkeys_of(deps)] == [b64url(device.credential_id)]
    assert lines.events() == ["account.factor_added"]


CODES = re.compile(r"<li><code>([A-Z2-7-]{19})</code></li>")


def confirmed(browser: Browser, added: Answer) -> Answer:
    """After adding a first factor in a password session: the page confirmed with the
    password and one of the recovery codes the addition showed."""
    page = browser.get(SECURITY)
    code = CODES.findall(added.text)[0]
    done = change(browser, page, action="confirm", password=PASSWORD, code=code)
    assert done.status == 200 and 'name="password"' not in done.text, done.text
    return done


def test_removing_a_factor_needs_the_accounts_full_strength_again(
    deps: Deps, clock: FakeClock, browser: Browser
) -> None:
    """SECURITY.md 70: a user with a factor confirms with the password AND a code: a stolen
    session cookie with a phished password must not remove the second factor."""
    added = register(browser)  # a password session: alice now has a passkey
    [factor] = passkeys_of(deps)
    codes = CODES.findall(added.text)
    page = browser.get(SECURITY)
    assert 'name="password"' in page.text and 'name="code"' in page.text
    with captured() as lines:
        stale = change(browser, page, action="remove", factor=factor.factor_id)
        wrong = change(browser, page, action="confirm", password="not it", code=codes[0])
        password_alone = change(browser, page, action="confirm", password=PASSWORD)
        wrong_code = change(browser, page, action="confirm", password=PASSWORD, code="A" * 19)
    assert stale.status == 403 and passkeys_of(deps) == [factor]
    assert wrong.status == 400 and "password is not right" in wrong.text
    assert password_alone.status == 400 and "code is not right" in password_alone.text
    assert wrong_code.status == 400 and passkeys_of(deps) == [factor]
    assert [r["outcome"] for r in lines.audit()] == ["failure"] * 4
    assert lines.events() == ["account.factor_removed", *["account.confirmed"] * 3]
    assert change(browser, page, action="remove", factor=factor.factor_id).status == 403
    done = change(browser, page, action="confirm", password=PASSWORD, code=codes[0])
    assert done.status == 200 and 'name="password"' not in done.text
    clock.advance(601)  # a confirmation lasts 10 minutes
    assert 'name="password"' in browser.get(SECURITY).text
    done = change(browser, page, action="confirm", password=PASSWORD, code=codes[1])
    with captured() as lines:
        removed = change(browser, done, action="remove", factor=factor.factor_id)
    assert removed.status == 200 and "Removed." in removed.text
    assert passkeys_of(deps) == []
    assert lines.events() == ["account.factor_removed"]
    assert deps.store.factors.recovery_left("alice") == 0  # the last factor takes its codes


def test_a_recent_sign_in_with_the_factor_needs_no_confirmation(
    deps: Deps, clock: FakeClock, browser: Browser, device: SoftAuthenticator
) -> None:
    """SECURITY.md 70: a passkey sign-in is the account's full strength for 10 minutes."""
    page, verifier = login_page(browser)
    finish(browser, post_passkey(browser, page, device.get), verifier)
    security = browser.get(SECURITY)
    assert 'name="password"' not in security.text
    clock.advance(601)
    assert 'name="password"' in browser.get(SECURITY).text


def test_removing_a_factor_signs_the_user_out_elsewhere(
    deps: Deps, browser: Browser, device: SoftAuthenticator, new_browser: Callable[[], Browser]
) -> None:
    """SECURITY.md 70: the removed factor may have been an intruder's; their session ends."""
    elsewhere = new_browser()
    page, verifier = login_page(elsewhere)
    finish(elsewhere, post_passkey(elsewhere, page, device.get), verifier)
    assert 'name="password"' not in elsewhere.get(SECURITY).text
    page, verifier = login_page(browser)
    finish(browser, post_passkey(browser, page, device.get), verifier)
    security = browser.get(SECURITY)
    [factor] = passkeys_of(deps)
    with captured() as lines:
        removed = change(browser, security, action="remove", factor=factor.factor_id)
    # The fixture's registration session and the other browser's.
    assert "Signed out elsewhere: 2." in removed.text
    assert "account.sessions_ended" in lines.events()
    assert elsewhere.get(SECURITY).status == 401
    assert browser.get(SECURITY).status == 200


def test_removing_a_factor_revokes_the_grants_made_elsewhere(
    deps: Deps, browser: Browser, device: SoftAuthenticator, new_browser: Callable[[], Browser]
) -> None:
    """SECURITY.md 70: an intruder's application keeps no refresh token once the factor it
    signed in with is removed (ending the session alone would leave it)."""
    web = deps.store.clients.get("web")
    assert web is not None
    web.grant_types = ["authorization_code", "refresh_token"]
    web.scopes = [*web.scopes, "offline_access"]
    deps.store.clients.save(web)
    deps.clients.reload("web")  # the device fixture's sign-in cached it
    elsewhere = new_browser()
    page, verifier = login_page(elsewhere, scope="openid offline_access")
    answer = post_passkey(elsewhere, page, device.get)
    if path_of_or_none(answer) is not None:
        answer = submit_consent(elsewhere, elsewhere.follow(answer))
    done = Authorized(elsewhere, "web", to_client(answer)["code"], "st-123", verifier)
    refresh = redeem(done).json()["refresh_token"]
    page, verifier = login_page(browser)
    finish(browser, post_passkey(browser, page, device.get), verifier)
    [factor] = passkeys_of(deps)
    with captured() as lines:
        removed = change(browser, browser.get(SECURITY), action="remove", factor=factor.factor_id)
    assert removed.status == 200
    assert "account.grants_revoked" in lines.events()
    form = {"grant_type": "refresh_token", "refresh_token": refresh}
    refused = token(elsewhere, form, basic("web", SECRET))
    assert refused.status == 400 and refused.json()["error"] == "invalid_grant"


def test_a_removal_cut_short_by_the_store_can_be_done_again(
    deps: Deps, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The grants are revoked before the factor goes: a store failure between the steps
    leaves the factor, and the retry removes it (never a factor gone with grants alive)."""
    page = confirmed(browser, register(browser))
    [factor] = passkeys_of(deps)
    revoke_all = deps.store.grants.revoke_all

    def unavailable(*args: object) -> list[str]:
        raise StoreUnavailable("throttled")

    monkeypatch.setattr(deps.store.grants, "revoke_all", unavailable)
    failed = change(browser, page, action="remove", factor=factor.factor_id)
    assert failed.status == 503 and passkeys_of(deps) == [factor]
    monkeypatch.setattr(deps.store.grants, "revoke_all", revoke_all)
    removed = change(browser, browser.get(SECURITY), action="remove", factor=factor.factor_id)
    assert removed.status == 200 and passkeys_of(deps) == []


def test_only_ones_own_factors_can_be_removed(deps: Deps, browser: Browser) -> None:
    page = confirmed(browser, register(browser))
    assert change(browser, page, action="remove", factor="someone-elses").status == 400
    assert len(passkeys_of(deps)) == 1


def test_new_recovery_codes_replace_the_old_ones(deps: Deps, browser: Browser) -> None:
    added = register(browser)
    old = CODES.findall(added.text)
    page = confirmed(browser, added)  # spends old[0]
    with captured() as lines:
        renewed = change(browser, page, action="recovery")
    new = CODES.findall(renewed.text)
    assert len(new) == totp.RECOVERY_CODES and not set(new) & set(old)
    assert lines.events() == ["account.recovery_renewed"]
    spent = totp.recovery_hash("alice", totp.normal_recovery(old[1]) or "")
    assert not deps.store.factors.use_recovery("alice", spent, 1, "t")
    fresh = totp.recovery_hash("alice", totp.normal_recovery(new[0]) or "")
    assert deps.store.factors.use_recovery("alice", fresh, 1, "t")


def test_a_password_confirmation_elsewhere_is_void_once_a_factor_exists(
    deps: Deps, browser: Browser, new_browser: Callable[[], Browser]
) -> None:
    """SECURITY.md 72: an intruder who knows the password confirmed it in his own session
    while alice had no factor; once alice adds one, his confirmation changes nothing."""
    intruder = new_browser()
    sign_in(intruder)
    confirm_password(intruder)
    added = register(browser)  # alice: her password confirmed, a passkey added
    assert added.status == 200 and "Passkey added." in added.text
    [factor] = passkeys_of(deps)
    page = intruder.get(SECURITY)
    assert 'name="password"' in page.text and 'name="code"' in page.text
    removed = change(intruder, page, action="remove", factor=factor.factor_id)
    app = change(intruder, page, action="totp")
    assert removed.status == 403 and app.status == 403
    assert passkeys_of(deps) == [factor]


def test_a_user_with_no_factor_gets_no_recovery_codes(browser: Browser) -> None:
    sign_in(browser)
    assert "No passkey or authenticator app yet" in browser.get(SECURITY).text
    assert change(browser, confirm_password(browser), action="recovery").status == 400


def test_a_first_factor_needs_the_password_typed_on_the_page(
    deps: Deps, clock: FakeClock, browser: Browser
) -> None:
    """SECURITY.md 72: a session cookie alone, even minutes after a password sign-in, adds no
    factor (a thief's passkey or app would lock the owner out); the password typed on the
    page does, once, until the first factor makes the account stronger (SECURITY.md 70)."""
    sign_in(browser)
    page = browser.get(SECURITY)
    assert 'name="password"' in page.text and 'name="code"' not in page.text
    device = SoftAuthenticator(ISSUER)
    with captured() as lines:
        passkey = post_passkey(browser, page, device.create)
        app = change(browser, page, action="totp")
        wrong = change(browser, page, action="confirm", password="not it")
    assert passkey.status == 403 and app.status == 403 and "Confirm it is you" in app.text
    assert wrong.status == 400 and "password is not right" in wrong.text
    assert deps.store.factors.list_for("alice") == []
    assert lines.events() == ["account.factor_added"] * 2 + ["account.confirmed"]
    assert [r["outcome"] for r in lines.audit()] == ["failure"] * 3
    clock.advance(601)  # long after the sign-in: the password on the page is what counts
    added = post_passkey(browser, confirm_password(browser), device.create)
    assert added.status == 200 and "Passkey added." in added.text
    # The password alone confirmed an account that now has a factor: the next change asks
    # for the factor too.
    page = browser.get(SECURITY)
    assert 'name="password"' in page.text and 'name="code"' in page.text
    assert change(browser, page, action="totp").status == 403


def test_an_authenticator_app_is_set_up_on_the_page(
    deps: Deps, clock: FakeClock, browser: Browser
) -> None:
    sign_in(browser)
    started = change(browser, confirm_password(browser), action="totp")
    key = re.search(r'<p class="manual-key"><code>([A-Z2-7 ]+)</code>', started.text)
    assert key is not None and "<svg" in started.text
    secret = key.group(1).replace(" ", "")
    assert secret not in str(deps.store.table.scan_prefix("SESSION#"))  # sealed while pending
    wrong = wrong_code(secret, clock.now())
    with captured() as lines:
        refused = change(browser, started, action="totp-confirm", code=wrong)
        added = change(browser, started, action="totp-confirm", code=code(secret, clock))
    assert refused.status == 400 and "That code is not right." in refused.text
    assert added.status == 200 and "Authenticator app added." in added.text
    assert lines.events() == ["account.factor_added", "account.factor_added", "mfa.enrolled"]
    assert [f.kind for f in deps.store.factors.list_for("alice")] == ["totp"]
    assert len(re.findall(r"<li><code>[A-Z2-7-]{19}</code></li>", added.text)) == 10
    # The app now signs in: password, then a code of a later step.
    browser.cookies.clear()
    second, verifier = to_second_step(browser)
    claims = finish(browser, send_code(browser, second, code(secret, clock, +1)), verifier)
    assert claims["amr"] == ["pwd", "otp", "mfa"]


def test_each_request_of_the_page_reads_the_factors_once(
    deps: Deps, clock: FakeClock, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One Query of the user's factors per GET or POST, the page shown after a change
    included (it shows the list the request read, changed as the request changed it)."""
    sign_in(browser)
    asked = factor_queries(deps, monkeypatch)
    confirmed_page = confirm_password(browser)  # a GET, then the confirmation
    assert len(asked) == 2
    started = change(browser, confirmed_page, action="totp")
    assert started.status == 200 and len(asked) == 3
    secret = re.search(r'<p class="manual-key"><code>([A-Z2-7 ]+)</code>', started.text)
    assert secret is not None
    code_now = code(secret.group(1).replace(" ", ""), clock)
    added = change(browser, started, action="totp-confirm", code=code_now)
    assert "Authenticator app added." in added.text and len(asked) == 4
    assert "Authenticator app" in added.text.split("manual-key")[0]
    page = confirmed(browser, added)  # a GET, then the password and a recovery code
    assert len(asked) == 6
    renewed = change(browser, page, action="recovery")
    assert "New recovery codes made." in renewed.text and len(asked) == 7
    device = SoftAuthenticator(ISSUER)
    with_passkey = post_passkey(browser, renewed, device.create)
    assert "Passkey added." in with_passkey.text and len(asked) == 8
    [app] = [f for f in deps.store.factors.list_for("alice") if f.kind == "totp"]
    del asked[:]
    removed = change(browser, with_passkey, action="remove", factor=app.factor_id)
    assert "Removed." in removed.text and "Authenticator app" not in removed.text
    # The store's removal reads what is left (its last factor takes the recovery codes).
    assert len(asked) == 2
