"""Issue 12 item 9, third client: mcp-remote 0.15.1 (pinned in tests/clients), the stdio
proxy that desktop MCP hosts start for a remote server, with nothing configured. It finds
Tollgate from the example MCP server's RFC 9728 metadata, registers itself by DCR (or uses a
Client ID Metadata Document with --client-metadata-url), prints the authorization URL (its
browser is `true` here: Playwright signs the person in and lands on mcp-remote's own
callback listener), then proxies `tools/call`. A second run, with its stored access token
made stale, refreshes it with no browser at all."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from chalicelib.admin import local
from chalicelib.stores.models import DYNAMIC
from tests.browser.conftest import CLIENTS, Stack
from tests.browser.test_mcp_python_sdk import documents, mcp_url, register_resource, stack
from tests.support.document_server import DocumentServer
from tests.support.local_stack import free_port
from tests.support.node_client import sign_in_and_consent

pytestmark = pytest.mark.browser
__all__ = ["documents", "mcp_url", "stack"]  # shared with the MCP SDKs' tests

PROXY = CLIENTS / "node_modules" / "mcp-remote" / "dist" / "proxy.js"
ASK = "Please authorize this client by visiting:"


class Remote:
    """One mcp-remote process: JSON-RPC on its stdin and stdout, its log (stderr) kept."""

    def __init__(self, node: str, url: str, port: int, config: Path, *args: str) -> None:
        env = {
            **os.environ,
            "MCP_REMOTE_CONFIG_DIR": str(config),
            "BROWSER": "true",  # the opener runs `true URL`: no browser of its own
            "NO_PROXY": "127.0.0.1,localhost",
        }
        self.process = subprocess.Popen(
            [node, str(PROXY), url, str(port), "--allow-http", *args],
            cwd=CLIENTS,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.port = port
        self.log: list[str] = []
        self.asked = threading.Event()
        self.url = ""
        self.answers: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read_log, daemon=True).start()
        threading.Thread(target=self._read_answers, daemon=True).start()

    def _read_answers(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.answers.put(line)
        self.answers.put("")

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            if self.url == "" and len(self.log) > 1 and ASK in self.log[-2]:
                self.url = line.strip()
                self.asked.set()

    def call(self, message: dict[str, Any]) -> dict[str, Any] | None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        if "id" not in message:
            return None
        while True:
            try:
                line = self.answers.get(timeout=60)
            except queue.Empty:
                line = ""
            if not line:
                pytest.fail("mcp-remote gave no answer: " + "".join(self.log)[-3000:])
            answer: dict[str, Any] = json.loads(line)
            if answer.get("id") == message["id"]:
                return answer

    def session(self) -> dict[str, Any]:
        """initialize, then whoami and list_notes, as a host would."""
        self.call(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "pytest", "version": "1"},
                },
            }
        )
        self.call({"jsonrpc": "2.0", "method": "notifications/initialized"})
        results = {}
        for number, tool in enumerate(("whoami", "list_notes"), start=2):
            params = {"name": tool, "arguments": {}}
            answer = self.call(
                {"jsonrpc": "2.0", "id": number, "method": "tools/call", "params": params}
            )
            assert answer is not None and "result" in answer, answer
            results[tool] = answer["result"]
        return results

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@pytest.fixture
def remote_config(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "mcp-auth"


def _tokens_file(config: Path) -> Path:
    (found,) = config.rglob("*_tokens.json")
    return found


def _callback(port: int) -> str:
    """mcp-remote's redirect URI: its listener on `port` (hostname localhost by default)."""
    return f"http://localhost:{port}/oauth/callback"


def _connect(remote: Remote, stack: Stack, browser: Browser) -> dict[str, Any]:
    """The person signs in at the URL mcp-remote printed; then a host's session through it."""
    try:
        assert remote.asked.wait(timeout=60), "".join(remote.log)[-3000:]
        sign_in_and_consent(browser, stack, remote.url, _callback(remote.port), stub_redirect=False)
        return remote.session()
    finally:
        remote.close()


def _refresh(node: str, url: str, config: Path, port: int) -> tuple[dict[str, Any], list[str]]:
    """A new run (on the same callback port: mcp-remote keeps a registration per redirect
    URI), whose stored access token no longer works: a refresh, no browser."""
    path = _tokens_file(config)
    stored = json.loads(path.read_text())
    stored["access_token"] = "stale." + stored["access_token"][-12:]
    path.write_text(json.dumps(stored))
    remote = Remote(node, url, port, config)
    try:
        return remote.session(), remote.log
    finally:
        remote.close()


def _who(result: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = result["whoami"]["structuredContent"]
    return found


def test_mcp_remote_registers_itself_by_dcr_and_refreshes(
    stack: Stack, mcp_url: str, browser: Browser, node: str, remote_config: Path
) -> None:
    register_resource(stack, mcp_url)
    remote = Remote(node, mcp_url, free_port(), remote_config)
    first, log = _connect(remote, stack, browser), remote.log
    who = _who(first)
    assert sorted(who["scopes"]) == ["notes:read", "notes:write"]
    stored = json.loads(next(remote_config.rglob("*_client_info.json")).read_text())
    assert who["client_id"] == stored["client_id"]  # the client Tollgate registered (DCR)
    registered = local.local_store(stack.moto_url).clients.get(who["client_id"])
    assert registered is not None and registered.origin == DYNAMIC  # by POST /register
    authorize = next(line for line in log if "/authorize?" in line)
    assert authorize.strip().startswith(f"{stack.issuer}/authorize?")
    assert "code_challenge_method=S256" in authorize and "resource=" in authorize
    second, log = _refresh(node, mcp_url, remote_config, remote.port)
    assert _who(second)["client_id"] == who["client_id"]
    assert not any(ASK in line for line in log)  # refreshed: nobody was asked again


def test_mcp_remote_uses_a_client_id_metadata_document(
    *,
    stack: Stack,
    documents: DocumentServer,
    mcp_url: str,
    browser: Browser,
    node: str,
    remote_config: Path,
) -> None:
    register_resource(stack, mcp_url)
    port = free_port()
    url = documents.document(
        "/mcp-remote.json", redirect_uris=[_callback(port)], client_name="mcp-remote"
    )
    remote = Remote(node, mcp_url, port, remote_config, "--client-metadata-url", url)
    first = _connect(remote, stack, browser)
    assert _who(first)["client_id"] == url
    assert "/mcp-remote.json" in documents.requests
