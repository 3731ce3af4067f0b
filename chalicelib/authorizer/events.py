"""What an authorizer reads of an API Gateway REQUEST event besides the token: the DPoP
proof header and the URL the client called (RFC 9449 4.3 `htu`). Shared by the standalone
authorizer and the built-in one; nothing here loads PyJWT or botocore.

The URL is TOLLGATE_API_URL (the standalone's setting) plus the resource path when set;
otherwise https:// + the Host header + the path API Gateway received: REST (and HTTP API
payload 1.0) `requestContext.path`, which holds the stage on the execute-api domain and
the base path on a custom domain; HTTP API payload 2.0 `rawPath`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.authorizer.errors import InvalidDpopProof
from chalicelib.tokens import dpop


def header(event: Mapping[str, Any], wanted: str) -> list[str]:
    """Every value of one header in a REQUEST event (names compared without case)."""
    multi = event.get("multiValueHeaders") or {}
    values = [
        value
        for name, found in multi.items()
        if name.lower() == wanted and isinstance(found, list)
        for value in found
    ]
    if values:
        return [v for v in values if isinstance(v, str)]
    headers = event.get("headers") or {}
    return [v for k, v in headers.items() if k.lower() == wanted and isinstance(v, str)]


def proof(event: Mapping[str, Any]) -> str | None:
    try:
        return dpop.single(header(event, "dpop"))
    except dpop.InvalidProof as error:
        raise InvalidDpopProof(str(error)) from None


def request_url(event: Mapping[str, Any], api_url: str | None) -> str | None:
    """The URL the client called (without query), as far as the event tells; None for a
    TOKEN event."""
    if event.get("type") == "TOKEN":
        return None
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    if api_url is not None:
        path = event.get("path") or http.get("path")
        return api_url + path if isinstance(path, str) else None
    hosts = header(event, "host")
    seen = event.get("rawPath") if event.get("version") == "2.0" else context.get("path")
    if len(hosts) != 1 or not isinstance(seen, str):
        return None
    return f"https://{hosts[0]}{seen}"
