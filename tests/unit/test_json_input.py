"""chalicelib/json_input.py: the one strict reader of JSON from outside (SECURITY.md 29)."""

from __future__ import annotations

import json

import pytest

from chalicelib.json_input import MAX_DEPTH, JsonInputError, depth, loads, loads_object


@pytest.mark.parametrize(
    "text",
    [
        "[" * 1500,
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
        '{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1),
        '["\\"", ' + "[" * 1500,  # an escaped quote does not end the string
        "NaN",
        "[Infinity]",
        "-Infinity",
        "1e400",
        "-1e400",
        "[1E309]",
        str(2**53),
        str(-(2**53)),
        "1" * 5000,  # int() would refuse it only after its own limit
        '"\\ud800"',
        '{"\\udc00": 1}',
        '["a\\ud83d"]',
        '{"a": 1, "a": 2}',
        "\ufeff{}",
        "",
        "{",
    ],
)
def test_refused(text: str) -> None:
    with pytest.raises(JsonInputError):
        loads(text.encode("utf-8"))


@pytest.mark.parametrize("data", [b"\xff", '{"a": 1}'.encode("utf-16"), b'"\xed\xa0\x80"'])
def test_only_utf8(data: bytes) -> None:
    with pytest.raises(JsonInputError):
        loads(data)


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2.5, -0.0, True, None, "x"]},
        "[[[[" + "]" * 2000,  # brackets in a string are not nesting
        '\\"\\',
        "😀 é",
        [2**53 - 1, -(2**53 - 1), 1.7976931348623157e308],
        "[" * MAX_DEPTH,
    ],
)
def test_accepted(value: object) -> None:
    assert loads(json.dumps(value).encode()) == value


def test_nesting_at_the_limit_is_accepted() -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert depth(text) == MAX_DEPTH
    loads(text)


def test_a_surrogate_pair_escape_is_one_character() -> None:
    assert loads('"\\ud83d\\ude00"') == "😀"


def test_objects_only() -> None:
    assert loads_object(b'{"a": []}') == {"a": []}
    with pytest.raises(JsonInputError, match="not a JSON object"):
        loads_object(b"[]")
