"""A stand-in for Tollgate's published documents: metadata and JWKS over real HTTP on a
loopback port, with a log of every request it was sent."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalicelib.authorizer.keys import JwksFetcher
from tests.authorizer.tokens import KeyPair


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Issuer:
    """A tiny HTTP server standing in for Tollgate: metadata and JWKS, with a request log."""

    def __init__(self) -> None:
        self.documents: dict[str, tuple[int, bytes]] = {}
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                status, body = outer.documents.get(self.path, (404, b"{}"))
                self.send_response(status)
                if status in {301, 302, 307}:
                    self.send_header("Location", body.decode())
                    body = b""
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def serve(self, path: str, doc: object, status: int = 200) -> None:
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        self.documents[path] = (status, body)

    def publish(self, *keys: KeyPair) -> None:
        self.serve("/jwks.json", {"keys": [k.jwk for k in keys]})
        self.serve(
            "/.well-known/oauth-authorization-server",
            {"issuer": self.url, "jwks_uri": f"{self.url}/jwks.json"},
        )

    def fetcher(self, clock: Clock, **kwargs: Any) -> JwksFetcher:
        return JwksFetcher(self.url, clock=clock, proxies={}, **kwargs)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
