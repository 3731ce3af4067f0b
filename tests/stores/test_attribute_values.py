"""The store's own AttributeValue codec gives what boto3's TypeSerializer gives, both ways."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from chalicelib.stores.attribute_values import deserialize, serialize

VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -7,
    2**63,
    10**37,
    Decimal("1.5"),
    Decimal("-0.000001"),
    "",
    "grant#abc",
    "é ✓",
    b"\x00\xff",
    {"a", "b"},
    {1, 2, Decimal("3.25")},
    {b"x", b"y"},
    [],
    [1, "a", None, [True, {"k": "v"}]],
    {},
    {"scope": ["openid", "api"], "n": 3, "nested": {"deeper": {"x": Decimal("0.1")}}},
    ("a", 1),
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_serialize_matches_boto3(value: Any) -> None:
    assert serialize(value) == TypeSerializer().serialize(value)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_deserialize_matches_boto3(value: Any) -> None:
    attribute = TypeSerializer().serialize(value)
    ours, theirs = deserialize(attribute), TypeDeserializer().deserialize(attribute)

    def plain(v: Any) -> Any:  # boto3 wraps binary in its Binary class; ours is bytes
        if isinstance(v, bytes):
            return Binary(v)
        if isinstance(v, set):
            return {plain(m) for m in v}
        if isinstance(v, list):
            return [plain(m) for m in v]
        if isinstance(v, dict):
            return {k: plain(m) for k, m in v.items()}
        return v

    assert plain(ours) == plain(theirs)
    assert type(plain(ours)) is type(plain(theirs))


@pytest.mark.parametrize(
    "value", [1.5, float("nan"), Decimal("Infinity"), Decimal("1e200"), object()], ids=repr
)
def test_what_boto3_refuses_is_refused(value: Any) -> None:
    with pytest.raises((TypeError, ArithmeticError)):
        TypeSerializer().serialize(value)
    with pytest.raises((TypeError, ArithmeticError)):
        serialize(value)
