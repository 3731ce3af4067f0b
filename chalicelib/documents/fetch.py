"""One HTTPS GET of a document on someone else's server, without server-side request
forgery (SECURITY.md 52).

The URL's host is resolved once, and every address it resolves to must be public: no
loopback, private (RFC 1918, IPv6 ULA), link-local (169.254.0.0/16, where cloud metadata
services live, and fe80::/10), shared (CGNAT 100.64.0.0/10), multicast, reserved or
unspecified address, nor an IPv6 address that embeds an IPv4 one (mapped, 6to4, Teredo,
NAT64). The connection goes to that checked address, never to a second lookup (DNS
rebinding), with TLS verified for the host name. Redirects are not followed; the answer
must be 200 with a JSON content type and at most `max_bytes`, and the whole exchange (name
lookup, connection, TLS handshake, request, status line, headers, body) must finish within
`timeout` seconds: one deadline, and every blocking step is given only what is left of it,
so a server that sends one byte at a time (slow-loris) is cut off like a silent one.

`allow_private` and `ca_bundle` exist for tests and development only (the settings refuse
them in prod): the test server runs on loopback with a certificate from a CA made in the test.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

ACCEPTED_TYPES = ("application/json",)
# Beyond what `is_global` refuses: IPv6 that reaches IPv4 through a translator, and the
# IETF protocol assignments block (192.0.0.0/24: some of it is global by the registry).
_BLOCKED = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("192.0.0.0/24"),
)


class FetchRefused(Exception):
    """The document was not fetched or not accepted; the message says why (for the log)."""


@dataclass(frozen=True)
class Policy:
    max_bytes: int = 5120
    timeout: float = 3.0
    ca_bundle: str = ""
    allow_private: bool = False


@dataclass(frozen=True)
class Fetched:
    body: bytes
    max_age: int | None  # Cache-Control max-age; 0 for no-store/no-cache; None when absent


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and (
        ip.ipv4_mapped is not None or ip.sixtofour is not None or ip.teredo is not None
    ):
        return False
    if any(ip.version == net.version and ip in net for net in _BLOCKED):
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def resolve(host: str, port: int, policy: Policy, deadline: float) -> str:
    """The one address to connect to; FetchRefused if any address of the host is not public."""
    infos = _lookup(host, port, policy, deadline)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise FetchRefused(f"{host} has no address")
    if not policy.allow_private:
        for address in addresses:
            if not is_public(address):
                raise FetchRefused(f"{host} resolves to a non-public address {address}")
    return addresses[0]


def _lookup(host: str, port: int, policy: Policy, deadline: float) -> list[Any]:
    """getaddrinfo has no timeout of its own: it runs in a daemon thread waited for only
    until the deadline. A resolver that does not answer keeps that thread (until the system
    resolver's own timeout ends it), not the request."""
    import socket

    answer: list[Any] = []

    def look_up() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except Exception as error:  # OSError, UnicodeError: reported, not lost with the thread
            answer.append(error)

    worker = threading.Thread(target=look_up, name="document-resolve", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if not answer:
        raise FetchRefused(f"slower than {policy.timeout} s resolving {host}")
    if isinstance(answer[0], Exception):
        raise FetchRefused(f"cannot resolve {host}: {answer[0]}")
    return list(answer[0])


def get(url: str, policy: Policy) -> Fetched:
    """GET `url` under the rules above; FetchRefused saying why not."""
    import http.client
    import socket
    import ssl

    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise FetchRefused("only https URLs are fetched")
    port = parts.port or 443
    deadline = time.monotonic() + policy.timeout
    address = resolve(parts.hostname, port, policy, deadline)

    def budget() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        return left

    class Bounded(ssl.SSLSocket):
        """Every blocking TLS call gets only what is left: http.client reads the status line,
        the headers and chunk sizes with many small reads, and a plain socket timeout is given
        again to each of them."""

        def do_handshake(self, block: bool = False) -> None:
            self.settimeout(budget())
            super().do_handshake(block)

        def read(self, len: int = 1024, buffer: Any = None) -> bytes:
            self.settimeout(budget())
            return super().read(len, buffer)

        def send(self, data: Any, flags: int = 0) -> int:
            self.settimeout(budget())
            return super().send(data, flags)

    context = ssl.create_default_context(cafile=policy.ca_bundle or None)
    context.sslsocket_class = Bounded

    class Pinned(http.client.HTTPSConnection):
        def connect(self) -> None:  # to the checked address, TLS for the host name
            raw = socket.create_connection((address, port), timeout=budget())
            tls = context.wrap_socket(
                raw, server_hostname=parts.hostname, do_handshake_on_connect=False
            )
            self.sock = tls
            tls.do_handshake()

    connection = Pinned(parts.hostname, port, context=context)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", path, headers={"Accept": "application/json"})
        return _read(connection.getresponse(), policy)
    except TimeoutError:
        raise FetchRefused(f"slower than {policy.timeout} s") from None
    except (OSError, http.client.HTTPException) as error:
        raise FetchRefused(f"fetch failed: {type(error).__name__}: {error}"[:200]) from None
    finally:
        connection.close()


def _read(response: Any, policy: Policy) -> Fetched:
    if 300 <= response.status < 400:
        raise FetchRefused(f"redirects are not followed (HTTP {response.status})")
    if response.status != 200:
        raise FetchRefused(f"HTTP {response.status}")
    media = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
    if media not in ACCEPTED_TYPES:
        raise FetchRefused(f"content type {media[:60]!r} is not application/json")
    length = response.getheader("Content-Length")
    if length is not None and length.isdigit() and int(length) > policy.max_bytes:
        raise FetchRefused(f"larger than {policy.max_bytes} bytes")
    body = b""
    while chunk := response.read1(1024):  # each socket read bounded by the deadline
        body += chunk
        if len(body) > policy.max_bytes:
            raise FetchRefused(f"larger than {policy.max_bytes} bytes")
    return Fetched(body, _max_age(response.getheader("Cache-Control") or ""))


def _max_age(header: str) -> int | None:
    """RFC 9111 5.2.2: no-store and no-cache mean 0 (then the minimum applies); max-age=N."""
    directives = [d.strip().lower() for d in header.split(",")]
    if "no-store" in directives or "no-cache" in directives:
        return 0
    for directive in directives:
        name, _, value = directive.partition("=")
        if name == "max-age" and value.strip('"').isdigit():
            return int(value.strip('"')[:10])
    return None
