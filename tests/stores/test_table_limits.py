"""The Table contract, continued: bounded queries, and DynamoDB's key size limits, which the
in-memory table enforces too so that no test can pass a key real DynamoDB would refuse."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.clock import FakeClock
from chalicelib.stores.dynamodb import DynamoTable
from chalicelib.stores.table import StoreUnavailable, Table


def test_query_newest_first_with_a_limit(table: Table) -> None:
    for n in range(5):
        table.put({"pk": "NOTES", "sk": f"NOTE#{n}"})
    table.put({"pk": "NOTES", "sk": "OTHER#9"})

    got = table.query("NOTES", "NOTE#", limit=2, descending=True)

    assert [i["sk"] for i in got] == ["NOTE#4", "NOTE#3"]
    assert [i["sk"] for i in table.query("NOTES", "NOTE#", limit=9)] == [
        f"NOTE#{n}" for n in range(5)
    ]


def test_a_limit_counts_live_items_only(table: Table, clock: FakeClock) -> None:
    for n in range(4):
        ttl = {"ttl": clock.now() + 10} if n >= 2 else {}
        table.put({"pk": "NOTES", "sk": f"NOTE#{n}", **ttl})
    clock.advance(10)  # NOTE#2 and NOTE#3 expired (not yet deleted)

    got = table.query("NOTES", "NOTE#", limit=2, descending=True)

    assert [i["sk"] for i in got] == ["NOTE#1", "NOTE#0"]


def test_a_limited_query_reads_no_more_than_it_returns(
    table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GET /api/notes must not read the whole partition to show its newest 100 notes."""
    if not isinstance(table, DynamoTable):
        pytest.skip("read units are DynamoDB's")
    for n in range(30):
        table.put({"pk": "NOTES", "sk": f"NOTE#{n:02d}"})
    scanned: list[int] = []
    query = table._client.query

    def counting(**kwargs: Any) -> Any:
        out = query(**kwargs)
        scanned.append(out["ScannedCount"])
        return out

    monkeypatch.setattr(table._client, "query", counting)
    got = table.query("NOTES", "NOTE#", limit=3, descending=True)

    assert [i["sk"] for i in got] == ["NOTE#29", "NOTE#28", "NOTE#27"]
    assert sum(scanned) == 3


@pytest.mark.parametrize(
    ("pk", "sk"),
    [("P" * 2049, "S"), ("P", "S" * 1025), ("é" * 1025, "S"), ("P", "é" * 513)],
    ids=["pk 2049 bytes", "sk 1025 bytes", "pk 2050 UTF-8 bytes", "sk 1026 UTF-8 bytes"],
)
def test_keys_over_dynamodbs_limits_are_refused(table: Table, pk: str, sk: str) -> None:
    """DynamoDB refuses a partition key over 2,048 bytes and a sort key over 1,024 (a
    ValidationException: StoreUnavailable, a 503). Callers bound what they look up."""
    with pytest.raises(StoreUnavailable):
        table.put({"pk": pk, "sk": sk})
    if isinstance(table, DynamoTable):
        return  # moto checks key sizes on writes only; DynamoDB on reads too
    with pytest.raises(StoreUnavailable):
        table.get(pk, sk)


def test_strings_must_be_utf8(table: Table) -> None:
    """A lone surrogate cannot be sent to DynamoDB (botocore cannot encode it)."""
    with pytest.raises(StoreUnavailable):
        table.put({"pk": "P", "sk": "S", "text": "\ud800"})


def test_keys_at_dynamodbs_limits_are_fine(table: Table) -> None:
    table.put({"pk": "P" * 2048, "sk": "S" * 1024})
    assert table.get("P" * 2048, "S" * 1024) is not None
