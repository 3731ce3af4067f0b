"""Thread races run against the in-memory table only.

moto's in-process DynamoDB does not serialize concurrent writes to one item: with 20
threads, ADD counters lost updates and conditional claims let two writers through, now and
then (seen here, not reproducible on demand). Real DynamoDB applies each conditional write
atomically, which is the property these tests would measure, so against moto they would
test moto. The conditions themselves are tested on both backends, sequentially.
"""

from __future__ import annotations

import pytest

from chalicelib.stores.dynamodb import DynamoTable
from chalicelib.stores.table import Table


def only_atomic_backends(table: Table) -> None:
    if isinstance(table, DynamoTable):
        pytest.skip("moto's DynamoDB is not atomic under concurrent writes (tests/stores/races.py)")
