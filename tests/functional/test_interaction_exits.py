"""The pages finish the conversation (issue 16 item 6): Cancel on the login page, "Not you?
Sign out" on the consent page, Cancel on the logout confirmation, and starting an expired
sign-in again without losing what was typed. Every new POST needs the pending
authorization's CSRF token; a GET changes nothing."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import jwt

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.stores.models import User
from tests.functional.flows import (
    FORM,
    SESSION_COOKIE,
    Authorized,
    Unchanged,
    authorize_path,
    oauth_error,
    redeem,
    sign_in,
    step_of,
    submit_consent,
    submit_login,
    to_client,
)
from tests.support.dpop import dpop_key
from tests.support.oauth import (
    ISSUER,
    REDIRECT,
    Answer,
    Browser,
    action_of,
    csrf_of,
    password_hash,
    pkce_pair,
)

AFTER = "https://app.example/signed-out"


def _login_page(browser: Browser, path: str | None = None) -> Answer:
    started = browser.get(path or authorize_path())
    assert step_of(started) == "login"
    page = browser.follow(started)
    assert page.status == 200, page.text
    return page


def _step(page: Answer, step: str) -> str:
    """The URL of a form on the page by its step (cancel, signout, login, consent)."""
    actions = [unescape(a) for a in re.findall(r'<form[^>]*action="([^"]+)"', page.text)]
    found = [a for a in actions if a.endswith(f"/{step}")]
    assert len(found) == 1, actions
    assert found[0].startswith(f"{ISSUER}/interaction/")
    return found[0]


def _sessions(deps: Deps) -> int:
    return len(deps.store.table.scan_prefix("SESSION#"))


# -- Cancel on the login page ------------------------------------------------------------------


def test_cancel_on_the_login_page_returns_access_denied_with_state_and_iss(
    browser: Browser, deps: Deps
) -> None:
    page = _login_page(browser)
    answer = browser.post_form(_step(page, "cancel"), {"csrf": csrf_of(page.text)})
    params = to_client(answer)
    assert params["error"] == "access_denied"
    assert params["state"] == "st-123"
    assert params["iss"] == ISSUER
    # The pending authorization is finished: signing in on it now is refused.
    late = submit_login(browser, page)
    assert late.status == 400 and "expired" in late.text
    assert deps.store.table.scan_prefix("CODE#") == []


def test_cancel_needs_the_csrf_token_and_a_post(browser: Browser, unchanged: Unchanged) -> None:
    page = _login_page(browser)
    cancel = _step(page, "cancel")
    unchanged.mark()
    assert browser.post_form(cancel, {"csrf": "x" * 43}).status == 403
    assert browser.post_form(cancel, {}).status == 403
    assert browser.get(cancel).status == 405
    unchanged.check()
    # Still pending: signing in works.
    assert submit_login(browser, page).status == 303


# -- "Not you? Sign out" on the consent page ---------------------------------------------------


def test_consent_shows_the_return_host_and_not_you_signs_out_to_the_same_login(
    browser: Browser, deps: Deps
) -> None:
    deps.store.users.create(User(username="bob", sub="sub-bob", password_hash=password_hash()))
    sign_in(browser)  # alice, "openid profile"
    verifier, challenge = pkce_pair()
    path = authorize_path(scope="openid profile email", state="s-2", challenge=challenge)
    started = browser.get(path)
    assert step_of(started) == "consent"  # single sign-on: alice, more scopes to consent
    consent = browser.follow(started)
    assert "Signed in as <strong>alice</strong>" in consent.text
    assert 'you will return to <strong class="host">app.example</strong>' in consent.text
    assert ">Not you? Sign out</button>" in consent.text
    signout = _step(consent, "signout")
    assert signout == started.location.replace("/consent", "/signout")  # type: ignore[union-attr]

    answer = browser.post_form(signout, {"csrf": csrf_of(consent.text)})
    assert answer.status == 303
    assert answer.location == signout.replace("/signout", "/login")  # the same authorization
    assert any(c.startswith(SESSION_COOKIE) and "Max-Age=0" in c for c in answer.set_cookies)
    assert _sessions(deps) == 0
    # Consent without a session is not possible any more: it sends to the login step.
    assert browser.get(started.location or "").location == answer.location

    login = browser.follow(answer)
    assert 'value="alice"' not in login.text  # nothing of the person who left
    to_consent = submit_login(browser, login, username="bob")
    params = to_client(submit_consent(browser, browser.follow(to_consent)))
    assert params["state"] == "s-2"
    tokens = redeem(Authorized(browser, "web", params["code"], "s-2", verifier)).json()
    assert jwt.decode(tokens["id_token"], options={"verify_signature": False})["sub"] == "sub-bob"


def test_signout_needs_the_csrf_token_and_a_post(
    browser: Browser, deps: Deps, unchanged: Unchanged
) -> None:
    sign_in(browser)
    started = browser.get(authorize_path(scope="openid profile email"))
    consent = browser.follow(started)
    signout = _step(consent, "signout")
    unchanged.mark()
    assert browser.post_form(signout, {"csrf": "x" * 43}).status == 403
    assert browser.get(signout).status == 405
    unchanged.check()
    assert _sessions(deps) == 1
    assert submit_consent(browser, consent).status == 303  # still signed in, still pending


# -- Cancel on the logout confirmation ---------------------------------------------------------


def test_logout_cancel_keeps_the_session_and_returns_to_the_app(
    browser: Browser, deps: Deps
) -> None:
    client = deps.store.clients.get("web")
    assert client is not None
    client.post_logout_redirect_uris = [AFTER]
    deps.store.clients.save(client)
    sign_in(browser)
    page = browser.get(f"/logout?client_id=web&post_logout_redirect_uri={quote(AFTER)}&state=k")
    assert page.status == 200 and 'value="cancel">Cancel</button>' in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    answer = browser.post_form(action_of(page.text), {**fields, "decision": "cancel"})
    assert answer.status == 303 and answer.location == f"{AFTER}?state=k"
    assert not any("Max-Age=0" in c for c in answer.set_cookies)
    assert _sessions(deps) == 1
    # Still signed in: prompt=none gets a code.
    assert "code" in to_client(browser.get(authorize_path(prompt="none")))


def test_logout_cancel_without_an_app_says_still_signed_in(browser: Browser, deps: Deps) -> None:
    sign_in(browser)
    page = browser.get("/logout")
    answer = browser.post_form(
        action_of(page.text), {"csrf": csrf_of(page.text), "decision": "cancel"}
    )
    assert answer.status == 200 and "You are still signed in" in answer.text
    assert _sessions(deps) == 1
    forged = browser.post_form("/logout", {"csrf": "x" * 64, "decision": "cancel"})
    assert forged.status == 403


# -- an expired pending authorization ----------------------------------------------------------


def _restart_link(page: Answer) -> str:
    found = re.search(r'<a class="button primary block" href="([^"]+)">Start again</a>', page.text)
    assert found, page.text
    return unescape(found.group(1))


def test_an_expired_sign_in_offers_to_start_again_keeping_the_username(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    verifier, challenge = pkce_pair()
    path = authorize_path(scope="openid profile", state="keep-me", challenge=challenge)
    path += "&nonce=n-1&login_hint=someone"
    page = _login_page(browser, path)
    clock.advance(deps.settings.interaction_ttl + 1)

    late = submit_login(browser, page, password="typed-and-not-kept")
    assert late.status == 400
    assert "This sign-in has expired" in late.text
    again = _restart_link(late)
    assert again.startswith(f"{ISSUER}/authorize?")
    query = parse_qs(urlsplit(again).query)
    assert query == {
        "client_id": ["web"],
        "redirect_uri": [REDIRECT],
        "response_type": ["code"],
        "scope": ["openid profile"],
        "state": ["keep-me"],
        "nonce": ["n-1"],
        "login_hint": ["alice"],  # what was typed, not the client's hint
        "code_challenge": [challenge],
        "code_challenge_method": ["S256"],
    }
    assert "typed-and-not-kept" not in late.text

    # Following it: a new pending authorization, the username filled in; the client's own
    # state, nonce and PKCE verifier still fit.
    login = browser.follow(browser.get(again))
    assert 'name="username" type="text" value="alice"' in login.text
    params = to_client(submit_consent(browser, browser.follow(submit_login(browser, login))))
    assert params["state"] == "keep-me"
    tokens = redeem(Authorized(browser, "web", params["code"], "keep-me", verifier)).json()
    assert jwt.decode(tokens["id_token"], options={"verify_signature": False})["nonce"] == "n-1"


def test_an_expired_consent_offers_to_start_again(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    sign_in(browser)
    consent = browser.follow(browser.get(authorize_path(scope="openid profile email")))
    clock.advance(deps.settings.interaction_ttl + 1)
    late = submit_consent(browser, consent)
    assert late.status == 400
    query = parse_qs(urlsplit(_restart_link(late)).query)
    assert query["scope"] == ["openid profile email"] and "login_hint" not in query


def test_starting_again_keeps_the_code_bound_to_the_client_s_dpop_key(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    """SECURITY.md 47: a request that sent dpop_jkt, started again after it expired, still
    binds its code to that key (RFC 9449 10)."""
    jkt = dpop_key().jkt
    verifier, challenge = pkce_pair()
    path = authorize_path(scope="openid", state="s", challenge=challenge) + f"&dpop_jkt={jkt}"
    page = _login_page(browser, path)
    clock.advance(deps.settings.interaction_ttl + 1)
    again = _restart_link(submit_login(browser, page))
    assert parse_qs(urlsplit(again).query)["dpop_jkt"] == [jkt]
    login = browser.follow(browser.get(again))
    params = to_client(submit_consent(browser, browser.follow(submit_login(browser, login))))
    # Without a proof by that key the code is not redeemed (it was, before the fix).
    unbound = redeem(Authorized(browser, "web", params["code"], "s", verifier))
    oauth_error(unbound, "invalid_grant")


def test_without_a_known_client_and_redirect_uri_nothing_is_offered(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    page = _login_page(browser)
    interaction_id = action_of(page.text).split("/")[-2]
    clock.advance(deps.settings.interaction_ttl + 1)
    # A GET has no form: nothing to start again from.
    reloaded = browser.get(f"/interaction/{interaction_id}/login")
    assert reloaded.status == 400 and "Start again" not in reloaded.text
    login = action_of(page.text)
    for carried in (
        urlencode({"client_id": "web", "redirect_uri": "https://evil.example/cb"}),
        urlencode({"client_id": "nobody", "response_type": "code"}),
        "",
    ):
        form = {"csrf": csrf_of(page.text), "username": "alice", "restart": carried}
        answer = browser.post_form(login, form)
        assert answer.status == 400 and "Start again" not in answer.text, carried


def test_the_restart_link_carries_only_the_request_s_own_parameters(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    page = _login_page(browser)
    clock.advance(deps.settings.interaction_ttl + 1)
    carried = urlencode(
        {"client_id": "web", "scope": "openid", "response_type": "code", "password": "p"}
        | {"id_token_hint": "x", "request_uri": "https://evil.example/r"}
    )
    form = {"csrf": csrf_of(page.text), "username": "alice", "restart": carried}
    answer = browser.post_form(action_of(page.text), form, headers=FORM)
    query = parse_qs(urlsplit(_restart_link(answer)).query)
    assert set(query) == {"client_id", "scope", "response_type", "login_hint"}
