"""The local stack's moto: transactions roll back without copying whole tables, so its
memory stays bounded over a long session (these fail without the launcher's patch), and
its server keeps connections alive (chalicelib/admin/moto_launcher.py)."""

from __future__ import annotations

import copy
import http.client
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from chalicelib.admin import moto_launcher
from chalicelib.clock import FakeClock
from chalicelib.stores.dynamodb import DynamoTable, make_client
from chalicelib.stores.schema import table_definition
from chalicelib.stores.table import Check, Put, TransactionCanceled, Update, Write
from tests.support.tables import free_port


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DynamoTable, list[str]]]:
    """A moto table with 50 items; the names of the objects deep-copied meanwhile."""
    moto_launcher.apply()
    copied: list[str] = []
    real = copy.deepcopy

    def counting(value: Any, memo: Any = None) -> Any:
        copied.append(type(value).__name__)
        return real(value, memo)

    with mock_aws():
        client = make_client("us-east-1", None)
        client.create_table(**table_definition("t"))
        dynamo = DynamoTable(client, "t", FakeClock())
        for n in range(50):
            dynamo.put({"pk": f"A#{n}", "sk": "X", "v": n})
        monkeypatch.setattr(copy, "deepcopy", counting)
        yield dynamo, copied


def test_a_transaction_copies_only_the_items_it_writes(
    table: tuple[DynamoTable, list[str]],
) -> None:
    dynamo, copied = table
    dynamo.transact([Update("A#1", "X", {"v": 100}), Put({"pk": "B#1", "sk": "X"})])
    assert "Table" not in copied
    assert copied.count("Item") <= 2  # the written items' old values, for the rollback
    assert dynamo.get("A#1", "X") == {"pk": "A#1", "sk": "X", "v": 100}


def test_a_canceled_transaction_writes_nothing(table: tuple[DynamoTable, list[str]]) -> None:
    dynamo, copied = table
    writes: list[Write] = [
        Update("A#1", "X", {"v": 100}),
        Put({"pk": "B#1", "sk": "X"}),
        Check("A#2", "X", {"v": 999}),  # fails: the whole transaction is canceled
    ]
    with pytest.raises(TransactionCanceled):
        dynamo.transact(writes)
    assert "Table" not in copied
    assert dynamo.get("A#1", "X") == {"pk": "A#1", "sk": "X", "v": 1}
    assert dynamo.get("B#1", "X") is None


def test_the_server_keeps_connections_alive() -> None:
    """Item 5 of issue 13: a DynamoDB call of `make run` or a bench reuses its connection
    (werkzeug's server, moto's own, answered every request with `Connection: close`)."""
    served = moto_launcher.server("127.0.0.1", free_port())
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", served.effective_port, timeout=10)
        sockets = []
        for _ in range(3):
            connection.request("GET", "/moto-api/")
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 200
            assert answer.getheader("Connection", "").lower() != "close"
            sockets.append(connection.sock)
        assert sockets[0] is not None
        assert sockets == [sockets[0]] * 3  # one connection carried all three
        connection.close()
    finally:
        served.close()
        thread.join(timeout=10)
