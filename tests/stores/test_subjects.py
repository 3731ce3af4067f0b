"""SECURITY.md item 37: machine and user subjects never collide (RFC 9068 5), on both
backends. A client reserves its client_id among users' subjects (SUB#) in the same
transaction as its registration; a user's `sub` cannot be a client's id, nor the reverse."""

from __future__ import annotations

import pytest

from chalicelib.stores.models import Client, User
from chalicelib.stores.repository import Store
from chalicelib.stores.table import ItemExists


def client(client_id: str) -> Client:
    return Client(client_id, "C", "confidential", "client_secret_basic", [], [], ["x"])


def user(username: str, sub: str) -> User:
    return User(username=username, sub=sub, password_hash="h")


def test_a_client_id_cannot_be_a_users_sub(store: Store) -> None:
    store.users.create(user("alice", "sub-alice"))

    with pytest.raises(ItemExists):
        store.clients.create(client("sub-alice"))
    assert store.clients.get("sub-alice") is None
    found = store.users.get_by_sub("sub-alice")
    assert found is not None and found.username == "alice"


def test_a_users_sub_cannot_be_a_client_id(store: Store) -> None:
    store.clients.create(client("svc"))

    with pytest.raises(ItemExists):
        store.users.create(user("mallory", "svc"))
    assert store.users.get("mallory") is None
    assert store.users.get_by_sub("svc") is None  # the client's reservation is no user


def test_a_client_registered_before_the_rule_is_still_respected(store: Store) -> None:
    """A registration without its reservation (made before it existed) is looked up."""
    store.table.put({"pk": "CLIENT#old", "sk": "CLIENT", "client_id": "old"})

    with pytest.raises(ItemExists):
        store.users.create(user("mallory", "old"))


def test_deleting_a_client_frees_its_id(store: Store) -> None:
    store.clients.create(client("svc"))
    store.clients.delete("svc")

    store.clients.create(client("svc"))
    assert store.clients.get("svc") is not None


def test_deleting_a_client_never_removes_a_users_pointer(store: Store) -> None:
    store.users.create(user("alice", "sub-alice"))
    store.table.put({"pk": "CLIENT#sub-alice", "sk": "CLIENT", "client_id": "sub-alice"})

    store.clients.delete("sub-alice")

    found = store.users.get_by_sub("sub-alice")
    assert found is not None and found.username == "alice"
