"""A DynamoDB write that commits but whose answer is lost: botocore retries the same request,
and Tollgate must take the retry for what it is, not for a second redemption (SECURITY.md 14,
DESIGN.md "record who consumed it before deciding to revoke the grant").

The write really reaches (moto's) DynamoDB; then a `before-send` hook throws away the answer
with a read timeout, which botocore's standard retry mode answers by sending it again. The
retry carries the same ClientRequestToken, so DynamoDB (and moto) answer it as the success it
was. A retry made as a new call instead is covered by the consumer id recorded in the write
(tests/stores/test_repository.py: the same consumer may redeem or rotate again).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from moto import mock_aws

from chalicelib.clock import FakeClock
from chalicelib.stores.dynamodb import DynamoTable, make_client
from chalicelib.stores.models import AuthorizationCode, Grant, RefreshToken
from chalicelib.stores.repository import Store
from chalicelib.stores.schema import table_definition

NOW = 1_800_000_000


class LoseFirstAnswer:
    """A before-send handler: after moto has answered (and committed) the first call of an
    operation, the answer is dropped as if the connection had timed out."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        self.sent = 0

    def __call__(self, request: Any, **kwargs: Any) -> None:
        self.sent += 1
        if self.sent == 1:
            raise ReadTimeoutError(endpoint_url=request.url)


@pytest.fixture
def dynamo() -> Iterator[tuple[Store, Any]]:
    with mock_aws():
        client = make_client("us-east-1", None)
        client.create_table(**table_definition("lost"))
        yield Store(DynamoTable(client, "lost", FakeClock(NOW))), client


def _code() -> AuthorizationCode:
    return AuthorizationCode(
        code_hash="c1",
        client_id="app",
        redirect_uri="https://app.example/cb",
        code_challenge="",
        scopes=["openid", "offline_access"],
        sub="sub-1",
        grant_id="g1",
        auth_time=NOW,
        expires_at=NOW + 60,
    )


def _refresh(token_hash: str) -> RefreshToken:
    return RefreshToken(
        token_hash=token_hash,
        grant_id="g1",
        client_id="app",
        sub="sub-1",
        scopes=["openid", "offline_access"],
        issued_at=NOW,
        expires_at=NOW + 3600,
        auth_time=NOW,
    )


def _lose_first(client: Any, operation: str) -> LoseFirstAnswer:
    hook = LoseFirstAnswer(operation)
    # Registered after moto's own before-send handler, so moto has already committed.
    client.meta.events.register(f"before-send.dynamodb.{operation}", hook)
    return hook


def test_code_redemption_survives_a_lost_answer(dynamo: tuple[Store, Any]) -> None:
    store, client = dynamo
    store.codes.put(_code())
    hook = _lose_first(client, "TransactWriteItems")
    store.codes.redeem(_code(), "request-1", _refresh("r1"), NOW)
    assert hook.sent == 2  # the first attempt committed, its answer was lost, then a retry
    code = store.codes.get("c1")
    assert code is not None and code.consumed_by == "request-1"
    assert store.refresh.get("r1") == _refresh("r1")


def test_rotation_survives_a_lost_answer(dynamo: tuple[Store, Any]) -> None:
    store, client = dynamo
    store.grants.put(Grant("g1", "sub-1", "app", ["openid", "offline_access"], NOW))
    store.refresh.put(_refresh("r1"))
    hook = _lose_first(client, "TransactWriteItems")
    store.refresh.rotate(_refresh("r1"), "request-1", NOW, _refresh("r2"))
    assert hook.sent == 2
    old = store.refresh.get("r1")
    assert old is not None and (old.consumed_by, old.successor_hash) == ("request-1", "r2")
    assert store.refresh.get("r2") == _refresh("r2")


def test_without_the_request_id_the_retry_would_look_like_reuse(
    dynamo: tuple[Store, Any],
) -> None:
    """The same lost answer, seen by a second request: that one is reuse."""
    from chalicelib.stores.records import AlreadyUsed

    store, client = dynamo
    store.codes.put(_code())
    _lose_first(client, "TransactWriteItems")
    store.codes.redeem(_code(), "request-1", None, NOW)
    with pytest.raises(AlreadyUsed):
        store.codes.redeem(_code(), "request-2", None, NOW)
