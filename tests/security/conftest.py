"""Helpers for the SECURITY.md tests: a running in-memory Tollgate and a full sign-in.

`server` is a fresh Tollgate per test. `Server.sign_in` runs the whole authorization code
flow in a browser that keeps its session, so only the first sign-in of a test pays for the
argon2 password check; later ones get their code straight from /authorize.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from chalice.test import Client as ChaliceClient

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
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
    tollgate,
)

__all__ = [
    "ISSUER",
    "PASSWORD",
    "REDIRECT",
    "SECRET",
    "Flow",
    "Server",
    "auth_params",
    "authorize_path",
    "claims_of",
    "client_auth",
    "query_of",
    "raw_items",
]

FORM = "application/x-www-form-urlencoded"
# PKCE is required of every client (SECURITY.md item 36): requests built here carry this
# challenge unless a test passes its own, or None to leave PKCE out.
VERIFIER, CHALLENGE = pkce_pair()


def authorize_path(params: dict[str, str] | list[tuple[str, str]]) -> str:
    return "/authorize?" + urlencode(params)


def auth_params(
    client_id: str = "web",
    *,
    redirect_uri: str | None = REDIRECT,
    scope: str = "openid",
    state: str | None = "st4te",
    challenge: str | None = CHALLENGE,
    **extra: str,
) -> dict[str, str]:
    """An authorization request (RFC 6749 4.1.1); None leaves a parameter out."""
    params = {"response_type": "code", "client_id": client_id, "scope": scope}
    if redirect_uri is not None:
        params["redirect_uri"] = redirect_uri
    if state is not None:
        params["state"] = state
    if challenge is not None:
        params["code_challenge"] = challenge
        params["code_challenge_method"] = "S256"
    params.update(extra)
    return params


def query_of(location: str) -> dict[str, list[str]]:
    """Every query parameter of a redirect, all values kept (strictly parsed)."""
    return parse_qs(urlsplit(location).query, keep_blank_values=True, strict_parsing=True)


def client_auth(client_id: str, secret: str = SECRET) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, form fields) authenticating a seeded client its registered way."""
    if client_id == "post":
        return {}, {"client_id": client_id, "client_secret": secret}
    if client_id == "spa":
        return {}, {"client_id": client_id}
    return {"Authorization": basic(client_id, secret)}, {}


def raw_items(deps: Deps) -> list[Item]:
    """Every item the in-memory table holds, expired or not, straight from its dict."""
    table: Any = deps.store.table
    items: dict[tuple[str, str], Item] = table._items
    return list(items.values())


@dataclass
class Flow:
    """The outcome of a sign-in: the code and what redeeming it needs."""

    code: str
    verifier: str | None
    client_id: str
    redirect_uri: str | None
    location: str
    browser: Browser

    @property
    def params(self) -> dict[str, list[str]]:
        return query_of(self.location)


@dataclass
class Server:
    deps: Deps
    clock: FakeClock
    http: ChaliceClient
    browsers: list[Browser] = field(default_factory=list)

    def browser(self) -> Browser:
        return Browser(self.http)

    @property
    def default_browser(self) -> Browser:
        if not self.browsers:
            self.browsers.append(self.browser())
        return self.browsers[0]

    def codes(self) -> list[Item]:
        return [i for i in raw_items(self.deps) if str(i["pk"]).startswith("CODE#")]

    def authorize(self, browser: Browser, params: dict[str, str]) -> Answer:
        return browser.get(authorize_path(params))

    def login(self, browser: Browser, answer: Answer) -> Answer:
        """From /authorize's redirect to the login page, sign in as alice."""
        page = browser.follow(answer)
        assert page.status == 200, page.text
        form = {"csrf": csrf_of(page.text), "username": "alice", "password": PASSWORD}
        return browser.post_form(action_of(page.text), form)

    def consent(self, browser: Browser, answer: Answer, decision: str = "allow") -> Answer:
        page = browser.follow(answer)
        assert page.status == 200, page.text
        form = {"csrf": csrf_of(page.text), "decision": decision}
        return browser.post_form(action_of(page.text), form)

    def finish(self, browser: Browser, answer: Answer) -> Answer:
        """Drive login and consent until the answer redirects back to the client."""
        for _ in range(3):
            location = answer.location or ""
            assert answer.status == 303, (answer.status, answer.text)
            if "/interaction/" not in location:
                return answer
            if location.endswith("/login"):
                answer = self.login(browser, answer)
            else:
                answer = self.consent(browser, answer)
        raise AssertionError(f"sign-in did not finish: {answer.location}")

    def sign_in(
        self,
        client_id: str = "web",
        *,
        redirect_uri: str | None = REDIRECT,
        pkce: bool = True,
        scope: str = "openid",
        browser: Browser | None = None,
        **extra: str,
    ) -> Flow:
        """A complete sign-in and consent; returns the code the client received."""
        browser = browser or self.default_browser
        verifier, challenge = pkce_pair() if pkce else (None, None)
        params = auth_params(
            client_id, redirect_uri=redirect_uri, scope=scope, challenge=challenge, **extra
        )
        answer = self.finish(browser, self.authorize(browser, params))
        location = answer.location
        assert location is not None
        found = query_of(location)
        assert "code" in found, location
        return Flow(found["code"][0], verifier, client_id, redirect_uri, location, browser)

    def token(
        self,
        form: dict[str, str] | list[tuple[str, str]],
        *,
        headers: dict[str, str] | None = None,
        content_type: str | None = FORM,
        body: bytes | None = None,
    ) -> Answer:
        """POST to the token endpoint without any browser cookies."""
        all_headers = dict(headers or {})
        if content_type is not None:
            all_headers["Content-Type"] = content_type
        raw = urlencode(form).encode() if body is None else body
        return Browser(self.http).request("POST", "/token", body=raw, headers=all_headers)

    def redeem(
        self,
        flow: Flow,
        *,
        client_id: str | None = None,
        verifier: str | None = None,
        redirect_uri: str | None = None,
        omit: tuple[str, ...] = (),
        secret: str = SECRET,
    ) -> Answer:
        """Redeem a code at the token endpoint; by default exactly as the flow asks."""
        client_id = client_id or flow.client_id
        headers, form = client_auth(client_id, secret)
        form = {"grant_type": "authorization_code", "code": flow.code, **form}
        chosen_uri = redirect_uri or flow.redirect_uri
        if chosen_uri is not None:
            form["redirect_uri"] = chosen_uri
        chosen_verifier = verifier or flow.verifier
        if chosen_verifier is not None:
            form["code_verifier"] = chosen_verifier
        for name in omit:
            form.pop(name, None)
        return self.token(form, headers=headers)

    def redeem_code(
        self, client_id: str, code: str, verifier: str | None, redirect_uri: str = REDIRECT
    ) -> Answer:
        """Redeem a bare code as `client_id` would, with its verifier and redirect_uri."""
        flow = Flow(code, verifier, client_id, redirect_uri, "", self.default_browser)
        return self.redeem(flow)


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def dumps(item: Item) -> str:
    return json.dumps(item, default=str, ensure_ascii=False)


@pytest.fixture
def server() -> Iterator[Server]:
    with tollgate() as (deps, clock, http):
        yield Server(deps, clock, http)
