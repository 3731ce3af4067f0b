"""TOTP second factor and step-up through the real routes (issue 15 items 2-4).

SECURITY.md 57 (window, replay), 51 (recovery codes), 53 (wrong codes rate-limited like
passwords) and 54 (no skipping the second step; step-up inside single sign-on; amr/acr).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from html import unescape

import jwt
import pytest

from chalicelib.accounts import totp
from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.stores.models import Factor
from tests.functional.flows import (
    SESSION_COOKIE,
    Authorized,
    authorize_path,
    factor_queries,
    hidden_fields,
    path_of,
    redeem,
    submit_consent,
    submit_login,
    to_client,
)
from tests.support.logs import captured
from tests.support.mfa import wrong_code
from tests.support.oauth import ISSUER, Answer, Browser, action_of, csrf_of, pkce_pair, tollgate

MFA_ACR = "urn:tollgate:mfa"


def enrol(deps: Deps, username: str = "alice") -> str:
    """Give the user a TOTP factor directly in the store; its secret."""
    secret = totp.new_secret()
    key = deps.store.factors.seal_key()
    factor = Factor("f-1", username, "totp", 1, secret=totp.seal(key, username, "f-1", secret))
    deps.store.factors.add(factor, [])
    return secret


def code(secret: str, clock: FakeClock, steps: int = 0) -> str:
    return totp.code_at(secret, clock.now() // totp.STEP + steps)


def start(browser: Browser, **extra: str) -> tuple[Answer, str]:
    """/authorize for "web"; its answer and the PKCE verifier."""
    verifier, challenge = pkce_pair()
    return browser.get(authorize_path(challenge=challenge, **extra)), verifier


def to_second_step(browser: Browser, **extra: str) -> tuple[Answer, str]:
    """Sign in with the password; the second step's page and the PKCE verifier."""
    started, verifier = start(browser, **extra)
    answer = submit_login(browser, browser.follow(started))
    assert answer.status == 303, answer.text
    assert path_of(answer.location).endswith("/mfa"), answer.location
    return browser.follow(answer), verifier


def send_code(browser: Browser, page: Answer, value: str) -> Answer:
    form = {**hidden_fields(page.text), "code": value}
    assert form["csrf"] == csrf_of(page.text)
    return browser.post_form(action_of(page.text), form)


def finish(browser: Browser, answer: Answer, verifier: str) -> dict[str, object]:
    """From the answer after the second step: consent if asked, redeem; the ID token."""
    if path_of_or_none(answer) is not None:
        answer = submit_consent(browser, browser.follow(answer))
    params = to_client(answer)
    tokens = redeem(Authorized(browser, "web", params["code"], "st-123", verifier)).json()
    access = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    claims: dict[str, object] = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    claims["access"] = access
    return claims


def keep_codes(browser: Browser, page: Answer) -> Answer:
    """'I saved them: continue' on the recovery codes page."""
    form = {**hidden_fields(page.text), "step": "continue"}
    return browser.post_form(action_of(page.text), form)


def path_of_or_none(answer: Answer) -> str | None:
    location = answer.location or ""
    return path_of(location) if location.startswith(ISSUER) else None


def sessions(deps: Deps) -> int:
    return len(deps.store.sessions.list_for("sub-alice"))


def test_a_client_that_requires_mfa_enrols_totp_then_tokens_say_otp(
    deps: Deps, clock: FakeClock, browser: Browser
) -> None:
    client = deps.store.clients.get("web")
    assert client is not None
    deps.store.clients.save(dataclasses.replace(client, require_mfa=True))
    page, verifier = to_second_step(browser)
    # SECURITY.md item 61: the right password alone made no session.
    assert sessions(deps) == 0
    assert SESSION_COOKIE not in browser.cookies
    assert "<svg" in page.text and "Set up a second step" in page.text
    key = re.search(r'<p class="manual-key"><code>([A-Z2-7 ]+)</code>', page.text)
    assert key is not None
    secret = key.group(1).replace(" ", "")
    assert secret not in str(deps.store.table.query("USER#alice"))  # sealed, also pending

    wrong = send_code(browser, page, wrong_code(secret, clock.now()))
    assert wrong.status == 400 and "That code is not right." in wrong.text
    saved = send_code(browser, page, code(secret, clock))
    assert saved.status == 200, saved.text
    shown = re.findall(r"<li><code>([A-Z2-7-]{19})</code></li>", saved.text)
    assert len(shown) == totp.RECOVERY_CODES
    assert deps.store.factors.recovery_left("alice") == totp.RECOVERY_CODES
    assert sessions(deps) == 1
    go_on = keep_codes(browser, saved)
    claims = finish(browser, go_on, verifier)
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == MFA_ACR
    access = claims["access"]
    assert isinstance(access, dict)
    assert access["acr"] == MFA_ACR
    assert access["auth_time"] == claims["auth_time"] == clock.now()


def test_a_user_with_a_factor_is_always_asked_and_a_code_works_once(
    deps: Deps, clock: FakeClock, browser: Browser, new_browser: Callable[[], Browser]
) -> None:
    """SECURITY.md item 57: the current step or one either side; each step only once, and
    no step before the last one accepted."""
    secret = enrol(deps)
    page, verifier = to_second_step(browser)
    assert "Confirm it is you" in page.text
    used = code(secret, clock, +1)  # one step ahead: clock drift is allowed
    claims = finish(browser, send_code(browser, page, used), verifier)
    assert claims["amr"] == ["pwd", "otp", "mfa"]

    other = new_browser()
    page, _ = to_second_step(other)
    replayed = send_code(other, page, used)
    assert replayed.status == 400
    assert send_code(other, page, code(secret, clock)).status == 400  # older than the last
    assert send_code(other, page, code(secret, clock, +3)).status == 400  # outside the window
    clock.advance(2 * totp.STEP)
    assert send_code(other, page, code(secret, clock)).status == 303
    factor = deps.store.factors.get("alice", "f-1")
    assert factor is not None and factor.last_step == clock.now() // totp.STEP


def test_two_requests_with_one_code_spend_it_once(deps: Deps, clock: FakeClock) -> None:
    """SECURITY.md item 57: the step is recorded by a conditional write on what was read."""
    enrol(deps)
    read_first = deps.store.factors.get("alice", "f-1")
    read_second = deps.store.factors.get("alice", "f-1")
    assert read_first is not None and read_second is not None
    step = clock.now() // totp.STEP
    assert deps.store.factors.use_step(read_first, step, clock.now())
    assert not deps.store.factors.use_step(read_second, step, clock.now())
    assert not deps.store.factors.use_step(read_second, step + 1, clock.now())  # stale read


def test_a_recovery_code_signs_in_once(deps: Deps, clock: FakeClock, browser: Browser) -> None:
    """SECURITY.md item 58: stored hashed, works once, typed in any case or spacing."""
    enrol(deps)
    codes = totp.new_recovery_codes()
    deps.store.factors.add(
        Factor("f-2", "alice", "totp", 2, secret=None),
        [totp.recovery_hash("alice", c) for c in codes],
    )
    assert codes[0] not in str(deps.store.table.query("USER#alice"))
    page, verifier = to_second_step(browser)
    typed = codes[0].lower().replace("-", " ")
    claims = finish(browser, send_code(browser, page, typed), verifier)
    assert claims["acr"] == MFA_ACR
    assert deps.store.factors.recovery_left("alice") == totp.RECOVERY_CODES - 1

    browser.cookies.clear()
    page, _ = to_second_step(browser)
    assert send_code(browser, page, codes[0]).status == 400


def test_wrong_codes_are_limited_like_passwords() -> None:
    """SECURITY.md item 60: counted on the login limits; past them even the right code is
    refused unchecked, with Retry-After."""
    with tollgate(login_limit_account_ip=2, login_window=60) as (deps, clock, http):
        secret = enrol(deps)
        browser = Browser(http)
        page, _ = to_second_step(browser)
        right = code(secret, clock)
        wrong = wrong_code(secret, clock.now())
        assert send_code(browser, page, wrong).status == 400
        assert send_code(browser, page, wrong).status == 400
        blocked = send_code(browser, page, right)
        assert blocked.status == 429
        assert int(blocked.headers["retry-after"]) > 0
        assert "Too many attempts" in unescape(blocked.text)
        factor = deps.store.factors.get("alice", "f-1")
        assert factor is not None and factor.last_step == 0  # never checked
        clock.advance(60)  # the next window
        assert send_code(browser, page, code(secret, clock)).status == 303


def test_acr_values_step_up_inside_a_password_session(
    deps: Deps, clock: FakeClock, browser: Browser
) -> None:
    """SECURITY.md item 61: single sign-on does not skip a second factor the request asks
    for; the step-up replaces the weaker session and the tokens say what happened."""
    started, verifier = start(browser)
    done = finish(browser, submit_login(browser, browser.follow(started)), verifier)
    assert done["amr"] == ["pwd"] and done["acr"] == "0"
    first_session = deps.store.sessions.list_for("sub-alice")

    asked = browser.get(authorize_path(prompt="none", acr_values=MFA_ACR))
    assert to_client(asked)["error"] == "interaction_required"
    clock.advance(60)
    step_up, verifier = start(browser, acr_values=f"unknown-level {MFA_ACR}")
    # No factor yet: enrolling one asks for the password first, never the session alone.
    assert path_of(step_up.location).endswith("/login")
    login = browser.follow(step_up)
    assert 'name="username" type="text" value="alice"' in login.text
    assert "manual-key" not in login.text
    page = browser.follow(submit_login(browser, login))
    secret = re.search(r'<p class="manual-key"><code>([A-Z2-7 ]+)</code>', page.text)
    assert secret is not None
    saved = send_code(browser, page, code(secret.group(1).replace(" ", ""), clock))
    claims = finish(browser, keep_codes(browser, saved), verifier)
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == MFA_ACR
    assert claims["auth_time"] == clock.now()
    now_sessions = deps.store.sessions.list_for("sub-alice")
    assert len(now_sessions) == 1 and now_sessions[0].sid_hash != first_session[0].sid_hash

    # The stronger session now meets the same request without asking again.
    again = browser.get(authorize_path(prompt="none", acr_values=MFA_ACR))
    assert "code" in to_client(again)


def test_a_password_session_of_a_user_who_enrolled_since_is_asked(
    deps: Deps, clock: FakeClock, browser: Browser
) -> None:
    started, verifier = start(browser)
    finish(browser, submit_login(browser, browser.follow(started)), verifier)
    enrol(deps)
    again, _ = start(browser)
    assert path_of(again.location).endswith("/mfa")


def test_a_step_up_reads_the_users_factors_once(
    deps: Deps, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SECURITY.md item 61: deciding a step-up, and whether there is a factor to step up
    with, is one Query of the user's factors (it was two)."""
    started, verifier = start(browser)
    finish(browser, submit_login(browser, browser.follow(started)), verifier)
    asked = factor_queries(deps, monkeypatch)
    no_factor, _ = start(browser, acr_values="phr")  # phr: _below reads them
    assert path_of(no_factor.location).endswith("/login") and len(asked) == 1
    enrol(deps)
    del asked[:]
    with_factor, _ = start(browser)  # a password session of a user with a factor now
    assert path_of(with_factor.location).endswith("/mfa") and len(asked) == 1


def test_the_second_step_needs_a_first(deps: Deps, browser: Browser) -> None:
    enrol(deps)
    started, _ = start(browser)
    login = browser.follow(started)
    mfa_url = action_of(login.text).replace("/login", "/mfa")
    refused = browser.get(mfa_url)
    assert refused.status == 403
    posted = browser.post_form(mfa_url, {"csrf": csrf_of(login.text), "code": "123456"})
    assert posted.status == 403
    assert sessions(deps) == 0


def test_discovery_names_the_levels(browser: Browser) -> None:
    doc = browser.get("/.well-known/openid-configuration").json()
    assert doc["acr_values_supported"] == ["0", MFA_ACR, "phr"]


def test_starting_again_keeps_the_acr_values(browser: Browser) -> None:
    """An expired sign-in started again asks for the same level (not a weaker sign-in)."""
    started, _ = start(browser, acr_values=MFA_ACR)
    restart = hidden_fields(browser.follow(started).text)["restart"]
    assert f"acr_values={MFA_ACR.replace(':', '%3A')}" in restart


def test_no_log_line_holds_the_secret_a_code_or_a_recovery_code(
    deps: Deps, clock: FakeClock, browser: Browser
) -> None:
    """SECURITY.md item 56: the enrolment and a recovery sign-in log events, never secrets."""
    user = deps.store.users.get("alice")
    assert user is not None
    deps.store.users.save(dataclasses.replace(user, mfa_required=True))
    with captured() as lines:
        page, verifier = to_second_step(browser)
        key = re.search(r'<p class="manual-key"><code>([A-Z2-7 ]+)</code>', page.text)
        assert key is not None
        secret = key.group(1).replace(" ", "")
        used = code(secret, clock)
        saved = send_code(browser, page, used)
        shown = re.findall(r"<li><code>([A-Z2-7-]{19})</code></li>", saved.text)
        finish(browser, keep_codes(browser, saved), verifier)
        browser.cookies.clear()
        page, verifier = to_second_step(browser)
        finish(browser, send_code(browser, page, shown[0]), verifier)
    assert {"mfa.enrolled", "mfa.succeeded"} <= set(lines.events())
    written = json.dumps(lines.lines)
    for value in (secret, key.group(1), *shown, *(c.replace("-", "") for c in shown)):
        assert value not in written
    # Six digits may occur inside a timestamp by chance: the code is looked for as a value.
    assert f'"{used}"' not in written and f"={used}" not in written
