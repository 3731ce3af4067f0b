"""SECURITY.md item 8: credential POSTs answer 303; cookies are __Host-, HttpOnly, Secure, Lax."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.security.conftest import PASSWORD, Server, auth_params, authorize_path
from tests.support.oauth import Answer, Browser, action_of, csrf_of, tollgate


def parse_set_cookie(header: str) -> tuple[str, str, dict[str, str]]:
    """(name, value, attributes with lower-case names) of one Set-Cookie header."""
    first, *rest = header.split(";")
    name, _, value = first.strip().partition("=")
    attributes: dict[str, str] = {}
    for part in rest:
        key, _, val = part.strip().partition("=")
        assert key.lower() not in attributes, f"{key} twice in {header}"
        attributes[key.lower()] = val
    return name, value, attributes


def cookie_named(answer: Answer, base: str) -> tuple[str, str, dict[str, str]]:
    found = [parse_set_cookie(c) for c in answer.set_cookies]
    matching = [c for c in found if c[0].endswith(base)]
    assert len(matching) == 1, answer.set_cookies
    return matching[0]


@pytest.fixture
def local_server() -> Iterator[Server]:
    with tollgate(issuer="http://127.0.0.1:8000") as (deps, clock, http):
        yield Server(deps, clock, http)


def run_login(server: Server, browser: Browser) -> tuple[Answer, Answer]:
    """(the /authorize answer, the login POST answer)."""
    started = server.authorize(browser, auth_params("web"))
    page = browser.follow(started)
    form = {"csrf": csrf_of(page.text), "username": "alice", "password": PASSWORD}
    return started, browser.post_form(action_of(page.text), form)


def test_login_post_answers_303(server: Server) -> None:
    """SECURITY.md 8; RFC 9700 4.12 (307 would re-POST the password to the client)."""
    _, answer = run_login(server, server.browser())
    assert answer.status == 303, answer.status
    assert answer.location is not None


def test_login_post_that_completes_the_flow_answers_303(server: Server) -> None:
    """SECURITY.md 8; RFC 9700 4.12: the redirect to the client after login is 303 too."""
    server.sign_in("web")  # alice consents once
    _, answer = run_login(server, server.browser())
    assert answer.status == 303, answer.status
    assert answer.location is not None and answer.location.startswith("https://app.example/cb?")


@pytest.mark.parametrize("decision", ["allow", "deny"])
def test_consent_post_answers_303(server: Server, decision: str) -> None:
    """SECURITY.md 8; RFC 9700 4.12: the consent POST's redirect to the client is 303."""
    browser = server.browser()
    _, login = run_login(server, browser)
    page = browser.follow(login)
    answer = browser.post_form(
        action_of(page.text), {"csrf": csrf_of(page.text), "decision": decision}
    )
    assert answer.status == 303, answer.status
    assert answer.location is not None and answer.location.startswith("https://app.example/cb?")


def test_authorize_post_answers_303(server: Server) -> None:
    """SECURITY.md 8; RFC 9700 4.12: a POSTed authorization request is redirected with 303."""
    answer = server.browser().post_form("/authorize", auth_params("web"))
    assert answer.status == 303
    error = server.browser().post_form("/authorize", auth_params("web", scope="admin"))
    assert error.status == 303


def test_session_cookie_attributes(server: Server) -> None:
    """SECURITY.md 8; RFC 6265bis 4.1.3.2 (__Host-) and 4.1.2.7 (SameSite), RFC 9700 4.7."""
    _, answer = run_login(server, server.browser())
    name, value, attributes = cookie_named(answer, "tollgate-session")
    assert name == "__Host-tollgate-session"
    assert value
    assert "httponly" in attributes
    assert "secure" in attributes
    assert attributes.get("samesite") == "Lax"
    assert attributes.get("path") == "/"
    assert "domain" not in attributes
    assert int(attributes["max-age"]) > 0


def test_browser_binding_cookie_attributes(server: Server) -> None:
    """SECURITY.md 8; RFC 6265bis 4.1.3.2: the browser-binding cookie follows the same rules."""
    started, _ = run_login(server, server.browser())
    name, _, attributes = cookie_named(started, "tollgate-browser")
    assert name == "__Host-tollgate-browser"
    assert {"httponly", "secure"} <= attributes.keys()
    assert attributes.get("samesite") == "Lax"
    assert attributes.get("path") == "/"
    assert "domain" not in attributes


def test_loopback_http_cookies_are_not_secure(local_server: Server) -> None:
    """SECURITY.md 8; RFC 6265bis 4.1.3.2: plain-http loopback drops Secure and __Host- only."""
    started, answer = run_login(local_server, local_server.browser())
    assert answer.status == 303
    for reply, base in ((answer, "tollgate-session"), (started, "tollgate-browser")):
        name, _, attributes = cookie_named(reply, base)
        assert name == base
        assert "secure" not in attributes
        assert "httponly" in attributes
        assert attributes.get("samesite") == "Lax"
        assert attributes.get("path") == "/"
        assert "domain" not in attributes


def test_loopback_http_sign_in_still_works(local_server: Server) -> None:
    """SECURITY.md 8; RFC 8252 7.3: the unprefixed cookies are read back in local mode."""
    flow = local_server.sign_in("web")
    assert flow.params["iss"] == ["http://127.0.0.1:8000"]
    assert local_server.redeem(flow).status == 200


def test_prefixed_cookie_is_what_the_server_reads(server: Server) -> None:
    """SECURITY.md 8; RFC 6265bis 4.1.3.2: an unprefixed look-alike cookie is ignored."""
    browser = server.browser()
    server.sign_in("web", browser=browser)
    impostor = server.browser()
    impostor.cookies = {k.removeprefix("__Host-"): v for k, v in browser.cookies.items()}
    answer = impostor.get(authorize_path(auth_params("web")))
    assert answer.location is not None and answer.location.endswith("/login"), answer.location
    control = browser.get(authorize_path(auth_params("web")))
    assert control.location is not None and "code=" in control.location
