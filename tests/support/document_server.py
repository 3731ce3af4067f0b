"""A local HTTPS server for Client ID Metadata Document tests: a CA made here with
`cryptography`, a server certificate it signs (localhost, docs.example, 127.0.0.1), and
pages set per test. The CA is trusted only where a test names its file
(TOLLGATE_DOCUMENT_CA_BUNDLE, Settings.document_ca_bundle)."""

from __future__ import annotations

import datetime
import functools
import json
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NAMES = ("localhost", "docs.example")


@dataclass
class Page:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    hold: bool = False  # answer only when the test ends (a server that never answers)
    length: bool = True  # send Content-Length (else the body ends when the connection closes)


@dataclass
class DocumentServer:
    port: int
    ca_file: str
    pages: dict[str, Page]
    requests: list[str]
    release: threading.Event

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}{path}"

    def document(self, path: str, cache: str = "max-age=600", **changes: Any) -> str:
        """Serve a valid client document at `path`; its URL (the client_id)."""
        url = self.url(path)
        doc = {
            "client_id": url,
            "client_name": "Example MCP host",
            "redirect_uris": ["https://app.example/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            **changes,
        }
        doc = {k: v for k, v in doc.items() if v is not None}
        headers = {"Content-Type": "application/json", "Cache-Control": cache}
        self.pages[path] = Page(json.dumps(doc).encode(), headers=headers)
        return url


@functools.cache
def _certificates() -> tuple[bytes, bytes, bytes]:
    """(CA certificate, server certificate, server key), PEM; made once per test run."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tollgate test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in NAMES]
    names.append(x509.IPAddress(IPv4Address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca.public_bytes(pem), cert.public_bytes(pem), key_pem


@contextmanager
def document_server(folder: Path) -> Iterator[DocumentServer]:
    """A running HTTPS server on 127.0.0.1 (a free port) and the CA file that trusts it."""
    ca_pem, cert_pem, key_pem = _certificates()
    (folder / "ca.pem").write_bytes(ca_pem)
    (folder / "server.pem").write_bytes(cert_pem + key_pem)
    pages: dict[str, Page] = {}
    seen: list[str] = []
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            page = pages.get(self.path, Page(b"{}", status=404))
            if page.hold:
                release.wait(30)
            self.send_response(page.status)
            for name, value in page.headers.items():
                self.send_header(name, value)
            if page.length:
                self.send_header("Content-Length", str(len(page.body)))
            self.end_headers()
            self.wfile.write(page.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "server.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield DocumentServer(server.server_address[1], str(folder / "ca.pem"), pages, seen, release)
    finally:
        release.set()
        server.shutdown()
        server.server_close()


@dataclass
class SlowServer:
    """What a slow server did with its one connection: how many bytes of its answer it
    sent, and whether the client hung up before the answer was all sent."""

    port: int
    ca_file: str
    sent: int = 0
    hung_up: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"


@contextmanager
def slow_server(
    folder: Path, answer: list[tuple[float, bytes]], handshake_delay: float = 0.0
) -> Iterator[SlowServer]:
    """Serve one connection on 127.0.0.1: hold the TLS handshake `handshake_delay` seconds,
    read the request, then for each (pause, piece) of `answer` wait `pause` seconds and send
    `piece` as its own TLS record. The client is seen hanging up as soon as it does (its
    side of the socket turns readable: it sends nothing after its request)."""
    ca_pem, cert_pem, key_pem = _certificates()
    (folder / "ca.pem").write_bytes(ca_pem)
    (folder / "server.pem").write_bytes(cert_pem + key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "server.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    server = SlowServer(listener.getsockname()[1], str(folder / "ca.pem"))

    def serve() -> None:
        try:
            listener.settimeout(30)
            raw, _ = listener.accept()
            raw.settimeout(30)
            time.sleep(handshake_delay)
            with context.wrap_socket(raw, server_side=True) as tls:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += tls.recv(4096) or b"\r\n\r\n"
                for pause, piece in answer:
                    if select.select([tls], [], [], pause)[0]:
                        server.hung_up = True
                        return
                    tls.sendall(piece)
                    server.sent += len(piece)
        except OSError:  # the handshake or a write met the client's hang-up
            server.hung_up = True
        finally:
            server.done.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        listener.close()
