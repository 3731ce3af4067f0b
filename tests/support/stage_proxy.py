"""A stand-in for API Gateway's stage routing, in front of `chalice local`.

A REST API's default URL is `https://<api>.execute-api.<region>.amazonaws.com/<stage>`.
API Gateway takes the stage off before the app sees the path, and answers
`403 {"message":"Forbidden"}` itself for any path outside the stage. This proxy does the
same on its own free loopback port, so a test can run Tollgate with an issuer that has a
path and see every request a browser makes that would leave the stage.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"
# Hop-by-hop headers (RFC 9110 7.6.1) are the proxy's own business on each side.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
}
FORBIDDEN = b'{"message":"Forbidden"}'


@dataclass
class StageProxy:
    """`url` is the stage's base URL (use it as the issuer); `seen` logs every request."""

    port: int
    stage: str
    upstream_port: int
    seen: list[tuple[str, str, int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/{self.stage}"

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.seen.append((method, path, status))

    def refused(self, since: int = 0) -> list[tuple[str, str, int]]:
        """The requests (from the `since`-th on) answered 403 because they left the stage."""
        with self._lock:
            prefix = f"/{self.stage}"
            return [r for r in self.seen[since:] if not _inside(r[1], prefix)]

    def app_path(self, path: str) -> str | None:
        """The path the app sees, or None when `path` is outside the stage."""
        prefix = f"/{self.stage}"
        if not _inside(path, prefix):
            return None
        rest = path[len(prefix) :]
        return rest if rest.startswith("/") else "/" + rest


def _inside(path: str, prefix: str) -> bool:
    bare = path.split("?", 1)[0]
    return bare == prefix or bare.startswith(prefix + "/")


def _handler(proxy: StageProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the test reads `seen`

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = proxy.app_path(self.path)
            if path is None:
                proxy.record(self.command, self.path, 403)
                self._answer(403, [("Content-Type", "application/json")], FORBIDDEN)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream = http.client.HTTPConnection(HOST, proxy.upstream_port, timeout=30)
            try:
                upstream.request(self.command, path, body=body or None, headers=headers)
                answer = upstream.getresponse()
                payload = answer.read()
                proxy.record(self.command, self.path, answer.status)
                self._answer(answer.status, answer.getheaders(), payload)
            except OSError:
                proxy.record(self.command, self.path, 502)
                self._answer(502, [("Content-Type", "application/json")], b'{"message":null}')
            finally:
                upstream.close()

        # http.server's names for the methods API Gateway can route.
        do_GET = do_POST = do_PUT = do_PATCH = _forward  # noqa: N815
        do_DELETE = do_OPTIONS = do_HEAD = _forward  # noqa: N815

    return Handler


@contextmanager
def stage_proxy(upstream_port: int, stage: str = "dev") -> Iterator[StageProxy]:
    """Serve `http://127.0.0.1:<free port>/<stage>/...` from `http://127.0.0.1:<upstream>/...`."""
    server = ThreadingHTTPServer((HOST, 0), BaseHTTPRequestHandler)
    proxy = StageProxy(port=server.server_address[1], stage=stage, upstream_port=upstream_port)
    server.RequestHandlerClass = _handler(proxy)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="stage-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
