"""The lean DynamoDB client's connections (chalicelib/stores/http_connections.py): one kept
connection carries request after request, one the server closed is not reused, answers are
read whole (Content-Length, chunked, ended by closing), and a broken or cut answer is
botocore's HTTPClientError (ConnectionClosedError when cut), which its retry rules retry.
A raw socket server plays the other side, answering each request with the next scripted
bytes."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from botocore.exceptions import EndpointConnectionError, HTTPClientError, ReadTimeoutError

from chalicelib.stores.http_connections import Connections
from tests.support.tables import free_port

JSON = b'{"Item": {}}'
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 12\r\n\r\n"


@dataclass
class Server:
    """Each request is answered with answers.pop(0); `(bytes, True)` closes afterwards."""

    url: str
    answers: list[tuple[bytes, bool]] = field(default_factory=list)
    accepted: int = 0
    requests: list[bytes] = field(default_factory=list)
    closed: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))


def _request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.fixture
def server() -> Iterator[Server]:
    listener = socket.create_server(("127.0.0.1", free_port()))
    state = Server(f"http://127.0.0.1:{listener.getsockname()[1]}")

    def serve(conn: socket.socket) -> None:
        with conn:
            while (request := _request(conn)) is not None:
                state.requests.append(request)
                answer, close = state.answers.pop(0)
                conn.sendall(answer)
                if close:
                    break
        state.closed.release()

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            state.accepted += 1
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield state
    finally:
        listener.close()


def connections(url: str) -> Connections:
    return Connections(url, connect_timeout=2, read_timeout=2)


def post(pool: Connections) -> tuple[int, bytes]:
    answer = pool.post("/", {"Host": "x", "X-Amz-Target": "DynamoDB_20120810.GetItem"}, b"{}")
    return answer.status, answer.body


def test_requests_go_over_one_kept_connection(server: Server) -> None:
    server.answers = [(OK + JSON, False)] * 3
    pool = connections(server.url)
    assert [post(pool) for _ in range(3)] == [(200, JSON)] * 3
    assert server.accepted == 1
    # Each request is whole: its own headers and a Content-Length for its body.
    assert all(r.endswith(b"Content-Length: 2\r\n\r\n{}") for r in server.requests)


def test_a_connection_the_server_closed_is_not_reused(server: Server) -> None:
    server.answers = [(OK + JSON, True), (OK + JSON, False)]
    pool = connections(server.url)
    assert post(pool) == (200, JSON)
    assert server.closed.acquire(timeout=5)  # the server closed the idle connection
    assert post(pool) == (200, JSON)  # no error: a new connection, not the closed one
    assert server.accepted == 2


def test_connection_close_is_honoured(server: Server) -> None:
    closing = OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
    server.answers = [(closing + JSON, False), (OK + JSON, False)]
    pool = connections(server.url)
    post(pool)
    post(pool)
    assert server.accepted == 2


def test_a_chunked_answer_is_read_whole(server: Server) -> None:
    head = b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nX-Amz-Crc32: 1\r\n\r\n"
    server.answers = [
        (head + b'5\r\n{"a":\r\n3;x=y\r\n 1}\r\n0\r\n\r\n', False),
        (OK + JSON, False),
    ]
    pool = connections(server.url)
    answer = pool.post("/", {"Host": "x"}, b"{}")
    assert (answer.status, answer.body, answer.headers["x-amz-crc32"]) == (400, b'{"a": 1}', "1")
    assert post(pool) == (200, JSON)  # the same connection, read to the end of the chunks
    assert server.accepted == 1


def test_an_answer_ended_by_closing_is_read_to_the_end(server: Server) -> None:
    server.answers = [(b"HTTP/1.0 200 OK\r\n\r\n" + JSON, True)]
    assert post(connections(server.url)) == (200, JSON)


@pytest.mark.parametrize(
    "answer",
    [
        OK + JSON[:5],  # cut short of its Content-Length
        b"HTTP/1.1 200 OK\r\nContent-Len",  # cut in its headers
        # cut before the blank line that ends the head: never a complete, empty 200
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n",
        b"HTTP/1.1 200",
        b"HTTP/1.1 2000 OK\r\nContent-Length: 12\r\n\r\n" + JSON,  # no such status
        b"",  # closed without answering
        b"SSH-2.0-OpenSSH\r\n\r\n",  # not HTTP
        b"HTTP/1.1 200 OK\r\nContent-Length: twelve\r\n\r\n" + JSON,
        # more than 100 headers; a header block over 64 KiB (http.client's own limits)
        b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * 101 + b"Content-Length: 12\r\n\r\n" + JSON,
        b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * 65536 + b"\r\nContent-Length: 12\r\n\r\n" + JSON,
    ],
)
def test_a_broken_answer_is_an_http_client_error(server: Server, answer: bytes) -> None:
    server.answers = [(answer, True)]
    with pytest.raises(HTTPClientError):
        post(connections(server.url))


@pytest.mark.parametrize(
    "head",
    [
        OK,
        OK.replace(b"\r\n", b"\n"),  # bare line feeds, as http.client also accepts
        b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * 98 + b"Content-Length: 12\r\n\r\n",
    ],
)
def test_an_answer_s_headers_are_read_whole_however_they_end(server: Server, head: bytes) -> None:
    server.answers = [(head + JSON, False), (OK + JSON, False)]
    pool = connections(server.url)
    assert post(pool) == (200, JSON)
    assert post(pool) == (200, JSON)  # nothing of the first answer was left behind
    assert server.accepted == 1


def test_connection_close_among_other_tokens_is_honoured(server: Server) -> None:
    head = b"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 12\r\n\r\n"
    server.answers = [(head + JSON, True), (OK + JSON, False)]
    pool = connections(server.url)
    assert post(pool) == (200, JSON)
    assert post(pool) == (200, JSON)
    assert server.accepted == 2  # the first connection was not reused


def test_interim_answers_are_skipped_for_the_final_one(server: Server) -> None:
    """RFC 9110 15.2: a 1xx answer (a head, no body) is not the answer."""
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX-A: 1\r\n\r\n"
    server.answers = [(interim + OK + JSON, False), (OK + JSON, False)]
    pool = connections(server.url)
    assert post(pool) == (200, JSON)
    assert post(pool) == (200, JSON)
    assert server.accepted == 1


@pytest.mark.parametrize(
    "interim",
    [
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n" * 11,
    ],
)
def test_a_protocol_switch_or_endless_interim_answers_are_broken(
    server: Server, interim: bytes
) -> None:
    server.answers = [(interim + OK + JSON, True)]
    with pytest.raises(HTTPClientError):
        post(connections(server.url))


def test_nothing_listening_is_an_endpoint_connection_error() -> None:
    with pytest.raises(EndpointConnectionError):
        post(connections(f"http://127.0.0.1:{free_port()}"))


def test_no_answer_in_time_is_a_read_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (backlog), never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        pool = Connections(url, connect_timeout=2, read_timeout=0.2)
        with pytest.raises(ReadTimeoutError):
            post(pool)


@pytest.mark.parametrize(
    "extra", [b'HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{"Item": 666}', b"\r\n"]
)
def test_bytes_after_an_answer_are_never_the_next_answer(server: Server, extra: bytes) -> None:
    """A server (or proxy) that sends more than its answer broke the protocol: what it sent
    beyond is already read into the client's buffer, so the connection is closed, not kept,
    and the next request gets its own answer on a new connection."""
    server.answers = [(OK + JSON + extra, False), (OK + JSON, False)]
    pool = connections(server.url)
    assert post(pool) == (200, JSON)
    assert post(pool) == (200, JSON)
    assert server.accepted == 2


def test_a_long_answer_is_read_to_its_length_and_no_further(server: Server) -> None:
    """A Query page is up to 1 MB: read over many receives, and the connection is kept."""
    body = b'{"Items": ["' + b"x" * 300_000 + b'"]}'
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    server.answers = [(head + body, False), (OK + JSON, False)]
    pool = connections(server.url)
    assert post(pool) == (200, body)
    assert post(pool) == (200, JSON)
    assert server.accepted == 1
