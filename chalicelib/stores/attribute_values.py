"""DynamoDB's typed attribute values, to and from Python: boto3's TypeSerializer rules.

boto3.dynamodb.types would do this, but importing anything under boto3 runs boto3/__init__,
which imports s3transfer and multiprocessing (about 275 ms of a cold start without bytecode)
for a table that never touches S3. The rules are boto3's, checked against it value by value
(tests/stores/test_attribute_values.py): numbers as Decimal strings in DynamoDB's context,
floats refused (they would round), sets typed by their members, None as NULL.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# DynamoDB's number range and precision, and the conditions boto3 traps on.
_CONTEXT = Context(
    Emin=-128,
    Emax=126,
    prec=38,
    traps=[Clamped, Overflow, Inexact, Rounded, Underflow],
)
_BINARY = (bytes, bytearray)


def _number(value: int | Decimal) -> str:
    number = str(_CONTEXT.create_decimal(value))
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return isinstance(value, int | Decimal)


def serialize(value: Any) -> dict[str, Any]:
    """One Python value as an AttributeValue ({"S": ...}, {"N": ...}, {"M": {...}}, ...)."""
    kind = type(value)
    if kind is str:  # most values: answered before the general checks below
        return {"S": value}
    if kind is int:
        return {"N": _number(value)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if _is_number(value):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, _BINARY):
        return {"B": bytes(value)}
    if isinstance(value, Set):
        members = list(value)
        if members and all(_is_number(v) for v in members):
            return {"NS": [_number(v) for v in members]}
        if members and all(isinstance(v, str) for v in members):
            return {"SS": members}
        if members and all(isinstance(v, _BINARY) for v in members):
            return {"BS": [bytes(v) for v in members]}
        raise TypeError(f"Unsupported set for DynamoDB (empty or mixed): {value!r}")
    if isinstance(value, Mapping):
        return {"M": {str(k): serialize(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(v) for v in value]}
    raise TypeError(f"Unsupported type {type(value)} for value {value!r}")


def deserialize(attribute: Mapping[str, Any]) -> Any:
    """One AttributeValue as Python: numbers as Decimal, sets as set, binary as bytes."""
    if len(attribute) != 1:
        raise TypeError(f"not one typed DynamoDB value: {attribute!r}")
    ((kind, value),) = attribute.items()
    if kind == "NULL":
        return None
    if kind in ("S", "BOOL"):
        return value
    if kind == "N":
        return _CONTEXT.create_decimal(value)
    if kind == "B":
        return bytes(value)
    if kind == "SS":
        return set(value)
    if kind == "NS":
        return {_CONTEXT.create_decimal(v) for v in value}
    if kind == "BS":
        return {bytes(v) for v in value}
    if kind == "L":
        return [deserialize(v) for v in value]
    if kind == "M":
        return {k: deserialize(v) for k, v in value.items()}
    raise TypeError(f"Dynamodb type {kind} is not supported")
