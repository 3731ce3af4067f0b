"""A strict client no one here wrote: oauth4webapi (panva, pinned in tests/clients) asks for
`openid profile notes:read` with a `resource` naming an API, then calls UserInfo with the
access token it was given and validates that token as the API would (RFC 9068). Issue 16
item 1: UserInfo used to answer 401 because `aud` named only the API.

Node.js runs tests/clients/strict_client.mjs; the person's part (login, consent) is done by
Playwright in Debian's Chromium against `chalice local` on moto.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser

from chalicelib.admin import local
from chalicelib.ids import digest
from chalicelib.stores.models import Client, Resource
from tests.browser.conftest import CLIENTS, Stack

pytestmark = pytest.mark.browser

API = "https://api.example.test"
SECRET = "strict-client-secret-for-tests-only-0123456789"


@pytest.fixture(scope="module")
def strict_client(stack: Stack) -> Iterator[str]:
    """A confidential client that may ask for the API, a registered resource (RFC 8707)."""
    store = local.local_store(stack.moto_url)
    store.resources.create(Resource(uri=API, name="API", scopes=["notes:read"]))
    store.clients.create(
        Client(
            client_id="strict",
            name="Strict Client",
            client_type="confidential",
            auth_method="client_secret_basic",
            redirect_uris=[stack.creds.redirect_uri],
            grant_types=["authorization_code"],
            scopes=list(local.CLIENT_SCOPES),
            secret_hash=digest(SECRET),
            resources=[API],
        )
    )
    yield "strict"


def _line(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=30)
        assert process.stderr is not None
        pytest.fail(f"oauth4webapi refused: {process.stderr.read()[-3000:]}")
    found: dict[str, Any] = json.loads(line)
    return found


def test_oauth4webapi_reads_userinfo_with_a_token_for_an_api(
    stack: Stack, browser: Browser, node: str, strict_client: str
) -> None:
    settings = {
        "issuer": stack.issuer,
        "client_id": strict_client,
        "client_secret": SECRET,
        "redirect_uri": stack.creds.redirect_uri,
        "scope": "openid profile notes:read",
        "resource": API,
    }
    env = {**os.environ, "STRICT_CLIENT": json.dumps(settings)}
    process = subprocess.Popen(
        [node, str(CLIENTS / "strict_client.mjs")],
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
        page = context.new_page()
        page.goto(authorize)
        page.get_by_label("Username").fill(stack.creds.username)
        page.get_by_label("Password").fill(stack.creds.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/consent")
        page.get_by_role("button", name="Allow").click()
        page.wait_for_url("**/demo/callback?**")
        callback = page.url
        context.close()
        assert process.stdin is not None
        process.stdin.write(callback + "\n")
        process.stdin.flush()
        result = _line(process)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    # UserInfo answered, for the person the ID token names (oauth4webapi checked sub too).
    assert result["userinfo"]["sub"] == result["id_token"]["sub"]
    # The same token is the API's, as its resource server validates it.
    api = result["api"]
    assert API in api["aud"] and api["aud"][0] == API
    assert api["scope"] == "openid profile notes:read"
    assert api["client_id"] == strict_client
