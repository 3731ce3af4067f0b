"""In-memory item table: the same contract as DynamoDB, for fast tests."""

from __future__ import annotations

import copy
import threading

from chalicelib.clock import Clock
from chalicelib.stores.table import ConditionFailed, Item, ItemExists


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
        with self._lock:
            item = self._live(self._items.get((pk, sk)))
            return copy.deepcopy(item)

    def put(self, item: Item, *, if_absent: bool = False) -> None:
        key = (item["pk"], item["sk"])
        with self._lock:
            if if_absent and self._live(self._items.get(key)) is not None:
                raise ItemExists(f"{key[0]}/{key[1]}")
            # Like DynamoTable, which cannot store None: None-valued fields are dropped.
            self._items[key] = copy.deepcopy({k: v for k, v in item.items() if v is not None})

    def delete(self, pk: str, sk: str) -> None:
        with self._lock:
            self._items.pop((pk, sk), None)

    def query(self, pk: str, sk_prefix: str = "") -> list[Item]:
        with self._lock:
            found = [
                copy.deepcopy(item)
                for (ipk, isk), item in self._items.items()
                if ipk == pk and isk.startswith(sk_prefix) and self._live(item) is not None
            ]
        return sorted(found, key=lambda item: str(item["sk"]))

    def scan_prefix(self, pk_prefix: str) -> list[Item]:
        with self._lock:
            found = [
                copy.deepcopy(item)
                for (ipk, _), item in self._items.items()
                if ipk.startswith(pk_prefix) and self._live(item) is not None
            ]
        return sorted(found, key=lambda item: (str(item["pk"]), str(item["sk"])))

    def claim(self, pk: str, sk: str, field: str, value: str) -> Item:
        with self._lock:
            item = self._live(self._items.get((pk, sk)))
            if item is None:
                raise ConditionFailed(None)
            current = item.get(field)
            if current is not None and current != value:
                raise ConditionFailed(copy.deepcopy(item))
            item[field] = value
            return copy.deepcopy(item)

    def update(self, pk: str, sk: str, values: Item) -> Item:
        with self._lock:
            item = self._live(self._items.get((pk, sk)))
            if item is None:
                raise ConditionFailed(None)
            item.update(copy.deepcopy(values))
            return copy.deepcopy(item)
