"""The item table: the one storage primitive, with a DynamoDB and an in-memory implementation.

Items are flat dicts of str, int, bool, list[str] and dict values with string keys `pk` and
`sk` and an optional numeric `ttl` (epoch seconds). Every read treats an item whose ttl has
passed as absent, because DynamoDB deletes expired items up to days late (and moto never does).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any, Protocol

from chalicelib.stores.failures import (
    ConditionFailed,
    ItemExists,
    StoreError,
    StoreUnavailable,
    TransactionCanceled,
)

# The store's exceptions live in failures.py (the authorizer loads them alone); re-exported.
__all__ = [
    "Check",
    "Claim",
    "ConditionFailed",
    "Delete",
    "Item",
    "ItemExists",
    "Put",
    "StoreError",
    "StoreUnavailable",
    "Table",
    "TransactionCanceled",
    "Update",
    "Write",
]

Item = dict[str, Any]


@dataclass(frozen=True)
class Put:
    item: Item
    if_absent: bool = False


@dataclass(frozen=True)
class Claim:
    """Set `field` to `value` on a live item where it is unset (or already `value`)."""

    pk: str
    sk: str
    field: str
    value: str
    also: Item = _field(default_factory=dict)  # further attributes set by the same write


@dataclass(frozen=True)
class Update:
    """Set attributes on a live item whose `expect`ed attributes hold the given values
    (None: the attribute is absent)."""

    pk: str
    sk: str
    values: Item
    expect: Item = _field(default_factory=dict)


@dataclass(frozen=True)
class Delete:
    pk: str
    sk: str


@dataclass(frozen=True)
class Check:
    """Write nothing: the transaction applies only while this live item holds `expect`
    (DynamoDB's ConditionCheck); an expected None means the attribute is absent."""

    pk: str
    sk: str
    expect: Item


Write = Put | Claim | Update | Delete | Check


def check_transaction(writes: list[Write]) -> None:
    """DynamoDB's rules: 1 to 100 writes, no item written twice."""
    if not 0 < len(writes) <= 100:
        raise ValueError("a transaction holds 1 to 100 writes")
    keys = [(w.item["pk"], w.item["sk"]) if isinstance(w, Put) else (w.pk, w.sk) for w in writes]
    if len(set(keys)) != len(keys):
        raise ValueError("a transaction may write each item only once")


class Table(Protocol):
    def get(self, pk: str, sk: str) -> Item | None:
        """The live item, or None when absent or expired (strongly consistent)."""
        ...

    def get_many(self, keys: list[tuple[str, str]]) -> list[Item | None]:
        """The live items at these (pk, sk) keys, in the same order, None where absent or
        expired; strongly consistent, one BatchGetItem per 100 distinct keys."""
        ...

    def increment(self, pk: str, sk: str, ttl: int) -> int:
        """Atomically add 1 to the item's `count` and return the new count.

        An absent or expired item starts again at 1 with this `ttl`; a live item keeps the
        ttl it has, so a counter lives exactly as long as it was first given.
        """
        ...

    def decrement(self, pk: str, sk: str) -> int | None:
        """Atomically take 1 from a live counter's positive `count`; the new count.

        None, and nothing written, when the counter is absent, expired or at 0: a give-back
        never creates a counter nor takes one below zero.
        """
        ...

    def put(self, item: Item, *, if_absent: bool = False) -> None:
        """Write an item; with if_absent, raise ItemExists when a live item is there."""
        ...

    def delete(self, pk: str, sk: str) -> None: ...

    def query(
        self, pk: str, sk_prefix: str = "", *, limit: int | None = None, descending: bool = False
    ) -> list[Item]:
        """Live items of one partition, sorted by sk (`descending`: last first); with a
        `limit`, the first that many, read without reading the rest of the partition."""
        ...

    def query_page(
        self, pk: str, sk_prefix: str, limit: int, after: str | None = None
    ) -> tuple[list[Item], str | None]:
        """One page of a partition, sorted by sk: the live items among the next `limit`
        whose sk starts with the prefix and sorts after `after`, and the sk to pass as
        `after` for the next page (None when there is none; a page may come back empty)."""
        ...

    def scan_prefix(self, pk_prefix: str) -> list[Item]:
        """Live items whose pk starts with the prefix (admin listings only: a full scan)."""
        ...

    def claim(self, pk: str, sk: str, field: str, value: str, also: Item | None = None) -> Item:
        """Atomically set `field` on a live item where it is not yet set, returning the item.

        Raises ConditionFailed with the current item when the field was already set, or with
        None when the item is absent or expired. If the field already holds `value` (our own
        earlier attempt committed but its answer was lost), the claim is ours and succeeds.
        """
        ...

    def update(self, pk: str, sk: str, values: Item) -> Item:
        """Set attributes on a live item; ConditionFailed(None) when absent or expired."""
        ...

    def transact(self, writes: list[Write]) -> None:
        """All writes or none (DynamoDB TransactWriteItems, at most 100 writes).

        Raises TransactionCanceled naming the writes whose conditions failed.
        """
        ...
