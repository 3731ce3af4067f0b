"""An npm client (tests/clients, pinned) driven through one authorization: Node.js runs the
client's script, which prints `{"authorize": URL}`; the person signs in and consents in
Chromium (Playwright); the redirect back is handed to the script on stdin, and its last line
(JSON) is the result. The browser tests of oauth4webapi, openid-client and the MCP
TypeScript SDK share it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.support.local_stack import Stack


def read_line(process: subprocess.Popen[str], what: str) -> dict[str, Any]:
    """The script's next JSON line; its stderr as the failure when it ends instead."""
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=30)
        assert process.stderr is not None
        pytest.fail(f"{what} failed: {process.stderr.read()[-3000:]}")
    found: dict[str, Any] = json.loads(line)
    return found


def sign_in_and_consent(
    browser: Browser, stack: Stack, authorize: str, redirect_uri: str, *, stub_redirect: bool
) -> str:
    """The person's part: the URL the browser is sent back to. With `stub_redirect`, the
    redirect URI (a client's loopback listener nobody runs here) answers "done"."""
    context = browser.new_context()
    if stub_redirect:
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
    return callback


def run_node_client(
    node: str,
    script: Path,
    settings: tuple[str, dict[str, Any]],
    browser: Browser,
    stack: Stack,
    *,
    redirect_uri: str | None = None,
    what: str = "the client",
    check_authorize: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run `script` with its settings as JSON in the environment variable `settings[0]`.
    Without `redirect_uri`, the client's is the stack's demo callback page (Tollgate's own);
    with one, a loopback listener nobody runs, stubbed in the browser."""
    name, values = settings
    env = {**os.environ, name: json.dumps(values), "NO_PROXY": "127.0.0.1,localhost"}
    process = subprocess.Popen(
        [node, str(script)],
        cwd=script.parent,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        authorize = read_line(process, what)["authorize"]
        if check_authorize is not None:
            check_authorize(authorize)
        callback = sign_in_and_consent(
            browser,
            stack,
            authorize,
            redirect_uri or stack.creds.redirect_uri,
            stub_redirect=redirect_uri is not None,
        )
        assert process.stdin is not None
        process.stdin.write(callback + "\n")
        process.stdin.flush()
        result = read_line(process, what)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return result
