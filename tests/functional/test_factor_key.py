"""SECURITY.md 69: the key that seals TOTP secrets (FACTORKEY) deleted from the table.

It used to be made again on the next read, so every sealed secret failed to open (a 500 on
each TOTP sign-in). Now no key is made over sealed secrets: a TOTP code cannot be checked
(the page says so, a recovery code still works), enrolling an app is a clear 503 page, and
each is an audit record.
"""

from __future__ import annotations

import dataclasses

from chalicelib.accounts import totp
from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from tests.functional.flows import submit_login
from tests.functional.test_mfa import code, enrol, finish, send_code, start, to_second_step
from tests.support.logs import captured
from tests.support.oauth import Answer, Browser


def _delete_key(deps: Deps) -> None:
    deps.store.table.delete("FACTORKEY", "FACTORKEY")
    deps.store.factors._seal_key = None  # a new container: nothing cached


def test_a_deleted_key_refuses_codes_clearly_and_a_recovery_code_still_works(
    deps: Deps, clock: FakeClock, browser: Browser
) -> None:
    secret = enrol(deps)
    recovery = totp.new_recovery_codes()[0]
    deps.store.factors.replace_recovery("alice", [totp.recovery_hash("alice", recovery)])
    _delete_key(deps)
    page, verifier = to_second_step(browser)
    with captured() as lines:
        refused = send_code(browser, page, code(secret, clock))
    # A right code is never answered as a wrong one: the page says why and what still works.
    assert refused.status == 400 and "cannot be checked right now" in refused.text
    assert "That code is not right." not in refused.text
    assert "factor_key.missing" in lines.events()
    assert deps.store.table.get("FACTORKEY", "FACTORKEY") is None  # not made over secrets
    claims = finish(browser, send_code(browser, page, recovery), verifier)
    assert claims["amr"] == ["pwd", "otp", "mfa"]


def test_enrolling_without_the_key_is_a_clear_503(deps: Deps, browser: Browser) -> None:
    enrol(deps)  # the key was made (and used) once
    deps.store.factors.remove_all("alice")
    _delete_key(deps)
    user = deps.store.users.get("alice")
    assert user is not None
    deps.store.users.save(dataclasses.replace(user, mfa_required=True))
    with captured() as lines:
        started, _verifier = to_second_step_page(browser)
    assert started.status == 503, started.text
    assert "Authenticator apps are unavailable" in started.text
    assert "factor_key.missing" in lines.events()
    assert deps.store.table.get("FACTORKEY", "FACTORKEY") is None


def test_the_first_key_is_made_once_with_its_marker(deps: Deps) -> None:
    key = deps.store.factors.seal_key()
    assert deps.store.table.get("FACTORKEY", "MADE") is not None
    deps.store.factors._seal_key = None
    assert deps.store.factors.seal_key() == key


def to_second_step_page(browser: Browser) -> tuple[Answer, str]:
    """Password, then the second step's page, whatever its status."""

    started, verifier = start(browser)
    answer = submit_login(browser, browser.follow(started))
    return browser.follow(answer), verifier
