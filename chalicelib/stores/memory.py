"""In-memory item table: the same contract as DynamoDB, for fast tests."""

from __future__ import annotations

import copy
import threading

from chalicelib.clock import Clock
from chalicelib.stores.table import (
    Check,
    Claim,
    ConditionFailed,
    Delete,
    Item,
    ItemExists,
    Put,
    StoreUnavailable,
    TransactionCanceled,
    Update,
    Write,
    check_transaction,
)

# DynamoDB's limits on a key: a partition key of at most 2,048 bytes, a sort key of at most
# 1,024 bytes, both UTF-8. Real DynamoDB answers ValidationException (DynamoTable: a
# StoreUnavailable, a 503); this table does the same, so tests catch an unbounded lookup.
MAX_PK_BYTES = 2048
MAX_SK_BYTES = 1024


def _utf8_size(value: str) -> int:
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise StoreUnavailable("ValidationException: a string that is not UTF-8") from None


def _check_key(pk: str, sk: str | None = None) -> None:
    if _utf8_size(pk) > MAX_PK_BYTES or (sk is not None and _utf8_size(sk) > MAX_SK_BYTES):
        raise StoreUnavailable("ValidationException: key over DynamoDB's size limit")


def _check_values(value: object) -> None:
    """Every string an item holds must be UTF-8, as DynamoDB requires."""
    if isinstance(value, str):
        _utf8_size(value)
    elif isinstance(value, dict):
        for member in value.values():
            _check_values(member)
    elif isinstance(value, list | set | tuple):
        for member in value:
            _check_values(member)


def _check_write(write: Write) -> None:
    if isinstance(write, Put):
        _check_key(write.item["pk"], write.item["sk"])
        _check_values(write.item)
        return
    _check_key(write.pk, write.sk)
    if isinstance(write, Claim):
        _check_values([write.value, write.also])
    elif isinstance(write, Update):
        _check_values(write.values)


class MemoryTable:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._items: dict[tuple[str, str], Item] = {}
        self._lock = threading.Lock()

    def _live(self, item: Item | None) -> Item | None:
        if item is None:
            return None
        ttl = item.get("ttl")
        if ttl is not None and int(ttl) <= self._clock.now():
            return None
        return item

    def get(self, pk: str, sk: str) -> Item | None:
        _check_key(pk, sk)
        with self._lock:
            item = self._live(self._items.get((pk, sk)))
            return copy.deepcopy(item)

    def get_many(self, keys: list[tuple[str, str]]) -> list[Item | None]:
        for pk, sk in keys:
            _check_key(pk, sk)
        with self._lock:
            return [copy.deepcopy(self._live(self._items.get(key))) for key in keys]

    def increment(self, pk: str, sk: str, ttl: int) -> int:
        _check_key(pk, sk)
        with self._lock:
            item = self._items.get((pk, sk))
            if item is None:
                item = self._items[(pk, sk)] = {"pk": pk, "sk": sk}
            if self._live(item) is None:
                # Expired but not yet deleted: the counter starts again (as DynamoTable does).
                item.update({"count": 0, "ttl": ttl})
            item["count"] = int(item.get("count", 0)) + 1
            item.setdefault("ttl", ttl)
            return int(item["count"])

    def decrement(self, pk: str, sk: str) -> int | None:
        with self._lock:
            item = self._live(self._items.get((pk, sk)))
            if item is None or int(item.get("count", 0)) <= 0:
                return None
            item["count"] = int(item["count"]) - 1
            return int(item["count"])

    def put(self, item: Item, *, if_absent: bool = False) -> None:
        key = (item["pk"], item["sk"])
        _check_write(Put(item))
        with self._lock:
            if if_absent and self._live(self._items.get(key)) is not None:
                raise ItemExists(f"{key[0]}/{key[1]}")
            # Like DynamoTable, which cannot store None: None-valued fields are dropped.
            self._items[key] = copy.deepcopy({k: v for k, v in item.items() if v is not None})

    def delete(self, pk: str, sk: str) -> None:
        _check_key(pk, sk)
        with self._lock:
            self._items.pop((pk, sk), None)

    def query(
        self, pk: str, sk_prefix: str = "", *, limit: int | None = None, descending: bool = False
    ) -> list[Item]:
        _check_key(pk, sk_prefix)
        with self._lock:
            found = [
                copy.deepcopy(item)
                for (ipk, isk), item in self._items.items()
                if ipk == pk and isk.startswith(sk_prefix) and self._live(item) is not None
            ]
        ordered = sorted(found, key=lambda item: str(item["sk"]), reverse=descending)
        return ordered if limit is None else ordered[:limit]

    def query_page(
        self, pk: str, sk_prefix: str, limit: int, after: str | None = None
    ) -> tuple[list[Item], str | None]:
        # Like DynamoDB's Limit: it counts items read, expired ones included.
        with self._lock:
            keys = sorted(
                isk
                for (ipk, isk) in self._items
                if ipk == pk and isk.startswith(sk_prefix) and (after is None or isk > after)
            )
            page = keys[:limit]
            found = [copy.deepcopy(i) for k in page if (i := self._live(self._items[(pk, k)]))]
        return found, page[-1] if len(keys) > limit else None

    def scan_prefix(self, pk_prefix: str) -> list[Item]:
        with self._lock:
            found = [
                copy.deepcopy(item)
                for (ipk, _), item in self._items.items()
                if ipk.startswith(pk_prefix) and self._live(item) is not None
            ]
        return sorted(found, key=lambda item: (str(item["pk"]), str(item["sk"])))

    def claim(self, pk: str, sk: str, field: str, value: str, also: Item | None = None) -> Item:
        write = Claim(pk, sk, field, value, also or {})
        _check_write(write)
        with self._lock:
            failure = self._check(write)
            if failure is not None:
                raise ConditionFailed(failure[1])
            self._apply(write)
            return copy.deepcopy(self._items[(pk, sk)])

    def update(self, pk: str, sk: str, values: Item) -> Item:
        write = Update(pk, sk, values)
        _check_write(write)
        with self._lock:
            if self._check(write) is not None:
                raise ConditionFailed(None)
            self._apply(write)
            return copy.deepcopy(self._items[(pk, sk)])

    def transact(self, writes: list[Write]) -> None:
        check_transaction(writes)
        for write in writes:
            _check_write(write)
        with self._lock:
            failed = {}
            for index, write in enumerate(writes):
                failure = self._check(write)
                if failure is not None:
                    failed[index] = failure[1]
            if failed:
                raise TransactionCanceled(failed)
            for write in writes:
                self._apply(write)

    # -- one write: its condition, then its effect (callers hold the lock) -------------------

    def _check(self, write: Write) -> tuple[bool, Item | None] | None:
        """None when the write's condition holds, else (False, the current live item)."""
        if isinstance(write, Put):
            current = self._live(self._items.get((write.item["pk"], write.item["sk"])))
            if write.if_absent and current is not None:
                return False, copy.deepcopy(current)
            return None
        if isinstance(write, Delete):
            return None
        current = self._live(self._items.get((write.pk, write.sk)))
        if current is None:
            return False, None
        if isinstance(write, Claim):
            held = current.get(write.field)
            if held is not None and held != write.value:
                return False, copy.deepcopy(current)
        if isinstance(write, Update | Check) and any(
            current.get(name) != value for name, value in write.expect.items()
        ):
            return False, copy.deepcopy(current)
        return None

    def _apply(self, write: Write) -> None:
        if isinstance(write, Put):
            item = {k: v for k, v in write.item.items() if v is not None}
            self._items[(item["pk"], item["sk"])] = copy.deepcopy(item)
        elif isinstance(write, Delete):
            self._items.pop((write.pk, write.sk), None)
        elif isinstance(write, Check):
            return
        elif isinstance(write, Claim):
            item = self._items[(write.pk, write.sk)]
            item[write.field] = write.value
            item.update(copy.deepcopy(write.also))
        else:
            self._items[(write.pk, write.sk)].update(copy.deepcopy(write.values))
