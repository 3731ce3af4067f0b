"""Fixtures for the store contract tests: every test that asks for `table` or `store` runs
three times, against MemoryTable, DynamoTable on DynamoDB mocked in-process by moto, and
DynamoTable with production's DynamoHttpClient over HTTP to moto's server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.clock import FakeClock
from chalicelib.stores.repository import Store
from chalicelib.stores.table import Table
from tests.support.tables import WIRE_BACKENDS, fresh_table


@pytest.fixture
def clock() -> FakeClock:
    """The clock the table under test reads; tests move it to expire items."""
    return FakeClock()


@pytest.fixture(params=WIRE_BACKENDS)
def table(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Table]:
    """One fresh, empty table per test, driven by the `clock` fixture."""
    with fresh_table(request.param, clock) as fresh:
        yield fresh


@pytest.fixture
def store(table: Table) -> Store:
    return Store(table)
