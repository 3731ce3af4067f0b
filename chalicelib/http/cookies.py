"""Cookies: `__Host-` prefixed, HttpOnly, Secure, SameSite=Lax (SECURITY.md item 8).

On plain-http loopback in local mode a browser refuses Secure cookies from most clients'
point of view, so there the prefix and Secure are dropped; everything else stays.
"""

from __future__ import annotations

from chalicelib.settings import Settings

SESSION = "tollgate-session"
BROWSER = "tollgate-browser"
DEVICE = "tollgate-device"  # accounts this browser signed in to (chalicelib/accounts/devices.py)


def name(settings: Settings, base: str) -> str:
    return base if settings.is_loopback_http else f"__Host-{base}"


def set_cookie(settings: Settings, base: str, value: str, max_age: int) -> str:
    parts = [f"{name(settings, base)}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly"]
    if not settings.is_loopback_http:
        parts.append("Secure")
    parts.append("SameSite=Lax")
    return "; ".join(parts)


def clear_cookie(settings: Settings, base: str) -> str:
    return set_cookie(settings, base, "", 0)
