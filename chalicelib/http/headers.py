"""Response headers every page and API answer carries (SECURITY.md item 7)."""

from __future__ import annotations

from urllib.parse import urlsplit

from chalicelib.http.message import HttpResponse


def content_security_policy(form_targets: list[str]) -> str:
    # form-action also governs the redirect that follows a form POST, so the client's
    # redirect URI origin must be allowed where the form's answer goes back to the client.
    origins = sorted({_origin(t) for t in form_targets if _origin(t)})
    return "; ".join(
        [
            "default-src 'none'",
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


def secure(response: HttpResponse, form_targets: list[str] | None = None) -> HttpResponse:
    """Add the security headers; HTML gets the full page policy."""
    h = response.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "no-referrer")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Content-Security-Policy", content_security_policy(form_targets or []))
    if h.get("Content-Type", "").startswith("text/html"):
        h.setdefault("Cache-Control", "no-store")
    return response
