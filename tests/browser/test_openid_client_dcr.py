"""Issue 12 item 9: openid-client's dynamic registration path (pinned in tests/clients):
it registers at Tollgate's registration_endpoint (RFC 7591), authorizes for the example MCP
server with PKCE and `resource`, calls a tool through Tollgate's authorizer, and refreshes."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import CLIENTS, Stack
from tests.browser.test_mcp_python_sdk import mcp_url, register_resource
from tests.support.local_stack import free_port
from tests.support.node_client import run_node_client

pytestmark = pytest.mark.browser
__all__ = ["mcp_url"]  # the MCP server fixture, shared with the MCP SDKs' tests


def test_openid_client_registers_itself_and_reaches_the_mcp_server(
    stack: Stack, mcp_url: str, browser: Browser, node: str
) -> None:
    register_resource(stack, mcp_url)
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    settings = {"issuer": stack.issuer, "redirect_uri": redirect_uri, "resource": mcp_url}
    out = run_node_client(
        node,
        CLIENTS / "openid_client_dcr.mjs",
        ("OIDC_CLIENT", settings),
        browser,
        stack,
        redirect_uri=redirect_uri,
        what="openid-client",
    )
    stored = json.loads(json.dumps(out))
    for answer in (stored["first"], stored["second"]):
        assert answer["status"] == 200
        who = answer["body"]["result"]["structuredContent"]
        assert who["client_id"] == stored["client_id"]
        assert {"notes:read", "notes:write"} <= set(who["scopes"])
    assert stored["rotated"] is True
