"""The one strict reader for JSON that comes from outside (token segments, request bodies,
a fetched JWK Set): I-JSON (RFC 7493) and a little more, so that no input can crash a
caller after parsing (SECURITY.md 29).

Refused, each with a message that says why:

- bytes that are not UTF-8 (RFC 8259 8.1; json.loads would guess UTF-16 or UTF-32);
- nesting deeper than `max_depth`, judged on the text BEFORE parsing, because the parser
  recurses and 1,500 `[` raise RecursionError (issue 10 item 3);
- a member name that appears twice (parsers disagree on which one wins: RFC 7493 2.3);
- NaN, Infinity and numbers that overflow a double (1e400: `int(inf)` raises
  OverflowError), and integers outside the exact range of a double, +-(2**53 - 1)
  (RFC 7493 2.2), which no interoperable producer writes;
- strings that are not Unicode: a lone surrogate written as an escape ("\\ud800") cannot
  be encoded as UTF-8, so hashing, storing or logging it would fail (RFC 7493 2.1).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1

# What the nesting count looks at: escapes (skipped), quotes (in or out of a string) and
# brackets. One pass over these, in linear time whatever the input.
_SPECIAL = re.compile(r'\\.|["\[\]{}]', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonInputError(ValueError):
    """The input is not acceptable JSON; the message says why (for logs and admins)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # in C: only a dictionary shorter than the pairs has a name twice
    if len(out) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise JsonInputError(f"member {name[:40]!r} appears twice")
            seen.add(name)
    return out


def _no_constant(name: str) -> Any:
    raise JsonInputError(f"{name} is not JSON (RFC 8259 6)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonInputError(f"the number {text[:40]} is out of range")
    return value


def _safe_int(text: str) -> int:
    # More characters than -(2**53 - 1) has: refused before int() reads them.
    value = int(text) if len(text) <= 17 else MAX_SAFE_INTEGER + 1
    if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return value
    raise JsonInputError(f"the integer {text[:40]} is out of range (RFC 7493 2.2)")


# One decoder for every call (json.loads with hooks builds a new one each time).
_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates,
    parse_constant=_no_constant,
    parse_float=_finite,
    parse_int=_safe_int,
)


def depth(text: str) -> int:
    """How deeply arrays and objects nest in `text` (strings skipped), without parsing it.

    Up to the first error the parser would stop at, it reads the text the same way."""
    deepest = level = 0
    in_string = False
    for found in _SPECIAL.finditer(text):
        mark = found.group()
        if mark == '"':
            in_string = not in_string
        elif not in_string and mark in "[{":
            level += 1
            deepest = max(deepest, level)
        elif not in_string and mark in "]}":
            level -= 1
    return deepest


def _check_strings(value: Any) -> None:
    """Refuse a string (or member name) that holds a lone surrogate. The depth is bounded
    before parsing, so this recursion is too."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise JsonInputError("a string holds a lone surrogate (not Unicode)")
    elif isinstance(value, dict):
        for name, member in value.items():
            _check_strings(name)
            _check_strings(member)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The value `data` holds; JsonInputError for anything this module refuses."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")  # strict: an encoded surrogate is not UTF-8 either
        except UnicodeDecodeError:
            raise JsonInputError("not UTF-8") from None
    else:
        text = data
        if _SURROGATE.search(text):
            raise JsonInputError("the text holds a lone surrogate (not Unicode)")
    # Fewer brackets than the limit cannot nest deeper than it: no scan needed.
    if text.count("[") + text.count("{") > max_depth and depth(text) > max_depth:
        raise JsonInputError(f"nested more than {max_depth} deep")
    try:
        value = _DECODER.decode(text)
    except JsonInputError:
        raise
    except (ValueError, RecursionError):
        raise JsonInputError("not JSON") from None
    if "\\u" in text:  # only an escape can make a lone surrogate from UTF-8 text
        _check_strings(value)
    return value


def loads_object(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """Like `loads`, for input that must be a JSON object."""
    value = loads(data, max_depth=max_depth)
    if not isinstance(value, dict):
        raise JsonInputError("not a JSON object")
    return value
