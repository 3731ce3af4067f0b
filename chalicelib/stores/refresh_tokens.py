"""Refresh tokens: RT#<sha256(token)> / RT, with a ttl. Rotation is one transaction, which
also requires the token's grant to be active (a ConditionCheck: no read before, and no
window between the check and the rotation) and its user to be enabled when the token names
its user (SECURITY.md 27)."""

from __future__ import annotations

from chalicelib.stores import users
from chalicelib.stores.models import RefreshToken
from chalicelib.stores.records import (
    AccountDisabled,
    Gone,
    GrantRevoked,
    RefreshAlreadyUsed,
    from_item,
    to_item,
)
from chalicelib.stores.table import (
    Check,
    Claim,
    Item,
    Put,
    Table,
    TransactionCanceled,
    Update,
    Write,
)


def refresh_item(token: RefreshToken) -> Item:
    """The item of a refresh token (also written by CodeRepository.redeem)."""
    return to_item(token, f"RT#{token.token_hash}", "RT", token.expires_at)


class RefreshTokenRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, token: RefreshToken) -> None:
        self.table.put(refresh_item(token))

    def get(self, token_hash: str) -> RefreshToken | None:
        return from_item(RefreshToken, self.table.get(f"RT#{token_hash}", "RT"))

    def rotate(self, old: RefreshToken, consumer: str, now: int, new: RefreshToken) -> None:
        """Consume `old` and store its successor `new`, atomically.

        RefreshAlreadyUsed (with the current record) when another request consumed it
        first; Gone when it expired meanwhile; GrantRevoked when its grant is revoked or
        gone; AccountDisabled when `new`'s user is disabled.
        """
        claim = Claim(
            f"RT#{old.token_hash}",
            "RT",
            "consumed_by",
            consumer,
            {"consumed_at": now, "successor_hash": new.token_hash},
        )
        self._rotate([claim, Put(refresh_item(new))], new)

    def supersede(self, old: RefreshToken, consumer: str, now: int, new: RefreshToken) -> None:
        """Within the grace window: replace old's unused successor with `new`.

        The lost successor is marked consumed so it can never be used; RefreshAlreadyUsed
        (with the successor's record) when the successor was used after all.
        """
        assert old.successor_hash is not None
        writes: list[Write] = [
            Update(
                f"RT#{old.token_hash}",
                "RT",
                {"successor_hash": new.token_hash},
                expect={"successor_hash": old.successor_hash},
            ),
            Claim(
                f"RT#{old.successor_hash}",
                "RT",
                "consumed_by",
                f"superseded:{consumer}",  # grants.refresh_token.SUPERSEDED
                {"consumed_at": now, "successor_hash": new.token_hash},
            ),
            Put(refresh_item(new)),
        ]
        self._rotate(writes, new)

    def _rotate(self, writes: list[Write], new: RefreshToken) -> None:
        grant = Check(f"GRANT#{new.grant_id}", "GRANT", {"revoked_at": None})
        writes = [*writes, grant]
        if new.username is not None:
            writes.append(users.enabled(new.username, new.sub, new.stamp))
        try:
            self.table.transact(writes)
        except TransactionCanceled as canceled:
            if any(writes[i] is grant for i in canceled.failed):
                raise GrantRevoked from None
            for index in sorted(canceled.failed):
                if isinstance(writes[index], Put):
                    continue
                if isinstance(writes[index], Check):
                    raise AccountDisabled from None
                current = from_item(RefreshToken, canceled.failed[index])
                if current is None:
                    raise Gone from None
                raise RefreshAlreadyUsed(current) from None
            raise
