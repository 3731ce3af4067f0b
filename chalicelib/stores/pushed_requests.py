"""Pushed authorization requests (RFC 9126): PAR#<sha256(request_uri)> / PAR, with a ttl.

A request_uri is single use: /authorize takes it with one conditional write, so of two
requests racing with the same request_uri exactly one gets the pushed parameters.
"""

from __future__ import annotations

from chalicelib.stores.models import PushedRequest
from chalicelib.stores.records import from_item, to_item
from chalicelib.stores.table import ConditionFailed, Table


def _key(handle_hash: str) -> tuple[str, str]:
    return f"PAR#{handle_hash}", "PAR"


class PushedRequestRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, pushed: PushedRequest) -> None:
        pk, sk = _key(pushed.handle_hash)
        self.table.put(to_item(pushed, pk, sk, pushed.expires_at), if_absent=True)

    def take(self, handle_hash: str, consumer: str) -> PushedRequest | None:
        """The pushed request, marked used by `consumer`; None when it is unknown, expired
        or was used before (by another consumer)."""
        pk, sk = _key(handle_hash)
        try:
            item = self.table.claim(pk, sk, "consumed_by", consumer)
        except ConditionFailed:
            return None
        return from_item(PushedRequest, item)
