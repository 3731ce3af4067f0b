"""A user's grants through the `GRANTS#<sub>` index, and revoking a consent with its grants:
on MemoryTable and on DynamoTable (moto), through the parametrized `store` fixture."""

from __future__ import annotations

import dataclasses

import pytest

from chalicelib.stores.models import Consent, Grant
from chalicelib.stores.repository import Store
from chalicelib.stores.table import ItemExists, Table

NOW = 1_700_000_000


def grant(grant_id: str, sub: str = "sub-1", client_id: str = "app", at: int = NOW) -> Grant:
    return Grant(grant_id, sub, client_id, ["openid", "profile"], at)


def test_put_grant_writes_the_grant_and_its_index_item(store: Store, table: Table) -> None:
    store.grants.put(grant("g1"))

    assert store.grants.get("g1") == grant("g1")
    index = table.query("GRANTS#sub-1")
    assert index == [
        {
            "pk": "GRANTS#sub-1",
            "sk": f"GRANT#{NOW:012d}#g1",
            "kind": "GrantIndex",
            "grant_id": "g1",
            "client_id": "app",
            "scopes": ["openid", "profile"],
            "created_at": NOW,
        }
    ]


def test_put_grant_twice_writes_nothing_more(store: Store, table: Table) -> None:
    store.grants.put(grant("g1"))

    with pytest.raises(ItemExists):
        store.grants.put(dataclasses.replace(grant("g1"), sub="sub-2", created_at=NOW + 1))

    assert table.query("GRANTS#sub-2") == []  # the transaction wrote neither item
    assert store.grants.get("g1") == grant("g1")


def test_list_grants_is_the_users_grants_oldest_first_with_their_state(store: Store) -> None:
    store.grants.put(grant("g-late", at=NOW + 20))
    store.grants.put(grant("g-early", client_id="other", at=NOW))
    store.grants.put(grant("g-mid", at=NOW + 10))
    store.grants.put(grant("g-bob", sub="sub-bob"))
    store.grants.revoke("g-mid", NOW + 30, "code reuse")

    grants = store.grants.list_for("sub-1")

    assert [g.grant_id for g in grants] == ["g-early", "g-mid", "g-late"]
    assert [g.active for g in grants] == [True, False, True]
    assert grants[1].revoked_reason == "code reuse"
    assert [g.grant_id for g in store.grants.list_for("sub-bob")] == ["g-bob"]
    assert store.grants.list_for("nobody") == []


def test_revoke_consent_revokes_the_clients_active_grants_then_the_consent(store: Store) -> None:
    store.consents.put(Consent("sub-1", "app", ["openid"], NOW))
    store.consents.put(Consent("sub-1", "other", ["openid"], NOW))
    store.grants.put(grant("g1"))
    store.grants.put(grant("g2", at=NOW + 1))
    store.grants.put(grant("g-old", at=NOW - 5))
    store.grants.revoke("g-old", NOW - 1, "code reuse")
    store.grants.put(grant("g-other", client_id="other"))
    store.grants.put(grant("g-bob", sub="sub-bob"))

    revoked = store.consents.revoke("sub-1", "app", NOW + 100, "consent revoked")

    assert revoked == ["g1", "g2"]
    for grant_id in ("g1", "g2"):
        got = store.grants.get(grant_id)
        assert got is not None
        assert (got.revoked_at, got.revoked_reason) == (NOW + 100, "consent revoked")
    old = store.grants.get("g-old")
    assert old is not None and (old.revoked_at, old.revoked_reason) == (NOW - 1, "code reuse")
    assert store.consents.get("sub-1", "app") is None
    # Another client of the same user, and another user of the same client, keep theirs.
    assert store.consents.get("sub-1", "other") is not None
    kept = [store.grants.get(grant_id) for grant_id in ("g-other", "g-bob")]
    assert all(g is not None and g.active for g in kept)


def test_revoke_consent_again_is_a_no_op(store: Store) -> None:
    store.consents.put(Consent("sub-1", "app", ["openid"], NOW))
    store.grants.put(grant("g1"))
    assert store.consents.revoke("sub-1", "app", NOW + 1, "consent revoked") == ["g1"]

    assert store.consents.revoke("sub-1", "app", NOW + 2, "consent revoked") == []

    got = store.grants.get("g1")
    assert got is not None and got.revoked_at == NOW + 1


def test_a_failed_revocation_keeps_the_consent_so_a_retry_finishes(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Grants are revoked before the consent is deleted: a failure part-way leaves the
    consent, and running it again revokes the rest and then deletes it."""
    store.consents.put(Consent("sub-1", "app", ["openid"], NOW))
    store.grants.put(grant("g1"))
    store.grants.put(grant("g2", at=NOW + 1))
    real = store.grants.revoke

    def fail_on_g2(grant_id: str, when: int, reason: str) -> None:
        if grant_id == "g2":
            raise RuntimeError("store failed")
        real(grant_id, when, reason)

    monkeypatch.setattr(store.grants, "revoke", fail_on_g2)
    with pytest.raises(RuntimeError):
        store.consents.revoke("sub-1", "app", NOW + 5, "consent revoked")
    assert store.consents.get("sub-1", "app") is not None
    monkeypatch.setattr(store.grants, "revoke", real)

    assert store.consents.revoke("sub-1", "app", NOW + 6, "consent revoked") == ["g2"]
    assert store.consents.get("sub-1", "app") is None
    assert not any(g.active for g in store.grants.list_for("sub-1"))
