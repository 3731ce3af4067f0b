"""moto's server as the local stack and the benches run it: `python -m
chalicelib.admin.moto_launcher HOST PORT`, with one fix to moto 5 applied first, served by
waitress rather than werkzeug's development server.

Keep-alive: werkzeug's server answers every request with `Connection: close` (its
http.server base cannot drain a request body it did not read), so each DynamoDB call of
a bench or of `make run` paid a new TCP connection, counted as our process's CPU. waitress
keeps HTTP/1.1 connections open and sets TCP_NODELAY on them.

Bounded transactions: moto's TransactWriteItems deep-copies each table a transaction
names, once per write, to roll back a canceled one: its memory and time grow with the
table (gigabytes within minutes of `make run` or a bench). Here the rollback keeps a copy of
the items the transaction writes only, and puts them back when it is canceled.
Nothing of moto is imported until `apply` or `main` runs.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any


def _key(table: Any, op: dict[str, Any]) -> dict[str, Any] | None:
    if "Key" in op:
        return dict(op["Key"])
    item = op.get("Item") or {}
    names = [n for n in (table.hash_key_attr, table.range_key_attr) if n is not None]
    if not all(n in item for n in names):
        return None  # moto answers this one with its own validation error
    return {n: item[n] for n in names}


def _restore(table: Any, key: dict[str, Any], item: Any) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_key = DynamoType(key[table.hash_key_attr])
    if table.range_key_attr is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
        return
    range_key = DynamoType(key[table.range_key_attr])
    if item is None:
        table.items[hash_key].pop(range_key, None)
        if not table.items[hash_key]:
            table.items.pop(hash_key, None)
    else:
        table.items[hash_key][range_key] = item


@contextmanager
def _tables_not_copied(models: Any) -> Iterator[None]:
    """moto's module-level `copy`, less its whole-table deep copies, meanwhile."""
    from moto.dynamodb.models.table import Table

    real = models.copy

    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    models.copy = SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)
    try:
        yield
    finally:
        models.copy = real


def apply() -> None:
    """Patch moto's DynamoDB backend and server in this process (idempotent)."""
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, "bounded", False):
        return
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[Any, dict[str, Any], Any]] = []
        for entry in transact_items:
            op = next(iter(entry.values()), None) if isinstance(entry, dict) else None
            table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            key = _key(table, op) if table is not None and isinstance(op, dict) else None
            if table is not None and key is not None:
                saved.append((table, key, copy.deepcopy(table.get_item(*_parts(table, key)))))
        with _tables_not_copied(models):
            try:
                original(self, transact_items)
            except Exception:
                for table, key, item in reversed(saved):
                    _restore(table, key, item)
                raise

    transact_write_items.bounded = True  # type: ignore[attr-defined]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _parts(table: Any, key: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_key = DynamoType(key[table.hash_key_attr])
    if table.range_key_attr is None:
        return hash_key, None
    return hash_key, DynamoType(key[table.range_key_attr])


THREADS = 8  # requests served at once: the browser tests' parallel clients, and a bench


def server(host: str, port: int) -> Any:
    """moto's WSGI app, patched, under waitress on host:port (`.run()` serves it)."""
    apply()
    import waitress
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app = DomainDispatcherApplication(create_backend_app)
    return waitress.create_server(app, host=host, port=port, threads=THREADS, ident="moto")


def main(argv: list[str]) -> int:
    server(argv[0], int(argv[1])).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
