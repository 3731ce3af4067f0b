"""The store's own exceptions, in a module of their own: the authorizer catches
StoreUnavailable without loading the table's write types (a cold start pays each import)."""

from __future__ import annotations

from typing import Any

Item = dict[str, Any]


class StoreError(Exception):
    """Base of the store's own exceptions; domain code never sees botocore errors."""


class ItemExists(StoreError):
    """A create-only write found an item already there."""


class ConditionFailed(StoreError):
    """A conditional write did not apply; `item` is the current item (None when absent)."""

    def __init__(self, item: Item | None) -> None:
        super().__init__("condition failed")
        self.item = item


class TransactionCanceled(StoreError):
    """A transaction wrote nothing because conditions failed: op index -> current item."""

    def __init__(self, failed: dict[int, Item | None]) -> None:
        super().__init__(f"transaction canceled by writes {sorted(failed)}")
        self.failed = failed


class StoreUnavailable(StoreError):
    """The store was throttled or failed; nothing was written by this call."""
