"""The token endpoint's grants over DynamoDB: CPU per warm grant, and requests per second.

    python -m bench.grants [--requests N] [--warmup W] [--http-requests H] [--http-seconds S]
                           [--threads T] [--profile]

1. moto's server in another process holds the table: a confidential client `bench-job`
   (client_credentials, scope notes:read) and a client `bench-rt` with a refresh token put
   directly through the Store (a Grant and its RefreshToken, scopes offline_access and
   notes:read: no ID token).
2. The Lambda handler in-process (`app(event, context)` with API Gateway REST proxy events),
   wired from environment variables as in a container (DynamoDB at moto's URL, local
   signer). After W warm-up requests, the CPU time (time.process_time) and wall time of N
   client_credentials grants, then N refreshes (each with the token the previous one
   returned). Storage runs in another process, so the CPU counted is Tollgate's and boto3's
   client side only. Ratio: CPU per warm client_credentials grant / the 0.15 ms target.
   With --profile, or when the target is missed, cProfile over 200 warm grants names the
   entries with the most cumulative time below the handler.
3. Requests per second through `chalice local` against the same moto server: sequential
   client_credentials POSTs with urllib (at most H requests or S seconds), then T threads.

No number here is asserted by a test: they depend on the machine.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import cProfile
import json
import os
import pstats
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import app_logs

TARGET_CPU_MS = 0.15  # the target: CPU per warm client_credentials grant
JOB = "bench-job"
RT = "bench-rt"
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"  # noqa: S105 (a bench client's)
SCOPE = "notes:read"
SOURCE_IP = "203.0.113.7"
PROFILED = 200

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


CLIENT_CREDENTIALS = {"grant_type": "client_credentials", "scope": SCOPE}


def refresh_form(refresh_token: str) -> dict[str, str]:
    return {"grant_type": "refresh_token", "refresh_token": refresh_token}


def token_event(
    form: dict[str, str], authorization: str, *, stage: str = "local"
) -> dict[str, Any]:
    """An API Gateway REST proxy event of a POST /token, as Lambda hands it to the handler."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": authorization,
        "Host": "auth.example.test",
    }
    return {
        "resource": "/token",
        "path": "/token",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/token",
            "httpMethod": "POST",
            "path": f"/{stage}/token",
            "stage": stage,
            "requestId": "bench-request",
            "identity": {"sourceIp": SOURCE_IP},
        },
        "body": urlencode(form),
        "isBase64Encoded": False,
    }


@dataclass
class FakeContext:
    """What a handler may read of Lambda's context object."""

    function_name: str = "tollgate-bench"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "bench-request"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:tollgate-bench"

    def get_remaining_time_in_millis(self) -> int:
        return 15_000


def answer(app: Any, event: dict[str, Any], context: FakeContext) -> dict[str, Any]:
    """The handler's JSON body; RuntimeError unless it answered 200."""
    response: dict[str, Any] = app(event, context)
    if response.get("statusCode") != 200:
        raise RuntimeError(f"token request failed: {response.get('statusCode')} {response!r}")
    body: dict[str, Any] = json.loads(response["body"])
    return body


def seed(store: Any) -> str:
    """The two clients, and a refresh token of bench-rt (a Grant and its RefreshToken)."""
    from chalicelib.clock import SystemClock
    from chalicelib.ids import digest, new_id, new_secret
    from chalicelib.stores.models import CONFIDENTIAL, Client, Grant, RefreshToken, User

    now = SystemClock().now()
    for client_id, grant_types in ((JOB, ["client_credentials"]), (RT, ["refresh_token"])):
        store.clients.create(
            Client(
                client_id=client_id,
                name=client_id,
                client_type=CONFIDENTIAL,
                auth_method="client_secret_basic",
                redirect_uris=[],
                grant_types=grant_types,
                scopes=["offline_access", SCOPE],
                secret_hash=digest(SECRET),
                created_at=now,
            )
        )
    # A refresh re-reads the user its token names (by sub, for a token without a username).
    store.users.create(User("bench-user", "sub-bench", "-"))
    grant_id, token = new_id(), new_secret()
    scopes = ["offline_access", SCOPE]
    store.grants.put(Grant(grant_id, "sub-bench", RT, scopes, now))
    store.refresh.put(
        RefreshToken(
            token_hash=digest(token),
            grant_id=grant_id,
            client_id=RT,
            sub="sub-bench",
            scopes=scopes,
            issued_at=now,
            expires_at=now + 86400,
            auth_time=now,
        )
    )
    return token


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables and clear the wiring; put both back afterwards."""
    from chalicelib import deps as wiring

    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    wiring.override(None)
    try:
        yield
    finally:
        wiring.override(None)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Point file descriptors 1 and 2 at `path` meanwhile: what a child started now inherits."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with path.open("ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            yield
    finally:
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)


@dataclass
class Timings:
    cpu_ms: list[float]
    wall_ms: list[float]

    def line(self, what: str) -> str:
        cpu, wall = self.cpu_ms, self.wall_ms
        return (
            f"  {what:<18} CPU {statistics.median(cpu):6.3f} ms median, "
            f"{statistics.mean(cpu):6.3f} ms mean; wall {statistics.median(wall):6.3f} ms "
            f"median, {statistics.mean(wall):6.3f} ms mean"
        )


def measure(requests: int, call: Callable[[], None]) -> Timings:
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(requests):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return Timings(cpu, wall)


@dataclass
class InProcess:
    grant: Timings
    refresh: Timings
    profile: dict[str, list[str]]


def in_process(refresh_token: str, requests: int, warmup: int, profiled: bool) -> InProcess:
    from app import app

    context = FakeContext()
    job_event = token_event(CLIENT_CREDENTIALS, basic(JOB, SECRET))
    rt_auth = basic(RT, SECRET)
    current = [refresh_token]

    def grant() -> None:
        answer(app, job_event, context)

    def refresh() -> None:
        body = answer(app, token_event(refresh_form(current[0]), rt_auth), context)
        current[0] = body["refresh_token"]

    with app_logs.discarded():
        for _ in range(warmup):
            grant()
            refresh()
        grants = measure(requests, grant)
        refreshes = measure(requests, refresh)
        cpu = statistics.median(grants.cpu_ms)
        top: dict[str, list[str]] = {}
        if profiled or cpu > TARGET_CPU_MS:
            top["client_credentials"] = profile(grant, PROFILED)
        if profiled:
            top["refresh_token"] = profile(refresh, PROFILED // 4)
    return InProcess(grants, refreshes, top)


def profile(call: Callable[[], None], requests: int, top: int = 5) -> list[str]:
    """Where a request's CPU goes (CPU time, not wall): the entries with the most cumulative
    time below the dispatch chain (the frames holding half or more of the whole, which
    mostly pass the request down), then the entries with the most time of their own."""
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(requests):
        call()
    profiler.disable()
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = [
        (key, value)
        for key, value in stats.items()
        if key[0] != "~" and not key[0].endswith("bench/grants.py")
    ]
    whole = max(value[3] for _, value in rows)

    def line(key: tuple[str, int, str], value: tuple[Any, ...], seconds: float) -> str:
        filename, number, function = key
        per = seconds / requests * 1000
        calls = value[1] / requests
        return f"    {per:6.3f} ms {calls:5.1f} calls  {_short(filename)}:{number}({function})"

    by_cumulative = sorted(rows, key=lambda row: row[1][3], reverse=True)
    below = [row for row in by_cumulative if row[1][3] < 0.5 * whole][:top]
    by_own = sorted(rows, key=lambda row: row[1][2], reverse=True)[:top]
    return [
        f"  per request, whole handler {whole / requests * 1000:.3f} ms CPU; cumulative:",
        *(line(key, value, value[3]) for key, value in below),
        "  own time:",
        *(line(key, value, value[2]) for key, value in by_own),
    ]


def _short(filename: str) -> str:
    path = Path(filename)
    for marker in ("site-packages", "chalicelib", "lib"):
        if marker in path.parts:
            index = path.parts.index(marker)
            return "/".join(path.parts[index + (marker != "chalicelib") :])
    return filename


def http_rps(url: str, requests: int, seconds: float, threads: int) -> tuple[int, float]:
    """Requests answered 200 and the seconds they took: `threads` workers, one shared budget."""
    body = urlencode(CLIENT_CREDENTIALS).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": basic(JOB, SECRET),
    }
    lock = threading.Lock()
    left = [requests]
    deadline = time.monotonic() + seconds

    def worker() -> int:
        done = 0
        while True:
            with lock:
                if left[0] <= 0 or time.monotonic() > deadline:
                    return done
                left[0] -= 1
            request = urllib.request.Request(url, body, headers, method="POST")  # noqa: S310 (http to our child)
            with _opener.open(request, timeout=10) as response:
                if response.status != 200:
                    raise RuntimeError(f"token request failed: {response.status}")
                response.read()
            done += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        counts = [f.result() for f in [pool.submit(worker) for _ in range(threads)]]
    return sum(counts), time.perf_counter() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.grants")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--http-requests", type=int, default=300)
    parser.add_argument("--http-seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    from chalicelib.admin import local

    moto_port, port = free_port(), free_port()
    moto_url, issuer = f"http://{local.HOST}:{moto_port}", f"http://{local.HOST}:{port}"
    env = {
        "TOLLGATE_ISSUER": issuer,
        "TOLLGATE_TABLE": local.TABLE,
        "TOLLGATE_STAGE": "local",
        "TOLLGATE_SIGNER": "local",
        "TOLLGATE_LOG_LEVEL": "WARNING",  # its request lines would drown the numbers
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_DEFAULT_REGION": local.REGION,
        "AWS_REGION": local.REGION,
        **local.DUMMY_CREDENTIALS,
    }
    with tempfile.TemporaryDirectory(prefix="tollgate-bench-") as tmp:
        children: list[local.Child] = []
        logs = Path(tmp)  # the children's output, gone afterwards
        try:
            with environment(env):
                children.append(local.start_moto(moto_port, (logs / "moto.log").open("wb")))
                local.ensure_table(moto_url)
                refresh_token = seed(local.local_store(moto_url))
                numbers = in_process(refresh_token, args.requests, args.warmup, args.profile)
            cpu = statistics.median(numbers.grant.cpu_ms)
            print(
                f"token endpoint in-process over DynamoDB (moto in another process), "
                f"{args.requests} warm requests each after {args.warmup} warm-ups:"
            )
            print(numbers.grant.line("client_credentials"))
            print(numbers.refresh.line("refresh_token"))
            print(
                f"  ratio CPU per warm client_credentials grant / {TARGET_CPU_MS} ms target: "
                f"{cpu / TARGET_CPU_MS:.2f}"
            )
            for what, lines in numbers.profile.items():
                count = PROFILED if what == "client_credentials" else PROFILED // 4
                print(f"cProfile of {count} warm {what} requests:")
                for line in lines:
                    print(line)

            with output_to(logs / "chalice.log"):  # its request log would drown the numbers
                children.append(local.start_chalice(port, moto_url, autoreload=False))
            local.wait_until_answering(
                f"{issuer}/.well-known/openid-configuration", children[-1], local.CHALICE_TIMEOUT
            )
            url = f"{issuer}/token"
            http_rps(url, 10, args.http_seconds, 1)  # warm-up: keys loaded, client cached
            print(
                f"client_credentials through chalice local (at most {args.http_requests} "
                f"requests or {args.http_seconds:g} s each):"
            )
            for threads in (1, args.threads):
                done, took = http_rps(url, args.http_requests, args.http_seconds, threads)
                print(
                    f"  {threads} thread{'s' if threads > 1 else ' '}  {done:4d} requests in "
                    f"{took:5.2f} s: {done / took:6.1f} requests/s"
                )
        finally:
            for child in reversed(children):
                local.stop(child)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
