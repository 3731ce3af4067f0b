"""Issue 9: the whole browser flow under an issuer with a path, as on a default deployment.

Without a custom domain the issuer is `https://<api>.execute-api.<region>.amazonaws.com/
<stage>`. Here `chalice local` sits behind tests/support/stage_proxy.py, which strips the
stage as API Gateway does and answers 403 for any path outside it; Chromium runs
authorize, login, consent and the code, the client exchanges it and calls UserInfo, and
the person signs out. Not one request may leave the stage.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from playwright.sync_api import Browser

from chalicelib.admin import local
from tests.browser.conftest import Stack

pytestmark = pytest.mark.browser

DOCUMENTS = ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]


def _open(request: urllib.request.Request | str) -> tuple[int, dict[str, str], bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _json(url: str, headers: dict[str, str] | None = None) -> Any:
    status, _headers, body = _open(urllib.request.Request(url, headers=headers or {}))
    assert status == 200, (url, status, body)
    return json.loads(body)


def _urls(document: Any) -> list[str]:
    if isinstance(document, dict):
        return [u for value in document.values() for u in _urls(value)]
    if isinstance(document, list):
        return [u for value in document for u in _urls(value)]
    return [document] if isinstance(document, str) and "://" in document else []


def test_the_proxy_behaves_as_api_gateway(staged_stack: Stack) -> None:
    """Outside the stage: 403 Forbidden, the app never asked (the test can fail)."""
    proxy = staged_stack.proxy
    assert proxy is not None and staged_stack.issuer == proxy.url
    for path in ("/authorize", "/static/tollgate.css", "/logout", "/"):
        status, _headers, body = _open(proxy.origin + path)
        assert (status, json.loads(body)) == (403, {"message": "Forbidden"}), path
    status, _headers, _body = _open(staged_stack.issuer + "/jwks.json")
    assert status == 200


@pytest.mark.parametrize("path", DOCUMENTS)
def test_metadata_under_the_stage(staged_stack: Stack, path: str) -> None:
    """Both documents at `<issuer>/.well-known/...`; every URL in them answers in the stage."""
    doc = _json(staged_stack.issuer + path)
    assert doc["issuer"] == staged_stack.issuer
    urls = _urls(doc)
    assert len(urls) >= 6
    for url in urls:
        assert url == staged_stack.issuer or url.startswith(staged_stack.issuer + "/"), url
    # RFC 8414 3.1's own location for this issuer is outside the stage: API Gateway's 403.
    proxy = staged_stack.proxy
    assert proxy is not None
    strict = f"{proxy.origin}/.well-known/oauth-authorization-server/{proxy.stage}"
    assert _open(strict)[0] == 403


def test_whole_flow_under_a_stage_path(staged_stack: Stack, browser: Browser) -> None:
    issuer, creds, proxy = staged_stack.issuer, staged_stack.creds, staged_stack.proxy
    assert proxy is not None
    start = len(proxy.seen)
    doc = _json(f"{issuer}/.well-known/openid-configuration")
    assert creds.redirect_uri == f"{issuer}/demo/callback"
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)

    # 1. authorize -> login page, styled (the stylesheet came from inside the stage).
    url, verifier = local.authorization_url(
        doc["authorization_endpoint"], creds.web_client_id, creds.redirect_uri
    )
    state = parse_qs(urlsplit(url).query)["state"][0]
    page.goto(url)
    page.wait_for_url(f"{issuer}/interaction/*/login")
    radius = page.locator(".card").evaluate("e => getComputedStyle(e).borderRadius")
    assert radius not in ("", "0px")

    # 2. login -> consent -> back at the client (Tollgate's demo callback, in the stage).
    page.get_by_label("Username").fill(creds.username)
    page.get_by_label("Password").fill(creds.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{issuer}/interaction/*/consent")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{creds.redirect_uri}?**")
    params = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert params["state"] == state and params["iss"] == issuer
    assert page.get_by_text("Authorization code received").is_visible()

    # 3. code -> tokens at the advertised token endpoint; the access token verifies.
    basic = base64.b64encode(f"{creds.web_client_id}:{creds.web_client_secret}".encode())
    form = {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": creds.redirect_uri,
        "code_verifier": verifier,
    }
    request = urllib.request.Request(
        doc["token_endpoint"],
        data=urlencode(form).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Basic {basic.decode()}",
        },
    )
    status, _headers, body = _open(request)
    assert status == 200, body
    tokens = json.loads(body)
    keys = jwt.PyJWKSet.from_dict(_json(doc["jwks_uri"]))
    kid = jwt.get_unverified_header(tokens["access_token"])["kid"]
    claims = jwt.decode(
        tokens["access_token"], keys[kid].key, algorithms=["ES256"], audience=issuer, issuer=issuer
    )

    # 4. UserInfo.
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert _json(doc["userinfo_endpoint"], bearer)["sub"] == claims["sub"]

    # 5. logout: the confirmation form posts inside the stage.
    page.goto(doc["end_session_endpoint"])
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    assert page.get_by_text("You are signed out").is_visible()

    # Nothing left the stage, and the pages broke no policy of their own.
    assert proxy.refused(since=start) == []
    assert problems == []
    seen = proxy.seen[start:]
    methods = {(method, path.split("?")[0].split("/")[-1]) for method, path, _ in seen}
    assert {("POST", "login"), ("POST", "consent"), ("POST", "logout")} <= methods
    context.close()
