"""The client assertion replay guard (SECURITY.md 19; RFC 7523 3: a jti is used once), on
MemoryTable and on DynamoDB (moto) alike: one create-only write per assertion, keyed by a
hash of client and jti, live until `until` and no longer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from chalicelib.clock import FakeClock
from chalicelib.ids import digest
from chalicelib.stores.dynamodb import DynamoTable, make_client
from chalicelib.stores.records import AssertionReplayed
from chalicelib.stores.repository import Store
from chalicelib.stores.schema import table_definition
from tests.stores.test_lost_answers import LoseFirstAnswer

NOW = FakeClock().now()


@pytest.fixture
def dynamo() -> Iterator[tuple[Store, Any]]:
    with mock_aws():
        client = make_client("us-east-1", None)
        client.create_table(**table_definition("replay"))
        yield Store(DynamoTable(client, "replay", FakeClock(NOW))), client


def test_a_jti_is_accepted_once(store: Store) -> None:
    store.assertions.use("app", "jti-1", NOW + 60, consumer="request-1")
    with pytest.raises(AssertionReplayed):
        store.assertions.use("app", "jti-1", NOW + 60, consumer="request-2")


def test_the_same_jti_of_another_client_is_another_assertion(store: Store) -> None:
    store.assertions.use("app", "jti-1", NOW + 60, consumer="request-1")
    store.assertions.use("other", "jti-1", NOW + 60, consumer="request-2")


def test_client_and_jti_cannot_be_shifted_into_each_other(store: Store) -> None:
    """("ab", "c") and ("a", "bc") concatenate alike; their keys must not."""
    store.assertions.use("ab", "c", NOW + 60, consumer="request-1")
    store.assertions.use("a", "bc", NOW + 60, consumer="request-2")


def test_the_guard_lives_until_its_time_and_no_longer(store: Store, clock: FakeClock) -> None:
    store.assertions.use("app", "jti-1", NOW + 60, consumer="request-1")
    clock.advance(59)
    with pytest.raises(AssertionReplayed):
        store.assertions.use("app", "jti-1", NOW + 60, consumer="request-2")
    clock.advance(1)  # expired, though neither DynamoDB's TTL nor moto has deleted it
    store.assertions.use("app", "jti-1", NOW + 120, consumer="request-3")


def test_the_item_holds_a_hash_not_the_jti(store: Store) -> None:
    store.assertions.use("app", "the-jti", NOW + 60, consumer="request-1")
    item = store.table.get(f"JTI#{digest('3:app:the-jti')}", "ASSERTION")
    assert item is not None
    assert item["ttl"] == NOW + 60 and item["client_id"] == "app"
    assert "the-jti" not in repr(item)


def test_a_retry_of_our_own_write_is_not_a_replay(store: Store) -> None:
    """The same consumer again: our first write committed and its answer was lost."""
    store.assertions.use("app", "jti-1", NOW + 60, consumer="request-1")
    store.assertions.use("app", "jti-1", NOW + 60, consumer="request-1")


def test_a_lost_put_answer_retried_by_botocore(dynamo: tuple[Store, Any]) -> None:
    """On DynamoDB: the put commits, its answer is lost, botocore sends it again and the
    condition fails; the guard reads the item and sees its own consumer id."""
    store, client = dynamo
    hook = LoseFirstAnswer("PutItem")
    # Registered after moto's own before-send handler, so moto has already committed.
    client.meta.events.register("before-send.dynamodb.PutItem", hook)
    store.assertions.use("app", "jti-1", NOW + 60, consumer="request-1")
    assert hook.sent == 2  # the first attempt committed, then a retry
    with pytest.raises(AssertionReplayed):
        store.assertions.use("app", "jti-1", NOW + 60, consumer="request-2")


def test_a_clients_jwks_round_trips_and_verifies(store: Store) -> None:
    """The JWK Set (a list of objects) survives the table, and an assertion verifies
    against the keys read back."""
    from chalicelib.protocol.client_assertion import verify
    from chalicelib.stores.models import Client
    from tests.support.assertions import TOKEN_ENDPOINT, claims, client_key, jwks

    keys = jwks(client_key("rt-ec"), client_key("rt-rsa", "RS256"))
    store.clients.create(
        Client("app", "App", "confidential", "private_key_jwt", [], [], [], jwks=keys)
    )
    client = store.clients.get("app")
    assert client is not None and client.jwks == keys
    signed = client_key("rt-rsa", "RS256").sign(claims("app", NOW))
    verified = verify(signed, "app", client.jwks, audiences={TOKEN_ENDPOINT}, now=NOW)
    assert verified.client_id == "app" and verified.expires_at == NOW + 60
