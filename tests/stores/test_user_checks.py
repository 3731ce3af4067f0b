"""Redeeming a code and rotating a refresh token are one transaction each that also
requires the token's user to be enabled (SECURITY.md item 27), and a code's grant is
created by its redemption (SECURITY.md item 35): on MemoryTable and on DynamoTable (moto)."""

from __future__ import annotations

import dataclasses

import pytest

from chalicelib.stores.models import Grant, User
from chalicelib.stores.records import AccountDisabled
from chalicelib.stores.repository import Store
from chalicelib.stores.table import Table
from tests.stores.test_repository import NOW, make_code, make_grant, make_refresh


def alice(store: Store, disabled: bool = False) -> None:
    store.users.create(User("alice", "sub-1", "hash", disabled=disabled))


def test_redeem_creates_the_grant_and_its_index_item(store: Store, table: Table) -> None:
    alice(store)
    code = dataclasses.replace(make_code(), username="alice")
    store.codes.put(code)
    assert store.grants.get("g1") is None

    store.codes.redeem(code, "request-1", make_refresh(), NOW + 7)

    assert store.grants.get("g1") == Grant("g1", "sub-1", "app", ["openid"], NOW + 7)
    assert [i["grant_id"] for i in table.query("GRANTS#sub-1")] == ["g1"]
    assert store.refresh.get("r1") == make_refresh()


@pytest.mark.parametrize("change", ["disabled", "gone", "another sub"])
def test_redeem_for_a_disabled_or_gone_user_writes_nothing(
    store: Store, table: Table, change: str
) -> None:
    if change == "disabled":
        alice(store, disabled=True)
    elif change == "another sub":
        store.users.create(User("alice", "sub-2", "hash"))
    code = dataclasses.replace(make_code(), username="alice")
    store.codes.put(code)

    with pytest.raises(AccountDisabled):
        store.codes.redeem(code, "request-1", make_refresh(), NOW)

    assert store.codes.get("h1") == code  # not consumed
    assert store.grants.get("g1") is None
    assert table.query("GRANTS#sub-1") == []
    assert store.refresh.get("r1") is None


def test_a_code_from_before_a_disable_stays_void_after_enable(store: Store) -> None:
    """A disable gives the user a new stamp; enabling again keeps it, so a code (or refresh
    token) that carries the old one is refused for good."""
    alice(store)
    user = store.users.get("alice")
    assert user is not None
    code = dataclasses.replace(make_code(), username="alice", stamp=user.stamp)
    store.codes.put(code)

    store.accounts.disable(user, NOW)
    disabled = store.users.get("alice")
    assert disabled is not None and disabled.disabled and disabled.stamp is not None
    store.accounts.enable(disabled)

    with pytest.raises(AccountDisabled):
        store.codes.redeem(code, "request-1", None, NOW)
    fresh = dataclasses.replace(code, code_hash="h2", stamp=disabled.stamp)
    store.codes.put(fresh)
    store.codes.redeem(fresh, "request-1", None, NOW)
    assert store.grants.get("g1") is not None


def test_rotate_for_a_disabled_user_writes_nothing(store: Store) -> None:
    alice(store)
    old = dataclasses.replace(make_refresh("r1"), username="alice")
    new = dataclasses.replace(make_refresh("r2"), username="alice")
    store.grants.put(make_grant())
    store.refresh.put(old)
    user = store.users.get("alice")
    assert user is not None
    store.users.save(dataclasses.replace(user, disabled=True))

    with pytest.raises(AccountDisabled):
        store.refresh.rotate(old, "request-1", NOW, new)

    assert store.refresh.get("r1") == old
    assert store.refresh.get("r2") is None
    store.users.save(user)  # enabled again
    store.refresh.rotate(old, "request-1", NOW, new)
    assert store.refresh.get("r2") == new
