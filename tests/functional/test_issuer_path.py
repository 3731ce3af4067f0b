"""Issue 9: an issuer with a path (API Gateway's default URL ends in the stage, `/dev`).

API Gateway hands the app paths without the stage, so every URL Tollgate writes (form
actions, redirects between steps, the stylesheet, the logout form, the demo callback's
text, the metadata) must come from the issuer: a root-relative one sends the browser out
of the stage, where API Gateway answers 403. The Browser here refuses any absolute URL not
under the issuer, and every answer of the whole flow is scanned for URLs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.deps import Deps
from tests.functional.flows import CHALLENGE
from tests.support.oauth import (
    PASSWORD,
    REDIRECT,
    SECRET,
    Answer,
    Browser,
    action_of,
    basic,
    csrf_of,
    pkce_pair,
    tollgate,
)

ISSUER = "https://auth.example.test/dev"
DOCUMENTS = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_URL_ATTRIBUTE = re.compile(r"""\b(?:src|href|action|formaction|poster|data)\s*=\s*"([^"]*)\"""")


@pytest.fixture
def staged() -> Iterator[tuple[Deps, Browser]]:
    with tollgate(issuer=ISSUER) as (deps, _clock, http):
        yield deps, Browser(http, issuer=ISSUER)


def emitted(answer: Answer) -> list[str]:
    """Every URL an answer gives a browser: its Location and its page's URL attributes."""
    urls = [answer.location] if answer.location else []
    if answer.headers.get("content-type", "").startswith("text/html"):
        urls += [u.replace("&amp;", "&") for u in _URL_ATTRIBUTE.findall(answer.text)]
    return urls


def under_issuer(answers: list[Answer]) -> None:
    """No root-relative URL: each is the issuer's, the client's redirect URI, or inline."""
    for answer in answers:
        for url in emitted(answer):
            assert url == "data:," or url.startswith((ISSUER + "/", REDIRECT + "?")), url


def test_the_whole_flow_stays_under_the_issuer(staged: tuple[Deps, Browser]) -> None:
    _deps, browser = staged
    seen: list[Answer] = []

    def keep(answer: Answer) -> Answer:
        seen.append(answer)
        return answer

    verifier, challenge = pkce_pair()
    query = (
        f"response_type=code&client_id=web&scope=openid+profile&state=s1"
        f"&redirect_uri={REDIRECT}&code_challenge={challenge}&code_challenge_method=S256"
    )
    started = keep(browser.get(f"{ISSUER}/authorize?{query}"))
    assert started.status == 303 and started.location is not None
    assert started.location.startswith(f"{ISSUER}/interaction/"), started.location
    login = keep(browser.follow(started))
    assert login.status == 200, login.text
    assert f'href="{ISSUER}/static/tollgate.css"' in login.text
    form = {"csrf": csrf_of(login.text), "username": "alice", "password": PASSWORD}
    to_consent = keep(browser.post_form(action_of(login.text), form))
    assert to_consent.status == 303
    assert to_consent.location == action_of(login.text).replace("/login", "/consent")
    consent = keep(browser.follow(to_consent))
    assert consent.status == 200, consent.text
    form = {"csrf": csrf_of(consent.text), "decision": "allow"}
    back = keep(browser.post_form(action_of(consent.text), form))
    assert back.status == 303 and back.location is not None
    params = back.location_params()
    assert params["iss"] == ISSUER and params["state"] == "s1"

    token_form = {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    auth = {"Authorization": basic("web", SECRET), **FORM}
    tokens = browser.post_form(f"{ISSUER}/token", token_form, headers=auth).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    userinfo = browser.get(f"{ISSUER}/userinfo", headers=bearer)
    assert userinfo.status == 200 and userinfo.json()["sub"] == "sub-alice"

    # Logout without a hint asks first; its form posts to the issuer's /logout.
    ask = keep(browser.get(f"{ISSUER}/logout"))
    assert ask.status == 200
    assert action_of(ask.text) == f"{ISSUER}/logout"
    done = keep(browser.post_form(action_of(ask.text), {"csrf": csrf_of(ask.text)}))
    assert done.status == 200 and "signed out" in done.text

    # Error pages and the demo callback page link the stylesheet under the issuer too.
    keep(browser.get(f"{ISSUER}/interaction/no-such-interaction/login"))
    keep(browser.get(f"{ISSUER}/authorize?client_id=nobody"))
    demo = keep(browser.get(f"{ISSUER}/demo/callback?code=abc&state=x"))
    assert f"{ISSUER}/token" in demo.text

    under_issuer(seen)
    assert sum(len(emitted(a)) for a in seen) >= 12


def test_consent_page_without_a_session_redirects_to_login_under_the_issuer(
    staged: tuple[Deps, Browser],
) -> None:
    _deps, browser = staged
    started = browser.get(
        f"{ISSUER}/authorize?response_type=code&client_id=web&scope=openid&redirect_uri={REDIRECT}"
        f"&code_challenge={CHALLENGE}&code_challenge_method=S256"  # SECURITY.md item 36
    )
    consent = started.location
    assert consent is not None and consent.endswith("/login")
    answer = browser.get(consent.replace("/login", "/consent"))
    assert answer.status == 303
    assert answer.location == consent
    under_issuer([started, answer])


def _urls(document: Any) -> list[str]:
    if isinstance(document, dict):
        return [u for value in document.values() for u in _urls(value)]
    if isinstance(document, list):
        return [u for value in document for u in _urls(value)]
    return [document] if isinstance(document, str) and "://" in document else []


@pytest.mark.parametrize("path", DOCUMENTS)
def test_metadata_under_the_issuer(staged: tuple[Deps, Browser], path: str) -> None:
    """Both documents at `<issuer>/.well-known/...`, every URL in them under the issuer."""
    _deps, browser = staged
    answer = browser.get(ISSUER + path)
    assert answer.status == 200
    doc = answer.json()
    assert doc["issuer"] == ISSUER
    urls = _urls(doc)
    assert len(urls) >= 6, urls
    for url in urls:
        if url == ISSUER:
            continue
        assert url.startswith(ISSUER + "/"), url
        # And each one is an address this app serves (after the stage is taken off).
        served = browser.request("OPTIONS", url)
        assert served.status in {200, 204}, (url, served.status)


def test_the_browser_refuses_urls_outside_the_issuer(staged: tuple[Deps, Browser]) -> None:
    """The harness itself: a root-relative URL from Tollgate would not slip through."""
    _deps, browser = staged
    with pytest.raises(AssertionError):
        browser.get("https://auth.example.test/interaction/x/login")
