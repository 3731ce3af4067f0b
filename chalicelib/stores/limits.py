"""Brute-force failure counters (chalicelib/accounts/rate_limit.py):
RATE#<scope>#<sha256(key)> / W#<window start>, one counter per window, with a ttl."""

from __future__ import annotations

from chalicelib.stores.table import Table


class FailureCounters:
    def __init__(self, table: Table) -> None:
        self.table = table

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
