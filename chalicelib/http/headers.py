"""Response headers every page and API answer carries (SECURITY.md item 7)."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from chalicelib.http.message import HttpResponse


def content_security_policy(form_targets: list[str], script: bool = False) -> str:
    # form-action also governs the redirect that follows a form POST, so the client's
    # redirect URI origin must be allowed where the form's answer goes back to the client.
    origins = sorted({_origin(t) for t in form_targets if _origin(t)})
    return "; ".join(
        [
            "default-src 'none'",
            # Only pages with a passkey form run script: Tollgate's own /static/passkey.js.
            *(["script-src 'self'"] if script else []),
            "style-src 'self'",
            "img-src 'self' data:",
            "form-action 'self'" + "".join(f" {o}" for o in origins),
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme in {"http", "https"} and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    if parts.scheme:
        return f"{parts.scheme}:"
    return ""


_NOT_VISIBLE_ASCII = re.compile(r"[^\x20-\x7e]")


def _encoded(found: re.Match[str]) -> str:
    return quote(found.group(), safe="", errors="replace")


def ascii_only(value: str) -> str:
    """A header value with every character outside visible ASCII percent-encoded as UTF-8.

    HTTP header values are ASCII here, always: a raw non-ASCII byte is read differently by
    different clients (a Latin-1 redirect URI sent a browser elsewhere; others made `chalice
    local` drop the connection), and CR or LF would split the header (issue 17 item 2)."""
    return _NOT_VISIBLE_ASCII.sub(_encoded, value)


def secure(
    response: HttpResponse, form_targets: list[str] | None = None, script: bool = False
) -> HttpResponse:
    """Add the security headers; HTML gets the full page policy. Every header value leaves
    as visible ASCII (`ascii_only`): the adapter calls this on every answer."""
    h = response.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "no-referrer")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Content-Security-Policy", content_security_policy(form_targets or [], script))
    if h.get("Content-Type", "").startswith("text/html"):
        h.setdefault("Cache-Control", "no-store")
    for name, value in h.items():
        if not (value.isascii() and value.isprintable()):
            h[name] = ascii_only(value)
    return response
