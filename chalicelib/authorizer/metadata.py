"""RFC 9728 protected resource metadata, and where a resource publishes it.

An API behind Tollgate's authorizer says which authorization server issues its tokens at
`/.well-known/oauth-protected-resource`, and points to that document from every 401 and 403
(`WWW-Authenticate: Bearer resource_metadata="..."`, RFC 9728 5.1): an MCP client (or any
client that starts from the API) finds the issuer from there, with nothing configured.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

WELL_KNOWN = "/.well-known/oauth-protected-resource"


def metadata_url(resource: str) -> str:
    """Where RFC 9728 3.1 puts a resource's metadata: the well-known path inserted between
    the host and the resource's path (`https://api.example/mcp` ->
    `https://api.example/.well-known/oauth-protected-resource/mcp`)."""
    parts = urlsplit(resource)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN + path, "", ""))


def document(resource: str, issuer: str, scopes: Iterable[str]) -> dict[str, Any]:
    """The metadata (RFC 9728 2): the token's audience, its issuer, the scopes the API's
    routes ask for, and that the token goes in the Authorization header only."""
    return {
        "resource": resource,
        "authorization_servers": [issuer],
        "scopes_supported": sorted(set(scopes)),
        "bearer_methods_supported": ["header"],
    }
