"""A user's sessions through the `SESSIONS#<sub>` index (SECURITY.md item 33): listed with
one Query and ended together, on MemoryTable and on DynamoTable (moto)."""

from __future__ import annotations

from chalicelib.clock import FakeClock
from chalicelib.stores.models import Session
from chalicelib.stores.repository import Store
from chalicelib.stores.table import Table

NOW = FakeClock().now()


def session(sid_hash: str, sub: str = "sub-1", at: int = NOW, ttl: int = 3600) -> Session:
    return Session(sid_hash, sub, "alice", at, ["pwd"], at + ttl, sid=f"public-{sid_hash}")


def test_put_writes_an_index_item_that_expires_with_the_session(
    store: Store, table: Table, clock: FakeClock
) -> None:
    store.sessions.put(session("h1", ttl=100))

    assert table.query("SESSIONS#sub-1") == [
        {
            "pk": "SESSIONS#sub-1",
            "sk": "SESSION#h1",
            "kind": "SessionIndex",
            "sid_hash": "h1",
            "ttl": NOW + 100,
        }
    ]
    clock.advance(100)
    assert table.query("SESSIONS#sub-1") == []
    assert store.sessions.list_for("sub-1") == []


def test_list_is_the_users_live_sessions_oldest_first(store: Store, clock: FakeClock) -> None:
    store.sessions.put(session("late", at=NOW + 20))
    store.sessions.put(session("early", at=NOW))
    store.sessions.put(session("short", at=NOW + 10, ttl=50))
    store.sessions.put(session("bob", sub="sub-bob"))

    assert [s.sid_hash for s in store.sessions.list_for("sub-1")] == ["early", "short", "late"]
    clock.advance(60)
    assert [s.sid_hash for s in store.sessions.list_for("sub-1")] == ["early", "late"]
    assert store.sessions.list_for("sub-1")[0] == session("early")


def test_end_all_ends_every_session_of_the_user_and_no_other(store: Store, table: Table) -> None:
    for n in range(60):  # more than one transaction's worth (two writes per session)
        store.sessions.put(session(f"h{n:02d}", at=NOW + n))
    store.sessions.put(session("bob", sub="sub-bob"))

    assert store.sessions.end_all("sub-1") == 60

    assert store.sessions.list_for("sub-1") == []
    assert table.query("SESSIONS#sub-1") == []
    assert all(store.sessions.get(f"h{n:02d}") is None for n in range(60))
    assert store.sessions.get("bob") == session("bob", sub="sub-bob")
    assert store.sessions.end_all("sub-1") == 0


def test_delete_ends_one_session_and_its_index_item(store: Store, table: Table) -> None:
    store.sessions.put(session("h1"))
    store.sessions.put(session("h2"))

    store.sessions.delete(session("h1"))

    assert [i["sk"] for i in table.query("SESSIONS#sub-1")] == ["SESSION#h2"]
    assert [s.sid_hash for s in store.sessions.list_for("sub-1")] == ["h2"]


def test_an_index_item_of_another_subject_is_not_followed(store: Store, table: Table) -> None:
    """The index names a session hash; only a session of that very subject is listed."""
    store.sessions.put(session("bob", sub="sub-bob"))
    table.put({"pk": "SESSIONS#sub-1", "sk": "SESSION#bob", "sid_hash": "bob", "ttl": NOW + 60})

    assert store.sessions.list_for("sub-1") == []
    assert [s.sid_hash for s in store.sessions.list_for("sub-bob")] == ["bob"]
