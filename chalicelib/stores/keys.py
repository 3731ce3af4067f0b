"""Signing keys: KEYS / KEY#<kid>, one partition read with one Query."""

from __future__ import annotations

from chalicelib.stores.models import SigningKey
from chalicelib.stores.records import from_item, to_item
from chalicelib.stores.table import ConditionFailed, Item, Table, TransactionCanceled, Update


class KeyRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, key: SigningKey) -> None:
        self.table.put(to_item(key, "KEYS", f"KEY#{key.kid}"), if_absent=True)

    def all(self) -> list[SigningKey]:
        return [k for i in self.table.query("KEYS", "KEY#") if (k := from_item(SigningKey, i))]

    def set_states(self, changes: list[tuple[SigningKey, str]], now: int) -> None:
        """Move signing keys to new states (next -> active -> retired) in one transaction.

        Each write expects the state the caller read, so of two rotations racing, one applies
        and the other raises ConditionFailed with nothing written.
        """
        stamps = {"active": "activated_at", "retired": "retired_at"}
        writes: list[Update] = []
        for key, state in changes:
            values: Item = {"state": state}
            if state in stamps:
                values[stamps[state]] = now
            writes.append(Update("KEYS", f"KEY#{key.kid}", values, expect={"state": key.state}))
        try:
            self.table.transact(list(writes))
        except TransactionCanceled as canceled:
            raise ConditionFailed(next(iter(canceled.failed.values()), None)) from None
