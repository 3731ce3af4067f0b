"""The authorization endpoint and the login/consent interaction, end to end."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import urlencode

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.ids import digest
from tests.functional.flows import (
    BROWSER_COOKIE,
    FORM,
    SESSION_COOKIE,
    Authorized,
    authorize_params,
    authorize_path,
    finish,
    interaction_id_of,
    kinds,
    sign_in,
    step_of,
    submit_consent,
    submit_login,
    to_client,
)
from tests.support.oauth import ISSUER, PASSWORD, Answer, Browser, pkce_pair


def stored_code(deps: Deps, code: str) -> dict[str, object]:
    item = deps.store.table.get(f"CODE#{digest(code)}", "CODE")
    assert item is not None, "the code was not stored"
    return item


def alert_of(page: str) -> str:
    match = re.search(r'<div class="alert"[^>]*role="alert">([^<]*)</div>', page)
    assert match, "no alert on the page"
    return match.group(1)


def session_count(deps: Deps) -> int:
    return kinds(deps).count("Session")


# -- happy paths ----------------------------------------------------------------------------


def test_get_authorize_without_session_goes_to_login(browser: Browser, deps: Deps) -> None:
    answer = browser.get(authorize_path())

    assert step_of(answer) == "login"
    assert answer.location is not None
    assert answer.location.startswith(f"{ISSUER}/interaction/")
    assert any(c.startswith(f"{BROWSER_COOKIE}=") for c in answer.set_cookies)
    assert not any(c.startswith(f"{SESSION_COOKIE}=") for c in answer.set_cookies)
    stored = deps.store.interactions.get(interaction_id_of(answer))
    assert stored is not None
    assert stored.client_id == "web"
    assert stored.scopes == ["openid", "profile"]
    assert stored.state == "st-123"
    assert stored.sid_hash is None


def test_login_page_is_a_form_for_the_interaction(browser: Browser) -> None:
    started = browser.get(authorize_path())
    page = browser.follow(started)

    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'action="{ISSUER}/interaction/{interaction_id_of(started)}/login"' in page.text
    assert 'name="csrf"' in page.text
    assert "Example Web" in page.text


def test_web_with_pkce_gets_a_code_bound_to_the_challenge(browser: Browser, deps: Deps) -> None:
    _verifier, challenge = pkce_pair()
    started = browser.get(authorize_path(challenge=challenge, state="abc"))
    params = to_client(finish(browser, started))

    assert set(params) == {"code", "state", "iss"}
    assert params["state"] == "abc"
    assert params["iss"] == ISSUER
    record = stored_code(deps, params["code"])
    assert record["code_challenge"] == challenge
    assert record["client_id"] == "web"
    assert record["sub"] == "sub-alice"
    assert record["scopes"] == ["openid", "profile"]
    assert session_count(deps) == 1


def test_web_without_pkce_is_refused_to_the_client(browser: Browser, deps: Deps) -> None:
    """SECURITY.md 36: PKCE is required of confidential clients too (OAuth 2.1 4.1.1)."""
    before = kinds(deps)
    params = to_client(browser.get(authorize_path(challenge=None, nonce="n-1")))

    assert params["error"] == "invalid_request"
    assert "code_challenge" in params["error_description"]
    assert kinds(deps) == before


def test_spa_with_pkce_gets_a_code(browser: Browser, deps: Deps) -> None:
    done = sign_in(browser, client_id="spa", scope="openid email")

    record = stored_code(deps, done.code)
    assert record["client_id"] == "spa"
    assert record["scopes"] == ["openid", "email"]


def test_spa_without_pkce_is_refused_to_the_client(browser: Browser, deps: Deps) -> None:
    before = kinds(deps)
    params = to_client(browser.get(authorize_path(client_id="spa", challenge=None)))

    assert params["error"] == "invalid_request"
    assert params["state"] == "st-123"
    assert params["iss"] == ISSUER
    assert "code" not in params
    assert kinds(deps) == before


def test_post_authorize_with_form_body(browser: Browser, deps: Deps) -> None:
    _verifier, challenge = pkce_pair()
    body = urlencode(authorize_params(challenge=challenge, state="posted")).encode()
    started = browser.request("POST", "/authorize", body=body, headers=FORM)

    assert step_of(started) == "login"
    stored = deps.store.interactions.get(interaction_id_of(started))
    assert stored is not None
    assert stored.code_challenge == challenge
    params = to_client(finish(browser, started))
    assert params["state"] == "posted"
    assert params["iss"] == ISSUER
    assert stored_code(deps, params["code"])["code_challenge"] == challenge


def test_redirect_uri_may_be_left_out_when_one_is_registered(browser: Browser) -> None:
    started = browser.get(authorize_path(redirect_uri=None))
    params = to_client(finish(browser, started))

    assert "code" in params


# -- single sign-on and stored consent ------------------------------------------------------


def test_second_authorization_for_another_client_skips_login(
    signed_in: Authorized, deps: Deps
) -> None:
    browser = signed_in.browser
    started = browser.get(authorize_path(client_id="post", state="second"))

    assert step_of(started) == "consent"
    page = browser.follow(started)
    assert "Post Client" in page.text
    assert "Signed in as <strong>alice</strong>" in page.text
    params = to_client(submit_consent(browser, page))
    assert params["state"] == "second"
    assert stored_code(deps, params["code"])["client_id"] == "post"
    assert session_count(deps) == 1


def test_repeat_authorization_with_granted_scopes_skips_login_and_consent(
    signed_in: Authorized, deps: Deps
) -> None:
    interactions = kinds(deps).count("Interaction")
    answer = signed_in.browser.get(authorize_path(scope="profile", state="again"))

    params = to_client(answer)
    assert set(params) == {"code", "state", "iss"}
    assert params["state"] == "again"
    assert params["iss"] == ISSUER
    assert params["code"] != signed_in.code
    assert stored_code(deps, params["code"])["scopes"] == ["profile"]
    assert kinds(deps).count("Interaction") == interactions


def test_superset_of_granted_scopes_asks_consent_again(signed_in: Authorized, deps: Deps) -> None:
    browser = signed_in.browser
    started = browser.get(authorize_path(scope="openid profile email"))

    assert step_of(started) == "consent"
    page = browser.follow(started)
    assert "See your email address" in page.text
    params = to_client(submit_consent(browser, page))
    assert stored_code(deps, params["code"])["scopes"] == ["openid", "profile", "email"]
    consent = deps.store.consents.get("sub-alice", "web")
    assert consent is not None
    assert sorted(consent.scopes) == ["email", "openid", "profile"]


def test_prompt_consent_forces_consent(signed_in: Authorized) -> None:
    started = signed_in.browser.get(authorize_path(prompt="consent"))

    assert step_of(started) == "consent"


def test_prompt_login_forces_login_and_replaces_the_session(
    signed_in: Authorized, deps: Deps
) -> None:
    browser = signed_in.browser
    old_sid = browser.cookies[SESSION_COOKIE]
    assert deps.store.sessions.get(digest(old_sid)) is not None

    started = browser.get(authorize_path(prompt="login", state="relogin"))
    assert step_of(started) == "login"
    answer = submit_login(browser, browser.follow(started))

    # Consent for these scopes exists: straight back to the client.
    params = to_client(answer)
    assert params["state"] == "relogin"
    assert any(c.startswith(f"{SESSION_COOKIE}=") for c in answer.set_cookies)
    new_sid = browser.cookies[SESSION_COOKIE]
    assert new_sid != old_sid
    assert deps.store.sessions.get(digest(old_sid)) is None
    assert deps.store.sessions.get(digest(new_sid)) is not None
    assert session_count(deps) == 1


def test_max_age_zero_forces_login_once_time_has_passed(
    signed_in: Authorized, deps: Deps, clock: FakeClock
) -> None:
    browser = signed_in.browser
    # In the very second of sign-in, max_age=0 is still met.
    assert "code" in to_client(browser.get(authorize_path(max_age="0")))

    clock.advance(5)
    started = browser.get(authorize_path(max_age="0"))
    assert step_of(started) == "login"
    params = to_client(submit_login(browser, browser.follow(started)))
    assert stored_code(deps, params["code"])["auth_time"] == clock.now()


def test_max_age_larger_than_session_age_keeps_sso(signed_in: Authorized, clock: FakeClock) -> None:
    clock.advance(100)
    assert "code" in to_client(signed_in.browser.get(authorize_path(max_age="3600")))


def test_prompt_none_with_session_and_consent_returns_a_code(signed_in: Authorized) -> None:
    params = to_client(signed_in.browser.get(authorize_path(prompt="none", state="silent")))

    assert set(params) == {"code", "state", "iss"}
    assert params["state"] == "silent"


def test_prompt_none_without_consent_is_consent_required(signed_in: Authorized, deps: Deps) -> None:
    before = kinds(deps)
    params = to_client(signed_in.browser.get(authorize_path(client_id="post", prompt="none")))

    assert params["error"] == "consent_required"
    assert params["state"] == "st-123"
    assert params["iss"] == ISSUER
    assert "code" not in params
    assert kinds(deps) == before


def test_prompt_none_without_session_is_login_required(browser: Browser, deps: Deps) -> None:
    before = kinds(deps)
    params = to_client(browser.get(authorize_path(prompt="none")))

    assert params["error"] == "login_required"
    assert params["state"] == "st-123"
    assert params["iss"] == ISSUER
    assert kinds(deps) == before


def test_deny_at_consent_is_access_denied(browser: Browser, deps: Deps) -> None:
    started = browser.get(authorize_path(state="nope"))
    interaction_id = interaction_id_of(started)
    params = to_client(finish(browser, started, decision="deny"))

    assert params["error"] == "access_denied"
    assert params["state"] == "nope"
    assert params["iss"] == ISSUER
    assert "code" not in params
    assert deps.store.consents.get("sub-alice", "web") is None
    assert "Code" not in kinds(deps)
    stored = deps.store.interactions.get(interaction_id)
    assert stored is not None
    assert stored.completed_by is not None


# -- failed sign-in ------------------------------------------------------------------------


def failed_login(browser: Browser, username: str, password: str) -> Answer:
    started = browser.get(authorize_path())
    return submit_login(browser, browser.follow(started), username, password)


def assert_refused(answer: Answer, deps: Deps, browser: Browser) -> str:
    assert answer.status == 400, (answer.status, answer.text)
    assert answer.location is None
    assert answer.headers["content-type"].startswith("text/html")
    assert not any(c.startswith(f"{SESSION_COOKIE}=") for c in answer.set_cookies)
    assert SESSION_COOKIE not in browser.cookies
    assert session_count(deps) == 0
    assert 'name="password"' in answer.text  # the form again, to retry
    return alert_of(answer.text)


def test_wrong_password_renders_login_again_with_an_alert(browser: Browser, deps: Deps) -> None:
    answer = failed_login(browser, "alice", PASSWORD + "x")

    assert assert_refused(answer, deps, browser) == "Wrong username or password."
    assert 'value="alice"' in answer.text


def test_disabled_user_cannot_sign_in(browser: Browser, deps: Deps) -> None:
    user = deps.store.users.get("alice")
    assert user is not None
    deps.store.users.save(replace(user, disabled=True))

    answer = failed_login(browser, "alice", PASSWORD)

    assert assert_refused(answer, deps, browser) == "Wrong username or password."


def test_unknown_user_gets_the_same_message_as_a_wrong_password(
    new_browser: Callable[[], Browser], deps: Deps
) -> None:
    first, second = new_browser(), new_browser()
    unknown = failed_login(first, "mallory", PASSWORD)
    wrong = failed_login(second, "alice", "not the password")

    assert assert_refused(unknown, deps, first) == assert_refused(wrong, deps, second)
    assert unknown.status == wrong.status


def test_a_failed_attempt_can_be_followed_by_a_good_one(browser: Browser, deps: Deps) -> None:
    started = browser.get(authorize_path())
    page = browser.follow(started)
    retry = submit_login(browser, page, "alice", "wrong password")
    assert retry.status == 400

    answer = submit_login(browser, retry, "alice", PASSWORD, page_status=400)
    assert answer.status == 303
    assert answer.location == f"{ISSUER}/interaction/{interaction_id_of(started)}/consent"
    assert session_count(deps) == 1
