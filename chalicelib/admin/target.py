"""Which table a command acts on (--stage, --table, --endpoint-url, --region and their
environment variables), and the store over it."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from chalicelib.clock import SystemClock
from chalicelib.stores.repository import Store
from chalicelib.stores.table import StoreUnavailable

DEFAULT_MOTO_PORT = 5055


@dataclass(frozen=True)
class Target:
    stage: str
    table: str
    region: str
    endpoint_url: str | None


def resolve_target(args: argparse.Namespace) -> Target:
    stage: str = args.stage
    table = args.table or os.environ.get("TOLLGATE_TABLE") or f"tollgate-{stage}"
    region = (
        args.region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )
    if args.endpoint_url is not None:
        endpoint: str | None = args.endpoint_url or None
    elif os.environ.get("AWS_ENDPOINT_URL"):
        endpoint = os.environ["AWS_ENDPOINT_URL"]
    elif stage == "local":
        endpoint = f"http://127.0.0.1:{os.environ.get('MOTO_PORT') or DEFAULT_MOTO_PORT}"
    else:
        endpoint = None
    return Target(stage, table, region, endpoint)


def build_store(target: Target) -> Store:
    from chalicelib.stores.dynamodb import DynamoTable, make_client

    if target.stage == "local" and not os.environ.get("AWS_ACCESS_KEY_ID"):
        # moto accepts any credentials; boto3 refuses to sign without some.
        os.environ["AWS_ACCESS_KEY_ID"] = "testing"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"  # noqa: S105 (moto's dummy)
    client = make_client(target.region, target.endpoint_url)
    return Store(DynamoTable(client, target.table, SystemClock()))


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
