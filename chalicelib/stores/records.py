"""What every repository shares: a record <-> item mapping and the store's own exceptions."""

from __future__ import annotations

import copy
import dataclasses
import typing
from typing import Any, TypeVar

from chalicelib.stores.models import AuthorizationCode, RefreshToken
from chalicelib.stores.table import Item, Table

T = TypeVar("T")


class AlreadyUsed(Exception):
    """A single-use record was consumed before; `record` is what the store holds."""

    def __init__(self, record: AuthorizationCode) -> None:
        super().__init__("already used")
        self.record = record


class AccountDisabled(Exception):
    """The user a code or refresh token was issued to is disabled or gone (SECURITY.md 27)."""


class AssertionReplayed(Exception):
    """A client assertion's jti was used before (RFC 7523 3, SECURITY.md 19)."""


class GrantRevoked(Exception):
    """The grant a refresh token belongs to was revoked or deleted (checked in its rotation)."""


class Gone(Exception):
    """The record expired or disappeared between reading and writing it."""


class RefreshAlreadyUsed(Exception):
    """A refresh token was rotated by another request; `record` is its current state."""

    def __init__(self, record: RefreshToken) -> None:
        super().__init__("refresh token already used")
        self.record = record


_SCALARS = (str, int, bool, float)


def _plain_copy(value: Any) -> Any:
    # What dataclasses.asdict gives, without its recursion into every string and number
    # (the larger part of an item's encoding cost on a token request).
    if type(value) in _SCALARS:
        return value
    if type(value) is list and all(type(v) in _SCALARS for v in value):
        return list(value)  # scopes, amr, resources: deepcopy's machinery for a flat list
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return copy.deepcopy(value)


def to_item(record: object, pk: str, sk: str, ttl: int | None = None) -> Item:
    item: Item = {"pk": pk, "sk": sk, "kind": type(record).__name__}
    for f in dataclasses.fields(record):  # type: ignore[arg-type]
        value = getattr(record, f.name)
        if value is not None:
            item[f.name] = _plain_copy(value)
    if ttl is not None:
        item["ttl"] = ttl
    return item


_OPTIONAL: dict[type[Any], frozenset[str]] = {}


def _optional_fields(cls: type[Any]) -> frozenset[str]:
    """Fields typed `X | None` that have no default (for example Interaction.state)."""
    if cls not in _OPTIONAL:
        hints = typing.get_type_hints(cls)
        _OPTIONAL[cls] = frozenset(
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
            and type(None) in typing.get_args(hints[f.name])
        )
    return _OPTIONAL[cls]


def from_item(cls: type[T], item: Item | None) -> T | None:
    if item is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {k: v for k, v in item.items() if k in names}
    # to_item drops None-valued fields, so an optional field without a default reads back absent.
    for name in _optional_fields(cls) - values.keys():
        values[name] = None
    return cls(**values)


def index_page(
    table: Table,
    index: str,
    prefix: str,
    cls: type[T],
    *,
    limit: int,
    after: str | None,
) -> tuple[list[T], str | None]:
    """One page of an index partition (`index` / `<prefix><name>`, key-only entries) read
    with one Query, and the records it names, at `<prefix><name>` / `<prefix without #>`,
    with one BatchGetItem. Entries whose record is gone are skipped. Returns the records and
    the name to pass as `after` for the next page (None at the end)."""
    entries, last = table.query_page(
        index, prefix, limit, None if after is None else prefix + after
    )
    sk = prefix.removesuffix("#")
    keys = [(str(e["sk"]), sk) for e in entries]
    records = [r for item in table.get_many(keys) if (r := from_item(cls, item))]
    return records, None if last is None else last.removeprefix(prefix)


def index_all(table: Table, index: str, prefix: str, cls: type[T]) -> list[T]:
    records: list[T] = []
    after: str | None = None
    while True:
        page, after = index_page(table, index, prefix, cls, limit=100, after=after)
        records.extend(page)
        if after is None:
            return records
