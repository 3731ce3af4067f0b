"""The two table backends for tests: MemoryTable, and DynamoTable on DynamoDB mocked
in-process by moto. One place builds them, for the store contract tests and the CLI's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from moto import mock_aws

from chalicelib.clock import Clock
from chalicelib.stores.dynamodb import DynamoTable, make_client
from chalicelib.stores.memory import MemoryTable
from chalicelib.stores.schema import table_definition
from chalicelib.stores.table import Table

BACKENDS = ["memory", "dynamodb"]


@contextmanager
def fresh_table(backend: str, clock: Clock, name: str = "tollgate-contract") -> Iterator[Table]:
    """One fresh, empty table of the backend ("memory" or "dynamodb"), read with `clock`."""
    if backend == "memory":
        yield MemoryTable(clock)
        return
    with mock_aws():
        client = make_client("us-east-1", None)
        client.create_table(**table_definition(name))
        yield DynamoTable(client, name, clock)
