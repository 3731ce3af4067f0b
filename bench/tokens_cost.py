"""What a token costs on AWS: handler time and AWS calls per token request, then dollars.

    python -m bench.tokens_cost [--requests N] [--dynamodb-ms MS] [--cpu-factor F]

1. The token endpoint in-process (the Chalice app called as Lambda calls it, through
   chalice.test.Client), an authorization_code exchange with PKCE and `openid`: one ES256
   access token and one RS256 ID token, signed as the envelope signer signs once warm (the
   private keys in memory). The store is in memory here, so this is the CPU time.
2. The same requests against moto's DynamoDB and KMS in-process with the envelope signer:
   the AWS calls per token request, counted with botocore's before-call events, with codes
   as /authorize writes them (the user's name and stamp: no user read at the exchange).
3. Dollars per million token requests from AWS list prices (us-east-1, x86, PRICES below),
   with the Lambda duration estimated as CPU time x --cpu-factor (1024 MB is ~0.58 vCPU)
   plus the DynamoDB calls counted in 2 x --dynamodb-ms (in-region latency, an assumption).

No number here is asserted by a test: they depend on the machine.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import math
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from bench import app_logs

# us-east-1 list prices at the time of writing (README.md, "Deploy to AWS").
PRICES = {
    "lambda_gb_second": 0.0000166667,  # x86
    "lambda_request": 0.20 / 1e6,
    "api_gateway_rest_request": 3.50 / 1e6,  # first 333 million a month
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand
    "dynamodb_read_unit": 0.125 / 1e6,
    "kms_request": 0.03 / 1e4,  # symmetric, and RSA 2048
    "kms_ecc_request": 0.15 / 1e4,  # asymmetric other than RSA 2048
}
MEMORY_GB = 1.0  # lambda_memory_size in .chalice/config.json
ISSUER = "https://auth.example.test"
REDIRECT = "https://app.example/cb"
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"  # noqa: S105 (a bench client's)


def _pkce() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _seed(deps: Any) -> None:
    from chalicelib.ids import digest
    from chalicelib.stores.models import Client, User

    deps.store.clients.create(
        Client(
            client_id="web",
            name="Bench",
            client_type="confidential",
            auth_method="client_secret_basic",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code"],
            scopes=["openid", "profile", "email"],
            secret_hash=digest(SECRET),
        )
    )
    deps.store.users.create(User(username="alice", sub="sub-alice", password_hash="-"))  # noqa: S106


def _code(deps: Any) -> tuple[str, str]:
    """A fresh authorization code (as /authorize stores it) and its PKCE verifier."""
    from chalicelib.ids import digest, new_id, new_secret
    from chalicelib.stores.models import AuthorizationCode, Grant

    now = deps.clock.now()
    verifier, challenge = _pkce()
    code, grant_id = new_secret(), new_id()
    deps.store.grants.put(Grant(grant_id, "sub-alice", "web", ["openid", "profile"], now))
    deps.store.codes.put(
        AuthorizationCode(
            code_hash=digest(code),
            client_id="web",
            redirect_uri=REDIRECT,
            code_challenge=challenge,
            scopes=["openid", "profile"],
            sub="sub-alice",
            grant_id=grant_id,
            auth_time=now,
            expires_at=now + 60,
            # As /authorize writes it (authorization_response.issue_code): with the signed-in
            # user's name and stamp, the exchange checks the user inside its transaction and
            # reads no user record (a code without them costs two more GetItems).
            username="alice",
            stamp=user_stamp(deps),
        )
    )
    return code, verifier


def user_stamp(deps: Any) -> str | None:
    user = deps.store.users.get("alice")
    return None if user is None else user.stamp


def _exchange(http: Any, code: str, verifier: str) -> None:
    basic = base64.b64encode(f"web:{SECRET}".encode()).decode()
    body = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        }
    )
    answer = http.http.post(
        "/token",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Basic {basic}",
        },
        body=body,
    )
    if answer.status_code != 200:
        raise RuntimeError(f"token request failed: {answer.status_code} {answer.body!r}")


@contextmanager
def _running(deps: Any) -> Iterator[Any]:
    from chalice.test import Client as ChaliceClient

    from app import app
    from chalicelib import deps as wiring

    _seed(deps)
    wiring.override(deps)
    try:
        with app_logs.discarded(), ChaliceClient(app) as http:
            yield http
    finally:
        wiring.override(None)


def handler_time(requests: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per token request, in memory, after two warm-up requests."""
    from chalicelib import deps as wiring
    from chalicelib.settings import Settings

    deps = wiring.in_memory(Settings(issuer=ISSUER, table_name="bench"))
    wall: list[float] = []
    cpu: list[float] = []
    with _running(deps) as http:
        for n in range(requests + 2):
            code, verifier = _code(deps)
            started, started_cpu = time.perf_counter(), time.process_time()
            _exchange(http, code, verifier)
            if n >= 2:
                wall.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
    return wall, cpu


def aws_calls(requests: int) -> tuple[Counter[str], Counter[str]]:
    """DynamoDB and KMS calls per token request with the envelope signer (moto), warm."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    from chalicelib.clock import SystemClock
    from chalicelib.deps import Deps
    from chalicelib.settings import Settings
    from chalicelib.stores.dynamodb import DynamoTable, make_client
    from chalicelib.stores.repository import Store
    from chalicelib.stores.schema import table_definition
    from chalicelib.tokens import kms_client
    from chalicelib.tokens.envelope import EnvelopeSigner

    counts: dict[str, Counter[str]] = {"dynamodb": Counter(), "kms": Counter()}
    counting = [False]

    def counter(service: str) -> Callable[..., None]:
        def record(model: Any, **_: Any) -> None:
            if counting[0]:
                counts[service][model.name] += 1

        return record

    with mock_aws():
        dynamodb = make_client("us-east-1", None)
        dynamodb.create_table(**table_definition("bench"))
        kms = kms_client.make_client("us-east-1")
        key = kms.create_key()["KeyMetadata"]["Arn"]
        dynamodb.meta.events.register("before-call.*.*", counter("dynamodb"))
        kms.meta.events.register("before-call.*.*", counter("kms"))

        def transaction(params: Any, **_: Any) -> None:
            if counting[0]:
                counts["dynamodb"]["items written in transactions"] += len(params["TransactItems"])

        dynamodb.meta.events.register(
            "before-parameter-build.dynamodb.TransactWriteItems", transaction
        )

        def batch_read(params: Any, **_: Any) -> None:
            if counting[0]:
                keys = sum(len(t["Keys"]) for t in params["RequestItems"].values())
                counts["dynamodb"]["items read in batches"] += keys

        dynamodb.meta.events.register("before-parameter-build.dynamodb.BatchGetItem", batch_read)
        clock = SystemClock()
        store = Store(DynamoTable(dynamodb, "bench", clock))
        signer = EnvelopeSigner(store, clock, lambda: kms, key)
        deps = Deps(Settings(issuer=ISSUER, table_name="bench"), store, signer, clock)
        with _running(deps) as http:
            for n in range(requests + 2):
                code, verifier = _code(deps)
                counting[0] = n >= 2
                _exchange(http, code, verifier)
                counting[0] = False
    return counts["dynamodb"], counts["kms"]


def cost_per_million(duration_ms: float, dynamodb: Counter[str], requests: int) -> dict[str, float]:
    """Dollars per million token requests, by item. Each write here is one small item."""
    billed_ms = math.ceil(duration_ms)  # Lambda bills by the millisecond, rounded up
    per = {name: count / requests for name, count in dynamodb.items()}
    # A transaction bills two write units per item it writes.
    writes = per.get("PutItem", 0) + per.get("UpdateItem", 0) + per.get("DeleteItem", 0)
    writes += 2 * per.get("items written in transactions", 0)
    reads = per.get("GetItem", 0) + per.get("Query", 0)  # strongly consistent, < 4 KB
    reads += per.get("items read in batches", 0)  # BatchGetItem bills each item it reads
    million = 1e6
    return {
        "API Gateway (REST)": PRICES["api_gateway_rest_request"] * million,
        "Lambda requests": PRICES["lambda_request"] * million,
        "Lambda duration": billed_ms / 1000 * MEMORY_GB * PRICES["lambda_gb_second"] * million,
        "DynamoDB writes": writes * PRICES["dynamodb_write_unit"] * million,
        "DynamoDB reads": reads * PRICES["dynamodb_read_unit"] * million,
        "KMS (envelope: none per token)": 0.0,
    }


def dynamodb_calls(dynamodb: Counter[str], requests: int) -> float:
    """DynamoDB calls per request, as counted (item tallies are not calls)."""
    return sum(n for name, n in dynamodb.items() if not name.startswith("items")) / requests


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tokens_cost")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--dynamodb-ms", type=float, default=5.0)
    parser.add_argument("--cpu-factor", type=float, default=1.7)
    args = parser.parse_args(argv)

    wall, cpu = handler_time(args.requests)
    wall_median, cpu_median = statistics.median(wall), statistics.median(cpu)
    p90 = statistics.quantiles(wall, n=10)[-1]
    print(f"token request in-process ({args.requests} requests, memory store):")
    print(f"  wall {wall_median:.2f} ms median, {p90:.2f} ms p90; CPU {cpu_median:.2f} ms median")

    calls = max(20, args.requests // 10)
    dynamodb, kms = aws_calls(calls)
    per_request = {name: count / calls for name, count in sorted(dynamodb.items())}
    print(f"AWS calls per token request (envelope signer, warm, {calls} requests on moto):")
    print(f"  DynamoDB {per_request}; KMS {dict(kms) or 0}")

    n_dynamodb = dynamodb_calls(dynamodb, calls)
    duration = cpu_median * args.cpu_factor + n_dynamodb * args.dynamodb_ms
    print(
        f"Lambda duration estimate: {cpu_median:.2f} ms CPU x {args.cpu_factor} + "
        f"{n_dynamodb:g} DynamoDB calls x {args.dynamodb_ms:g} ms = {duration:.1f} ms "
        f"(billed {math.ceil(duration)} ms at {MEMORY_GB:g} GB)"
    )
    costs = cost_per_million(duration, dynamodb, calls)
    print("Dollars per million token requests (us-east-1 list prices):")
    for item, dollars in costs.items():
        print(f"  {item:<32} {dollars:8.2f}")
    print(f"  {'total':<32} {sum(costs.values()):8.2f}")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
