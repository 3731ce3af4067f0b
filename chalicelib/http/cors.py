"""CORS (the Fetch standard; SECURITY.md item 42) for browser clients, on exactly the
endpoints a single-page app or a browser-based MCP client (MCP Inspector) calls: the token,
revocation, registration (RFC 7591, RFC 7592) and UserInfo endpoints, the JWKS, both
discovery documents and the demo API's RFC 9728 metadata. Never with credentials: no
`Access-Control-Allow-Credentials`, and none of these endpoints sets a cookie.

- The public documents (discovery, JWKS) allow any origin: `*`, no credentials.
- /token and /revoke allow the origins of the redirect URIs of the client the request names,
  /register those of the client it registers (its metadata's `redirect_uris`),
  /register/<client_id> those of that client, and /userinfo those of the access token's
  client (`client_id`). A request whose `Origin`
  is not one of them is refused (400 invalid_request) before anything is done, without
  CORS headers; its answer varies by Origin, so it says `Vary: Origin`.
- A preflight (OPTIONS) carries no client: it is answered for the endpoint's methods and
  headers from any origin, and the origin is enforced on the actual request, as panva's
  oidc-provider does (its `clientBasedCORS`).
- Nothing else ever gets CORS headers: /authorize (RFC 9700 2.6), the interaction pages,
  /logout, /introspect (a resource server's call, never a browser's) and the demo API.
"""

from __future__ import annotations

from enum import Enum
from urllib.parse import urlsplit

from chalicelib.errors import InvalidRequest
from chalicelib.http.message import HttpRequest, HttpResponse

# DPoP: RFC 9449 proofs; MCP-Protocol-Version: MCP clients send it to the metadata documents.
ALLOW_HEADERS = "Authorization, Content-Type, DPoP, MCP-Protocol-Version"
# Headers a page may read from an answer besides the CORS-safelisted ones.
EXPOSE_HEADERS = "WWW-Authenticate, Retry-After, DPoP-Nonce"
MAX_AGE = "600"  # seconds a browser may reuse a preflight's answer


class Policy(Enum):
    PUBLIC = "public"  # any origin: `*`
    CLIENT = "client"  # the origins of the requesting client's redirect URIs


def origin_of(uri: str) -> str | None:
    """The ASCII serialization of a URL's origin (`scheme://host[:port]`), as a browser
    sends it in `Origin`; None for a URI without one (a custom scheme, a malformed port)."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def add_vary(response: HttpResponse, name: str) -> None:
    values = [v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()]
    if name.lower() not in {v.lower() for v in values}:
        values.append(name)
    response.headers["Vary"] = ", ".join(values)


def public(response: HttpResponse) -> HttpResponse:
    """A public document: readable from any origin (no credentials are involved)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


class ClientOrigin:
    """The request's `Origin`, checked once the client is known; then applied to the answer."""

    def __init__(self, request: HttpRequest) -> None:
        self.origin = request.header("origin")
        self.allowed = False

    def check(self, client_id: str, redirect_uris: list[str]) -> None:
        """Refuse the request if it comes from a page the client does not own."""
        if self.origin is None:
            return  # not a browser's cross-origin request: nothing to decide
        if self.origin in {origin_of(uri) for uri in redirect_uris}:
            self.allowed = True
            return
        raise InvalidRequest(
            "this origin may not make requests for this client",
            f"origin {self.origin!r} is not among the redirect URIs of {client_id!r}",
        )

    def apply(self, response: HttpResponse) -> HttpResponse:
        add_vary(response, "Origin")
        if self.allowed and self.origin is not None:
            response.headers["Access-Control-Allow-Origin"] = self.origin
            response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        return response


def options(request: HttpRequest, methods: list[str], policy: Policy | None) -> HttpResponse:
    """The answer to OPTIONS: the allowed methods, and a CORS preflight's answer where a
    policy applies and the preflight asks for one of the endpoint's methods."""
    allowed = sorted({*methods, "OPTIONS"})
    response = HttpResponse(204, {"Allow": ", ".join(allowed), "Cache-Control": "no-store"})
    if policy is None:
        return response
    origin = request.header("origin")
    wanted = request.header("access-control-request-method")
    if policy is Policy.CLIENT:
        add_vary(response, "Origin")
    if origin is None or wanted not in methods:
        return response
    response.headers["Access-Control-Allow-Origin"] = "*" if policy is Policy.PUBLIC else origin
    response.headers["Access-Control-Allow-Methods"] = ", ".join(sorted(methods))
    response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    response.headers["Access-Control-Max-Age"] = MAX_AGE
    return response
