"""DynamoDB failures reach domain code as StoreUnavailable, never as a botocore error.

No mock_aws here: moto's own before-send hook would answer first. The responses come from
botocore's Stubber or from a before-send handler of our own, and the client points at a
closed local port, so a mistake in a test cannot reach AWS.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from chalicelib.clock import FakeClock
from chalicelib.stores.dynamodb import DynamoTable, make_client
from chalicelib.stores.table import ConditionFailed, ItemExists, StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

CLOSED_PORT = "http://127.0.0.1:9"

# (DynamoDB operation the call makes, the Table call)
CALLS: dict[str, tuple[str, Callable[[DynamoTable], object]]] = {
    "get": ("get_item", lambda t: t.get("A#1", "X")),
    "put": ("put_item", lambda t: t.put({"pk": "A#1", "sk": "X"})),
    "put-if-absent": ("put_item", lambda t: t.put({"pk": "A#1", "sk": "X"}, if_absent=True)),
    "delete": ("delete_item", lambda t: t.delete("A#1", "X")),
    "query": ("query", lambda t: t.query("A#1", "X")),
    "scan_prefix": ("scan", lambda t: t.scan_prefix("A#")),
    "claim": ("update_item", lambda t: t.claim("A#1", "X", "f", "v")),
    "update": ("update_item", lambda t: t.update("A#1", "X", {"f": "v"})),
    "get_many": ("batch_get_item", lambda t: t.get_many([("A#1", "X")])),
    "increment": ("update_item", lambda t: t.increment("A#1", "X", 1_900_000_000)),
}

THROTTLED = ["ProvisionedThroughputExceededException", "ThrottlingException"]


@pytest.fixture
def client() -> DynamoDBClient:
    return make_client("us-east-1", CLOSED_PORT)


@pytest.fixture
def table(client: DynamoDBClient) -> DynamoTable:
    return DynamoTable(client, "tollgate-errors", FakeClock())


@pytest.fixture
def stubber(client: DynamoDBClient) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _response(status: int, body: dict[str, Any]) -> AWSResponse:
    headers = HTTPHeaders.from_dict(
        {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "req-1"}
    )
    return AWSResponse(CLOSED_PORT, status, headers, _Body(json.dumps(body).encode()))


def _error_response(code: str) -> AWSResponse:
    return _response(400, {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "x"})


def _on_send(client: DynamoDBClient, operation: str, handler: Callable[..., object]) -> None:
    """Answer (or fail) the HTTP send of `operation` ("*" for all) without any network."""
    # A before-send handler may return a response; the stubs type handlers as returning None.
    client.meta.events.register(
        f"before-send.dynamodb.{operation}", cast("Callable[..., None]", handler)
    )


class Sends:
    """Counts the HTTP attempts botocore makes, and the back-off sleeps between them."""

    def __init__(self) -> None:
        self.attempts = 0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> Sends:
    import botocore.endpoint

    counter = Sends()
    # botocore.endpoint sleeps between attempts with time.sleep: record instead of waiting.
    monkeypatch.setattr(botocore.endpoint, "time", counter)
    return counter


# -- the retry configuration ----------------------------------------------------------------


def test_client_uses_standard_retries_with_three_attempts(client: DynamoDBClient) -> None:
    config: Any = client.meta.config  # the stubs do not declare Config's options
    # botocore reports total attempts (the first try included) as total_max_attempts
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert config.connect_timeout == 2
    assert config.read_timeout == 3


# -- stubbed error responses (one response, no retries) -------------------------------------


@pytest.mark.parametrize("code", THROTTLED)
@pytest.mark.parametrize("call", list(CALLS), ids=list(CALLS))
def test_throttled_call_is_store_unavailable(
    table: DynamoTable, stubber: Stubber, call: str, code: str
) -> None:
    operation, do = CALLS[call]
    stubber.add_client_error(operation, service_error_code=code, http_status_code=400)

    with pytest.raises(StoreUnavailable) as raised:
        do(table)

    assert not isinstance(raised.value, ConditionFailed | ItemExists)
    cause = raised.value.__cause__
    assert isinstance(cause, ClientError)
    assert cause.response["Error"]["Code"] == code


@pytest.mark.parametrize(
    "code", ["InternalServerError", "ResourceNotFoundException", "ValidationException"]
)
def test_other_dynamodb_errors_are_store_unavailable(
    table: DynamoTable, stubber: Stubber, code: str
) -> None:
    stubber.add_client_error("get_item", service_error_code=code, http_status_code=400)

    with pytest.raises(StoreUnavailable):
        table.get("A#1", "X")


def test_condition_failure_is_not_store_unavailable(table: DynamoTable, stubber: Stubber) -> None:
    """A failed condition is an answer, not an outage: callers must not retry it as one."""
    failed = "ConditionalCheckFailedException"
    stubber.add_client_error("put_item", service_error_code=failed, http_status_code=400)
    stubber.add_client_error("update_item", service_error_code=failed, http_status_code=400)

    with pytest.raises(ItemExists):
        table.put({"pk": "A#1", "sk": "X"}, if_absent=True)
    with pytest.raises(ConditionFailed) as claim:
        table.claim("A#1", "X", "f", "v")
    assert claim.value.item is None


# -- through botocore's retry loop ----------------------------------------------------------


@pytest.mark.parametrize("code", THROTTLED)
def test_throttling_is_retried_then_store_unavailable(
    client: DynamoDBClient, table: DynamoTable, sends: Sends, code: str
) -> None:
    def throttle(request: AWSRequest, **_: Any) -> AWSResponse:
        sends.attempts += 1
        return _error_response(code)

    _on_send(client, "GetItem", throttle)

    with pytest.raises(StoreUnavailable) as raised:
        table.get("A#1", "X")

    assert sends.attempts == 3
    assert len(sends.sleeps) == 2
    cause = raised.value.__cause__
    assert isinstance(cause, ClientError)
    assert cause.response["Error"]["Code"] == code


def test_connection_error_is_retried_then_store_unavailable(
    client: DynamoDBClient, table: DynamoTable, sends: Sends
) -> None:
    def refuse(request: AWSRequest, **_: Any) -> None:
        sends.attempts += 1
        raise EndpointConnectionError(endpoint_url=CLOSED_PORT)

    _on_send(client, "*", refuse)

    with pytest.raises(StoreUnavailable) as raised:
        table.claim("CODE#1", "CODE", "consumed_by", "request-1")

    assert sends.attempts == 3
    assert isinstance(raised.value.__cause__, EndpointConnectionError)


def test_connection_error_on_every_call_is_store_unavailable(
    client: DynamoDBClient, table: DynamoTable, sends: Sends
) -> None:
    """Every Table method, not only the ones with their own except clauses."""

    def refuse(request: AWSRequest, **_: Any) -> None:
        raise EndpointConnectionError(endpoint_url=CLOSED_PORT)

    _on_send(client, "*", refuse)

    outcomes: dict[str, str] = {}
    for call, (_, do) in CALLS.items():
        try:
            do(table)
        except Exception as exc:
            outcomes[call] = type(exc).__name__
        else:
            outcomes[call] = "no error"

    assert outcomes == dict.fromkeys(CALLS, "StoreUnavailable")


def test_a_throttle_that_clears_succeeds(
    client: DynamoDBClient, table: DynamoTable, sends: Sends
) -> None:
    """One throttled attempt followed by success is invisible to the caller."""

    def throttle_once(request: AWSRequest, **_: Any) -> AWSResponse:
        sends.attempts += 1
        if sends.attempts == 1:
            return _error_response("ThrottlingException")
        return _response(200, {"Item": {"pk": {"S": "A#1"}, "sk": {"S": "X"}, "n": {"N": "5"}}})

    _on_send(client, "GetItem", throttle_once)

    assert table.get("A#1", "X") == {"pk": "A#1", "sk": "X", "n": 5}
    assert sends.attempts == 2
