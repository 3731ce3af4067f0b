"""Issue 12 item 9: openid-client's dynamic registration path (pinned in tests/clients):
it registers at Tollgate's registration_endpoint (RFC 7591), authorizes for the example MCP
server with PKCE and `resource`, calls a tool through Tollgate's authorizer, and refreshes."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import CLIENTS, Stack
from tests.browser.test_mcp_python_sdk import mcp_url, register_resource
from tests.browser.test_mcp_typescript_sdk import _line
from tests.support.local_stack import free_port

pytestmark = pytest.mark.browser
__all__ = ["mcp_url"]  # the MCP server fixture, shared with the MCP SDKs' tests


def test_openid_client_registers_itself_and_reaches_the_mcp_server(
    stack: Stack, mcp_url: str, browser: Browser, node: str
) -> None:
    register_resource(stack, mcp_url)
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    settings = {"issuer": stack.issuer, "redirect_uri": redirect_uri, "resource": mcp_url}
    env = {**os.environ, "OIDC_CLIENT": json.dumps(settings), "NO_PROXY": "127.0.0.1,localhost"}
    process = subprocess.Popen(
        [node, str(CLIENTS / "openid_client_dcr.mjs")],
        cwd=CLIENTS,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        authorize = _line(process)["authorize"]
        context = browser.new_context()
        context.route(f"{redirect_uri}**", lambda route: route.fulfill(body="done"))
        page = context.new_page()
        page.goto(authorize)
        page.get_by_label("Username").fill(stack.creds.username)
        page.get_by_label("Password").fill(stack.creds.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/consent")
        page.get_by_role("button", name="Allow").click()
        page.wait_for_url(f"{redirect_uri}?**")
        callback = page.url
        context.close()
        assert process.stdin is not None
        process.stdin.write(callback + "\n")
        process.stdin.flush()
        out: dict[str, Any] = _line(process)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stored = json.loads(json.dumps(out))
    for answer in (stored["first"], stored["second"]):
        assert answer["status"] == 200
        who = answer["body"]["result"]["structuredContent"]
        assert who["client_id"] == stored["client_id"]
        assert {"notes:read", "notes:write"} <= set(who["scopes"])
    assert stored["rotated"] is True
