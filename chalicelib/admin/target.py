"""Which table a command acts on (--stage, --table, --endpoint-url, --region and their
environment variables), and the store over it.

An explicit endpoint (--endpoint-url, AWS_ENDPOINT_URL) is used as given. Otherwise the
stage `local` (the default) means the stack `make run` started, as its state file records it
(admin/local_state.py), and never a guess at a port: with no stack running the command stops
with exit code 4. Any other stage is DynamoDB in AWS. Before its first write, a command
prints (to stderr) which stage and table it is about to change.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

from chalicelib.admin.local_state import running
from chalicelib.clock import SystemClock
from chalicelib.stores.repository import Store
from chalicelib.stores.table import Item, StoreUnavailable, Table, Write


@dataclass(frozen=True)
class Target:
    stage: str
    table: str
    region: str
    endpoint_url: str | None
    note: str = ""  # how the endpoint was chosen, when not given explicitly

    def describe(self) -> str:
        where = f"at {self.endpoint_url}" if self.endpoint_url else f"in {self.region}"
        return f"stage {self.stage!r}: table {self.table!r} {where}{self.note}"


def resolve_target(args: argparse.Namespace) -> Target:
    """NoLocalStack when the stage is local, no endpoint is given and no stack runs."""
    stage: str = args.stage
    table = args.table or os.environ.get("TOLLGATE_TABLE")
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if args.endpoint_url is not None:
        endpoint: str | None = args.endpoint_url or None
    elif os.environ.get("AWS_ENDPOINT_URL"):
        endpoint = os.environ["AWS_ENDPOINT_URL"]
    elif stage == "local":
        stack = running()
        note = f" (the local stack of process {stack.pid})"
        return Target(stage, table or stack.table, region or stack.region, stack.moto_url, note)
    else:
        endpoint = None
    return Target(stage, table or f"tollgate-{stage}", region or "us-east-1", endpoint)


def build_store(target: Target) -> Store:
    from chalicelib.stores.dynamodb import DynamoTable, make_client

    if target.stage == "local" and not os.environ.get("AWS_ACCESS_KEY_ID"):
        # moto accepts any credentials; boto3 refuses to sign without some.
        os.environ["AWS_ACCESS_KEY_ID"] = "testing"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"  # noqa: S105 (moto's dummy)
    client = make_client(target.region, target.endpoint_url)
    table = DynamoTable(client, target.table, SystemClock())
    return Store(AnnouncedWrites(table, f"tollgate: writing to {target.describe()}"))


class AnnouncedWrites:
    """A Table that prints `message` to stderr once, before its first write."""

    def __init__(self, inner: Table, message: str) -> None:
        self._inner = inner
        self._message: str | None = message

    def _announce(self) -> None:
        if self._message is not None:
            print(self._message, file=sys.stderr, flush=True)
            self._message = None

    def get(self, pk: str, sk: str) -> Item | None:
        return self._inner.get(pk, sk)

    def get_many(self, keys: list[tuple[str, str]]) -> list[Item | None]:
        return self._inner.get_many(keys)

    def query(
        self, pk: str, sk_prefix: str = "", *, limit: int | None = None, descending: bool = False
    ) -> list[Item]:
        return self._inner.query(pk, sk_prefix, limit=limit, descending=descending)

    def query_page(
        self, pk: str, sk_prefix: str, limit: int, after: str | None = None
    ) -> tuple[list[Item], str | None]:
        return self._inner.query_page(pk, sk_prefix, limit, after)

    def scan_prefix(self, pk_prefix: str) -> list[Item]:
        return self._inner.scan_prefix(pk_prefix)

    def increment(self, pk: str, sk: str, ttl: int) -> int:
        self._announce()
        return self._inner.increment(pk, sk, ttl)

    def decrement(self, pk: str, sk: str) -> int | None:
        self._announce()
        return self._inner.decrement(pk, sk)

    def put(self, item: Item, *, if_absent: bool = False) -> None:
        self._announce()
        self._inner.put(item, if_absent=if_absent)

    def delete(self, pk: str, sk: str) -> None:
        self._announce()
        self._inner.delete(pk, sk)

    def claim(self, pk: str, sk: str, field: str, value: str, also: Item | None = None) -> Item:
        self._announce()
        return self._inner.claim(pk, sk, field, value, also)

    def update(self, pk: str, sk: str, values: Item) -> Item:
        self._announce()
        return self._inner.update(pk, sk, values)

    def transact(self, writes: list[Write]) -> None:
        self._announce()
        self._inner.transact(writes)


def unavailable_message(exc: StoreUnavailable, target: Target | None) -> str:
    message = f"tollgate: the store is unavailable ({exc})"
    if target is None:
        return message
    where = f"table {target.table!r}"
    where += f" at {target.endpoint_url}" if target.endpoint_url else f" in {target.region}"
    message += f": {where}"
    if "ResourceNotFound" in str(exc):
        message += " does not exist"
    if target.stage == "local":
        message += "; is the local stack running (make run, or tollgate local run)?"
    return message
