"""Grants and what revokes access tokens.

    GRANT#<grant_id>  / GRANT
    GRANTS#<sub>      / GRANT#<created_at>#<grant_id>   index: a user's grants, one Query
    JTI#<jti>         / REVOKED                         a revoked access token (RFC 7009), ttl

The two kinds of revocation live together because the authorizer reads both for each
token (authorizer/gate.py check_grant): its grant, then its own jti.
"""

from __future__ import annotations

from chalicelib.stores.models import Grant
from chalicelib.stores.records import from_item, to_item
from chalicelib.stores.table import (
    ConditionFailed,
    Delete,
    Item,
    ItemExists,
    Put,
    Table,
    TransactionCanceled,
)


def _index_sk(grant: Grant) -> str:
    return f"GRANT#{grant.created_at:012d}#{grant.grant_id}"  # sorts by time


def grant_writes(grant: Grant) -> list[Put]:
    """The create-only writes of a grant and its index item (also part of
    CodeRepository.redeem: a grant exists only once its code is redeemed)."""
    index: Item = {"pk": f"GRANTS#{grant.sub}", "sk": _index_sk(grant)}
    index.update(
        kind="GrantIndex",
        grant_id=grant.grant_id,
        client_id=grant.client_id,
        scopes=list(grant.scopes),
        created_at=grant.created_at,
    )
    return [
        Put(to_item(grant, f"GRANT#{grant.grant_id}", "GRANT"), if_absent=True),
        Put(index, if_absent=True),
    ]


class GrantRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, grant: Grant) -> None:
        """The grant and its index item in the user's partition, in one create-only
        transaction; ItemExists if either exists."""
        try:
            self.table.transact(list(grant_writes(grant)))
        except TransactionCanceled:
            raise ItemExists(f"grant {grant.grant_id!r} exists") from None

    def list_for(self, sub: str) -> list[Grant]:
        """The subject's grants, oldest first, revoked ones included (admin only): one Query
        of the index, then one BatchGetItem per 100 grants for their current state."""
        index = self.table.query(f"GRANTS#{sub}", "GRANT#")
        keys = [(f"GRANT#{i['grant_id']}", "GRANT") for i in index]
        items = self.table.get_many(keys) if keys else []
        return [g for i in items if (g := from_item(Grant, i)) is not None and g.sub == sub]

    def get(self, grant_id: str) -> Grant | None:
        return from_item(Grant, self.table.get(f"GRANT#{grant_id}", "GRANT"))

    def revoke(self, grant_id: str, when: int, reason: str) -> None:
        try:
            self.table.update(
                f"GRANT#{grant_id}", "GRANT", {"revoked_at": when, "revoked_reason": reason}
            )
        except ConditionFailed:
            return  # no such grant: nothing to revoke

    def revoke_all(self, sub: str, when: int, reason: str) -> list[str]:
        """Revoke every active grant of the subject; the ids of those revoked now."""
        revoked: list[str] = []
        for grant in self.list_for(sub):
            if grant.active:
                self.revoke(grant.grant_id, when, reason)
                revoked.append(grant.grant_id)
        return revoked

    def delete_all(self, sub: str) -> list[str]:
        """Delete every grant of the subject with its index item (the user is deleted);
        the ids deleted. Its tokens die with it: a token whose grant is gone is refused."""
        index = self.table.query(f"GRANTS#{sub}", "GRANT#")
        writes: list[Delete] = []
        for entry in index:
            writes += [
                Delete(f"GRANT#{entry['grant_id']}", "GRANT"),
                Delete(entry["pk"], entry["sk"]),
            ]
        for start in range(0, len(writes), 100):  # at most 100 writes per transaction
            self.table.transact(list(writes[start : start + 100]))
        return [str(entry["grant_id"]) for entry in index]

    # -- revoked access tokens (RFC 7009) ---------------------------------------------------

    def revoke_jti(self, jti: str, expires_at: int) -> None:
        """Record the access token `jti` as revoked until `expires_at`, by when no validator
        accepts it anyway. Idempotent; StoreUnavailable when it could not be recorded."""
        item: Item = {"pk": f"JTI#{jti}", "sk": "REVOKED", "kind": "RevokedToken"}
        item["ttl"] = expires_at
        self.table.put(item)

    def is_jti_revoked(self, jti: str) -> bool:
        """Whether the access token `jti` was revoked (one GetItem)."""
        return self.table.get(f"JTI#{jti}", "REVOKED") is not None
