"""SECURITY.md 42: a single-page app (a public client) on another loopback origin completes
the code flow with `fetch`, and a foreign origin is refused by the browser itself.

The SPA is static HTML and JavaScript (PKCE with crypto.subtle) served from its own port
and registered with a redirect URI there. Tollgate runs behind the stage proxy, so its
issuer has a path too. A third origin, not among the client's redirect URIs, runs the
same calls: it may read the public documents, and CORS stops the rest.
"""

from __future__ import annotations

import secrets
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from chalicelib.admin import local
from chalicelib.clock import SystemClock
from chalicelib.stores.models import PUBLIC, Client
from tests.browser.conftest import Stack

pytestmark = pytest.mark.browser

# The SPA: `/` starts the authorization, `/cb` redeems the code and calls the APIs.
SPA = """<!doctype html>
<html><head><meta charset="utf-8"><title>SPA</title></head>
<body><pre id="out">working</pre>
<script>
const ISSUER = "__ISSUER__", CLIENT_ID = "__CLIENT_ID__";
const REDIRECT_URI = location.origin + "/cb";
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
const discover = async () =>
  (await fetch(ISSUER + "/.well-known/openid-configuration")).json();

async function start() {
  const doc = await discover();
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(await crypto.subtle.digest(
    "SHA-256", new TextEncoder().encode(verifier)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem("verifier", verifier);
  sessionStorage.setItem("state", state);
  sessionStorage.setItem("keep", new URLSearchParams(location.search).has("keep"));
  location.assign(doc.authorization_endpoint + "?" + new URLSearchParams({
    response_type: "code", client_id: CLIENT_ID, redirect_uri: REDIRECT_URI,
    scope: "openid profile", state, code_challenge: challenge,
    code_challenge_method: "S256"}));
}

async function callback() {
  const params = new URLSearchParams(location.search);
  if (params.get("state") !== sessionStorage.getItem("state")) throw new Error("state");
  const doc = await discover();
  const token = await fetch(doc.token_endpoint, {method: "POST", body: new URLSearchParams({
    grant_type: "authorization_code", code: params.get("code"), client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI, code_verifier: sessionStorage.getItem("verifier")})});
  const tokens = await token.json();
  const keys = await (await fetch(doc.jwks_uri)).json();
  const bearer = {headers: {Authorization: "Bearer " + tokens.access_token}};
  const userinfo = await fetch(doc.userinfo_endpoint, bearer);
  const claims = await userinfo.json();
  window.result = {
    iss: params.get("iss"), token_status: token.status, token_type: tokens.token_type,
    access_token: tokens.access_token, kids: keys.keys.map((k) => k.kid),
    userinfo_status: userinfo.status, sub: claims.sub};
  if (sessionStorage.getItem("keep") === "true") return;  // the token stays valid
  const revoke = await fetch(doc.revocation_endpoint, {method: "POST",
    body: new URLSearchParams({token: tokens.access_token, client_id: CLIENT_ID})});
  const after = await fetch(doc.userinfo_endpoint, bearer);
  Object.assign(window.result, {revoke_status: revoke.status, after_revoke: after.status,
    after_revoke_challenge: after.headers.get("WWW-Authenticate")});
}

(location.pathname === "/cb" ? callback() : start())
  .then(() => { window.done = true; })
  .catch((e) => { window.result = {error: String(e)}; window.done = true; });
</script></body></html>
"""

# Run in the foreign origin's page: each call's status, or the error fetch rejected with.
FOREIGN = """async ([issuer, clientId, accessToken]) => {
  const attempt = async (url, init) => {
    try { const r = await fetch(url, init); return "status " + r.status; }
    catch (e) { return e.name; }
  };
  const form = (fields) => ({method: "POST", body: new URLSearchParams(fields)});
  return {
    discovery: await attempt(issuer + "/.well-known/openid-configuration"),
    jwks: await attempt(issuer + "/jwks.json"),
    token: await attempt(issuer + "/token", form({grant_type: "authorization_code",
      code: "not-a-code", client_id: clientId, redirect_uri: "x", code_verifier: "x"})),
    userinfo: await attempt(issuer + "/userinfo",
      {headers: {Authorization: "Bearer " + accessToken}}),
    revoke: await attempt(issuer + "/revoke", form({token: accessToken, client_id: clientId})),
  };
}"""


@dataclass(frozen=True)
class Site:
    origin: str


@contextmanager
def static_site(html: str) -> Iterator[Site]:
    """`html` at every path of a free loopback port: a page on an origin of its own."""
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _register(stack: Stack, client_id: str, origin: str) -> None:
    store = local.local_store(stack.moto_url)
    store.clients.create(
        Client(
            client_id=client_id,
            name="Browser SPA",
            client_type=PUBLIC,
            auth_method="none",
            redirect_uris=[f"{origin}/cb"],
            grant_types=["authorization_code"],
            scopes=["openid", "profile"],
            created_at=SystemClock().now(),
        )
    )


def _run(page: Page, stack: Stack, spa: Site, *, keep: bool) -> dict[str, Any]:
    """The SPA's flow in `page`; signs in and consents when Tollgate asks."""
    page.goto(spa.origin + ("/?keep" if keep else "/"))
    page.wait_for_url(lambda url: url.startswith((f"{spa.origin}/cb?", f"{stack.issuer}/")))
    if page.url.startswith(stack.issuer):
        page.wait_for_url(f"{stack.issuer}/interaction/*/login")
        page.get_by_label("Username").fill(stack.creds.username)
        page.get_by_label("Password").fill(stack.creds.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{stack.issuer}/interaction/*/consent")
        page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{spa.origin}/cb?**")
    page.wait_for_function("window.done === true")
    result: dict[str, Any] = page.evaluate("window.result")
    assert "error" not in result, result
    return result


def test_a_spa_completes_the_flow_with_fetch_and_a_foreign_origin_cannot(
    staged_stack: Stack, browser: Browser
) -> None:
    client_id = "spa-" + secrets.token_hex(8)
    html = SPA.replace("__ISSUER__", staged_stack.issuer).replace("__CLIENT_ID__", client_id)
    with static_site(html) as spa, static_site("<!doctype html><title>x</title>") as foreign:
        _register(staged_stack, client_id, spa.origin)
        context = browser.new_context()
        page = context.new_page()
        result = _run(page, staged_stack, spa, keep=False)
        assert result["iss"] == staged_stack.issuer
        assert (result["token_status"], result["token_type"]) == (200, "Bearer")
        assert result["kids"]
        assert (result["userinfo_status"], result["revoke_status"]) == (200, 200)
        assert result["sub"]
        # The page read the revoked token's 401 and its challenge (exposed to it by CORS).
        assert result["after_revoke"] == 401
        assert result["after_revoke_challenge"] == (
            'Bearer error="invalid_token", error_description="the access token was revoked"'
        )

        # Again (single sign-on, stored consent): a live token for the foreign page to try.
        live = _run(page, staged_stack, spa, keep=True)["access_token"]
        context.close()

        context = browser.new_context()
        page = context.new_page()
        page.goto(foreign.origin + "/")
        seen = page.evaluate(FOREIGN, [staged_stack.issuer, client_id, live])
        context.close()
    # Public documents are readable from anywhere; the rest fails the browser's CORS check
    # (with CORS open to any origin they would be 400 invalid_grant, 200 and 200).
    assert seen == {
        "discovery": "status 200",
        "jwks": "status 200",
        "token": "TypeError",
        "userinfo": "TypeError",
        "revoke": "TypeError",
    }
    # And the refused revocation did nothing: the token still works.
    request = urllib.request.Request(
        f"{staged_stack.issuer}/userinfo", headers={"Authorization": f"Bearer {live}"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as answer:
        assert answer.status == 200
