"""DynamoDB's requests for DynamoTable's writes, and its item codec: each write (Put, Claim,
Update, Check, Delete) as the parameters of its call or of its transaction item, every
condition including the item's expiry (expired items DynamoDB has not deleted yet count as
absent)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chalicelib.clock import Clock
from chalicelib.stores.attribute_values import deserialize, serialize
from chalicelib.stores.table import Check, Claim, Delete, Item, Put, Update, Write


def encode(item: Item) -> dict[str, Any]:
    return {k: serialize(v) for k, v in item.items() if v is not None}


def decode(raw: dict[str, Any] | None) -> Item | None:
    if raw is None:
        return None
    return {k: _plain(deserialize(v)) for k, v in raw.items()}


def _plain(value: Any) -> Any:
    if type(value) is str:
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    return value


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _assign(attributes: Item, names: dict[str, str], values: dict[str, Any]) -> list[str]:
    """`#aN = :aN` for each attribute, its name and value added to the request's maps."""
    sets = []
    for i, (name, value) in enumerate(attributes.items()):
        names[f"#a{i}"], values[f":a{i}"] = name, serialize(value)
        sets.append(f"#a{i} = :a{i}")
    return sets


class Requests:
    """The requests on one table, their conditions read with `clock`."""

    def __init__(self, name: str, clock: Clock) -> None:
        self.name = name
        self._clock = clock

    def live_condition(self) -> tuple[str, dict[str, Any]]:
        # Expired-but-undeleted items must count as absent in every conditional write.
        return (
            "attribute_exists(pk) AND (attribute_not_exists(#ttl) OR #ttl > :now)",
            {":now": {"N": str(self._clock.now())}},
        )

    def claim(self, write: Claim) -> dict[str, Any]:
        live, values = self.live_condition()
        values[":v"] = {"S": write.value}
        names = {"#f": write.field, "#ttl": "ttl"}
        sets = ["#f = :v", *_assign(write.also, names, values)]
        return {
            "TableName": self.name,
            "Key": key(write.pk, write.sk),
            "UpdateExpression": "SET " + ", ".join(sets),
            # Our own value passes too: a retry whose first attempt committed.
            "ConditionExpression": f"{live} AND (attribute_not_exists(#f) OR #f = :v)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def _expect(self, expect: Item) -> tuple[str, dict[str, str], dict[str, Any]]:
        """The condition that the item is live and holds `expect`: expression, names, values."""
        live, values = self.live_condition()
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

    def check(self, write: Check) -> dict[str, Any]:
        request = self.update(Update(write.pk, write.sk, {}, write.expect))
        del request["UpdateExpression"]  # a ConditionCheck only has the condition
        return request

    def update(self, write: Update) -> dict[str, Any]:
        condition, names, values = self._expect(write.expect)
        sets = _assign(write.values, names, values)
        return {
            "TableName": self.name,
            "Key": key(write.pk, write.sk),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def put(self, write: Put) -> dict[str, Any]:
        request: dict[str, Any] = {"TableName": self.name, "Item": encode(write.item)}
        if write.if_absent:
            request["ConditionExpression"] = "attribute_not_exists(pk) OR #ttl <= :now"
            request["ExpressionAttributeNames"] = {"#ttl": "ttl"}
            request["ExpressionAttributeValues"] = {":now": {"N": str(self._clock.now())}}
        return request

    def transaction(self, writes: list[Write]) -> list[dict[str, Any]]:
        """TransactWriteItems' items; a failed condition returns the item as it is."""
        items: list[dict[str, Any]] = []
        for write in writes:
            if isinstance(write, Put):
                items.append({"Put": self.put(write)})
            elif isinstance(write, Delete):
                items.append({"Delete": {"TableName": self.name, "Key": key(write.pk, write.sk)}})
            elif isinstance(write, Claim):
                items.append({"Update": self.claim(write)})
            elif isinstance(write, Check):
                items.append({"ConditionCheck": self.check(write)})
            else:
                items.append({"Update": self.update(write)})
        for item in items:
            body = next(iter(item.values()))
            if "ConditionExpression" in body:
                body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return items
