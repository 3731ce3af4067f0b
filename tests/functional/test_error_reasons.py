"""Integrators can see why something failed: refused scopes are named, an expired or revoked
access token says so, a refused redirect URI is shown with its client, and every error page
and 5xx answer carries the reference its log lines carry."""

from __future__ import annotations

import re

import pytest

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.stores.table import StoreUnavailable
from tests.functional.flows import authorize_path, oauth_error, token
from tests.functional.revoking import add_clients, introspected, revoke, user_tokens
from tests.functional.test_demo_api import allow_notes, call, mint
from tests.support.logs import captured
from tests.support.oauth import SECRET, Browser, basic

METADATA = 'resource_metadata="https://auth.example.test/.well-known/oauth-protected-resource"'
EXPIRED = 'Bearer error="invalid_token", error_description="the access token expired"'
REVOKED = 'Bearer error="invalid_token", error_description="the access token was revoked"'


@pytest.fixture(autouse=True)
def clients(deps: Deps) -> None:
    add_clients(deps)


# -- refused scopes ------------------------------------------------------------------------


def test_client_credentials_names_the_refused_scopes(browser: Browser) -> None:
    answer = token(
        browser,
        {"grant_type": "client_credentials", "scope": "notes:read admin"},
        basic("m2m", SECRET),
    )
    body = oauth_error(answer, "invalid_scope")
    assert body["error_description"] == "scope not allowed for this client: admin"


def test_authorize_names_the_refused_scopes(browser: Browser) -> None:
    answer = browser.get(authorize_path(scope="openid admin superuser"))
    assert answer.status == 303
    params = answer.location_params()
    assert params["error"] == "invalid_scope"
    assert params["error_description"] == "scope not allowed for this client: admin superuser"


def test_a_widening_refresh_names_the_scopes_it_added(browser: Browser) -> None:
    tokens = user_tokens(browser)
    form_scope = "openid email"
    answer = token(
        browser,
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "scope": form_scope,
        },
        basic("rt", SECRET),
    )
    body = oauth_error(answer, "invalid_scope")
    assert body["error_description"] == "scope may narrow but never widen: email"


# -- expired and revoked access tokens ------------------------------------------------------


def _userinfo(browser: Browser, bearer: str) -> tuple[int, str, dict[str, str]]:
    answer = call(browser, "GET", "/userinfo", bearer)
    return answer.status, answer.headers["www-authenticate"], answer.json()


def test_userinfo_says_the_token_expired(browser: Browser, clock: FakeClock) -> None:
    tokens = user_tokens(browser)
    clock.advance(3600)
    status, challenge, body = _userinfo(browser, tokens["access_token"])
    assert (status, challenge) == (401, EXPIRED)
    assert body == {"error": "invalid_token", "error_description": "the access token expired"}


def test_userinfo_says_the_token_was_revoked(browser: Browser) -> None:
    tokens = user_tokens(browser)
    assert revoke(browser, tokens["access_token"]).status == 200
    assert _userinfo(browser, tokens["access_token"])[:2] == (401, REVOKED)


def test_userinfo_says_the_grant_was_revoked(browser: Browser) -> None:
    tokens = user_tokens(browser)
    assert revoke(browser, tokens["refresh_token"]).status == 200  # revokes the grant
    assert _userinfo(browser, tokens["access_token"])[:2] == (401, REVOKED)


def test_any_other_bad_token_hears_nothing_more(browser: Browser) -> None:
    status, challenge, body = _userinfo(browser, "not-a-jwt")
    assert (status, challenge, body) == (
        401,
        'Bearer error="invalid_token"',
        {"error": "invalid_token"},
    )


def test_introspection_stays_active_false_only(browser: Browser, clock: FakeClock) -> None:
    tokens = user_tokens(browser)
    clock.advance(3600)
    assert introspected(browser, tokens["access_token"]) == {"active": False}


def test_the_built_in_authorizer_says_the_token_expired(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    allow_notes(deps)
    bearer = mint(deps, ["notes:read"])
    clock.advance(3600)
    answer = call(browser, "GET", "/api/whoami", bearer)
    assert (answer.status, answer.headers["www-authenticate"]) == (401, f"{EXPIRED}, {METADATA}")


# -- the refused redirect URI ---------------------------------------------------------------


def test_a_refused_redirect_uri_page_shows_the_address_and_the_client(browser: Browser) -> None:
    asked = "https://evil.example/cb?x=<b>"
    answer = browser.get(authorize_path(redirect_uri=asked))
    assert answer.status == 400 and answer.location is None
    assert "https://evil.example/cb?x=&lt;b&gt;" in answer.text  # shown, and escaped
    assert "Example Web" in answer.text and "client_id web" in answer.text
    assert "<b>" not in answer.text


# -- references -----------------------------------------------------------------------------


def _reference(text: str) -> str:
    match = re.search(r"Reference: <code>([0-9a-f-]+)</code>", text)
    assert match, text
    return match.group(1)


def test_an_error_page_carries_the_reference_of_its_log_lines(browser: Browser) -> None:
    with captured() as lines:
        answer = browser.get(authorize_path(client_id="nobody"))
    reference = _reference(answer.text)
    (summary,) = lines.requests()
    assert summary["reference"] == reference and summary["status"] == 400
    (detail,) = [r for r in lines.lines if r["message"].startswith("error page")]
    assert detail["reference"] == reference and "unknown client_id 'nobody'" in detail["message"]


FAULTS = {
    "store outage": (StoreUnavailable("throttled"), 503, "temporarily_unavailable"),
    "bug": (RuntimeError("bug"), 500, "server_error"),
}


@pytest.mark.parametrize("case", FAULTS)
def test_a_5xx_carries_the_reference_of_its_log_lines(
    browser: Browser, deps: Deps, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    fault, status, error = FAULTS[case]

    def broken(client_id: str) -> None:
        raise fault

    monkeypatch.setattr(deps.clients, "get", broken)
    with captured() as lines:
        answer = token(browser, {"grant_type": "client_credentials"}, basic("m2m", SECRET))
    body = oauth_error(answer, error, status)
    (summary,) = lines.requests()
    assert summary["status"] == status
    assert body["error_description"].endswith(f"(reference {summary['reference']})") or (
        body["error_description"] == summary["reference"]
    )
    assert summary["ServerErrors"] == 1 and summary["Endpoint"] == "/token"


def test_a_5xx_page_carries_the_reference(
    browser: Browser, deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(client_id: str) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(deps.clients, "get", broken)
    with captured() as lines:
        answer = browser.get(authorize_path())
    assert answer.status == 500
    reference = _reference(answer.text)
    failure = [r for r in lines.lines if r["level"] == "ERROR"]
    assert failure and all(r["reference"] == reference for r in failure)
    assert "RuntimeError: bug" in failure[0]["exception"]
