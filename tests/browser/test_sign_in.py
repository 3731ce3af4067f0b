"""A person signs in with a real browser: Playwright drives Debian's Chromium headless
against `chalice local` on moto's DynamoDB.

Sign in, consent, land on the client's redirect URI with a code; the client exchanges the
code and the access token's signature verifies with the published JWKS. A second
authorization then skips both login and consent (SSO session plus stored consent).
"""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from playwright.sync_api import Browser, Page

from chalicelib.admin import local
from tests.browser.conftest import Stack

pytestmark = pytest.mark.browser


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get_json(url: str) -> Any:
    with _opener().open(url, timeout=10) as response:
        return json.loads(response.read())


def _exchange(stack: Stack, code: str, verifier: str) -> dict[str, Any]:
    creds = stack.creds
    body = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": creds.redirect_uri,
            "code_verifier": verifier,
        }
    ).encode()
    basic = base64.b64encode(f"{creds.web_client_id}:{creds.web_client_secret}".encode()).decode()
    request = urllib.request.Request(
        f"{stack.issuer}/token",
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Basic {basic}",
        },
    )
    with _opener().open(request, timeout=10) as response:
        assert response.headers["Cache-Control"] == "no-store"
        result: dict[str, Any] = json.loads(response.read())
        return result


def _callback_params(page: Page) -> dict[str, str]:
    url = urlsplit(page.url)
    assert url.path == "/demo/callback", page.url
    return {k: v[0] for k, v in parse_qs(url.query).items()}


def _authorize(stack: Stack, client_id: str) -> tuple[str, str, str]:
    authorize = f"{stack.issuer}/authorize"
    url, verifier = local.authorization_url(authorize, client_id, stack.creds.redirect_uri)
    state = parse_qs(urlsplit(url).query)["state"][0]
    return url, verifier, state


def test_sign_in_consent_token_then_single_sign_on(stack: Stack, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    seen: list[str] = []
    page.on("framenavigated", lambda frame: seen.append(urlsplit(frame.url).path))

    # 1. Not signed in: the login page, with the client's name on it.
    url, verifier, state = _authorize(stack, stack.creds.web_client_id)
    page.goto(url)
    assert "/login" in page.url
    assert "Demo Web App" in page.content()
    page.get_by_label("Username").fill(stack.creds.username)
    page.get_by_label("Password").fill(stack.creds.password)
    page.get_by_role("button", name="Sign in").click()

    # 2. Consent: each scope in plain words; Allow.
    page.wait_for_url("**/consent")
    assert page.get_by_text("See your email address").is_visible()
    page.get_by_role("button", name="Allow").click()

    # 3. Back at the client with a code, the state and the issuer (RFC 9207).
    page.wait_for_url("**/demo/callback?**")
    params = _callback_params(page)
    assert params["state"] == state
    assert params["iss"] == stack.issuer

    # 4. The client exchanges the code; the token verifies with the published JWKS.
    tokens = _exchange(stack, params["code"], verifier)
    jwks = jwt.PyJWKSet.from_dict(_get_json(f"{stack.issuer}/jwks.json"))
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["typ"] == "at+jwt"
    claims = jwt.decode(
        tokens["access_token"],
        jwks[header["kid"]].key,
        algorithms=["ES256"],
        audience=stack.issuer,
        issuer=stack.issuer,
    )
    assert claims["client_id"] == stack.creds.web_client_id
    assert set(claims["scope"].split()) == {"openid", "profile", "email"}

    # 5. A second authorization of the same client: no login page, no consent page.
    seen.clear()
    url, verifier, state = _authorize(stack, stack.creds.web_client_id)
    page.goto(url)
    page.wait_for_url("**/demo/callback?**")
    assert not any(p.startswith("/interaction/") for p in seen), seen
    params = _callback_params(page)
    assert params["state"] == state
    second = _exchange(stack, params["code"], verifier)
    assert second["access_token"] != tokens["access_token"]

    # 6. Another client in the same browser: single sign-on skips login, consent is asked.
    seen.clear()
    url, _verifier, _state = _authorize(stack, stack.creds.spa_client_id)
    page.goto(url)
    page.wait_for_url("**/consent")
    assert not any(p.endswith("/login") for p in seen), seen
    assert "Demo Single-Page App" in page.content()
    context.close()


def test_pages_pass_their_own_content_security_policy(stack: Stack, browser: Browser) -> None:
    """The stylesheet loads under the CSP, and the browser reports no violation."""
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    url, _verifier, _state = _authorize(stack, stack.creds.spa_client_id)
    response = page.goto(url)
    assert response is not None and response.ok
    assert "frame-ancestors 'none'" in (response.headers.get("content-security-policy") or "")
    # The card is styled: the stylesheet was allowed and applied.
    radius = page.locator(".card").evaluate("e => getComputedStyle(e).borderRadius")
    assert radius not in ("", "0px")
    assert problems == []
    context.close()
