"""The lean DynamoDB client (aws_json.py): the handful of operations DynamoTable uses.

DynamoDB's part of what botocore would do: its retryable ReplicatedWriteConflict (the one
retryable error its model names), its x-amz-crc32 check (aws_json's retry rules), and one
ClientRequestToken per TransactWriteItems call, so a retry of a transaction that committed is
answered as success, as botocore's idempotency token does.
"""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib.stores.aws_json import READ_TIMEOUT, AwsJsonClient, Protocol

DYNAMODB = Protocol(
    service="dynamodb",
    target="DynamoDB_20120810.",
    content_type="application/x-amz-json-1.0",
    modeled_retryable=("ReplicatedWriteConflictException",),
)


class DynamoHttpClient(AwsJsonClient):
    """get_item, put_item, update_item, delete_item, query, scan, batch_get_item and
    transact_write_items with botocore's keyword arguments and parsed answers."""

    def __init__(
        self, region: str, endpoint_url: str | None = None, *, read_timeout: float = READ_TIMEOUT
    ) -> None:
        super().__init__(DYNAMODB, region, endpoint_url, read_timeout=read_timeout)

    def get_item(self, **params: Any) -> dict[str, Any]:
        return self._call("GetItem", params)

    def put_item(self, **params: Any) -> dict[str, Any]:
        return self._call("PutItem", params)

    def update_item(self, **params: Any) -> dict[str, Any]:
        return self._call("UpdateItem", params)

    def delete_item(self, **params: Any) -> dict[str, Any]:
        return self._call("DeleteItem", params)

    def query(self, **params: Any) -> dict[str, Any]:
        return self._call("Query", params)

    def scan(self, **params: Any) -> dict[str, Any]:
        return self._call("Scan", params)

    def batch_get_item(self, **params: Any) -> dict[str, Any]:
        return self._call("BatchGetItem", params)

    def transact_write_items(self, **params: Any) -> dict[str, Any]:
        params.setdefault("ClientRequestToken", str(uuid.uuid4()))  # the same on every retry
        return self._call("TransactWriteItems", params)
