"""DynamoDB item table (botocore low-level client; imported only when first used)."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from chalicelib.clock import Clock
from chalicelib.stores.attribute_values import deserialize, serialize
from chalicelib.stores.table import (
    Check,
    Claim,
    ConditionFailed,
    Delete,
    Item,
    ItemExists,
    Put,
    StoreUnavailable,
    TransactionCanceled,
    Update,
    Write,
    check_transaction,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from chalicelib.stores.dynamodb_http import DynamoHttpClient

_UNAVAILABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "ResourceNotFoundException",
}

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


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    return value


def _assign(attributes: Item, names: dict[str, str], values: dict[str, Any]) -> list[str]:
    """`#aN = :aN` for each attribute, its name and value added to the request's maps."""
    sets = []
    for i, (name, value) in enumerate(attributes.items()):
        names[f"#a{i}"], values[f":a{i}"] = name, serialize(value)
        sets.append(f"#a{i} = :a{i}")
    return sets


class DynamoTable:
    """The Table over DynamoDB: botocore's client (the CLI, most tests) or the lean
    DynamoHttpClient (the Lambda functions), which answer and fail alike."""

    def __init__(self, client: DynamoDBClient | DynamoHttpClient, name: str, clock: Clock) -> None:
        self._client = client
        self._name = name
        self._clock = clock

    # -- encoding ---------------------------------------------------------------------------

    def _encode(self, item: Item) -> dict[str, Any]:
        return {k: serialize(v) for k, v in item.items() if v is not None}

    def _decode(self, raw: dict[str, Any] | None) -> Item | None:
        if raw is None:
            return None
        return {k: _plain(deserialize(v)) for k, v in raw.items()}

    def _live(self, item: Item | None) -> Item | None:
        if item is None:
            return None
        ttl = item.get("ttl")
        if ttl is not None and int(ttl) <= self._clock.now():
            return None
        return item

    @staticmethod
    def _key(pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    def _live_condition(self) -> tuple[str, dict[str, Any]]:
        # Expired-but-undeleted items must count as absent in every conditional write.
        return (
            "attribute_exists(pk) AND (attribute_not_exists(#ttl) OR #ttl > :now)",
            {":now": {"N": str(self._clock.now())}},
        )

    @contextmanager
    def _errors(self) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in {"ConditionalCheckFailedException", "TransactionCanceledException"}:
                raise  # the caller reads the condition's outcome
            if code in _UNAVAILABLE or code.endswith("Throttling"):
                raise StoreUnavailable(code) from exc
            raise StoreUnavailable(f"DynamoDB error {code}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        except UnicodeEncodeError as exc:
            # DynamoDB refuses a string that is not UTF-8 (ValidationException); moto fails
            # before sending it. Either way: callers must never send one.
            raise StoreUnavailable("a string that is not UTF-8") from exc

    @staticmethod
    def _is_condition_failure(exc: Exception) -> bool:
        from botocore.exceptions import ClientError

        return (
            isinstance(exc, ClientError)
            and exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
        )

    # -- the Table protocol -----------------------------------------------------------------

    def get(self, pk: str, sk: str) -> Item | None:
        with self._errors():
            out = self._client.get_item(
                TableName=self._name, Key=self._key(pk, sk), ConsistentRead=True
            )
        return self._live(self._decode(out.get("Item")))

    def get_many(self, keys: list[tuple[str, str]]) -> list[Item | None]:
        distinct = list(dict.fromkeys(keys))  # BatchGetItem refuses a key asked twice
        found: dict[tuple[str, str], Item] = {}
        for start in range(0, len(distinct), _BATCH_GET):
            chunk = distinct[start : start + _BATCH_GET]
            pending: dict[str, Any] = {
                self._name: {"Keys": [self._key(*k) for k in chunk], "ConsistentRead": True}
            }
            for attempt in range(_ATTEMPTS):
                if attempt:
                    time.sleep(0.05 * 2**attempt)  # unprocessed keys: DynamoDB is throttling
                with self._errors():
                    out = self._client.batch_get_item(RequestItems=pending)
                for raw in out.get("Responses", {}).get(self._name, []):
                    item = self._decode(dict(raw))
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
                with self._errors():
                    out = self._client.update_item(
                        TableName=self._name,
                        Key=self._key(pk, sk),
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
                if not self._is_condition_failure(exc):
                    raise
            # Expired but not yet deleted by DynamoDB's TTL: start again at 1, unless another
            # request restarted it first (then count on from its value).
            try:
                with self._errors():
                    self._client.update_item(
                        TableName=self._name,
                        Key=self._key(pk, sk),
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
                if not self._is_condition_failure(exc):
                    raise
        raise StoreUnavailable("counter kept changing between expiry and restart")

    def decrement(self, pk: str, sk: str) -> int | None:
        live, values = self._live_condition()
        try:
            with self._errors():
                out = self._client.update_item(
                    TableName=self._name,
                    Key=self._key(pk, sk),
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
            if self._is_condition_failure(exc):
                return None
            raise
        return int(out["Attributes"]["count"]["N"])

    def put(self, item: Item, *, if_absent: bool = False) -> None:
        kwargs = self._put_request(Put(item, if_absent))
        try:
            with self._errors():
                self._client.put_item(**kwargs)
        except Exception as exc:
            if self._is_condition_failure(exc):
                raise ItemExists(f"{item['pk']}/{item['sk']}") from None
            raise

    def delete(self, pk: str, sk: str) -> None:
        with self._errors():
            self._client.delete_item(TableName=self._name, Key=self._key(pk, sk))

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
            with self._errors():
                out = self._client.query(**kwargs)
            items.extend(i for raw in out.get("Items", []) if (i := self._live(self._decode(raw))))
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
            kwargs["ExclusiveStartKey"] = self._key(pk, after)
        with self._errors():
            out = self._client.query(**kwargs)
        items = [i for raw in out.get("Items", []) if (i := self._live(self._decode(raw)))]
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
            with self._errors():
                out = self._client.scan(**kwargs)
            items.extend(i for raw in out.get("Items", []) if (i := self._live(self._decode(raw))))
            if "LastEvaluatedKey" not in out:
                return sorted(items, key=lambda i: (str(i["pk"]), str(i["sk"])))
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def claim(self, pk: str, sk: str, field: str, value: str, also: Item | None = None) -> Item:
        request = self._claim_request(Claim(pk, sk, field, value, also or {}))
        try:
            with self._errors():
                out = self._client.update_item(
                    **request,
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except Exception as exc:
            if not self._is_condition_failure(exc):
                raise
            old = getattr(exc, "response", {}).get("Item")
            raise ConditionFailed(self._live(self._decode(old))) from None
        item = self._decode(out.get("Attributes"))
        assert item is not None
        return item

    def _claim_request(self, write: Claim) -> dict[str, Any]:
        live, values = self._live_condition()
        values[":v"] = {"S": write.value}
        names = {"#f": write.field, "#ttl": "ttl"}
        sets = ["#f = :v", *_assign(write.also, names, values)]
        return {
            "TableName": self._name,
            "Key": self._key(write.pk, write.sk),
            "UpdateExpression": "SET " + ", ".join(sets),
            # Our own value passes too: a retry whose first attempt committed.
            "ConditionExpression": f"{live} AND (attribute_not_exists(#f) OR #f = :v)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def _expect(self, expect: Item) -> tuple[str, dict[str, str], dict[str, Any]]:
        """The condition that the item is live and holds `expect`: expression, names, values."""
        live, values = self._live_condition()
        names = {"#ttl": "ttl"}
        condition = live
        for i, (name, value) in enumerate(expect.items()):
            names[f"#e{i}"] = name
            if value is None:  # as stored: to_item drops None-valued fields
                condition += f" AND attribute_not_exists(#e{i})"
                continue
            values[f":e{i}"] = serialize(value)
            condition += f" AND #e{i} = :e{i}"
        return condition, names, values

    def _check_request(self, write: Check) -> dict[str, Any]:
        request = self._update_request(Update(write.pk, write.sk, {}, write.expect))
        del request["UpdateExpression"]  # a ConditionCheck only has the condition
        return request

    def _update_request(self, write: Update) -> dict[str, Any]:
        condition, names, values = self._expect(write.expect)
        sets = _assign(write.values, names, values)
        return {
            "TableName": self._name,
            "Key": self._key(write.pk, write.sk),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def _put_request(self, write: Put) -> dict[str, Any]:
        request: dict[str, Any] = {"TableName": self._name, "Item": self._encode(write.item)}
        if write.if_absent:
            request["ConditionExpression"] = "attribute_not_exists(pk) OR #ttl <= :now"
            request["ExpressionAttributeNames"] = {"#ttl": "ttl"}
            request["ExpressionAttributeValues"] = {":now": {"N": str(self._clock.now())}}
        return request

    def transact(self, writes: list[Write]) -> None:
        check_transaction(writes)
        items: list[dict[str, Any]] = []
        for write in writes:
            if isinstance(write, Put):
                items.append({"Put": self._put_request(write)})
            elif isinstance(write, Delete):
                key = self._key(write.pk, write.sk)
                items.append({"Delete": {"TableName": self._name, "Key": key}})
            elif isinstance(write, Claim):
                items.append({"Update": self._claim_request(write)})
            elif isinstance(write, Check):
                items.append({"ConditionCheck": self._check_request(write)})
            else:
                items.append({"Update": self._update_request(write)})
        for item in items:
            body = next(iter(item.values()))
            if "ConditionExpression" in body:
                body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        from botocore.exceptions import ClientError

        try:
            with self._errors():
                # botocore fills ClientRequestToken once per call, so its own retries of a
                # transaction that committed are answered as success by DynamoDB.
                self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            raise self._canceled(exc) from None

    def _canceled(self, exc: Exception) -> Exception:
        from botocore.exceptions import ClientError

        assert isinstance(exc, ClientError)
        reasons = exc.response.get("CancellationReasons", [])
        failed = {
            i: self._live(self._decode(dict(reason["Item"]) if "Item" in reason else None))
            for i, reason in enumerate(reasons)
            if reason.get("Code") == "ConditionalCheckFailed"
        }
        if failed:
            return TransactionCanceled(failed)
        codes = sorted({str(r.get("Code")) for r in reasons} - {"None"})
        return StoreUnavailable(f"transaction canceled: {codes}")

    def update(self, pk: str, sk: str, values: Item) -> Item:
        request = self._update_request(Update(pk, sk, values))
        try:
            with self._errors():
                out = self._client.update_item(**request, ReturnValues="ALL_NEW")
        except Exception as exc:
            if self._is_condition_failure(exc):
                raise ConditionFailed(None) from None
            raise
        item = self._decode(out.get("Attributes"))
        assert item is not None
        return item
