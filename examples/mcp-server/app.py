"""A remote MCP server (streamable HTTP) on Lambda, whose tokens Tollgate's authorizer checks.

Any MCP client connects with nothing configured: its first request gets a 401 naming this
server's RFC 9728 metadata, which names Tollgate as the authorization server; the client
registers there, sends the user through sign-in and consent, and comes back with a token
whose `aud` is this server's URL. The authorizer (routes.json: `notes:read` for /mcp) lets
it in; a tool that writes asks for `notes:write` itself.

The MCP Python SDK serves the protocol in its stateless mode with JSON answers: each
Lambda invocation is one whole JSON-RPC exchange, and nothing is kept between them but the
notes (here in memory, per container: a stand-in for your data).

Locally, with Tollgate running (`make run`):

    TOLLGATE_ISSUER=http://127.0.0.1:8000 TOLLGATE_AUDIENCE=http://127.0.0.1:8002/mcp \\
        chalice local --port 8002

On AWS (README.md, "An MCP server"), with an authorizer of its own (examples/authorizer.py):

    make deploy-example EXAMPLE=mcp-server STAGE=dev
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from chalice.app import Chalice, Request, Response
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings

from examples.authorizer import tollgate_authorizer

app = Chalice(app_name="mcp-server")
HERE = Path(__file__).resolve().parent
WRITE = "notes:write"  # what add_note needs beyond the route's notes:read


tollgate = tollgate_authorizer(app, HERE)

NOTES: dict[str, list[dict[str, str]]] = {}
mcp = MCPServer("Tollgate notes")


def caller(ctx: Context) -> dict[str, str]:
    """Who called, as the authorizer's context said: put into the ASGI scope by `serve`,
    never read from anything the client sent."""
    request = ctx.request_context.request
    who = getattr(request, "scope", {}).get("tollgate.caller")
    if not isinstance(who, dict):
        raise ToolError("no caller: the authorizer did not run")
    return who


@mcp.tool()
def whoami(ctx: Context) -> dict[str, Any]:
    """The signed-in user (sub), the MCP client (client_id) and the token's scopes."""
    who = caller(ctx)
    return {"sub": who["sub"], "client_id": who["client_id"], "scopes": who["scope"].split()}


@mcp.tool()
def list_notes(ctx: Context) -> list[dict[str, str]]:
    """Your notes, newest first."""
    return list(reversed(NOTES.get(caller(ctx)["sub"], [])))


@mcp.tool()
def add_note(text: str, ctx: Context) -> dict[str, str]:
    """Keep a note (needs the notes:write scope)."""
    who = caller(ctx)
    if WRITE not in who["scope"].split():
        raise ToolError(f"insufficient_scope: add_note needs {WRITE}")
    note = {"id": secrets.token_hex(4), "text": text[:2000]}
    NOTES.setdefault(who["sub"], []).append(note)
    return note


def protected_resource_metadata() -> dict[str, Any]:
    """RFC 9728: this server's URL (the tokens' audience), its issuer, its scopes."""
    policy = json.loads((HERE / "routes.json").read_text(encoding="utf-8"))
    scopes = {scope for needed in policy.values() for scope in needed} | {WRITE}
    return {
        "resource": os.environ["TOLLGATE_AUDIENCE"],
        "authorization_servers": [os.environ["TOLLGATE_ISSUER"]],
        "scopes_supported": sorted(scopes),
        "bearer_methods_supported": ["header"],
    }


# RFC 9728 3.1 puts the metadata of https://host/mcp at the path-inserted URL; the plain
# one is where the 401's resource_metadata points (it stays inside an API Gateway stage).
@app.route("/.well-known/oauth-protected-resource", methods=["GET"])
def metadata() -> dict[str, Any]:
    return protected_resource_metadata()


@app.route("/.well-known/oauth-protected-resource/mcp", methods=["GET"])
def metadata_for_mcp() -> dict[str, Any]:
    return protected_resource_metadata()


Message = MutableMapping[str, Any]


async def serve(
    request: Request, who: dict[str, str]
) -> tuple[int, dict[str, str | list[str]], bytes]:
    """One HTTP exchange through the SDK's streamable HTTP transport, as ASGI."""
    # API Gateway fixes the Host: no DNS rebinding to guard against here.
    mcp.streamable_http_app(
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    headers = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "https",
        "path": "/mcp",
        "raw_path": b"/mcp",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "server": ("mcp-server", 443),
        "client": ("127.0.0.1", 0),
        "tollgate.caller": who,
    }
    body = request.raw_body or b""
    sent = False
    status = 500
    out_headers: dict[str, str | list[str]] = {}
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # the client never disconnects mid-call here
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers.update((k.decode(), v.decode()) for k, v in message["headers"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    handler: Callable[[Message, Any, Any], Awaitable[None]] = mcp.session_manager.handle_request
    async with mcp.session_manager.run():
        await handler(scope, receive, send)
    return status, out_headers, b"".join(chunks)


@app.route(
    "/mcp",
    methods=["POST", "GET", "DELETE"],
    authorizer=tollgate,
    content_types=["application/json", "text/plain", "application/octet-stream"],
)
def mcp_endpoint() -> Response:
    request = app.current_request
    assert request is not None  # set by Chalice for every route call
    context = request.context.get("authorizer") or {}
    who = {name: str(context.get(name, "")) for name in ("sub", "client_id", "scope")}
    status, headers, body = asyncio.run(serve(request, who))
    headers.pop("content-length", None)
    # Chalice sends its own Content-Type unless this one is spelt as it spells it: one only.
    headers["Content-Type"] = headers.pop("content-type", "application/json")
    return Response(body=body.decode(), status_code=status, headers=headers)
