"""DynamoDB item table (botocore low-level client; imported only when first used).

Its requests and item codec are dynamodb_requests.py, its reading of failures
dynamodb_errors.py.
"""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any, cast

from chalicelib.clock import Clock
from chalicelib.stores.dynamodb_errors import canceled, errors, is_condition_failure
from chalicelib.stores.dynamodb_requests import Requests, decode, key
from chalicelib.stores.table import (
    Claim,
    ConditionFailed,
    Item,
    ItemExists,
    Put,
    StoreUnavailable,
    Update,
    Write,
    check_transaction,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from chalicelib.stores.dynamodb_http import DynamoHttpClient

_BATCH_GET = 100  # BatchGetItem's limit of keys per call
_ATTEMPTS = 3  # of a BatchGetItem with unprocessed keys; of an expired counter's restart


def make_client(region: str, endpoint_url: str | None) -> DynamoDBClient:
    # botocore alone: boto3's import costs a cold start its S3 transfer code (attribute_values).
    import botocore.session
    from botocore.config import Config

    # Standard retry mode with few attempts and short timeouts: retries must fit inside the
    # Lambda timeout and an API Gateway request (29 s) with room to spare. total_max_attempts
    # counts the first try (botocore's max_attempts counts only retries: 3 would mean 4 tries).
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 3},
        connect_timeout=2,
        read_timeout=3,
    )
    session = botocore.session.get_session()
    client = session.create_client(
        "dynamodb", region_name=region, endpoint_url=endpoint_url, config=config
    )
    return cast("DynamoDBClient", client)


class DynamoTable:
    """The Table over DynamoDB: botocore's client (the CLI, most tests) or the lean
    DynamoHttpClient (the Lambda functions), which answer and fail alike."""

    def __init__(self, client: DynamoDBClient | DynamoHttpClient, name: str, clock: Clock) -> None:
        self._client = client
        self._name = name
        self._clock = clock
        self._requests = Requests(name, clock)

    def _live(self, item: Item | None) -> Item | None:
        if item is None:
            return None
        ttl = item.get("ttl")
        if ttl is not None and int(ttl) <= self._clock.now():
            return None
        return item

    # -- the Table protocol -----------------------------------------------------------------

    def get(self, pk: str, sk: str) -> Item | None:
        with errors():
            out = self._client.get_item(TableName=self._name, Key=key(pk, sk), ConsistentRead=True)
        return self._live(decode(out.get("Item")))

    def get_many(self, keys: list[tuple[str, str]]) -> list[Item | None]:
        distinct = list(dict.fromkeys(keys))  # BatchGetItem refuses a key asked twice
        found: dict[tuple[str, str], Item] = {}
        for start in range(0, len(distinct), _BATCH_GET):
            chunk = distinct[start : start + _BATCH_GET]
            pending: dict[str, Any] = {
                self._name: {"Keys": [key(*k) for k in chunk], "ConsistentRead": True}
            }
            for attempt in range(_ATTEMPTS):
                if attempt:
                    time.sleep(0.05 * 2**attempt)  # unprocessed keys: DynamoDB is throttling
                with errors():
                    out = self._client.batch_get_item(RequestItems=pending)
                for raw in out.get("Responses", {}).get(self._name, []):
                    item = decode(dict(raw))
                    assert item is not None
                    found[(str(item["pk"]), str(item["sk"]))] = item
                pending = dict(out.get("UnprocessedKeys") or {})
                if not pending:
                    break
            else:
                raise StoreUnavailable("BatchGetItem left keys unprocessed")
        return [copy.deepcopy(self._live(found.get(key))) for key in keys]

    def increment(self, pk: str, sk: str, ttl: int) -> int:
        names = {"#n": "count", "#ttl": "ttl"}
        now = {":now": {"N": str(self._clock.now())}}
        for _ in range(_ATTEMPTS):
            try:
                with errors():
                    out = self._client.update_item(
                        TableName=self._name,
                        Key=key(pk, sk),
                        UpdateExpression="ADD #n :one SET #ttl = if_not_exists(#ttl, :ttl)",
                        # Only a live (or absent) counter counts on: see the restart below.
                        ConditionExpression="attribute_not_exists(pk) OR "
                        "attribute_not_exists(#ttl) OR #ttl > :now",
                        ExpressionAttributeNames=names,
                        ExpressionAttributeValues={
                            ":one": {"N": "1"},
                            ":ttl": {"N": str(ttl)},
                            **now,
                        },
                        ReturnValues="UPDATED_NEW",
                    )
                return int(out["Attributes"]["count"]["N"])
            except Exception as exc:
                if not is_condition_failure(exc):
                    raise
            # Expired but not yet deleted by DynamoDB's TTL: start again at 1, unless another
            # request restarted it first (then count on from its value).
            try:
                with errors():
                    self._client.update_item(
                        TableName=self._name,
                        Key=key(pk, sk),
                        UpdateExpression="SET #n = :one, #ttl = :ttl",
                        ConditionExpression="#ttl <= :now",
                        ExpressionAttributeNames=names,
                        ExpressionAttributeValues={
                            ":one": {"N": "1"},
                            ":ttl": {"N": str(ttl)},
                            **now,
                        },
                    )
                return 1
            except Exception as exc:
                if not is_condition_failure(exc):
                    raise
        raise StoreUnavailable("counter kept changing between expiry and restart")

    def decrement(self, pk: str, sk: str) -> int | None:
        live, values = self._requests.live_condition()
        try:
            with errors():
                out = self._client.update_item(
                    TableName=self._name,
                    Key=key(pk, sk),
                    UpdateExpression="ADD #n :minus",
                    ConditionExpression=f"{live} AND #n > :zero",
                    ExpressionAttributeNames={"#n": "count", "#ttl": "ttl"},
                    ExpressionAttributeValues={
                        ":minus": {"N": "-1"},
                        ":zero": {"N": "0"},
                        **values,
                    },
                    ReturnValues="UPDATED_NEW",
                )
        except Exception as exc:
            if is_condition_failure(exc):
                return None
            raise
        return int(out["Attributes"]["count"]["N"])

    def put(self, item: Item, *, if_absent: bool = False) -> None:
        kwargs = self._requests.put(Put(item, if_absent))
        try:
            with errors():
                self._client.put_item(**kwargs)
        except Exception as exc:
            if is_condition_failure(exc):
                raise ItemExists(f"{item['pk']}/{item['sk']}") from None
            raise

    def delete(self, pk: str, sk: str) -> None:
        with errors():
            self._client.delete_item(TableName=self._name, Key=key(pk, sk))

    def query(
        self, pk: str, sk_prefix: str = "", *, limit: int | None = None, descending: bool = False
    ) -> list[Item]:
        condition = "pk = :pk"
        values: dict[str, Any] = {":pk": {"S": pk}}
        if sk_prefix:
            condition += " AND begins_with(sk, :sk)"
            values[":sk"] = {"S": sk_prefix}
        items: list[Item] = []
        kwargs: dict[str, Any] = {
            "TableName": self._name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
            "ScanIndexForward": not descending,
        }
        while True:
            if limit is not None:
                # Expired items still stored are skipped here, so ask for what is missing.
                kwargs["Limit"] = limit - len(items)
            with errors():
                out = self._client.query(**kwargs)
            items.extend(i for raw in out.get("Items", []) if (i := self._live(decode(raw))))
            if "LastEvaluatedKey" not in out or (limit is not None and len(items) >= limit):
                return items
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def query_page(
        self, pk: str, sk_prefix: str, limit: int, after: str | None = None
    ) -> tuple[list[Item], str | None]:
        kwargs: dict[str, Any] = {
            "TableName": self._name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :sk)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":sk": {"S": sk_prefix}},
            "ConsistentRead": True,
            "Limit": limit,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = key(pk, after)
        with errors():
            out = self._client.query(**kwargs)
        items = [i for raw in out.get("Items", []) if (i := self._live(decode(raw)))]
        last = out.get("LastEvaluatedKey")
        return items, (str(last["sk"]["S"]) if last else None)

    def scan_prefix(self, pk_prefix: str) -> list[Item]:
        items: list[Item] = []
        kwargs: dict[str, Any] = {
            "TableName": self._name,
            "FilterExpression": "begins_with(pk, :p)",
            "ExpressionAttributeValues": {":p": {"S": pk_prefix}},
            "ConsistentRead": True,
        }
        while True:
            with errors():
                out = self._client.scan(**kwargs)
            items.extend(i for raw in out.get("Items", []) if (i := self._live(decode(raw))))
            if "LastEvaluatedKey" not in out:
                return sorted(items, key=lambda i: (str(i["pk"]), str(i["sk"])))
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def claim(self, pk: str, sk: str, field: str, value: str, also: Item | None = None) -> Item:
        request = self._requests.claim(Claim(pk, sk, field, value, also or {}))
        try:
            with errors():
                out = self._client.update_item(
                    **request,
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except Exception as exc:
            if not is_condition_failure(exc):
                raise
            old = getattr(exc, "response", {}).get("Item")
            raise ConditionFailed(self._live(decode(old))) from None
        item = decode(out.get("Attributes"))
        assert item is not None
        return item

    def transact(self, writes: list[Write]) -> None:
        check_transaction(writes)
        items = self._requests.transaction(writes)
        try:
            with errors():
                # botocore fills ClientRequestToken once per call, so its own retries of a
                # transaction that committed are answered as success by DynamoDB.
                self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except Exception as exc:
            from botocore.exceptions import ClientError  # on failure only: a cold start pays it

            if not isinstance(exc, ClientError):
                raise
            raise canceled(exc, lambda raw: self._live(decode(raw))) from None

    def update(self, pk: str, sk: str, values: Item) -> Item:
        request = self._requests.update(Update(pk, sk, values))
        try:
            with errors():
                out = self._client.update_item(**request, ReturnValues="ALL_NEW")
        except Exception as exc:
            if is_condition_failure(exc):
                raise ConditionFailed(None) from None
            raise
        item = decode(out.get("Attributes"))
        assert item is not None
        return item
