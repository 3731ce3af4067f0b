"""Authorization codes: CODE#<sha256(code)> / CODE, with a ttl."""

from __future__ import annotations

from chalicelib.stores.models import AuthorizationCode, RefreshToken
from chalicelib.stores.records import AlreadyUsed, Gone, from_item, to_item
from chalicelib.stores.refresh_tokens import refresh_item
from chalicelib.stores.table import Claim, Put, Table, TransactionCanceled


class CodeRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, code: AuthorizationCode) -> None:
        item = to_item(code, f"CODE#{code.code_hash}", "CODE", code.expires_at)
        self.table.put(item, if_absent=True)

    def get(self, code_hash: str) -> AuthorizationCode | None:
        return from_item(AuthorizationCode, self.table.get(f"CODE#{code_hash}", "CODE"))

    def redeem(self, code: AuthorizationCode, consumer: str, refresh: RefreshToken | None) -> None:
        """Consume the code and store its refresh token in one transaction (the one write
        that spans two aggregates: a code is never spent without its refresh token stored).

        AlreadyUsed when another request consumed it first; Gone when it expired meanwhile.
        """
        claim = Claim(f"CODE#{code.code_hash}", "CODE", "consumed_by", consumer)
        writes: list[Claim | Put] = [claim]
        if refresh is not None:
            # No create-only condition: the key is a fresh 256-bit hash, and a retry of our
            # own committed transaction must be able to write the very same item again.
            writes.append(Put(refresh_item(refresh)))
        try:
            self.table.transact(list(writes))
        except TransactionCanceled as canceled:
            if 0 not in canceled.failed:
                raise  # a fresh random hash collided: practically impossible, never ignored
            current = from_item(AuthorizationCode, canceled.failed[0])
            if current is None:
                raise Gone from None
            raise AlreadyUsed(current) from None
