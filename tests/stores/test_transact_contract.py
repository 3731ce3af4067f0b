"""Transactions: all writes or none, on both backends (DESIGN.md: multi-item state changes
use TransactWriteItems), with the failing writes and their current items reported."""

from __future__ import annotations

import pytest

from chalicelib.clock import FakeClock
from chalicelib.stores.table import (
    Check,
    Claim,
    Delete,
    Put,
    Table,
    TransactionCanceled,
    Update,
)


def _item(pk: str, **values: object) -> dict[str, object]:
    return {"pk": pk, "sk": "X", **values}


def test_all_writes_apply_together(table: Table) -> None:
    table.put(_item("A", n=1))
    table.put(_item("C", n=1))
    table.put(_item("D"))
    table.transact(
        [
            Claim("A", "X", "used_by", "me", {"used_at": 5}),
            Put(_item("B", n=2), if_absent=True),
            Update("C", "X", {"n": 3}),
            Delete("D", "X"),
        ]
    )
    assert table.get("A", "X") == _item("A", n=1, used_by="me", used_at=5)
    assert table.get("C", "X") == _item("C", n=3)
    assert table.get("B", "X") == _item("B", n=2)
    assert table.get("D", "X") is None


def test_one_failed_condition_writes_nothing(table: Table) -> None:
    table.put(_item("A", used_by="someone-else"))
    table.put(_item("C", n=1))
    with pytest.raises(TransactionCanceled) as caught:
        table.transact(
            [
                Put(_item("B", n=2), if_absent=True),
                Claim("A", "X", "used_by", "me"),
                Update("C", "X", {"n": 9}),
            ]
        )
    assert set(caught.value.failed) == {1}
    assert caught.value.failed[1] == _item("A", used_by="someone-else")
    assert table.get("B", "X") is None
    assert table.get("C", "X") == _item("C", n=1)


def test_a_check_writes_nothing_and_holds_the_transaction_to_its_condition(
    table: Table, clock: FakeClock
) -> None:
    table.put(_item("U", sub="s1", disabled=False, ttl=clock.now() + 10))
    table.transact([Check("U", "X", {"sub": "s1", "disabled": False}), Put(_item("B", n=1))])
    assert table.get("U", "X") == _item("U", sub="s1", disabled=False, ttl=clock.now() + 10)
    assert table.get("B", "X") == _item("B", n=1)

    # None expects the attribute absent (to_item drops None-valued fields).
    table.transact([Check("U", "X", {"stamp": None}), Put(_item("B", n=2))])
    assert table.get("B", "X") == _item("B", n=2)

    for expect, pk in (
        ({"disabled": True}, "U"),
        ({"sub": "s2"}, "U"),
        ({"sub": None}, "U"),
        ({}, "absent"),
    ):
        with pytest.raises(TransactionCanceled) as caught:
            table.transact([Put(_item("C", n=1)), Check(pk, "X", expect)])
        assert set(caught.value.failed) == {1}
        assert table.get("C", "X") is None
    clock.advance(10)  # expired: absent to the check too
    with pytest.raises(TransactionCanceled) as caught:
        table.transact([Check("U", "X", {}), Put(_item("C", n=1))])
    assert caught.value.failed == {0: None}
    assert table.get("C", "X") is None


def test_create_only_put_fails_over_a_live_item(table: Table) -> None:
    table.put(_item("B", n=1))
    with pytest.raises(TransactionCanceled) as caught:
        table.transact([Put(_item("B", n=2), if_absent=True)])
    assert set(caught.value.failed) == {0}
    assert table.get("B", "X") == _item("B", n=1)


def test_claims_and_updates_fail_on_absent_or_expired_items(table: Table, clock: FakeClock) -> None:
    table.put(_item("E", ttl=clock.now() + 10))
    clock.advance(10)
    for write in (Claim("E", "X", "used_by", "me"), Update("E", "X", {"n": 1})):
        with pytest.raises(TransactionCanceled) as caught:
            table.transact([write])
        assert caught.value.failed == {0: None}
    with pytest.raises(TransactionCanceled):
        table.transact([Claim("missing", "X", "used_by", "me")])


def test_a_repeated_claim_with_the_same_value_succeeds(table: Table) -> None:
    """A retried transaction whose first attempt committed is not mistaken for reuse."""
    table.put(_item("A"))
    table.transact([Claim("A", "X", "used_by", "me"), Put(_item("B"))])
    table.transact([Claim("A", "X", "used_by", "me"), Put(_item("B"))])
    assert table.get("A", "X") == _item("A", used_by="me")


def test_transaction_size_is_bounded(table: Table) -> None:
    with pytest.raises(ValueError, match="1 to 100"):
        table.transact([])
    with pytest.raises(ValueError, match="1 to 100"):
        table.transact([Put(_item(f"P{i}")) for i in range(101)])


def test_an_item_is_written_once_per_transaction(table: Table) -> None:
    table.put(_item("A"))
    with pytest.raises(ValueError, match="only once"):
        table.transact([Claim("A", "X", "used_by", "me"), Update("A", "X", {"n": 1})])
    assert table.get("A", "X") == _item("A")


def test_an_update_can_expect_current_values(table: Table) -> None:
    table.put(_item("A", successor="one"))
    with pytest.raises(TransactionCanceled) as caught:
        table.transact([Update("A", "X", {"successor": "three"}, expect={"successor": "two"})])
    assert caught.value.failed == {0: _item("A", successor="one")}
    table.transact([Update("A", "X", {"successor": "two"}, expect={"successor": "one"})])
    assert table.get("A", "X") == _item("A", successor="two")
