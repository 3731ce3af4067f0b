"""Issue 12 item 9, second client: the MCP TypeScript SDK (pinned in tests/clients) driven
the same way as the Python SDK (tests/browser/test_mcp_python_sdk.py): Node.js runs
tests/clients/mcp_ts_client.mjs, Playwright signs the person in, pytest checks each step."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import CLIENTS, Stack
from tests.browser.test_mcp_python_sdk import (
    documents,
    mcp_url,
    pre_register,
    register_resource,
    stack,
)
from tests.support.document_server import DocumentServer
from tests.support.local_stack import free_port
from tests.support.node_client import run_node_client

pytestmark = pytest.mark.browser

# The fixtures shared with the Python SDK's test: Tollgate (trusting the host's document
# site), that site, and the MCP server.
__all__ = ["documents", "mcp_url", "stack"]


def run_client(
    node: str, stack: Stack, browser: Browser, settings: dict[str, str]
) -> dict[str, Any]:
    return run_node_client(
        node,
        CLIENTS / "mcp_ts_client.mjs",
        ("MCP_CLIENT", settings),
        browser,
        stack,
        redirect_uri=settings["redirect_uri"],
        what="the MCP TypeScript SDK",
    )


def test_the_mcp_typescript_sdk_connects_with_a_pre_registered_client(
    stack: Stack, mcp_url: str, browser: Browser, node: str
) -> None:
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    pre_register(stack, "mcp-typescript-sdk", redirect_uri, mcp_url)
    settings = {"server": mcp_url, "redirect_uri": redirect_uri, "client_id": "mcp-typescript-sdk"}
    out = run_client(node, stack, browser, settings)
    check_every_step(out, stack, mcp_url, "mcp-typescript-sdk")
    assert not any("/register" in seen for seen in out["firstSeen"])


def check_every_step(out: dict[str, Any], stack: Stack, mcp_url: str, client_id: str) -> None:
    origin = mcp_url.removesuffix("/mcp")
    first = out["firstSeen"]
    assert first[0] == f"POST {mcp_url}", first
    assert f"GET {origin}/.well-known/oauth-protected-resource/mcp" in first  # RFC 9728 3.1
    assert any(s.startswith(f"GET {stack.issuer}/.well-known/") for s in first)  # RFC 8414
    assert f"POST {stack.issuer}/token" in first
    who = out["first"]["whoami"]
    assert out["client_id"] == who["client_id"] == client_id
    # It asks for the scopes the server's metadata lists (no offline_access, unlike Python's).
    assert sorted(who["scopes"]) == ["notes:read", "notes:write"]
    assert out["first"]["added"] is False
    first_note, second_note = out["notes"]
    assert out["first"]["listed"]["result"][0]["text"] == first_note
    # Refresh: the stale token's 401, then a token request, then the call again.
    assert f"POST {stack.issuer}/token" in out["secondSeen"]
    assert out["refreshed"] is True
    listed = [n["text"] for n in out["second"]["listed"]["result"]]
    assert listed[:2] == [second_note, first_note]


def test_the_mcp_typescript_sdk_registers_itself_by_dcr(
    stack: Stack, mcp_url: str, browser: Browser, node: str
) -> None:
    register_resource(stack, mcp_url)
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    out = run_client(node, stack, browser, {"server": mcp_url, "redirect_uri": redirect_uri})
    assert f"POST {stack.issuer}/register" in out["firstSeen"]
    check_every_step(out, stack, mcp_url, out["client_id"])


def test_the_mcp_typescript_sdk_uses_a_client_id_metadata_document(
    stack: Stack, documents: DocumentServer, mcp_url: str, browser: Browser, node: str
) -> None:
    register_resource(stack, mcp_url)
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    url = documents.document(
        "/mcp-ts-host.json", redirect_uris=[redirect_uri], client_name="MCP host (TypeScript)"
    )
    settings = {"server": mcp_url, "redirect_uri": redirect_uri, "client_metadata_url": url}
    out = run_client(node, stack, browser, settings)
    assert not any("/register" in seen for seen in out["firstSeen"])
    assert "/mcp-ts-host.json" in documents.requests
    check_every_step(out, stack, mcp_url, url)
