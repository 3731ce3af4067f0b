"""Sign-in sessions, and the index that finds a user's sessions (SECURITY.md item 33):

    SESSION#<sha256(sid)>  / SESSION                 the session, with a ttl
    SESSIONS#<sub>         / SESSION#<sha256(sid)>   index: a user's sessions, one Query

The session and its index item are written together (one transaction) and carry the same
ttl, so an index item never outlives its session. A session is ended by deleting both.
"""

from __future__ import annotations

from chalicelib.stores.models import Session
from chalicelib.stores.records import from_item, to_item
from chalicelib.stores.table import Delete, Item, ItemExists, Put, Table, TransactionCanceled

# DynamoDB takes at most 100 writes per transaction: two per session.
_ENDED_PER_TRANSACTION = 50


def _index_key(sub: str, sid_hash: str) -> tuple[str, str]:
    return f"SESSIONS#{sub}", f"SESSION#{sid_hash}"


class SessionRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, session: Session) -> None:
        """The session and its index item, create-only; ItemExists if the session exists."""
        pk, sk = _index_key(session.sub, session.sid_hash)
        index: Item = {"pk": pk, "sk": sk, "kind": "SessionIndex", "sid_hash": session.sid_hash}
        index["ttl"] = session.expires_at
        item = to_item(session, f"SESSION#{session.sid_hash}", "SESSION", session.expires_at)
        try:
            self.table.transact([Put(item, if_absent=True), Put(index)])
        except TransactionCanceled:
            raise ItemExists("session exists") from None

    def get(self, sid_hash: str) -> Session | None:
        return from_item(Session, self.table.get(f"SESSION#{sid_hash}", "SESSION"))

    def update(self, sid_hash: str, values: Item) -> None:
        """Set attributes of a live session (the security page: `confirmed_at`, when the
        password was given again; `pending_totp`, an app being set up)."""
        self.table.update(f"SESSION#{sid_hash}", "SESSION", values)

    def delete(self, session: Session) -> None:
        """End one session (sign-out, or replaced by a fresh sign-in)."""
        self.table.transact(
            [
                Delete(f"SESSION#{session.sid_hash}", "SESSION"),
                Delete(*_index_key(session.sub, session.sid_hash)),
            ]
        )

    def list_for(self, sub: str) -> list[Session]:
        """The subject's live sessions, oldest sign-in first: one Query of the index, then
        one BatchGetItem per 100 sessions."""
        index = self.table.query(f"SESSIONS#{sub}", "SESSION#")
        keys = [(f"SESSION#{i['sid_hash']}", "SESSION") for i in index]
        items = self.table.get_many(keys) if keys else []
        found = [s for i in items if (s := from_item(Session, i)) is not None and s.sub == sub]
        return sorted(found, key=lambda s: (s.auth_time, s.sid))

    def end_all(self, sub: str) -> int:
        """End every session of the subject; how many were live. Index items whose session
        is already gone are removed too."""
        index = self.table.query(f"SESSIONS#{sub}", "SESSION#")
        writes: list[Delete] = []
        for entry in index:
            writes += [
                Delete(f"SESSION#{entry['sid_hash']}", "SESSION"),
                Delete(entry["pk"], entry["sk"]),
            ]
        step = 2 * _ENDED_PER_TRANSACTION
        for start in range(0, len(writes), step):
            self.table.transact(list(writes[start : start + step]))
        return len(index)
