"""The table backends for tests: MemoryTable, DynamoTable on DynamoDB mocked in-process by
moto (botocore's client), and DynamoTable with the production client (DynamoHttpClient)
over HTTP to moto's server in a thread. One place builds them, for the store contract tests
and the CLI's."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from moto import mock_aws
from moto.server import ThreadedMotoServer

from chalicelib.clock import Clock
from chalicelib.stores.dynamodb import DynamoTable, make_client
from chalicelib.stores.dynamodb_http import DynamoHttpClient
from chalicelib.stores.memory import MemoryTable
from chalicelib.stores.schema import table_definition
from chalicelib.stores.table import Table

BACKENDS = ["memory", "dynamodb"]
# The table contracts also run over the wire, with the client production uses.
WIRE_BACKENDS = [*BACKENDS, "dynamodb-http"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server in a thread of this process on a free port; its URL."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextmanager
def fresh_table(backend: str, clock: Clock, name: str = "tollgate-contract") -> Iterator[Table]:
    """One fresh, empty table of the backend ("memory" or "dynamodb"), read with `clock`."""
    if backend == "memory":
        yield MemoryTable(clock)
        return
    if backend == "dynamodb-http":
        with moto_server() as url:
            name = f"{name}-{uuid.uuid4().hex[:8]}"  # moto's state is this process's
            make_client("us-east-1", url).create_table(**table_definition(name))
            yield DynamoTable(DynamoHttpClient("us-east-1", url), name, clock)
        return
    with mock_aws():
        client = make_client("us-east-1", None)
        client.create_table(**table_definition(name))
        yield DynamoTable(client, name, clock)
