"""The security page (issue 15 item 3): a signed-in person's own factors.

SECURITY.md 70: every change needs a recent sign-in (or the password confirmed on the page)
and the page's CSRF token, and is an audit record; 58: new recovery codes replace the old.
"""

from __future__ import annotations

import re

from chalicelib.accounts import totp
from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from tests.functional.flows import hidden_fields, sign_in
from tests.functional.test_mfa import code, finish, send_code, to_second_step
from tests.functional.test_passkeys import SECURITY, passkeys_of, register
from tests.support.logs import captured
from tests.support.mfa import wrong_code
from tests.support.oauth import PASSWORD, Answer, Browser


def change(browser: Browser, page: Answer, **fields: str) -> Answer:
    return browser.post_form(SECURITY, {"csrf": hidden_fields(page.text)["csrf"], **fields})


def test_signed_out_the_page_says_so_and_changes_nothing(deps: Deps, browser: Browser) -> None:
    page = browser.get(SECURITY)
    assert page.status == 401 and "You are not signed in" in page.text
    posted = browser.post_form(SECURITY, {"csrf": "x", "action": "recovery"})
    assert posted.status == 401
    assert deps.store.factors.list_for("alice") == []


def test_a_change_without_the_page_csrf_token_is_refused(deps: Deps, browser: Browser) -> None:
    register(browser)
    [factor] = passkeys_of(deps)
    refused = browser.post_form(
        SECURITY, {"csrf": "forged", "action": "remove", "factor": factor.factor_id}
    )
    assert refused.status == 403
    assert passkeys_of(deps) == [factor]


def test_removing_a_factor_needs_a_recent_sign_in_or_the_password_again(
    deps: Deps, clock: FakeClock, browser: Browser
) -> None:
    register(browser)
    [factor] = passkeys_of(deps)
    clock.advance(601)
    page = browser.get(SECURITY)
    assert 'name="password"' in page.text  # the page asks to confirm first
    with captured() as lines:
        stale = change(browser, page, action="remove", factor=factor.factor_id)
        wrong = change(browser, page, action="confirm", password="not it")
    assert stale.status == 403 and passkeys_of(deps) == [factor]
    assert wrong.status == 400
    assert [r["outcome"] for r in lines.audit()] == ["failure", "failure"]
    assert lines.events() == ["account.factor_removed", "account.confirmed"]
    confirmed = change(browser, page, action="confirm", password=PASSWORD)
    assert confirmed.status == 200 and 'name="password"' not in confirmed.text
    with captured() as lines:
        removed = change(browser, confirmed, action="remove", factor=factor.factor_id)
    assert removed.status == 200 and "Removed." in removed.text
    assert passkeys_of(deps) == []
    assert lines.events() == ["account.factor_removed"]
    assert deps.store.factors.recovery_left("alice") == 0  # the last factor takes its codes


def test_only_ones_own_factors_can_be_removed(deps: Deps, browser: Browser) -> None:
    register(browser)
    page = browser.get(SECURITY)
    assert change(browser, page, action="remove", factor="someone-elses").status == 400
    assert len(passkeys_of(deps)) == 1


def test_new_recovery_codes_replace_the_old_ones(deps: Deps, browser: Browser) -> None:
    added = register(browser)
    old = re.findall(r"<li><code>([A-Z2-7-]{19})</code></li>", added.text)
    with captured() as lines:
        renewed = change(browser, added, action="recovery")
    new = re.findall(r"<li><code>([A-Z2-7-]{19})</code></li>", renewed.text)
    assert len(new) == totp.RECOVERY_CODES and not set(new) & set(old)
    assert lines.events() == ["account.recovery_renewed"]
    spent = totp.recovery_hash("alice", totp.normal_recovery(old[0]) or "")
    assert not deps.store.factors.use_recovery("alice", spent, 1, "t")
    fresh = totp.recovery_hash("alice", totp.normal_recovery(new[0]) or "")
    assert deps.store.factors.use_recovery("alice", fresh, 1, "t")


def test_a_user_with_no_factor_gets_no_recovery_codes(browser: Browser) -> None:
    sign_in(browser)
    page = browser.get(SECURITY)
    assert "No passkey or authenticator app yet" in page.text
    assert change(browser, page, action="recovery").status == 400


def test_an_authenticator_app_is_set_up_on_the_page(
    deps: Deps, clock: FakeClock, browser: Browser
) -> None:
    sign_in(browser)
    page = browser.get(SECURITY)
    started = change(browser, page, action="totp")
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
