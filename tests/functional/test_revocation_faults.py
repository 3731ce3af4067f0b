"""Revocation and introspection when DynamoDB fails: 503 temporarily_unavailable, never a 200
that did not happen (SECURITY.md 25 and 26).

The app runs over DynamoTable on moto in-process. A `before-call` handler answers chosen
DynamoDB operations with a throttling error, as DynamoDB does once botocore's retries are
spent, before moto sees them: nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from chalice.test import Client as ChaliceClient
from moto import mock_aws

from chalicelib import deps as wiring
from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.ids import digest, new_secret
from chalicelib.stores.dynamodb import DynamoTable, make_client
from chalicelib.stores.models import Grant, RefreshToken
from chalicelib.stores.repository import Store
from chalicelib.stores.schema import table_definition
from chalicelib.tokens.signer import LocalSigner
from tests.functional.flows import oauth_error
from tests.functional.revoking import add_clients, claims_of, introspect, minted, revoke
from tests.support.oauth import Answer, Browser, seed, settings

TABLE = "tollgate-faults"


@dataclass
class Throttle:
    """Answers the named DynamoDB operations with ProvisionedThroughputExceededException
    while `on` (only those whose request holds `touching`, when given); counts what it
    refused."""

    operations: set[str]
    touching: bytes = b""
    on: bool = False
    refused: list[str] = field(default_factory=list)

    def __call__(
        self, model: Any, params: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        if not self.on or model.name not in self.operations:
            return None
        if self.touching not in bytes(params.get("body") or b""):
            return None
        self.refused.append(model.name)
        error = {"Code": "ProvisionedThroughputExceededException", "Message": "throttled"}
        parsed = {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}
        return AWSResponse("https://dynamodb.invalid", 400, HTTPHeaders(), None), parsed


@dataclass
class Running:
    deps: Deps
    browser: Browser
    client: Any  # the boto3 DynamoDB client

    def throttle(self, *operations: str, touching: str = "") -> Throttle:
        hook = Throttle(set(operations), touching.encode())
        for operation in operations:
            self.client.meta.events.register(f"before-call.dynamodb.{operation}", hook)
        return hook


@contextmanager
def tollgate_on_dynamodb() -> Iterator[Running]:
    from app import app

    with mock_aws():
        client = make_client("us-east-1", None)
        client.create_table(**table_definition(TABLE))
        clock = FakeClock()
        store = Store(DynamoTable(client, TABLE, clock))
        s = settings(table_name=TABLE)
        signer = LocalSigner(store, clock, token_lifetime=s.max_token_lifetime)
        deps = Deps(s, store, signer, clock)
        seed(deps)
        add_clients(deps)
        wiring.override(deps)
        try:
            with ChaliceClient(app) as http:
                yield Running(deps, Browser(http), client)
        finally:
            wiring.override(None)


@pytest.fixture
def running(monkeypatch: pytest.MonkeyPatch) -> Iterator[Running]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with tollgate_on_dynamodb() as value:
        yield value


def a_refresh_token(deps: Deps) -> tuple[str, str]:
    """(refresh token, grant id) of alice's grant to "rt", stored directly."""
    now = deps.clock.now()
    deps.store.grants.put(Grant("g-1", "sub-alice", "rt", ["openid", "offline_access"], now))
    presented = new_secret()
    deps.store.refresh.put(
        RefreshToken(
            token_hash=digest(presented),
            grant_id="g-1",
            client_id="rt",
            sub="sub-alice",
            scopes=["openid", "offline_access"],
            issued_at=now,
            expires_at=now + 3600,
            auth_time=now,
        )
    )
    return presented, "g-1"


def unavailable(answer: Answer) -> None:
    body = oauth_error(answer, "temporarily_unavailable", 503)
    assert set(body) <= {"error", "error_description"}
    assert int(answer.headers["retry-after"]) > 0
    assert answer.headers["cache-control"] == "no-store"


def test_a_throttled_grant_revocation_is_503_not_200(running: Running) -> None:
    """SECURITY.md 26 and 25; RFC 7009 2.2.1: the UpdateItem that revokes the grant is
    throttled. The client hears 503 (and retries), not a 200 for a revocation that did
    not happen; once DynamoDB answers again, the retry revokes."""
    presented, grant_id = a_refresh_token(running.deps)
    hook = running.throttle("UpdateItem", touching='"GRANT#')
    hook.on = True
    unavailable(revoke(running.browser, presented))
    assert hook.refused == ["UpdateItem"]
    grant = running.deps.store.grants.get(grant_id)
    assert grant is not None and grant.active  # nothing written

    hook.on = False
    assert revoke(running.browser, presented).status == 200
    grant = running.deps.store.grants.get(grant_id)
    assert grant is not None and not grant.active


def test_a_throttled_jti_record_is_503_not_200(running: Running) -> None:
    """SECURITY.md 26 and 25: the PutItem recording a revoked access token is throttled."""
    issued = minted(running.deps)
    jti = claims_of(issued)["jti"]
    hook = running.throttle("PutItem", touching='"JTI#')
    hook.on = True
    unavailable(revoke(running.browser, issued))
    assert hook.refused == ["PutItem"]
    assert not running.deps.store.grants.is_jti_revoked(jti)

    hook.on = False
    assert revoke(running.browser, issued).status == 200
    assert running.deps.store.grants.is_jti_revoked(jti)


def test_a_throttled_lookup_is_503_not_unknown(running: Running) -> None:
    """SECURITY.md 25 and 26: a refresh token that cannot be read is not "unknown": 200
    would tell the client its token is dead while it lives on."""
    presented, grant_id = a_refresh_token(running.deps)
    hook = running.throttle("GetItem", touching='"RT#')
    hook.on = True
    unavailable(revoke(running.browser, presented))
    hook.on = False
    assert hook.refused == ["GetItem"]
    grant = running.deps.store.grants.get(grant_id)
    assert grant is not None and grant.active


@pytest.mark.parametrize(
    ("operation", "touching"),
    [("GetItem", '"JTI#'), ("GetItem", '"CLIENT#')],
)
def test_a_throttled_introspection_is_503_not_inactive(
    running: Running, operation: str, touching: str
) -> None:
    """SECURITY.md 25; RFC 7662 2.3: a store outage (the token's revocation record, the
    caller's registration) is an error, never `active: false`
    (which a resource server would take for a verdict) nor `active: true`."""
    issued = minted(running.deps)
    hook = running.throttle(operation, touching=touching)
    hook.on = True
    unavailable(introspect(running.browser, issued))
    hook.on = False
    assert hook.refused == [operation]
    assert introspect(running.browser, issued).json()["active"] is True
