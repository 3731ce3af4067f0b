"""SECURITY.md item 6: login and consent forms are bound to the authorization and the browser."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.security.conftest import PASSWORD, Server, auth_params, raw_items
from tests.support.oauth import Answer, Browser, action_of, csrf_of, pkce_pair


def start(server: Server, browser: Browser, client_id: str = "web") -> Answer:
    """/authorize, then the login page (with PKCE, as every client: SECURITY.md item 36)."""
    challenge = pkce_pair()[1]
    answer = server.authorize(browser, auth_params(client_id, challenge=challenge))
    assert answer.location is not None and answer.location.endswith("/login")
    page = browser.follow(answer)
    assert page.status == 200
    return page


def to_consent(server: Server, browser: Browser, client_id: str = "web") -> Answer:
    """Signed in (already, or now), on the consent page of a fresh authorization."""
    challenge = pkce_pair()[1]
    answer = server.authorize(browser, auth_params(client_id, challenge=challenge))
    if answer.location is not None and answer.location.endswith("/login"):
        page = browser.follow(answer)
        form = {"csrf": csrf_of(page.text), "username": "alice", "password": PASSWORD}
        answer = browser.post_form(action_of(page.text), form)
    assert answer.location is not None and answer.location.endswith("/consent")
    consent = browser.follow(answer)
    assert consent.status == 200
    return consent


def assert_refused(server: Server, answer: Answer) -> None:
    assert answer.status == 403, (answer.status, answer.text)
    assert answer.location is None
    assert answer.headers["content-type"].startswith("text/html")
    assert "code=" not in answer.text
    assert server.codes() == []


def sessions_stored(server: Server) -> list[str]:
    return [str(i["pk"]) for i in raw_items(server.deps) if str(i["pk"]).startswith("SESSION#")]


def session_cookies(answer: Answer) -> list[str]:
    return [c for c in answer.set_cookies if "tollgate-session" in c.split("=", 1)[0]]


def login_form(csrf: str | None) -> dict[str, str]:
    form = {"username": "alice", "password": PASSWORD}
    if csrf is not None:
        form["csrf"] = csrf
    return form


@pytest.mark.parametrize("csrf", [None, "", "x", "A" * 43])
def test_login_without_the_right_token_is_403(server: Server, csrf: str | None) -> None:
    """SECURITY.md 6; RFC 6749 10.12, RFC 9700 4.7: no token, no sign-in, no session, no code."""
    browser = server.browser()
    page = start(server, browser)
    answer = browser.post_form(action_of(page.text), login_form(csrf))
    assert_refused(server, answer)
    assert session_cookies(answer) == []
    assert sessions_stored(server) == []


def test_login_with_a_token_of_another_authorization_is_403(server: Server) -> None:
    """SECURITY.md 6; RFC 6749 10.12: the token is bound to its own pending authorization."""
    browser = server.browser()
    first = start(server, browser)
    second = start(server, browser, "spa")
    assert action_of(first.text) != action_of(second.text)
    answer = browser.post_form(action_of(second.text), login_form(csrf_of(first.text)))
    assert_refused(server, answer)
    assert session_cookies(answer) == []


def test_login_token_in_the_query_is_not_enough(server: Server) -> None:
    """SECURITY.md 6; RFC 6749 10.12: the token must be in the POSTed form."""
    browser = server.browser()
    page = start(server, browser)
    target = action_of(page.text) + "?" + urlencode({"csrf": csrf_of(page.text)})
    assert_refused(server, browser.post_form(target, login_form(None)))


def test_login_from_another_browser_is_403(server: Server) -> None:
    """SECURITY.md 6; RFC 9700 4.7.1: a leaked login URL and token are useless elsewhere."""
    page = start(server, server.browser())
    stranger = server.browser()
    answer = stranger.post_form(action_of(page.text), login_form(csrf_of(page.text)))
    assert_refused(server, answer)
    assert session_cookies(answer) == []


def test_login_with_the_right_token_works(server: Server) -> None:
    """SECURITY.md 6; RFC 6749 10.12: the control case for the refusals above."""
    browser = server.browser()
    page = start(server, browser)
    answer = browser.post_form(action_of(page.text), login_form(csrf_of(page.text)))
    assert answer.status == 303
    assert len(session_cookies(answer)) == 1


@pytest.mark.parametrize("csrf", [None, "", "x"])
def test_consent_without_the_right_token_is_403(server: Server, csrf: str | None) -> None:
    """SECURITY.md 6; RFC 6749 10.12, RFC 9700 4.7: consent needs the form's token."""
    browser = server.browser()
    page = to_consent(server, browser)
    form = {"decision": "allow"}
    if csrf is not None:
        form["csrf"] = csrf
    assert_refused(server, browser.post_form(action_of(page.text), form))
    assert server.deps.store.consents.get("sub-alice", "web") is None


def test_consent_with_a_token_of_another_authorization_is_403(server: Server) -> None:
    """SECURITY.md 6; RFC 6749 10.12: a token of another pending authorization is refused."""
    browser = server.browser()
    first = to_consent(server, browser, "web")
    second = to_consent(server, browser, "spa")
    form = {"csrf": csrf_of(first.text), "decision": "allow"}
    assert_refused(server, browser.post_form(action_of(second.text), form))
    assert server.deps.store.consents.get("sub-alice", "spa") is None


def test_consent_from_a_browser_without_cookies_is_403(server: Server) -> None:
    """SECURITY.md 6; RFC 9700 4.7.1: the consent form works only in the browser that began."""
    page = to_consent(server, server.browser())
    form = {"csrf": csrf_of(page.text), "decision": "allow"}
    assert_refused(server, server.browser().post_form(action_of(page.text), form))


def test_consent_with_browser_cookie_but_no_session_is_403(server: Server) -> None:
    """SECURITY.md 6; RFC 9700 4.7.1: consent is bound to the session that signed in."""
    browser = server.browser()
    page = to_consent(server, browser)
    thief = server.browser()
    thief.cookies = {k: v for k, v in browser.cookies.items() if "tollgate-browser" in k}
    assert thief.cookies
    form = {"csrf": csrf_of(page.text), "decision": "allow"}
    assert_refused(server, thief.post_form(action_of(page.text), form))


def test_consent_with_another_session_is_403(server: Server) -> None:
    """SECURITY.md 6; RFC 9700 4.7.1: a different session of the same user cannot consent."""
    browser = server.browser()
    page = to_consent(server, browser)
    other = server.browser()
    to_consent(server, other)  # alice signs in elsewhere: another session cookie
    mixed = server.browser()
    mixed.cookies = {
        name: (other.cookies[name] if "tollgate-session" in name else value)
        for name, value in browser.cookies.items()
    }
    assert mixed.cookies != browser.cookies
    form = {"csrf": csrf_of(page.text), "decision": "allow"}
    assert_refused(server, mixed.post_form(action_of(page.text), form))


def test_consent_with_the_right_token_works(server: Server) -> None:
    """SECURITY.md 6; RFC 6749 4.1.2: the control case for the refusals above."""
    browser = server.browser()
    page = to_consent(server, browser)
    form = {"csrf": csrf_of(page.text), "decision": "allow"}
    answer = browser.post_form(action_of(page.text), form)
    assert answer.status == 303
    assert answer.location is not None and "code=" in answer.location
    assert len(server.codes()) == 1


def test_get_never_grants(server: Server) -> None:
    """SECURITY.md 6; RFC 9110 9.2.1 (safe methods), RFC 9700 4.7: a GET shows, never grants."""
    browser = server.browser()
    page = to_consent(server, browser)
    action = action_of(page.text)
    query = urlencode({"csrf": csrf_of(page.text), "decision": "allow"})
    for answer in (browser.get(action), browser.get(f"{action}?{query}")):
        assert answer.status == 200, answer.status
        assert answer.location is None
        assert "code=" not in answer.text
    assert server.codes() == []
    assert server.deps.store.consents.get("sub-alice", "web") is None


def test_login_get_never_signs_in(server: Server) -> None:
    """SECURITY.md 6; RFC 9110 9.2.1: credentials in a GET sign nobody in."""
    browser = server.browser()
    page = start(server, browser)
    query = urlencode(login_form(csrf_of(page.text)))
    answer = browser.get(f"{action_of(page.text)}?{query}")
    assert answer.status == 200
    assert answer.location is None
    assert session_cookies(answer) == []
    assert sessions_stored(server) == []
