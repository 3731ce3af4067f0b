"""Revoked access tokens in the store (RFC 7009): `JTI#<jti>` / `REVOKED`, with a ttl, on
MemoryTable and on DynamoDB (moto) alike."""

from __future__ import annotations

from chalicelib.clock import FakeClock
from chalicelib.stores.models import Client
from chalicelib.stores.repository import Store
from chalicelib.stores.table import Table


def test_a_revoked_jti_is_remembered_until_its_expiry(store: Store, clock: FakeClock) -> None:
    """SECURITY.md 24: the record counts until its ttl, and not after, deleted or not."""
    until = clock.now() + 600
    assert not store.grants.is_jti_revoked("jti-1")
    store.grants.revoke_jti("jti-1", until)
    assert store.grants.is_jti_revoked("jti-1")
    assert not store.grants.is_jti_revoked("jti-2")
    clock.advance(599)
    assert store.grants.is_jti_revoked("jti-1")
    clock.advance(1)
    assert not store.grants.is_jti_revoked("jti-1")


def test_the_record_is_keyed_and_expires_as_documented(
    store: Store, table: Table, clock: FakeClock
) -> None:
    """README "State": `JTI#<jti>` / `REVOKED`, with DynamoDB's ttl attribute set."""
    store.grants.revoke_jti("jti-1", clock.now() + 60)
    item = table.get("JTI#jti-1", "REVOKED")
    assert item is not None
    assert item["ttl"] == clock.now() + 60


def test_revoking_twice_is_harmless(store: Store, clock: FakeClock) -> None:
    """SECURITY.md 26: a client retrying after a 503 must be able to revoke again."""
    store.grants.revoke_jti("jti-1", clock.now() + 60)
    store.grants.revoke_jti("jti-1", clock.now() + 60)
    assert store.grants.is_jti_revoked("jti-1")


def test_may_introspect_is_stored_and_defaults_to_false(store: Store) -> None:
    """RFC 7662 2.1: only a client registered for it introspects others' tokens; records
    written before the field existed read back as not allowed."""

    def client(client_id: str, may_introspect: bool = False) -> Client:
        return Client(
            client_id=client_id,
            name=client_id,
            client_type="confidential",
            auth_method="client_secret_basic",
            redirect_uris=[],
            grant_types=["client_credentials"],
            scopes=["notes:read"],
            may_introspect=may_introspect,
        )

    store.clients.create(client("rs", may_introspect=True))
    store.clients.create(client("app"))
    rs, app = store.clients.get("rs"), store.clients.get("app")
    assert rs is not None and rs.may_introspect is True
    assert app is not None and app.may_introspect is False
