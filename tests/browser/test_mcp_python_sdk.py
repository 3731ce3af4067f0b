"""Issue 12 item 9: the MCP Python SDK's own OAuth client (mcp 2.3.0, unmodified) against the
example MCP server (examples/mcp-server under `chalice local`), whose tokens Tollgate's
standalone authorizer validates, and a real local Tollgate. The person's part (sign-in,
consent) is done in Debian's Chromium through Playwright.

The client is given the server's URL and nothing about Tollgate: it finds the issuer from
the 401 (RFC 9728), reads Tollgate's metadata (RFC 8414), authorizes with PKCE, `resource`
and `iss` (RFC 8707, RFC 9207), calls tools, and refreshes its token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from playwright.async_api import Page, async_playwright
from pydantic import AnyUrl

from chalicelib.admin import local
from chalicelib.clock import SystemClock
from chalicelib.stores.models import PUBLIC, Client, Resource
from tests.browser.conftest import ARGS, Stack
from tests.support.document_server import DocumentServer, document_server
from tests.support.local_stack import example_api, free_port, running_stack

pytestmark = pytest.mark.browser

SCOPES = ["notes:read", "notes:write", "offline_access"]


class Memory(TokenStorage):
    """What an MCP host keeps between runs: the tokens and the client's registration."""

    def __init__(self, client: OAuthClientInformationFull | None = None) -> None:
        self.tokens: OAuthToken | None = None
        self.client = client

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocumentServer]:
    """The MCP host's https site, for its Client ID Metadata Document (CA trusted by Tollgate
    only through TOLLGATE_DOCUMENT_CA_BUNDLE, a setting refused in prod)."""
    with document_server(tmp_path_factory.mktemp("documents")) as server:
        yield server


@pytest.fixture(scope="module")
def stack(documents: DocumentServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Tollgate under chalice local, which may fetch documents from the local https site."""
    port = free_port()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOLLGATE_DOCUMENT_CA_BUNDLE", documents.ca_file)
        patch.setenv("TOLLGATE_DOCUMENT_ALLOW_PRIVATE", "true")
        state = tmp_path_factory.mktemp("local")
        with running_stack(state, port, f"http://127.0.0.1:{port}") as running:
            yield running


@pytest.fixture(scope="module")
def mcp_url(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    env = {"TOLLGATE_ISSUER": stack.issuer, "TOLLGATE_AUDIENCE": url}
    log = Path(tmp_path_factory.mktemp("mcp")) / "chalice.log"
    with example_api("mcp-server", port, env, log, ready="/.well-known/oauth-protected-resource"):
        yield url


def register_resource(stack: Stack, mcp_url: str) -> None:
    """`tollgate resource create --uri <MCP URL> --scope notes:read --scope notes:write`."""
    store = local.local_store(stack.moto_url)
    if store.resources.get(mcp_url) is None:
        store.resources.create(
            Resource(uri=mcp_url, name="Notes MCP server", scopes=["notes:read", "notes:write"])
        )


def pre_register(stack: Stack, client_id: str, redirect_uri: str, mcp_url: str) -> None:
    """`tollgate client create --type public --auth-method none --resource <MCP URL>`."""
    register_resource(stack, mcp_url)
    local.local_store(stack.moto_url).clients.create(
        Client(
            client_id=client_id,
            name="MCP host",
            client_type=PUBLIC,
            auth_method="none",
            redirect_uris=[redirect_uri],
            grant_types=["authorization_code", "refresh_token"],
            scopes=SCOPES,
            resources=[mcp_url],
            created_at=SystemClock().now(),
        )
    )


async def sign_in(page: Page, stack: Stack, url: str, redirect_uri: str) -> str:
    """The person: Tollgate's login and consent pages; returns the redirect back."""
    await page.goto(url)
    await page.wait_for_url(f"{stack.issuer}/interaction/*/login")
    await page.get_by_label("Username").fill(stack.creds.username)
    await page.get_by_label("Password").fill(stack.creds.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{stack.issuer}/interaction/*/consent")
    await page.get_by_role("button", name="Allow").click()
    await page.wait_for_url(f"{redirect_uri}?**")
    return page.url


async def run_client(
    stack: Stack,
    mcp_url: str,
    chromium: str,
    storage: Memory,
    redirect_uri: str,
    *,
    client_metadata_url: str | None = None,
) -> dict[str, Any]:
    seen: list[str] = []
    results: dict[str, Any] = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        context = await browser.new_context()
        # The MCP host's loopback listener: here the browser's own answer to the redirect.
        await context.route(f"{redirect_uri}**", lambda route: route.fulfill(body="done"))
        page = await context.new_page()
        redirected: list[str] = []

        async def redirect_handler(url: str) -> None:
            redirected.append(await sign_in(page, stack, url, redirect_uri))

        async def callback_handler() -> AuthorizationCodeResult:
            query = parse_qs(urlsplit(redirected[-1]).query)
            return AuthorizationCodeResult(
                code=query["code"][0], state=query["state"][0], iss=query["iss"][0]
            )

        provider = OAuthClientProvider(
            server_url=mcp_url,
            client_metadata=OAuthClientMetadata(
                client_name="Tollgate test host",
                redirect_uris=[AnyUrl(redirect_uri)],
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                token_endpoint_auth_method="none",
            ),
            storage=storage,
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
            client_metadata_url=client_metadata_url,
        )

        async def record(request: httpx2.Request) -> None:
            seen.append(f"{request.method} {request.url.copy_with(query=None)}")

        async def session(note: str) -> dict[str, Any]:
            http = httpx2.AsyncClient(auth=provider, event_hooks={"request": [record]})
            async with (
                http,
                streamable_http_client(mcp_url, http_client=http) as (read, write),
                ClientSession(read, write) as mcp,
            ):
                await mcp.initialize()
                who = await mcp.call_tool("whoami", {})
                added = await mcp.call_tool("add_note", {"text": note})
                listed = await mcp.call_tool("list_notes", {})
                return {
                    "whoami": who.structured_content,
                    "added": (added.is_error, added.structured_content),
                    "listed": listed.structured_content,
                }

        label = storage.client.client_id if storage.client else "new client"
        results["notes"] = (f"{label}: first note", f"{label}: second note")
        results["first"] = await session(results["notes"][0])
        results["first_tokens"] = storage.tokens
        results["first_seen"] = list(seen)
        # The access token runs out: the next request refreshes it first, with no browser.
        provider.context.token_expiry_time = time.time() - 1
        seen.clear()
        results["second"] = await session(results["notes"][1])
        results["second_seen"] = list(seen)
        results["redirects"] = len(redirected)
        await browser.close()
    return results


def test_the_mcp_python_sdk_connects_with_a_pre_registered_client(
    stack: Stack, mcp_url: str, chromium_path: str
) -> None:
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    pre_register(stack, "mcp-python-sdk", redirect_uri, mcp_url)
    storage = Memory(
        OAuthClientInformationFull(
            client_id="mcp-python-sdk",
            redirect_uris=[AnyUrl(redirect_uri)],
            grant_types=["authorization_code", "refresh_token"],
            token_endpoint_auth_method="none",
        )
    )
    out = asyncio.run(run_client(stack, mcp_url, chromium_path, storage, redirect_uri))
    check_every_step(out, stack, mcp_url, storage, "mcp-python-sdk")
    assert not any("/register" in seen for seen in out["first_seen"])


def check_every_step(
    out: dict[str, Any], stack: Stack, mcp_url: str, storage: Memory, client_id: str
) -> None:
    """Discovery, authorization, token, tools/call and refresh, from what the client sent."""
    origin = mcp_url.removesuffix("/mcp")
    first = out["first_seen"]
    # Discovery: the server's RFC 9728 metadata (chalice local's own 401 to a request with
    # no token names none, so the client takes the RFC 9728 3.1 URL), then Tollgate's RFC 8414.
    assert first[:3] == [
        f"POST {mcp_url}",
        f"GET {origin}/.well-known/oauth-protected-resource/mcp",
        f"GET {stack.issuer}/.well-known/oauth-authorization-server",
    ], first
    assert f"POST {stack.issuer}/token" in first
    who = out["first"]["whoami"]
    assert who["client_id"] == client_id
    # The resource's own scopes (offline_access is the grant's, for its refresh token).
    assert {"notes:read", "notes:write"} <= set(who["scopes"]) <= set(SCOPES)
    assert out["first"]["added"][0] is False
    first_note, second_note = out["notes"]
    assert out["first"]["listed"]["result"][0]["text"] == first_note  # newest first
    # Refresh: a token request before the first MCP request, no second sign-in, new tokens.
    second = out["second_seen"]
    assert second[0] == f"POST {stack.issuer}/token", second
    assert out["redirects"] == 1
    assert storage.tokens is not None and out["first_tokens"] is not None
    assert storage.tokens.access_token != out["first_tokens"].access_token
    assert storage.tokens.refresh_token != out["first_tokens"].refresh_token
    listed = [n["text"] for n in out["second"]["listed"]["result"]]
    assert listed[:2] == [second_note, first_note]


def test_the_mcp_python_sdk_registers_itself_by_dcr(
    stack: Stack, mcp_url: str, chromium_path: str
) -> None:
    """Zero configuration: no client anywhere; the SDK registers at registration_endpoint."""
    register_resource(stack, mcp_url)
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    storage = Memory()
    out = asyncio.run(run_client(stack, mcp_url, chromium_path, storage, redirect_uri))
    assert storage.client is not None
    assert f"POST {stack.issuer}/register" in out["first_seen"]
    check_every_step(out, stack, mcp_url, storage, storage.client.client_id)


def test_the_mcp_python_sdk_uses_a_client_id_metadata_document(
    stack: Stack, documents: DocumentServer, mcp_url: str, chromium_path: str
) -> None:
    """Zero registration: the client_id is the URL of the host's metadata document."""
    register_resource(stack, mcp_url)
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    url = documents.document(
        "/mcp-host.json", redirect_uris=[redirect_uri], client_name="MCP host (document)"
    )
    storage = Memory()
    out = asyncio.run(
        run_client(stack, mcp_url, chromium_path, storage, redirect_uri, client_metadata_url=url)
    )
    assert not any("/register" in seen for seen in out["first_seen"])
    assert "/mcp-host.json" in documents.requests  # Tollgate fetched it
    check_every_step(out, stack, mcp_url, storage, url)


def test_the_mcp_server_names_its_metadata_in_every_refusal(stack: Stack, mcp_url: str) -> None:
    """RFC 9728 5.1 from the example MCP server: a bad token's 401 names the metadata, which
    names Tollgate and the server's URL as the audience to ask for."""
    origin = mcp_url.removesuffix("/mcp")
    refused = httpx2.post(mcp_url, headers={"Authorization": "Bearer x"}, json={})
    assert refused.status_code == 401
    metadata = f"{origin}/.well-known/oauth-protected-resource"
    # By default the RFC 9728 3.1 URL of the audience (TOLLGATE_RESOURCE_METADATA sets another).
    assert refused.headers["www-authenticate"] == (
        f'Bearer error="invalid_token", resource_metadata="{metadata}/mcp"'
    )
    for url in (metadata, f"{metadata}/mcp"):
        assert httpx2.get(url).json() == {
            "resource": mcp_url,
            "authorization_servers": [stack.issuer],
            "scopes_supported": ["notes:read", "notes:write"],
            "bearer_methods_supported": ["header"],
        }
