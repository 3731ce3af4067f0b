"""Helpers for dynamic client registration (RFC 7591) and its management (RFC 7592)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.admin.cli import main
from chalicelib.stores.repository import Store
from tests.support.oauth import REDIRECT, Answer, Browser

JSON = {"Content-Type": "application/json"}
# What an MCP host sends (the MCP Python SDK's OAuthClientMetadata, trimmed).
NATIVE = {
    "client_name": "Example MCP host",
    "redirect_uris": ["http://localhost:33418/callback"],
    "token_endpoint_auth_method": "none",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
}
# A public client whose redirect URI the functional flows follow (tests.support.oauth).
PUBLIC_WEB = {**NATIVE, "redirect_uris": [REDIRECT], "scope": "openid profile offline_access"}


def register(browser: Browser, doc: Any, token: str | None = None, **headers: str) -> Answer:
    """POST /register with `doc` as JSON (a str is sent as it is)."""
    sent = {**JSON, **headers}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    body = doc if isinstance(doc, str) else json.dumps(doc)
    return browser.request("POST", "/register", body=body, headers=sent, cookies=False)


def manage(
    browser: Browser, method: str, registered: dict[str, Any], doc: Any = None, token: str = ""
) -> Answer:
    """A RFC 7592 request to the client's registration_client_uri with its token."""
    headers = {"Authorization": f"Bearer {token or registered['registration_access_token']}"}
    body = ""
    if doc is not None:
        headers.update(JSON)
        body = json.dumps(doc)
    uri = registered["registration_client_uri"]
    return browser.request(method, uri, body=body, headers=headers, cookies=False)


def initial_token(store: Store, *argv: str) -> str:
    """A new initial access token, made with the command line."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["--json", "registration", "token", "create", *argv], store=store)
    assert code == 0
    token: str = json.loads(out.getvalue())["initial_access_token"]
    return token
