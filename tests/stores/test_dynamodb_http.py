"""The lean DynamoDB client answers and fails as botocore's did: errors with their codes and
fields, botocore's standard retries (3 attempts, back-off between them), one idempotency
token per transaction. A scripted local HTTP server plays DynamoDB; the back-off is counted,
not waited."""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.clock import FakeClock
from chalicelib.stores.dynamodb import DynamoTable
from chalicelib.stores.dynamodb_http import DynamoHttpClient
from chalicelib.stores.table import (
    ConditionFailed,
    Put,
    StoreUnavailable,
    TransactionCanceled,
    Update,
    Write,
)
from tests.support.tables import free_port

Answer = tuple[int, dict[str, Any]]
ITEM = {"pk": {"S": "A#1"}, "sk": {"S": "X"}, "f": {"S": "theirs"}, "n": {"N": "2"}}


def error(code: str, **fields: Any) -> Answer:
    return 400, {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "x", **fields}


class Scripted:
    """Answers requests in order from `answers`; records each request's operation and body."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.bad_crc = 0  # how many answers still carry a wrong x-amz-crc32


@pytest.fixture
def dynamo() -> Iterator[Scripted]:
    script = Scripted()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.requests.append((self.headers["X-Amz-Target"].split(".")[1], body))
            status, answer = script.answers.pop(0)
            data = json.dumps(answer).encode()
            crc = zlib.crc32(data) + (1 if script.bad_crc else 0)
            script.bad_crc = max(0, script.bad_crc - 1)
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amz-crc32", str(crc & 0xFFFFFFFF))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    script.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def table_at(url: str, sleeps: list[float]) -> DynamoTable:
    client = DynamoHttpClient("us-east-1", url)
    client.sleep = sleeps.append
    return DynamoTable(client, "t", FakeClock())


@pytest.fixture
def table(dynamo: Scripted, sleeps: list[float]) -> DynamoTable:
    return table_at(dynamo.url, sleeps)  # type: ignore[attr-defined]


def test_a_read_sends_the_operation_and_decodes_the_item(
    table: DynamoTable, dynamo: Scripted
) -> None:
    dynamo.answers = [(200, {"Item": ITEM})]
    assert table.get("A#1", "X") == {"pk": "A#1", "sk": "X", "f": "theirs", "n": 2}
    key = {"pk": {"S": "A#1"}, "sk": {"S": "X"}}
    assert dynamo.requests == [("GetItem", {"TableName": "t", "Key": key, "ConsistentRead": True})]


@pytest.mark.parametrize("code", ["ThrottlingException", "ProvisionedThroughputExceededException"])
def test_throttling_is_retried_with_back_off(
    table: DynamoTable, dynamo: Scripted, sleeps: list[float], code: str
) -> None:
    dynamo.answers = [error(code), error(code), (200, {"Item": ITEM})]
    assert table.get("A#1", "X") is not None
    assert len(dynamo.requests) == 3
    assert len(sleeps) == 2 and all(0 <= s <= 2 for s in sleeps)


def test_three_throttled_attempts_are_store_unavailable(
    table: DynamoTable, dynamo: Scripted, sleeps: list[float]
) -> None:
    dynamo.answers = [error("ThrottlingException")] * 3
    with pytest.raises(StoreUnavailable) as raised:
        table.get("A#1", "X")
    assert len(dynamo.requests) == 3 and len(sleeps) == 2
    cause = raised.value.__cause__
    assert isinstance(cause, ClientError)
    assert cause.response["Error"]["Code"] == "ThrottlingException"


def test_a_server_error_is_retried_and_a_validation_error_is_not(
    table: DynamoTable, dynamo: Scripted
) -> None:
    dynamo.answers = [(500, {}), (200, {})]
    table.put({"pk": "A#1", "sk": "X"})
    assert len(dynamo.requests) == 2
    dynamo.answers = [error("ValidationException")]
    with pytest.raises(StoreUnavailable, match="ValidationException"):
        table.put({"pk": "A#1", "sk": "X"})
    assert len(dynamo.requests) == 3


def test_a_wrong_crc32_is_retried(table: DynamoTable, dynamo: Scripted) -> None:
    dynamo.answers = [(200, {"Item": ITEM}), (200, {"Item": ITEM})]
    dynamo.bad_crc = 1
    assert table.get("A#1", "X") is not None
    assert len(dynamo.requests) == 2


def test_a_failed_condition_carries_the_current_item(table: DynamoTable, dynamo: Scripted) -> None:
    dynamo.answers = [error("ConditionalCheckFailedException", Item=ITEM)]
    with pytest.raises(ConditionFailed) as failed:
        table.claim("A#1", "X", "f", "ours")
    assert failed.value.item == {"pk": "A#1", "sk": "X", "f": "theirs", "n": 2}
    assert len(dynamo.requests) == 1  # a condition is an answer, never retried


def test_an_error_type_with_a_trailing_uri_is_read_as_botocore_reads_it(
    table: DynamoTable, dynamo: Scripted, sleeps: list[float]
) -> None:
    """The JSON protocol's `__type` may be "ns#Code:uri": the code is between '#' and ':'."""
    tail = ":http://internal.amazon.com/coral/com.amazonaws.dynamodb.v20120810/"
    throttled = (400, {"__type": f"com.amazonaws.dynamodb.v20120810#ThrottlingException{tail}"})
    dynamo.answers = [throttled, (200, {"Item": ITEM})]
    assert table.get("A#1", "X") is not None and len(sleeps) == 1  # retried as a throttle
    failed = error("ConditionalCheckFailedException", Item=ITEM)
    failed[1]["__type"] += tail
    dynamo.answers = [failed]
    with pytest.raises(ConditionFailed):
        table.claim("A#1", "X", "f", "ours")


def test_a_canceled_transaction_names_its_failed_writes(
    table: DynamoTable, dynamo: Scripted
) -> None:
    reasons = [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Item": ITEM}]
    dynamo.answers = [error("TransactionCanceledException", CancellationReasons=reasons)]
    writes: list[Write] = [
        Put({"pk": "B#1", "sk": "X"}),
        Update("A#1", "X", {"f": "v"}, {"f": "mine"}),
    ]
    with pytest.raises(TransactionCanceled) as canceled:
        table.transact(writes)
    assert canceled.value.failed == {1: {"pk": "A#1", "sk": "X", "f": "theirs", "n": 2}}


def test_a_retried_transaction_carries_the_same_request_token(
    table: DynamoTable, dynamo: Scripted
) -> None:
    dynamo.answers = [(500, {}), (200, {})]
    table.transact([Put({"pk": "B#1", "sk": "X"})])
    tokens = [body["ClientRequestToken"] for _, body in dynamo.requests]
    assert len(tokens) == 2 and tokens[0] == tokens[1]
    dynamo.answers = [(200, {})]
    table.transact([Put({"pk": "B#1", "sk": "X"})])
    assert dynamo.requests[-1][1]["ClientRequestToken"] != tokens[0]  # one per call


def test_no_connection_is_store_unavailable_after_three_attempts(sleeps: list[float]) -> None:
    table = table_at(f"http://127.0.0.1:{free_port()}", sleeps)  # nothing listens there
    with pytest.raises(StoreUnavailable) as raised:
        table.get("A#1", "X")
    assert isinstance(raised.value.__cause__, EndpointConnectionError)
    assert len(sleeps) == 2
