"""A recording forwarder in front of moto's server: the AWS calls a function makes, as they
cross the wire (operation and JSON parameters), whichever client made them.

Tollgate's Lambda functions call DynamoDB and KMS through their own lean client
(chalicelib/stores/aws_json.py), which no botocore hook sees: tests that must know which
calls a packaged function made (its cold container's KMS Decrypt, the IAM permissions those
calls need) point the function's AWS_ENDPOINT_URL here.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# What AWS's JSON protocol names each service's operations by (X-Amz-Target's prefix).
SERVICES = {"DynamoDB_20120810": "dynamodb", "TrentService": "kms"}


@dataclass(frozen=True)
class Call:
    service: str  # "dynamodb", "kms"
    operation: str  # "Decrypt", "TransactWriteItems", ...
    params: dict[str, Any]


@dataclass
class Recorder:
    url: str
    calls: list[Call] = field(default_factory=list)

    def since(self, start: int) -> list[Call]:
        return self.calls[start:]


@contextmanager
def recording(upstream: str) -> Iterator[Recorder]:
    """A forwarder to `upstream` (moto's URL) on a free loopback port, and its record."""
    target = urlsplit(upstream)
    lock = threading.Lock()

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            prefix, _, operation = (self.headers.get("X-Amz-Target") or "").partition(".")
            if prefix in SERVICES:
                with lock:
                    recorder.calls.append(Call(SERVICES[prefix], operation, json.loads(body)))
            upstream_conn = http.client.HTTPConnection(target.netloc, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                upstream_conn.request("POST", self.path, body, headers)
                answer = upstream_conn.getresponse()
                data = answer.read()
            finally:
                upstream_conn.close()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in {"connection", "content-length", "transfer-encoding"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    recorder = Recorder(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
