"""Brute-force failure counters (chalicelib/accounts/rate_limit.py):
RATE#<scope>#<sha256(key)> / W#<window start>, one counter per window, with a ttl.

Also the key that signs device cookies (chalicelib/accounts/devices.py): DEVICEKEY /
DEVICEKEY, 32 random bytes made on first use, so there is no secret to configure. Deleting
the item makes every browser a stranger again (the account-wide limit applies to all).
"""

from __future__ import annotations

import base64
import contextlib
import secrets

from chalicelib.stores.table import ItemExists, StoreUnavailable, Table

_DEVICE_KEY = ("DEVICEKEY", "DEVICEKEY")


class FailureCounters:
    def __init__(self, table: Table) -> None:
        self.table = table
        self._device_key: bytes | None = None

    def counts(self, windows: list[tuple[str, int]]) -> list[int]:
        """The failures counted in each (subject, window start), in order; 0 where none.
        One read for all of them (BatchGetItem)."""
        items = self.table.get_many(
            [(f"RATE#{subject}", f"W#{start}") for subject, start in windows]
        )
        return [int(item.get("count", 0)) if item else 0 for item in items]

    def add(self, subject: str, window_start: int, expires: int) -> int:
        """One more failure in this window (one atomic write); the count so far."""
        return self.table.increment(f"RATE#{subject}", f"W#{window_start}", expires)

    def give_back(self, subject: str, window_start: int) -> None:
        """Undo one `add` (one atomic write): an attempt that turned out not to be a failure."""
        self.table.decrement(f"RATE#{subject}", f"W#{window_start}")

    def device_key(self) -> bytes:
        """The device-cookie key, made on first use; read once per store (container)."""
        if self._device_key is None:
            item = self.table.get(*_DEVICE_KEY)
            if item is None:
                fresh = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
                pk, sk = _DEVICE_KEY
                # If another request made it first, that one is used.
                with contextlib.suppress(ItemExists):
                    self.table.put({"pk": pk, "sk": sk, "key": fresh}, if_absent=True)
                item = self.table.get(*_DEVICE_KEY)
                if item is None:
                    raise StoreUnavailable("the device key vanished as it was made")
            self._device_key = base64.b64decode(str(item["key"]))
        return self._device_key
