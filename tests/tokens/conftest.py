"""Signer fixtures: DynamoDB and KMS mocked in-process by moto, a clock tests move, and a
counter of the AWS calls a client makes (botocore's before-call events)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from moto import mock_aws

from chalicelib.clock import FakeClock
from chalicelib.stores.dynamodb import DynamoTable, make_client
from chalicelib.stores.repository import Store
from chalicelib.stores.schema import table_definition
from chalicelib.tokens import kms_client
from chalicelib.tokens.envelope import EnvelopeSigner
from chalicelib.tokens.kms_signer import KmsSigner
from chalicelib.tokens.signer import KeyRing, LocalSigner

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient

TABLE = "tollgate-keys"
LIFETIME = 3600  # the token lifetime the signers under test assume


class Calls:
    """AWS operations made through the clients it watches, by name."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def watch(self, client: Any) -> None:
        client.meta.events.register("before-call.*.*", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        self.counts[model.name] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def reset(self) -> None:
        self.counts.clear()


@pytest.fixture
def clock() -> FakeClock:
    # Real time, so PyJWT's own exp/iat checks agree with the tokens the signers mint.
    return FakeClock(int(time.time()))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def store(aws: None, clock: FakeClock) -> Store:
    client = make_client("us-east-1", None)
    client.create_table(**table_definition(TABLE))
    return Store(DynamoTable(client, TABLE, clock))


@pytest.fixture
def kms(aws: None, calls: Calls) -> KMSClient:
    client = kms_client.make_client("us-east-1")
    calls.watch(client)
    return client


def _create(kms: KMSClient, **kwargs: Any) -> str:
    arn: str = kms.create_key(**kwargs)["KeyMetadata"]["Arn"]
    return arn


@pytest.fixture
def envelope_key(kms: KMSClient, calls: Calls) -> str:
    arn = _create(kms, KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")
    calls.reset()
    return arn


@pytest.fixture
def signing_keys(kms: KMSClient, calls: Calls) -> dict[str, str]:
    keys = {
        "ES256": _create(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY"),
        "RS256": _create(kms, KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY"),
    }
    calls.reset()
    return keys


SignerMaker = Callable[[], KeyRing]


@pytest.fixture(params=["local", "envelope", "kms"])
def mode(request: pytest.FixtureRequest) -> str:
    mode: str = request.param
    return mode


@pytest.fixture
def new_signer(
    mode: str, store: Store, clock: FakeClock, request: pytest.FixtureRequest
) -> SignerMaker:
    """Makes a signer of `mode` as a fresh container would: empty caches, same table."""
    if mode == "local":
        return lambda: LocalSigner(store, clock, token_lifetime=LIFETIME)
    kms: KMSClient = request.getfixturevalue("kms")
    if mode == "envelope":
        key: str = request.getfixturevalue("envelope_key")
        return lambda: EnvelopeSigner(store, clock, lambda: kms, key, token_lifetime=LIFETIME)
    keys: dict[str, str] = request.getfixturevalue("signing_keys")
    return lambda: KmsSigner(store, clock, lambda: kms, keys, token_lifetime=LIFETIME)
