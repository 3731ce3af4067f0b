"""Fixtures for the store contract tests: every test that asks for `table` or `store` runs
twice, against MemoryTable and against DynamoTable on DynamoDB mocked in-process by moto."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from chalicelib.clock import FakeClock
from chalicelib.stores.dynamodb import DynamoTable, make_client
from chalicelib.stores.memory import MemoryTable
from chalicelib.stores.repository import Store
from chalicelib.stores.schema import table_definition
from chalicelib.stores.table import Table

TABLE_NAME = "tollgate-contract"


@pytest.fixture
def clock() -> FakeClock:
    """The clock the table under test reads; tests move it to expire items."""
    return FakeClock()


@pytest.fixture(params=["memory", "dynamodb"])
def table(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Table]:
    """One fresh, empty table per test, driven by the `clock` fixture."""
    if request.param == "memory":
        yield MemoryTable(clock)
        return
    with mock_aws():
        client = make_client("us-east-1", None)
        client.create_table(**table_definition(TABLE_NAME))
        yield DynamoTable(client, TABLE_NAME, clock)


@pytest.fixture
def store(table: Table) -> Store:
    return Store(table)
