"""Steps of the authorization code flow, driven through a cookie-keeping Browser."""

from __future__ import annotations

import copy
import html
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from chalicelib.deps import Deps
from chalicelib.http import cookies
from chalicelib.stores.memory import MemoryTable
from chalicelib.stores.table import Item
from tests.support.oauth import (
    ISSUER,
    PASSWORD,
    REDIRECT,
    SECRET,
    Answer,
    Browser,
    action_of,
    basic,
    csrf_of,
    pkce_pair,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SESSION_COOKIE = f"__Host-{cookies.SESSION}"
BROWSER_COOKIE = f"__Host-{cookies.BROWSER}"
# PKCE is required of every client (SECURITY.md item 36): requests built here carry this
# challenge unless a test passes its own, or None to leave PKCE out.
VERIFIER, CHALLENGE = pkce_pair()


def authorize_path(
    *,
    client_id: str | None = "web",
    scope: str | None = "openid profile",
    state: str | None = "st-123",
    challenge: str | None = CHALLENGE,
    redirect_uri: str | None = REDIRECT,
    response_type: str | None = "code",
    **extra: str,
) -> str:
    """An /authorize URL; None leaves a parameter out, `extra` adds more."""
    pairs = authorize_params(
        client_id=client_id,
        scope=scope,
        state=state,
        challenge=challenge,
        redirect_uri=redirect_uri,
        response_type=response_type,
        extra=extra,
    )
    return "/authorize?" + urlencode(pairs)


def authorize_params(
    *,
    client_id: str | None = "web",
    scope: str | None = "openid profile",
    state: str | None = "st-123",
    challenge: str | None = CHALLENGE,
    redirect_uri: str | None = REDIRECT,
    response_type: str | None = "code",
    extra: dict[str, str] | None = None,
) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str | None]] = [
        ("response_type", response_type),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", scope),
        ("state", state),
    ]
    if challenge is not None:
        pairs += [("code_challenge", challenge), ("code_challenge_method", "S256")]
    pairs += list((extra or {}).items())
    return [(k, v) for k, v in pairs if v is not None]


def path_of(location: str | None) -> str:
    """The path (and query) of a Location on the issuer."""
    assert location is not None
    assert location.startswith(ISSUER + "/"), location
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def step_of(answer: Answer) -> str:
    """'login' or 'consent': which interaction page a 303 from /authorize leads to."""
    assert answer.status == 303, (answer.status, answer.text)
    path = path_of(answer.location)
    parts = path.split("/")
    assert len(parts) == 4, path
    assert parts[:2] == ["", "interaction"], path
    assert parts[3] in {"login", "consent"}, path
    return parts[3]


def interaction_id_of(answer: Answer) -> str:
    step_of(answer)
    return path_of(answer.location).split("/")[2]


def to_client(answer: Answer) -> dict[str, str]:
    """The query of a 303 to the client's redirect URI."""
    assert answer.status == 303, (answer.status, answer.text)
    assert answer.location is not None
    assert answer.location.startswith(REDIRECT + "?"), answer.location
    return answer.location_params()


def submit_login(
    browser: Browser,
    login_page: Answer,
    username: str = "alice",
    password: str = PASSWORD,
    page_status: int = 200,
) -> Answer:
    assert login_page.status == page_status, (login_page.status, login_page.text)
    form = {**hidden_fields(login_page.text), "username": username, "password": password}
    assert form["csrf"] == csrf_of(login_page.text)
    return browser.post_form(action_of(login_page.text), form)


def submit_consent(browser: Browser, consent_page: Answer, decision: str = "allow") -> Answer:
    assert consent_page.status == 200, (consent_page.status, consent_page.text)
    assert 'value="allow"' in consent_page.text
    form = {**hidden_fields(consent_page.text), "decision": decision}
    return browser.post_form(action_of(consent_page.text), form)


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden fields of the page's first form, as a browser posts them (the CSRF token,
    and the request to start again with should it expire)."""
    first = page[page.index("<form") : page.index("</form>")]
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', first)
    return {name: html.unescape(value) for name, value in found}


def finish(browser: Browser, started: Answer, decision: str = "allow") -> Answer:
    """From /authorize's answer, sign in and/or consent as asked; the answer to the client."""
    answer = started
    if answer.status == 303 and (answer.location or "").startswith(REDIRECT):
        return answer  # single sign-on with stored consent: nothing to ask
    if step_of(answer) == "login":
        answer = submit_login(browser, browser.follow(answer))
        if answer.location is not None and answer.location.startswith(REDIRECT):
            return answer
        assert answer.status == 303, (answer.status, answer.text)
        assert answer.location is not None
        assert answer.location.endswith("/consent"), answer.location
    return submit_consent(browser, browser.follow(answer), decision)


@dataclass
class Authorized:
    """A finished authorization: the browser (now signed in), its code and PKCE verifier."""

    browser: Browser
    client_id: str
    code: str
    state: str
    verifier: str | None
    params: dict[str, str] = field(default_factory=dict)


def sign_in(
    browser: Browser,
    client_id: str = "web",
    scope: str = "openid profile",
    pkce: bool = True,
    state: str = "st-123",
    **extra: str,
) -> Authorized:
    """The whole flow: /authorize, login (if needed), consent (if needed), code."""
    verifier, challenge = pkce_pair() if pkce else (None, None)
    started = browser.get(
        authorize_path(client_id=client_id, scope=scope, state=state, challenge=challenge, **extra)
    )
    params = to_client(finish(browser, started))
    assert params["state"] == state
    assert params["iss"] == ISSUER
    return Authorized(browser, client_id, params["code"], state, verifier, params)


def token(
    browser: Browser,
    form: dict[str, str] | list[tuple[str, str]],
    authorization: str | None = None,
) -> Answer:
    headers = dict(FORM)
    if authorization is not None:
        headers["Authorization"] = authorization
    body = urlencode(form).encode()
    return browser.request("POST", "/token", body=body, headers=headers, cookies=False)


def redeem(done: Authorized) -> Answer:
    """Exchange the code the way its client authenticates."""
    form = {"grant_type": "authorization_code", "code": done.code, "redirect_uri": REDIRECT}
    if done.verifier is not None:
        form["code_verifier"] = done.verifier
    if done.client_id == "web":
        return token(done.browser, form, basic("web", SECRET))
    if done.client_id == "post":
        form.update(client_id="post", client_secret=SECRET)
    else:
        form["client_id"] = done.client_id
    return token(done.browser, form)


def oauth_error(answer: Answer, error: str, status: int = 400) -> dict[str, Any]:
    """Assert a JSON OAuth error answer from the token endpoint; its body."""
    assert answer.status == status, (answer.status, answer.text)
    assert answer.headers.get("content-type", "").startswith("application/json")
    body: dict[str, Any] = json.loads(answer.body)
    assert body["error"] == error, body
    assert "access_token" not in body
    return body


def error_page(answer: Answer, status: int = 400) -> str:
    """Assert an HTML error page (never a redirect, never a 500); its text."""
    assert answer.status == status, (answer.status, answer.text)
    assert answer.location is None
    assert answer.headers.get("content-type", "").startswith("text/html")
    text = answer.text
    assert "<!doctype html>" in text
    assert "<form" not in text
    assert "Something went wrong" not in text
    return text


def snapshot(deps: Deps) -> dict[tuple[str, str], Item]:
    table = deps.store.table
    assert isinstance(table, MemoryTable)
    return copy.deepcopy(table._items)


def kinds(deps: Deps) -> list[str]:
    """The kinds of the items in the table, sorted (to count sessions, interactions ...)."""
    return sorted(str(item.get("kind")) for item in snapshot(deps).values())


class Unchanged:
    """Asserts that the table holds exactly what it held when `mark` (or the fixture) ran."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self.mark()

    def mark(self) -> None:
        self._before = snapshot(self._deps)

    def check(self) -> None:
        # Brute-force counters (RATE#) are the one state a refused request writes on purpose:
        # a failed client authentication or login is counted (SECURITY.md item 18).
        after = {k: v for k, v in snapshot(self._deps).items() if not k[0].startswith("RATE#")}
        before = {k: v for k, v in self._before.items() if not k[0].startswith("RATE#")}
        added = sorted(set(after) - set(before))
        removed = sorted(set(before) - set(after))
        changed = sorted(k for k in set(after) & set(before) if after[k] != before[k])
        assert (added, removed, changed) == ([], [], []), (
            f"the request changed stored state: added {added[:3]}, removed {removed[:3]}, "
            f"changed {changed[:3]}"
        )


def factor_queries(deps: Deps, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each Query of a user's factors (`FACTOR#` items: one DynamoDB call each)."""
    asked: list[str] = []
    query = deps.store.table.query

    def recording(pk: str, sk_prefix: str = "", **kwargs: Any) -> list[Item]:
        if sk_prefix == "FACTOR#":
            asked.append(pk)
        return query(pk, sk_prefix, **kwargs)

    monkeypatch.setattr(deps.store.table, "query", recording)
    return asked
