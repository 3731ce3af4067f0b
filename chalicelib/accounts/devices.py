"""Known browsers: a device cookie that lifts the account-wide login limit (SECURITY.md 32).

A stranger who fails logins for alice from many addresses reaches the per-account limit
(over all addresses) and would lock alice out. So a browser that has signed in to an
account before carries proof of it, and the account-wide limit does not apply to it; the
limits per account and address and per address still do, so a stolen cookie buys an
attacker nothing beyond what one address already gets.

The cookie `__Host-tollgate-device` (HttpOnly, Secure, SameSite=Lax, one year) holds up to
five entries, one per account signed in to, newest last. An entry is a random 128-bit nonce
and HMAC-SHA256(key, nonce, username) cut to 128 bits, both base64url: 44 characters,
bound to the username (as mapped by chalicelib/accounts/usernames.py) and useless for any
other account. The key is made once and kept in the table (store.limits.device_key), so
there is nothing to configure; nothing per device is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from chalicelib.deps import Deps
from chalicelib.http import cookies
from chalicelib.http.message import HttpRequest

MAX_ACCOUNTS = 5
LIFETIME = 365 * 86400
_PART = 22  # base64url characters of 16 bytes
_ENTRY = 2 * _PART
_LABEL = b"tollgate-device-v1\x00"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _mac(key: bytes, nonce: str, username: str) -> str:
    message = _LABEL + nonce.encode("ascii") + b"\x00" + username.encode("utf-8")
    return _b64(hmac.new(key, message, hashlib.sha256).digest()[:16])


def _entries(deps: Deps, request: HttpRequest) -> list[str]:
    """The well-formed entries of this browser's cookie (unverified), oldest first."""
    value = request.cookies.get(cookies.name(deps.settings, cookies.DEVICE), "")
    if not value or len(value) > MAX_ACCOUNTS * _ENTRY or len(value) % _ENTRY:
        return []
    entries = [value[i : i + _ENTRY] for i in range(0, len(value), _ENTRY)]
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    return [entry for entry in entries if set(entry) <= alphabet]


def knows(deps: Deps, request: HttpRequest, username: str) -> bool:
    """Whether this browser has signed in to `username` before (a valid entry for it)."""
    entries = _entries(deps, request)
    if not entries or not username:
        return False
    key = deps.store.limits.device_key()
    return any(
        hmac.compare_digest(entry[_PART:], _mac(key, entry[:_PART], username)) for entry in entries
    )


def remember(deps: Deps, request: HttpRequest, username: str) -> str:
    """The Set-Cookie value after `username` signed in here: its entry, fresh, added last."""
    key = deps.store.limits.device_key()
    kept = [
        entry
        for entry in _entries(deps, request)
        if not hmac.compare_digest(entry[_PART:], _mac(key, entry[:_PART], username))
    ]
    nonce = _b64(secrets.token_bytes(16))
    entries = [*kept, nonce + _mac(key, nonce, username)][-MAX_ACCOUNTS:]
    return cookies.set_cookie(deps.settings, cookies.DEVICE, "".join(entries), LIFETIME)
