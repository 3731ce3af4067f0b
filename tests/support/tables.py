"""The table backends for tests: MemoryTable, DynamoTable on DynamoDB mocked in-process by
moto (botocore's client), and DynamoTable with the production client (DynamoHttpClient)
over HTTP to moto's server in a thread. One place builds them, for the store contract tests
and the CLI's."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from moto import mock_aws
from moto.server import ThreadedMotoServer

from chalicelib.clock import Clock
from chalicelib.stores.dynamodb import DynamoTable, make_client
from chalicelib.stores.dynamodb_http import DynamoHttpClient
from chalicelib.stores.memory import MemoryTable
from chalicelib.stores.schema import table_definition
from chalicelib.stores.table import Table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BACKENDS = ["memory", "dynamodb"]
# The table contracts also run over the wire, with the client production uses.
WIRE_BACKENDS = [*BACKENDS, "dynamodb-http"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# moto's server in a thread shares this process's CPU and GIL with the test: on a loaded CI
# machine its first DynamoDB request (loading moto's backend) or a transaction over many
# items (moto deep-copies the table per write) can outlast production's 3 s read timeout,
# and a retried CreateTable then finds its own table, a retried transaction races its first
# try. Tests wait longer; the timeouts themselves are tested on their own (test_http_connections).
TEST_READ_TIMEOUT = 60.0


def create_table(url: str, name: str) -> None:
    """The table, made on moto's server at `url` with one patient try."""
    import botocore.session
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=TEST_READ_TIMEOUT,
        read_timeout=TEST_READ_TIMEOUT,
    )
    client: DynamoDBClient = botocore.session.get_session().create_client(  # type: ignore[assignment]
        "dynamodb", region_name="us-east-1", endpoint_url=url, config=config
    )
    client.create_table(**table_definition(name))


def http_client(url: str) -> DynamoHttpClient:
    """The production client, patient enough for moto's server in a thread."""
    return DynamoHttpClient("us-east-1", url, read_timeout=TEST_READ_TIMEOUT)


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
            create_table(url, name)
            yield DynamoTable(http_client(url), name, clock)
        return
    with mock_aws():
        client = make_client("us-east-1", None)
        client.create_table(**table_definition(name))
        yield DynamoTable(client, name, clock)
