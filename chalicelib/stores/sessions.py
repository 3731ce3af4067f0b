"""Sign-in sessions: SESSION#<sha256(sid)> / SESSION, with a ttl."""

from __future__ import annotations

from chalicelib.stores.models import Session
from chalicelib.stores.records import from_item, to_item
from chalicelib.stores.table import Table


class SessionRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, session: Session) -> None:
        item = to_item(session, f"SESSION#{session.sid_hash}", "SESSION", session.expires_at)
        self.table.put(item, if_absent=True)

    def get(self, sid_hash: str) -> Session | None:
        return from_item(Session, self.table.get(f"SESSION#{sid_hash}", "SESSION"))

    def delete(self, sid_hash: str) -> None:
        self.table.delete(f"SESSION#{sid_hash}", "SESSION")
