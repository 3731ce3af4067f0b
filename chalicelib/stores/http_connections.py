"""Keep-alive HTTP/1.1 connections to one endpoint, for the lean DynamoDB client.

urllib3 (what botocore sends with) cost about half of a DynamoDB call's CPU in our process:
its pool, header containers and per-request bookkeeping, and two sends per request (headers,
then body). Here a request is written with one send, and its answer is read by the standard
library's own parser (http.client.HTTPResponse: status line, headers, Content-Length or
chunked body, and whether the server keeps the connection). Idle connections are kept for
the next request (thread-safe: `chalice local` serves requests in threads); one the server
closed meanwhile is noticed before it is reused. Failures are botocore's exceptions, as
urllib3's were mapped by botocore: so its retry rules see the same errors.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import urllib.parse

# The same socket option urllib3 sets: a request and its answer never wait for delayed ACKs.
_NODELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Connections:
    """POSTs to `endpoint` (http or https) over reused connections."""

    def __init__(
        self,
        endpoint: str,
        *,
        connect_timeout: float,
        read_timeout: float,
        ca_certs: str | None = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(endpoint)
        self.endpoint = endpoint
        self.host = parsed.netloc  # the Host header, as signed
        self._tls = parsed.scheme == "https"
        self._address = (parsed.hostname or "", parsed.port or (443 if self._tls else 80))
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._context = ssl.create_default_context(cafile=ca_certs) if self._tls else None
        self._idle: list[socket.socket] = []
        self._lock = threading.Lock()

    def post(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (names in lower case) and body of the answer to one POST."""
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = f"POST {path} HTTP/1.1\r\n{lines}Content-Length: {len(body)}\r\n\r\n"
        sock = self._take()
        try:
            sock.settimeout(self._read_timeout)
            sock.sendall(request.encode() + body)
            answer = http.client.HTTPResponse(sock, method="POST")
            answer.begin()
            data = answer.read()
        except BaseException as exc:
            sock.close()
            raise self._failure(exc, connecting=False) from exc
        if answer.will_close:
            sock.close()
        else:
            with self._lock:
                self._idle.append(sock)
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, data

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for sock in idle:
            sock.close()

    def _take(self) -> socket.socket:
        while True:
            with self._lock:
                sock = self._idle.pop() if self._idle else None
            if sock is None:
                return self._connect()
            if not _dropped(sock):
                return sock
            sock.close()

    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection(self._address, timeout=self._connect_timeout)
        except BaseException as exc:
            raise self._failure(exc, connecting=True) from exc
        try:
            sock.setsockopt(*_NODELAY)
            if self._context is not None:
                sock = self._context.wrap_socket(sock, server_hostname=self._address[0])
        except BaseException as exc:
            sock.close()
            raise self._failure(exc, connecting=True) from exc
        return sock

    def _failure(self, exc: BaseException, *, connecting: bool) -> BaseException:
        """botocore's exception for a failed connection or exchange (what its retry rules
        read: connection and timeout errors are retried, as urllib3's were)."""
        from botocore import exceptions as bx

        url = self.endpoint
        if not isinstance(exc, Exception):
            return exc  # KeyboardInterrupt and the like go up as they are
        if isinstance(exc, ssl.SSLError):
            return bx.SSLError(endpoint_url=url, error=exc)
        if isinstance(exc, TimeoutError):
            if connecting:
                return bx.ConnectTimeoutError(endpoint_url=url, error=exc)
            return bx.ReadTimeoutError(endpoint_url=url, error=exc)
        if connecting and isinstance(exc, OSError):
            return bx.EndpointConnectionError(endpoint_url=url, error=exc)
        if isinstance(exc, OSError | http.client.IncompleteRead | http.client.BadStatusLine):
            # RemoteDisconnected is a BadStatusLine and a ConnectionResetError.
            return bx.ConnectionClosedError(endpoint_url=url, request=None)
        if isinstance(exc, http.client.HTTPException):
            return bx.HTTPClientError(error=exc)
        return exc


def _dropped(sock: socket.socket) -> bool:
    """An idle connection with something to read: the server closed it (or broke the
    protocol); either way it must not carry the next request."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
