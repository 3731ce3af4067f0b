"""Keep-alive HTTP/1.1 connections to one endpoint, for the lean DynamoDB client.

urllib3 (what botocore sends with) cost about half of a DynamoDB call's CPU in our process:
its pool, header containers and per-request bookkeeping, and two sends per request (headers,
then body); http.client's answer parser spends most of its time in the email package's
header parsing. A DynamoDB answer is a status line, a few headers and a JSON body of known
length, so here a request is written with one send and its answer read in a few lines:
status, headers, then a Content-Length body (a chunked one too, and one ended by closing;
anything else is a broken answer). Idle connections are kept for the next request
(thread-safe: `chalice local` serves requests in threads); one the server closed meanwhile is
noticed before it is reused, and one the server sent more than its answer on is closed: those
bytes (already read into our buffer, so invisible to select) must never be taken for the next
request's answer. Failures are botocore's exceptions, as urllib3's were mapped by
botocore: so its retry rules see the same errors.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import urllib.parse
from dataclasses import dataclass

# The same socket option urllib3 sets: a request and its answer never wait for delayed ACKs.
_NODELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
_MAX_LINE = 65536  # http.client's limits on a header line and on the number of headers
_MAX_HEADERS = 100
_MAX_INTERIM = 10  # 1xx answers skipped before the final one, at most
_MAX_HEAD = _MAX_LINE  # the status line and all headers together (DynamoDB sends ~400 bytes)
_RECV = 65536  # one read from the socket into the buffer


class _Reader:
    """Buffered reads from a socket (a line without a system call per byte) that know how
    many bytes are left over: io.BufferedReader hides that."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._data = bytearray()
        self._pos = 0  # _data[_pos:] is read from the socket but not yet returned

    @property
    def leftover(self) -> int:
        return len(self._data) - self._pos

    def _fill(self) -> bool:
        """False at the end of the stream."""
        del self._data[: self._pos]
        self._pos = 0
        chunk = self._sock.recv(_RECV)
        self._data += chunk
        return bool(chunk)

    def readline(self, limit: int) -> bytes:
        """Up to and including b"\n", at most `limit` bytes (fewer at the end of the stream)."""
        while (end := self._data.find(b"\n", self._pos, self._pos + limit)) < 0:
            if self.leftover >= limit or not self._fill():
                return self._take(limit)
        return self._take(end + 1 - self._pos)

    def read_head(self, limit: int) -> bytes:
        """The status line and headers with the empty line that ends them, at most `limit`
        bytes (more is the caller's error): one search per received chunk instead of a
        readline per header. b"" when the stream ended before any byte; a stream that ends
        inside the head is a cut answer, never a complete one (IncompleteRead)."""
        while True:
            ends = [
                end + len(mark)
                for mark in (b"\n\r\n", b"\n\n")  # a blank line, after CRLF or a bare LF
                if (end := self._data.find(mark, self._pos)) >= 0
            ]
            if ends:
                return self._take(min(min(ends) - self._pos, limit))
            if self.leftover >= limit:
                return self._take(limit)
            if not self._fill():
                partial = self._take(self.leftover)
                if partial:
                    raise http.client.IncompleteRead(partial)
                return b""

    def read(self, size: int = -1) -> bytes:
        """`size` bytes (fewer at the end of the stream); all to the end if size < 0."""
        if size < 0:
            while self._fill():
                pass
            return self._take(self.leftover)
        if size > self.leftover:  # the rest straight into the result, never beyond it
            out = bytearray(size)
            got = self.leftover
            out[:got] = self._take(got)
            view = memoryview(out)
            while got < size and (n := self._sock.recv_into(view[got:])):
                got += n
            return bytes(out[:got])
        return self._take(size)

    def _take(self, size: int) -> bytes:
        data = bytes(self._data[self._pos : self._pos + size])
        self._pos += len(data)
        return data


@dataclass
class _Connection:
    sock: socket.socket
    reader: _Reader

    def close(self) -> None:
        self.sock.close()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes
    keep: bool  # the connection may carry the next request


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
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    def post(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """The answer to one POST (`headers` must hold Host)."""
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = f"POST {path} HTTP/1.1\r\n{lines}Content-Length: {len(body)}\r\n\r\n"
        connection = self._take()
        try:
            connection.sock.sendall(request.encode() + body)
            answer = read_answer(connection.reader)
        except Exception as exc:
            connection.close()
            raise self._failure(exc, connecting=False) from exc
        except BaseException:  # KeyboardInterrupt and the like: the connection is unusable
            connection.close()
            raise
        if answer.keep and not connection.reader.leftover:
            with self._lock:
                self._idle.append(connection)
        else:
            connection.close()
        return answer

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _take(self) -> _Connection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                sock = self._connect()
                sock.settimeout(self._read_timeout)
                return _Connection(sock, _Reader(sock))
            if not _dropped(connection.sock):
                return connection
            connection.close()

    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection(self._address, timeout=self._connect_timeout)
        except Exception as exc:
            raise self._failure(exc, connecting=True) from exc
        try:
            sock.setsockopt(*_NODELAY)
            if self._context is not None:
                sock = self._context.wrap_socket(sock, server_hostname=self._address[0])
        except Exception as exc:
            sock.close()
            raise self._failure(exc, connecting=True) from exc
        return sock

    def _failure(self, exc: Exception, *, connecting: bool) -> Exception:
        """botocore's exception for a failed connection or exchange (what its retry rules
        read: connection and timeout errors are retried, as urllib3's were)."""
        from botocore import exceptions as bx

        url = self.endpoint
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


def read_answer(reader: _Reader) -> Answer:
    """One HTTP/1.x answer: http.client's exceptions for what is broken or cut short.
    Interim answers (1xx, RFC 9110 15.2: a head without a body) before it are skipped; a
    101 switches protocols, which no request here asks for: a broken answer."""
    for _ in range(_MAX_INTERIM + 1):
        answer = _read_one(reader)
        if answer is not None:
            return answer
    raise http.client.HTTPException(f"more than {_MAX_INTERIM} interim answers")


def _read_one(reader: _Reader) -> Answer | None:
    """The next answer, or None when it was an interim (1xx) one."""
    head = reader.read_head(_MAX_HEAD + 1)
    if not head:
        raise http.client.RemoteDisconnected("the connection closed before an answer")
    if len(head) > _MAX_HEAD:
        raise http.client.LineTooLong("header block")
    status_line, *lines = head.decode("latin-1").split("\n")
    version, _, rest = status_line.rstrip("\r").partition(" ")
    code = rest.partition(" ")[0]
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise http.client.BadStatusLine(repr(status_line[:100]))
    headers: dict[str, str] = {}
    for count, line in enumerate(lines):
        if line in ("\r", ""):
            break  # the empty line that ends the headers (or the end of the stream)
        if count == _MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")
        name, colon, value = line.partition(":")
        if not colon:
            raise http.client.HTTPException(f"malformed header line {line[:100]!r}")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    if code.startswith("1"):
        if code == "101":
            raise http.client.HTTPException("101 Switching Protocols: not asked for")
        return None
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    keep = version == "HTTP/1.1" and "close" not in tokens
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _chunked(reader)
    elif "content-length" in headers:
        body = _exactly(reader, _number(headers["content-length"].encode(), 10))
    else:
        body, keep = reader.read(), False  # ended by closing the connection
    return Answer(int(code), headers, body, keep)


def _number(text: bytes, base: int) -> int:
    try:
        return int(text, base)
    except ValueError:
        raise http.client.HTTPException(f"not a length: {text[:20]!r}") from None


def _exactly(reader: _Reader, size: int) -> bytes:
    if size < 0:
        raise http.client.HTTPException("negative Content-Length")
    data = reader.read(size)
    if len(data) < size:
        raise http.client.IncompleteRead(data, size - len(data))
    return data


def _chunked(reader: _Reader) -> bytes:
    parts: list[bytes] = []
    while True:
        line = reader.readline(_MAX_LINE + 1)
        size = _number(line.split(b";", 1)[0].strip() or b"-1", 16)
        if size < 0:
            raise http.client.IncompleteRead(b"".join(parts))
        if size == 0:
            break
        parts.append(_exactly(reader, size))
        _exactly(reader, 2)  # the chunk's CRLF
    while reader.readline(_MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
        pass  # trailers, ignored
    return b"".join(parts)


def _dropped(sock: socket.socket) -> bool:
    """An idle connection with something to read: the server closed it (or broke the
    protocol); either way it must not carry the next request. TLS may hold decrypted bytes
    that select cannot see."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
