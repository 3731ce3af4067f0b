"""Atomic counters and batched reads: the Table contract against both backends.

`increment` is what the brute-force limits count with (SECURITY.md item 18,
chalicelib/accounts/rate_limit.py): one atomic write per failure, with no read first, so
parallel failures can never be lost. `get_many` reads the counters an attempt must pass in
one call. Expired counters follow SECURITY.md item 24: never counted on, whether or not
DynamoDB has deleted them yet.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.stub import Stubber

from chalicelib.clock import FakeClock
from chalicelib.stores import dynamodb
from chalicelib.stores.dynamodb import DynamoTable, make_client
from chalicelib.stores.table import StoreUnavailable, Table
from tests.stores.races import only_atomic_backends

THREADS = 20

# -- increment ------------------------------------------------------------------------------


def test_increment_creates_the_counter_at_one(table: Table, clock: FakeClock) -> None:
    ttl = clock.now() + 900

    assert table.increment("RATE#x", "W#0", ttl) == 1

    assert table.get("RATE#x", "W#0") == {"pk": "RATE#x", "sk": "W#0", "count": 1, "ttl": ttl}


def test_increment_counts_on_and_keeps_the_first_ttl(table: Table, clock: FakeClock) -> None:
    first_ttl = clock.now() + 900

    counts = [table.increment("RATE#x", "W#0", first_ttl + n) for n in range(5)]

    assert counts == [1, 2, 3, 4, 5]
    assert table.get("RATE#x", "W#0") == {
        "pk": "RATE#x",
        "sk": "W#0",
        "count": 5,
        "ttl": first_ttl,
    }


def test_counters_are_per_key(table: Table, clock: FakeClock) -> None:
    ttl = clock.now() + 60
    table.increment("RATE#a", "W#0", ttl)
    table.increment("RATE#a", "W#0", ttl)

    assert table.increment("RATE#a", "W#60", ttl) == 1  # another sort key
    assert table.increment("RATE#b", "W#0", ttl) == 1  # another partition
    assert table.increment("RATE#a", "W#0", ttl) == 3


def test_a_counter_counts_on_until_its_ttl(table: Table, clock: FakeClock) -> None:
    ttl = clock.now() + 10
    table.increment("RATE#x", "W#0", ttl)

    clock.advance(9)

    assert table.increment("RATE#x", "W#0", clock.now() + 100) == 2


@pytest.mark.parametrize("age", [0, 1, 86_400 * 3], ids=["ttl-now", "ttl-1s-ago", "ttl-3d-ago"])
def test_an_expired_counter_starts_again_at_one(table: Table, clock: FakeClock, age: int) -> None:
    """SECURITY.md item 24: an expired-but-undeleted counter (DynamoDB deletes days late,
    moto never) counts as absent: it restarts at 1 with the new ttl instead of counting on."""
    old_ttl = clock.now() + 60
    for _ in range(7):
        table.increment("RATE#x", "W#0", old_ttl)
    clock.advance(60 + age)
    new_ttl = clock.now() + 60

    assert table.increment("RATE#x", "W#0", new_ttl) == 1
    assert table.increment("RATE#x", "W#0", new_ttl + 5) == 2

    assert table.get("RATE#x", "W#0") == {"pk": "RATE#x", "sk": "W#0", "count": 2, "ttl": new_ttl}


# -- decrement: a login attempt gives its count back (SECURITY.md item 30) -------------------


def test_decrement_gives_one_back_and_keeps_the_ttl(table: Table, clock: FakeClock) -> None:
    ttl = clock.now() + 900
    for _ in range(3):
        table.increment("RATE#x", "W#0", ttl)

    assert table.decrement("RATE#x", "W#0") == 2
    assert table.increment("RATE#x", "W#0", ttl + 5) == 3
    assert table.get("RATE#x", "W#0") == {"pk": "RATE#x", "sk": "W#0", "count": 3, "ttl": ttl}


def test_decrement_never_creates_a_counter_nor_goes_below_zero(
    table: Table, clock: FakeClock
) -> None:
    assert table.decrement("RATE#x", "W#0") is None
    assert table.get("RATE#x", "W#0") is None

    table.increment("RATE#x", "W#0", clock.now() + 60)
    assert table.decrement("RATE#x", "W#0") == 0
    assert table.decrement("RATE#x", "W#0") is None
    assert table.increment("RATE#x", "W#0", clock.now() + 60) == 1


def test_decrement_leaves_an_expired_counter_alone(table: Table, clock: FakeClock) -> None:
    """SECURITY.md item 24: an expired counter is absent, also for a give-back."""
    for _ in range(4):
        table.increment("RATE#x", "W#0", clock.now() + 10)
    clock.advance(10)

    assert table.decrement("RATE#x", "W#0") is None
    assert table.increment("RATE#x", "W#0", clock.now() + 60) == 1


def test_concurrent_increments_and_decrements_balance(table: Table, clock: FakeClock) -> None:
    """Each thread takes one and gives it back, as a successful login does: nothing lost."""
    only_atomic_backends(table)
    ttl = clock.now() + 60
    table.increment("RATE#race", "W#0", ttl)
    start = threading.Barrier(THREADS)

    def contender() -> None:
        start.wait()
        table.increment("RATE#race", "W#0", ttl)
        table.decrement("RATE#race", "W#0")

    threads = [threading.Thread(target=contender) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not any(thread.is_alive() for thread in threads)
    assert table.get("RATE#race", "W#0") == {"pk": "RATE#race", "sk": "W#0", "count": 1, "ttl": ttl}


def _race(table: Table, pk: str, ttl: int) -> tuple[list[int], list[BaseException]]:
    start = threading.Barrier(THREADS)
    returned: list[int] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def contender() -> None:
        start.wait()
        try:
            count = table.increment(pk, "W#0", ttl)
        except BaseException as exc:  # surfaced by the caller's asserts
            with lock:
                unexpected.append(exc)
        else:
            with lock:
                returned.append(count)

    threads = [threading.Thread(target=contender) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return returned, unexpected


def test_concurrent_increments_lose_nothing(table: Table, clock: FakeClock) -> None:
    """20 threads increment one counter at once: the final count is 20, and each thread
    saw a different count (a read-then-write counter would lose increments here)."""
    only_atomic_backends(table)
    ttl = clock.now() + 60

    returned, unexpected = _race(table, "RATE#race", ttl)

    assert unexpected == []
    assert sorted(returned) == list(range(1, THREADS + 1))
    assert table.get("RATE#race", "W#0") == {
        "pk": "RATE#race",
        "sk": "W#0",
        "count": THREADS,
        "ttl": ttl,
    }


def test_concurrent_increments_of_an_expired_counter_restart_it_once(
    table: Table, clock: FakeClock
) -> None:
    """The restart of an expired counter races too: exactly one thread restarts it, the
    others count on from there."""
    only_atomic_backends(table)
    for _ in range(5):
        table.increment("RATE#race", "W#0", clock.now() + 10)
    clock.advance(10)
    ttl = clock.now() + 60

    returned, unexpected = _race(table, "RATE#race", ttl)

    assert unexpected == []
    assert sorted(returned) == list(range(1, THREADS + 1))
    stored = table.get("RATE#race", "W#0")
    assert stored == {"pk": "RATE#race", "sk": "W#0", "count": THREADS, "ttl": ttl}


# -- get_many -------------------------------------------------------------------------------


def test_get_many_returns_items_in_the_order_asked(table: Table) -> None:
    table.put({"pk": "A#1", "sk": "X", "v": 1})
    table.put({"pk": "A#2", "sk": "X", "v": 2})

    got = table.get_many([("A#2", "X"), ("A#missing", "X"), ("A#1", "X"), ("A#1", "Y")])

    assert got == [{"pk": "A#2", "sk": "X", "v": 2}, None, {"pk": "A#1", "sk": "X", "v": 1}, None]


def test_get_many_of_nothing_is_empty(table: Table) -> None:
    assert table.get_many([]) == []


def test_get_many_may_ask_for_a_key_twice(table: Table) -> None:
    table.put({"pk": "A#1", "sk": "X", "names": ["a"]})

    first, second = table.get_many([("A#1", "X"), ("A#1", "X")])

    assert first == second == {"pk": "A#1", "sk": "X", "names": ["a"]}
    assert first is not None
    first["names"].append("mutated")  # copies, not one shared item
    assert second == {"pk": "A#1", "sk": "X", "names": ["a"]}
    assert table.get("A#1", "X") == {"pk": "A#1", "sk": "X", "names": ["a"]}


def test_get_many_refuses_expired_items(table: Table, clock: FakeClock) -> None:
    """SECURITY.md item 24, for batched reads as for get."""
    table.put({"pk": "A#1", "sk": "X", "ttl": clock.now() + 5})
    table.put({"pk": "A#2", "sk": "X", "ttl": clock.now() + 6})
    clock.advance(5)

    assert table.get_many([("A#1", "X"), ("A#2", "X")]) == [
        None,
        {"pk": "A#2", "sk": "X", "ttl": clock.now() + 1},
    ]


def test_get_many_reads_more_than_one_batch(table: Table) -> None:
    """DynamoDB's BatchGetItem takes at most 100 keys: 150 need two calls."""
    for n in range(0, 150, 2):
        table.put({"pk": f"A#{n:03}", "sk": "X", "n": n})

    got = table.get_many([(f"A#{n:03}", "X") for n in range(150)])

    assert [None if item is None else item["n"] for item in got] == [
        n if n % 2 == 0 else None for n in range(150)
    ]


# -- DynamoDB only: unprocessed keys --------------------------------------------------------


SLEEPS: list[float] = []


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DynamoTable, Stubber]]:
    """A DynamoTable whose client answers from a Stubber (no moto, no network); its
    back-off sleeps are recorded in SLEEPS instead of waited for."""
    SLEEPS.clear()
    monkeypatch.setattr(dynamodb, "time", SimpleNamespace(sleep=SLEEPS.append))
    client = make_client("us-east-1", "http://127.0.0.1:9")
    with Stubber(client) as stub:
        yield DynamoTable(client, "tollgate-counters", FakeClock()), stub
        stub.assert_no_pending_responses()


def _keys(*pks: str) -> dict[str, Any]:
    keys = [{"pk": {"S": pk}, "sk": {"S": "X"}} for pk in pks]
    return {"tollgate-counters": {"Keys": keys, "ConsistentRead": True}}


def test_unprocessed_keys_are_asked_again(stubbed: tuple[DynamoTable, Stubber]) -> None:
    """BatchGetItem may answer part of a batch under load; botocore does not retry those."""
    table, stub = stubbed
    item = {"pk": {"S": "A#1"}, "sk": {"S": "X"}, "count": {"N": "4"}}
    stub.add_response(
        "batch_get_item",
        {"Responses": {"tollgate-counters": [item]}, "UnprocessedKeys": _keys("A#2")},
        {"RequestItems": _keys("A#1", "A#2")},
    )
    later = {"pk": {"S": "A#2"}, "sk": {"S": "X"}, "count": {"N": "9"}}
    stub.add_response(
        "batch_get_item",
        {"Responses": {"tollgate-counters": [later]}},
        {"RequestItems": _keys("A#2")},
    )

    assert table.get_many([("A#1", "X"), ("A#2", "X")]) == [
        {"pk": "A#1", "sk": "X", "count": 4},
        {"pk": "A#2", "sk": "X", "count": 9},
    ]
    assert len(SLEEPS) == 1  # a short back-off before asking again


def test_keys_left_unprocessed_are_store_unavailable(stubbed: tuple[DynamoTable, Stubber]) -> None:
    """A partial answer is never taken as "absent": a counter that could not be read must
    not pass as zero failures."""
    table, stub = stubbed
    for _ in range(3):
        stub.add_response(
            "batch_get_item",
            {"Responses": {"tollgate-counters": []}, "UnprocessedKeys": _keys("A#1")},
            {"RequestItems": _keys("A#1")},
        )

    with pytest.raises(StoreUnavailable):
        table.get_many([("A#1", "X")])
    assert len(SLEEPS) == 2
