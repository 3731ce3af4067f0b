"""Redirect URI rules (RFC 6749 3.1.2, RFC 9700 4.1, RFC 8252 7.3): registration and matching."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, quote, urlsplit

LOOPBACK_HOSTS = {"127.0.0.1", "[::1]", "localhost"}


class InvalidRedirectUri(ValueError):
    pass


# A port is 1 to 65535 written without leading zeros (SECURITY.md item 39): one spelling per
# port, so ":09999" and ":99999" never pass as a loopback port that "may vary".
_PORT = r"[1-9][0-9]{0,4}"


def valid_port(port: str) -> bool:
    return re.fullmatch(_PORT, port) is not None and int(port) <= 65535


def _authority_port(netloc: str) -> str | None:
    """The port as written after the host ("" when a ":" has none), or None without one."""
    host = netloc.rsplit("@", 1)[-1]
    if host.endswith("]") or ":" not in host:
        return None
    return host.rsplit(":", 1)[1]


def is_loopback(uri: str) -> bool:
    """An http URI to a loopback host (RFC 8252 7.3)."""
    return _is_loopback(uri)


def _is_loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    host = parts.netloc.rsplit("@", 1)[-1]
    host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return parts.scheme == "http" and host in LOOPBACK_HOSTS


def ascii_form(uri: str) -> str | None:
    """The URI with an IDNA (punycode) host and its other non-ASCII characters percent-encoded
    as UTF-8 (RFC 3986 2.1, RFC 5891), or None when the host is not a valid IDN."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    try:
        ascii_host = host.encode("idna").decode("ascii") if host else ""
    except UnicodeError:
        return None
    netloc = parts.netloc.replace(host, ascii_host, 1) if host else parts.netloc
    rebuilt = parts._replace(netloc=netloc).geturl()
    return quote(rebuilt, safe="".join(chr(c) for c in range(0x21, 0x7F)))


def validate_registration(uri: str) -> str:
    """Refuse what can never be a safe redirect target (SECURITY.md item 2).

    The admin command line registers redirect and post-logout redirect URIs through this.
    """
    if not uri or len(uri) > 2000 or any(ord(c) < 0x21 or ord(c) == 0x7F for c in uri):
        raise InvalidRedirectUri("a redirect URI must be a non-empty URL without spaces")
    if not uri.isascii():
        # Browsers send the encoded form, the URI goes into HTTP headers (Location, the CSP's
        # form-action), which carry ASCII only, and matching is exact (issue 17 item 2).
        suggestion = ascii_form(uri)
        hint = f": register {suggestion!r}" if suggestion else ""
        raise InvalidRedirectUri(
            "a redirect URI must be ASCII; write a non-ASCII host in its IDNA form (xn--...) "
            f"and percent-encode other characters{hint}"
        )
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise InvalidRedirectUri(f"{uri!r} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if "#" in uri:
        raise InvalidRedirectUri("a redirect URI must not contain a fragment")
    if scheme in {"javascript", "data", "vbscript", "file", "blob", "about"}:
        raise InvalidRedirectUri(f"the {scheme}: scheme is not allowed")
    if scheme == "http" and not _is_loopback(uri):
        raise InvalidRedirectUri("plain http is allowed only for loopback addresses")
    if scheme in {"http", "https"} and not parts.hostname:
        raise InvalidRedirectUri("a redirect URI needs a host")
    if scheme not in {"http", "https"} and ("." not in scheme or not parts.path):
        # Private-use schemes for native apps must be reverse domain names (RFC 8252 7.1).
        raise InvalidRedirectUri(
            "a custom scheme must be a reverse domain name, like com.example.app:/cb"
        )
    if parts.username or parts.password:
        raise InvalidRedirectUri("a redirect URI must not contain credentials")
    problem = _never_matches(uri, parts)
    if problem:
        raise InvalidRedirectUri(problem)
    port = _authority_port(parts.netloc)
    if port is not None and not valid_port(port):
        raise InvalidRedirectUri("a port is a number from 1 to 65535 without leading zeros")
    return uri


# A DNS name (labels of letters, digits, '-' and the '_' browsers accept; an optional final
# dot), an IPv4 address, or an IPv6 literal in brackets.
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST = re.compile(rf"\A(?:(?:{_LABEL}\.)*{_LABEL}\.?|\[[0-9A-Fa-f:.]+\])\Z")


def _never_matches(uri: str, parts: SplitResult) -> str | None:
    """Why a registration could never be used, though it parses: matching is exact (RFC
    9700 2.1, OAuth 2.1 2.3.1), so a pattern is only ever a literal string no browser is
    sent to, and an address a browser cannot go to as written never comes back to match."""
    if "*" in uri:
        return (
            "wildcards are not supported: redirect URIs are compared exactly, so "
            f"{uri!r} would only match itself; register each URI in full"
        )
    if parts.scheme.lower() not in {"http", "https"}:
        return None
    if "@" in parts.netloc:
        return "a redirect URI must not contain a user name or password (an '@' before the host)"
    host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    if not _HOST.match(host):
        return (
            f"{host!r} is not a host name a browser can be sent to "
            "(labels of letters, digits and '-' between dots, or an IP address)"
        )
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 0 < port <= 65535:
        return "its port is not a port number (1 to 65535)"
    return None


# A loopback URI as registered: lower-case scheme, the bare host, an optional numeric port.
_LOOPBACK_PREFIX = re.compile(
    rf"\Ahttp://(127\.0\.0\.1|\[::1\]|localhost)(?::({_PORT}))?(?=[/?#]|\Z)"
)


def _without_port(uri: str) -> str | None:
    """The loopback URI with its port removed, else None; everything else stays as written."""
    found = _LOOPBACK_PREFIX.match(uri)
    if found is None or (found.group(2) is not None and not valid_port(found.group(2))):
        return None
    return f"http://{found.group(1)}{uri[found.end() :]}"


def matches(registered: list[str], requested: str) -> bool:
    """Exact string match; only a loopback URI's port may differ (RFC 8252 7.3)."""
    if requested in registered:
        return True
    bare = _without_port(requested)
    return bare is not None and any(_without_port(r) == bare for r in registered)
