"""The Table contract: the same assertions against MemoryTable and DynamoTable (moto).

Every test here runs once per backend (see conftest.py), so the fast in-memory table that
most tests use cannot drift from what production DynamoDB does.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from chalicelib.clock import FakeClock
from chalicelib.stores.table import ConditionFailed, Item, ItemExists, Table
from tests.stores.races import only_atomic_backends

# -- get / put / delete ---------------------------------------------------------------------


def test_get_absent_is_none(table: Table) -> None:
    assert table.get("A#1", "X") is None


def test_put_then_get(table: Table) -> None:
    table.put({"pk": "A#1", "sk": "X", "v": "one"})

    assert table.get("A#1", "X") == {"pk": "A#1", "sk": "X", "v": "one"}
    assert table.get("A#1", "Y") is None  # the sort key is part of the key
    assert table.get("A#2", "X") is None


def test_values_round_trip(table: Table) -> None:
    item: Item = {
        "pk": "A#1",
        "sk": "X",
        "text": "héllo ✓",
        "count": 42,
        "zero": 0,
        "negative": -7,
        "big": 2**53 + 1,
        "yes": True,
        "no": False,
        "names": ["b", "a", "b"],  # a list keeps order and duplicates (not a set)
        "empty_list": [],
        "nested": {"kty": "OKP", "n": 3, "inner": {"list": ["x", "y"], "flag": True}},
        "ttl": 1_900_000_000,
    }
    table.put(item)

    got = table.get("A#1", "X")

    assert got == item
    assert got is not None
    # bool stays bool, int stays int (DynamoDB hands back Decimal: the table converts)
    assert type(got["yes"]) is bool
    assert type(got["count"]) is int
    assert type(got["ttl"]) is int
    assert type(got["nested"]["n"]) is int


def test_none_valued_fields_are_dropped(table: Table) -> None:
    table.put({"pk": "A#1", "sk": "X", "kept": "v", "dropped": None})

    got = table.get("A#1", "X")

    assert got == {"pk": "A#1", "sk": "X", "kept": "v"}
    assert got is not None
    assert "dropped" not in got


def test_get_returns_a_copy(table: Table) -> None:
    table.put({"pk": "A#1", "sk": "X", "names": ["a"], "nested": {"k": "v"}})

    got = table.get("A#1", "X")
    assert got is not None
    got["names"].append("mutated")
    got["nested"]["k"] = "mutated"

    assert table.get("A#1", "X") == {
        "pk": "A#1",
        "sk": "X",
        "names": ["a"],
        "nested": {"k": "v"},
    }


def test_put_does_not_keep_a_reference_to_the_callers_item(table: Table) -> None:
    item: Item = {"pk": "A#1", "sk": "X", "names": ["a"]}
    table.put(item)
    item["names"].append("mutated")
    item["extra"] = "mutated"

    assert table.get("A#1", "X") == {"pk": "A#1", "sk": "X", "names": ["a"]}


def test_put_replaces_the_whole_item(table: Table) -> None:
    table.put({"pk": "A#1", "sk": "X", "old": "v", "shared": 1})
    table.put({"pk": "A#1", "sk": "X", "shared": 2})

    assert table.get("A#1", "X") == {"pk": "A#1", "sk": "X", "shared": 2}


def test_delete(table: Table) -> None:
    table.put({"pk": "A#1", "sk": "X"})
    table.put({"pk": "A#1", "sk": "Y"})

    table.delete("A#1", "X")

    assert table.get("A#1", "X") is None
    assert table.get("A#1", "Y") == {"pk": "A#1", "sk": "Y"}


def test_delete_absent_is_a_no_op(table: Table) -> None:
    table.delete("A#1", "X")

    assert table.get("A#1", "X") is None


# -- create-only writes ---------------------------------------------------------------------


def test_put_if_absent_creates(table: Table) -> None:
    table.put({"pk": "A#1", "sk": "X", "v": 1}, if_absent=True)

    assert table.get("A#1", "X") == {"pk": "A#1", "sk": "X", "v": 1}


def test_put_if_absent_over_a_live_item_raises_and_keeps_it(table: Table) -> None:
    table.put({"pk": "A#1", "sk": "X", "v": "first"}, if_absent=True)

    with pytest.raises(ItemExists):
        table.put({"pk": "A#1", "sk": "X", "v": "second"}, if_absent=True)

    assert table.get("A#1", "X") == {"pk": "A#1", "sk": "X", "v": "first"}


def test_put_if_absent_over_a_live_item_with_ttl_raises(table: Table, clock: FakeClock) -> None:
    table.put({"pk": "A#1", "sk": "X", "v": "first", "ttl": clock.now() + 1})

    with pytest.raises(ItemExists):
        table.put({"pk": "A#1", "sk": "X", "v": "second"}, if_absent=True)

    assert table.get("A#1", "X") == {"pk": "A#1", "sk": "X", "v": "first", "ttl": clock.now() + 1}


@pytest.mark.parametrize("age", [0, 1, 86_400 * 3], ids=["ttl-now", "ttl-1s-ago", "ttl-3d-ago"])
def test_put_if_absent_succeeds_over_an_expired_item(
    table: Table, clock: FakeClock, age: int
) -> None:
    table.put({"pk": "A#1", "sk": "X", "v": "stale", "ttl": clock.now() - age})

    table.put({"pk": "A#1", "sk": "X", "v": "fresh", "ttl": clock.now() + 60}, if_absent=True)

    assert table.get("A#1", "X") == {"pk": "A#1", "sk": "X", "v": "fresh", "ttl": clock.now() + 60}


# -- query / scan ---------------------------------------------------------------------------


def test_query_returns_the_partition_sorted_by_sk(table: Table) -> None:
    for sk in ["KEY#c", "KEY#a", "OTHER#z", "KEY#b", "A"]:
        table.put({"pk": "KEYS", "sk": sk})
    table.put({"pk": "KEYSX", "sk": "KEY#0"})  # a longer pk is another partition
    table.put({"pk": "OTHER", "sk": "KEY#0"})

    got = table.query("KEYS")

    assert [i["sk"] for i in got] == ["A", "KEY#a", "KEY#b", "KEY#c", "OTHER#z"]
    assert all(i["pk"] == "KEYS" for i in got)


def test_query_filters_by_sk_prefix(table: Table) -> None:
    for sk in ["KEY#2", "KEY#1", "KEX#1", "KEY", "OTHER"]:
        table.put({"pk": "KEYS", "sk": sk, "n": 1})

    got = table.query("KEYS", "KEY#")

    assert got == [
        {"pk": "KEYS", "sk": "KEY#1", "n": 1},
        {"pk": "KEYS", "sk": "KEY#2", "n": 1},
    ]


def test_query_empty_partition(table: Table) -> None:
    table.put({"pk": "OTHER", "sk": "X"})

    assert table.query("KEYS") == []
    assert table.query("OTHER", "Y") == []


def test_scan_prefix_returns_matching_partitions_sorted(table: Table) -> None:
    table.put({"pk": "CLIENT#b", "sk": "CLIENT", "v": 2})
    table.put({"pk": "CLIENT#a", "sk": "CLIENT", "v": 1})
    table.put({"pk": "CLIENT#a", "sk": "AAA", "v": 0})
    table.put({"pk": "USER#a", "sk": "USER"})
    table.put({"pk": "XCLIENT#a", "sk": "CLIENT"})  # contains the prefix but not at the start

    got = table.scan_prefix("CLIENT#")

    assert got == [
        {"pk": "CLIENT#a", "sk": "AAA", "v": 0},
        {"pk": "CLIENT#a", "sk": "CLIENT", "v": 1},
        {"pk": "CLIENT#b", "sk": "CLIENT", "v": 2},
    ]
    assert table.scan_prefix("NOPE#") == []


# -- expiry ---------------------------------------------------------------------------------


def test_expired_items_are_refused_on_read(table: Table, clock: FakeClock) -> None:
    """SECURITY.md item 24: "Expired items are refused on read even when DynamoDB has not
    deleted them yet". DynamoDB's TTL deletion runs up to days late (moto never runs it), so
    an item whose ttl <= now must be invisible to get, query and scan_prefix."""
    expires = clock.now() + 10
    table.put({"pk": "CODE#1", "sk": "CODE", "ttl": expires})
    table.put({"pk": "CODE#1", "sk": "OTHER"})  # no ttl: never expires

    clock.advance(9)  # one second before expiry: still live
    assert table.get("CODE#1", "CODE") is not None
    assert [i["sk"] for i in table.query("CODE#1")] == ["CODE", "OTHER"]
    assert [i["sk"] for i in table.scan_prefix("CODE#")] == ["CODE", "OTHER"]

    clock.advance(1)  # ttl == now: expired
    assert table.get("CODE#1", "CODE") is None
    assert [i["sk"] for i in table.query("CODE#1")] == ["OTHER"]
    assert table.query("CODE#1", "CODE") == []
    assert [i["sk"] for i in table.scan_prefix("CODE#")] == ["OTHER"]

    clock.advance(86_400 * 2)
    assert table.get("CODE#1", "CODE") is None


def test_expired_items_are_refused_not_deleted(table: Table, clock: FakeClock) -> None:
    """SECURITY.md item 24: "Expired items are refused on read even when DynamoDB has not
    deleted them yet". Turning the clock back shows the item was still stored all along:
    refusal happens on read, not by a delete that the real DynamoDB would not have done."""
    table.put({"pk": "S#1", "sk": "SESSION", "ttl": clock.now() + 5})
    clock.advance(5)
    assert table.get("S#1", "SESSION") is None

    clock.advance(-5)

    assert table.get("S#1", "SESSION") == {"pk": "S#1", "sk": "SESSION", "ttl": clock.now() + 5}


# -- claim ----------------------------------------------------------------------------------


def test_claim_first_claimer_wins(table: Table) -> None:
    table.put({"pk": "CODE#1", "sk": "CODE", "client_id": "c1", "ttl": 1_900_000_000})

    got = table.claim("CODE#1", "CODE", "consumed_by", "token-request-1")

    expected = {
        "pk": "CODE#1",
        "sk": "CODE",
        "client_id": "c1",
        "ttl": 1_900_000_000,
        "consumed_by": "token-request-1",
    }
    assert got == expected
    assert table.get("CODE#1", "CODE") == expected


def test_claim_with_another_value_fails_with_the_current_item(table: Table) -> None:
    table.put({"pk": "CODE#1", "sk": "CODE", "client_id": "c1"})
    table.claim("CODE#1", "CODE", "consumed_by", "first")

    with pytest.raises(ConditionFailed) as failed:
        table.claim("CODE#1", "CODE", "consumed_by", "second")

    current = {"pk": "CODE#1", "sk": "CODE", "client_id": "c1", "consumed_by": "first"}
    assert failed.value.item == current
    assert table.get("CODE#1", "CODE") == current  # the loser wrote nothing


def test_claim_with_the_same_value_succeeds_again(table: Table) -> None:
    """A retried write whose first attempt committed (its answer lost) is still ours."""
    table.put({"pk": "CODE#1", "sk": "CODE"})
    first = table.claim("CODE#1", "CODE", "consumed_by", "request-1")

    again = table.claim("CODE#1", "CODE", "consumed_by", "request-1")

    assert again == first == {"pk": "CODE#1", "sk": "CODE", "consumed_by": "request-1"}


def test_claim_respects_a_value_set_by_put(table: Table) -> None:
    table.put({"pk": "I#1", "sk": "INTERACTION", "completed_by": "someone"})

    with pytest.raises(ConditionFailed) as failed:
        table.claim("I#1", "INTERACTION", "completed_by", "me")

    assert failed.value.item is not None
    assert failed.value.item["completed_by"] == "someone"


def test_claim_on_an_absent_item_fails_with_none_and_creates_nothing(table: Table) -> None:
    with pytest.raises(ConditionFailed) as failed:
        table.claim("CODE#missing", "CODE", "consumed_by", "me")

    assert failed.value.item is None
    assert table.get("CODE#missing", "CODE") is None
    assert table.scan_prefix("CODE#") == []


def test_claim_on_an_expired_item_fails_with_none_and_writes_nothing(
    table: Table, clock: FakeClock
) -> None:
    table.put({"pk": "CODE#1", "sk": "CODE", "ttl": clock.now() + 60})
    clock.advance(60)

    with pytest.raises(ConditionFailed) as failed:
        table.claim("CODE#1", "CODE", "consumed_by", "late")

    assert failed.value.item is None
    clock.advance(-60)  # look at what is stored: the claim must not have been written
    assert table.get("CODE#1", "CODE") == {"pk": "CODE#1", "sk": "CODE", "ttl": clock.now() + 60}


def test_claim_on_an_expired_already_claimed_item_fails_with_none(
    table: Table, clock: FakeClock
) -> None:
    """The current item handed back on failure is never an expired one."""
    table.put({"pk": "CODE#1", "sk": "CODE", "ttl": clock.now() + 60})
    table.claim("CODE#1", "CODE", "consumed_by", "first")
    clock.advance(60)

    with pytest.raises(ConditionFailed) as failed:
        table.claim("CODE#1", "CODE", "consumed_by", "second")

    assert failed.value.item is None


THREADS = 20


def test_concurrent_claims_have_exactly_one_winner(table: Table) -> None:
    """20 threads race to claim one item with different values; moto serves them from the
    same mock, so this runs threaded against both backends."""
    only_atomic_backends(table)
    table.put({"pk": "CODE#race", "sk": "CODE", "client_id": "c1"})
    start = threading.Barrier(THREADS)
    winners: list[str] = []
    returned: list[Any] = []
    seen_by_losers: list[Any] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def contender(n: int) -> None:
        value = f"request-{n}"
        start.wait()
        try:
            item = table.claim("CODE#race", "CODE", "consumed_by", value)
        except ConditionFailed as failed:
            with lock:
                seen_by_losers.append(None if failed.item is None else failed.item["consumed_by"])
        except BaseException as exc:  # surfaced by the asserts below
            with lock:
                unexpected.append(exc)
        else:
            with lock:
                winners.append(value)
                returned.append(item["consumed_by"])

    threads = [threading.Thread(target=contender, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not any(thread.is_alive() for thread in threads)
    assert unexpected == []
    assert len(winners) == 1
    assert returned == winners
    assert seen_by_losers == [winners[0]] * (THREADS - 1)
    stored = table.get("CODE#race", "CODE")
    assert stored is not None
    assert stored["consumed_by"] == winners[0]


# -- update ---------------------------------------------------------------------------------


def test_update_sets_attributes_and_returns_the_item(table: Table) -> None:
    table.put({"pk": "G#1", "sk": "GRANT", "sub": "u1", "scopes": ["openid"]})

    got = table.update("G#1", "GRANT", {"revoked_at": 1_800_000_100, "scopes": ["a", "b"]})

    expected = {
        "pk": "G#1",
        "sk": "GRANT",
        "sub": "u1",
        "scopes": ["a", "b"],
        "revoked_at": 1_800_000_100,
    }
    assert got == expected
    assert table.get("G#1", "GRANT") == expected


def test_update_may_set_the_ttl(table: Table, clock: FakeClock) -> None:
    table.put({"pk": "S#1", "sk": "SESSION", "ttl": clock.now() + 10})

    table.update("S#1", "SESSION", {"ttl": clock.now() + 100})
    clock.advance(50)

    assert table.get("S#1", "SESSION") == {"pk": "S#1", "sk": "SESSION", "ttl": clock.now() + 50}


def test_update_on_an_absent_item_fails_with_none_and_creates_nothing(table: Table) -> None:
    with pytest.raises(ConditionFailed) as failed:
        table.update("G#missing", "GRANT", {"revoked_at": 1})

    assert failed.value.item is None
    assert table.get("G#missing", "GRANT") is None


def test_update_on_an_expired_item_fails_with_none_and_writes_nothing(
    table: Table, clock: FakeClock
) -> None:
    table.put({"pk": "I#1", "sk": "INTERACTION", "ttl": clock.now() + 1})
    clock.advance(1)

    with pytest.raises(ConditionFailed) as failed:
        table.update("I#1", "INTERACTION", {"sid_hash": "h"})

    assert failed.value.item is None
    clock.advance(-1)
    assert table.get("I#1", "INTERACTION") == {
        "pk": "I#1",
        "sk": "INTERACTION",
        "ttl": clock.now() + 1,
    }
