"""`chalice local` as the local stack runs it (chalicelib/admin/chalice_launcher.py): each
response leaves in one send, on a socket with TCP_NODELAY, so a reused keep-alive
connection never waits for a delayed ACK between a response's headers and its body.
Checked on the mechanism (sends per response, the socket option), not on a time."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from chalice import local
from chalice.app import Chalice
from chalice.config import Config

from chalicelib.admin import chalice_launcher

REQUEST = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


class Counting(socket.socket):
    """A socket that counts the sends a response takes."""

    sends = 0

    def send(self, data: Any, *args: Any) -> int:
        self.sends += 1
        return super().send(data, *args)

    def sendall(self, data: Any, *args: Any) -> None:
        self.sends += 1
        super().sendall(data, *args)


def _app() -> Chalice:
    app = Chalice("launcher-test")

    @app.route("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app


@pytest.fixture
def server() -> Iterator[local.LocalDevServer]:
    chalice_launcher.apply()
    made = local.create_local_server(_app(), Config.create(), "127.0.0.1", 0)
    try:
        yield made
    finally:
        made.server.server_close()


def _sends(handler_cls: Any, server: Any) -> tuple[int, bytes]:
    """Sends the handler made answering one request, and the bytes the client got."""
    ours, theirs = socket.socketpair()
    with theirs:
        theirs.sendall(REQUEST)
        counting = Counting(fileno=ours.detach())
        with counting:
            handler_cls(counting, ("127.0.0.1", 1), server)
        got = b""
        while chunk := theirs.recv(65536):
            got += chunk
    return counting.sends, got


def test_a_response_is_one_send(server: local.LocalDevServer) -> None:
    sends, got = _sends(server.server.RequestHandlerClass, server.server)
    assert got.startswith(b"HTTP/1.1 200")
    assert got.endswith(b'{"hello":"world"}')
    assert sends == 1


def test_chalices_own_handler_sends_headers_and_body_apart(
    server: local.LocalDevServer,
) -> None:
    """What the launcher changes: chalice's handler, unbuffered, takes two sends."""
    import functools

    plain = functools.partial(
        local.ChaliceRequestHandler, app_object=_app(), config=Config.create()
    )
    sends, got = _sends(plain, server.server)
    assert got.endswith(b'{"hello":"world"}')
    assert sends == 2


def test_accepted_connections_have_tcp_nodelay(server: local.LocalDevServer) -> None:
    with socket.create_connection(server.server.server_address[:2]):
        conn, _ = server.server.get_request()
        with conn:
            assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_the_local_stack_starts_chalice_through_the_launcher(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.admin import local_stack

    started: list[list[str]] = []
    monkeypatch.setattr(local_stack, "_start", lambda name, argv, env, log: started.append(argv))
    local_stack.start_chalice(8000, "http://127.0.0.1:5055")
    assert started[0][1:4] == ["-m", "chalicelib.admin.chalice_launcher", "local"]
