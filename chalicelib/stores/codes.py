"""Authorization codes: CODE#<sha256(code)> / CODE, with a ttl.

A code's grant is created only when the code is redeemed (SECURITY.md item 35): an
authorization whose code is never redeemed leaves nothing behind once the code expires.
"""

from __future__ import annotations

from chalicelib.stores import users
from chalicelib.stores.grants import grant_writes
from chalicelib.stores.models import AuthorizationCode, Grant, RefreshToken
from chalicelib.stores.records import AccountDisabled, AlreadyUsed, Gone, from_item, to_item
from chalicelib.stores.refresh_tokens import refresh_item
from chalicelib.stores.table import Claim, Put, Table, TransactionCanceled, Write


class CodeRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, code: AuthorizationCode) -> None:
        item = to_item(code, f"CODE#{code.code_hash}", "CODE", code.expires_at)
        self.table.put(item, if_absent=True)

    def get(self, code_hash: str) -> AuthorizationCode | None:
        return from_item(AuthorizationCode, self.table.get(f"CODE#{code_hash}", "CODE"))

    def redeem(
        self, code: AuthorizationCode, consumer: str, refresh: RefreshToken | None, now: int
    ) -> None:
        """Consume the code, create its grant (with the grant's index item) and store its
        refresh token, in one transaction: a code is never spent without its grant and
        refresh token stored, and no grant exists for a code never redeemed. When the code
        names its user, the same transaction requires that user to be enabled.

        AlreadyUsed when another request consumed it first; Gone when it expired meanwhile;
        AccountDisabled when its user is disabled or gone.
        """
        grant = Grant(code.grant_id, code.sub, code.client_id, list(code.scopes), now)
        writes: list[Write] = [Claim(f"CODE#{code.code_hash}", "CODE", "consumed_by", consumer)]
        if code.username is not None:
            writes.append(users.enabled(code.username, code.sub, code.stamp))
        writes += grant_writes(grant)
        if refresh is not None:
            # No create-only condition: the key is a fresh 256-bit hash, and a retry of our
            # own committed transaction must be able to write the very same item again.
            writes.append(Put(refresh_item(refresh)))
        try:
            self.table.transact(writes)
        except TransactionCanceled as canceled:
            if 0 in canceled.failed:
                current = from_item(AuthorizationCode, canceled.failed[0])
                if current is None:
                    raise Gone from None
                raise AlreadyUsed(current) from None
            if code.username is not None and 1 in canceled.failed:
                raise AccountDisabled from None
            if all(isinstance(writes[i], Put) for i in canceled.failed):
                # The code is ours (the claim held) and its grant is there: a retry of our
                # own transaction that committed before. Its refresh token was written then.
                return
            raise
