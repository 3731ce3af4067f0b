"""The token endpoint's storage flows over DynamoDB, as ratios to their signatures.

    python -m bench.flows [--requests N] [--warmup W]

moto's server runs in another process (the local stack's launcher: waitress, keep-alive).
The Lambda handler runs in-process (`app(event, context)`, API Gateway REST proxy events, the
local signer with its keys in memory), wired three ways on the same signing keys, requests
interleaved so all see the same machine: the lean client the functions use
(DynamoHttpClient), botocore's client (what they used before issue 13), and the in-memory
store (no storage cost at all: the app's own share). Flows:
- code exchange (authorization_code with PKCE and openid: an ES256 access token, an RS256
  ID token and a refresh token; the code is stored, as /authorize stores it, before the
  clock starts);
- refresh with openid (the exchange's refresh token: the same two signatures);
- client_credentials, warm (its client cached: no DynamoDB call; one ES256 signature).
Floors, sampled by `cryptography` between the flows (the same machine at the same time): one
ES256 and one RS256 signature of a token-sized payload (their sum for the first two flows,
ES256 alone for the third).
CPU is this process's only (time.process_time: user + system time of the process running
the handler), never moto's; medians. moto's resident memory is read before and after (its
TransactWriteItems copy only the items they write: chalicelib/admin/moto_launcher.py).
BENCH_PROFILE=path writes a cProfile of the lean client's timed requests there.
No number here is asserted by a test: they depend on the machine.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import app_logs, table
from bench.grants import (
    CLIENT_CREDENTIALS,
    JOB,
    SCOPE,
    SECRET,
    FakeContext,
    answer,
    basic,
    environment,
    free_port,
    token_event,
)

WEB = "bench-web"
REDIRECT = "https://app.example/cb"
SCOPES = ["openid", "offline_access", "profile"]
USERNAME, SUB = "bench-alice", "sub-bench-alice"


def signatures() -> tuple[Callable[[], None], Callable[[], None]]:
    """One ES256 and one RS256 signature of a token-sized payload: the floors."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    payload = os.urandom(600)

    def es256() -> None:
        ec_key.sign(payload, ec.ECDSA(hashes.SHA256()))

    def rs256() -> None:
        rsa_key.sign(payload, padding.PKCS1v15(), hashes.SHA256())

    return es256, rs256


def cpu_ms(call: Callable[[], Any]) -> float:
    started = time.process_time()
    call()
    return (time.process_time() - started) * 1000


def seed(store: Any) -> None:
    from chalicelib.clock import SystemClock
    from chalicelib.ids import digest
    from chalicelib.stores.models import CONFIDENTIAL, Client, User

    store.clients.create(
        Client(
            client_id=WEB,
            name=WEB,
            client_type=CONFIDENTIAL,
            auth_method="client_secret_basic",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            scopes=SCOPES,
            secret_hash=digest(SECRET),
            created_at=SystemClock().now(),
        )
    )
    store.users.create(User(USERNAME, SUB, "-"))
    store.clients.create(
        Client(
            client_id=JOB,
            name=JOB,
            client_type=CONFIDENTIAL,
            auth_method="client_secret_basic",
            redirect_uris=[],
            grant_types=["client_credentials"],
            scopes=[SCOPE],
            secret_hash=digest(SECRET),
            created_at=SystemClock().now(),
        )
    )


def new_code(store: Any) -> dict[str, str]:
    """A code as /authorize stores it; the exchange's form."""
    from chalicelib.clock import SystemClock
    from chalicelib.ids import digest, new_id, new_secret
    from chalicelib.stores.models import AuthorizationCode

    now = SystemClock().now()
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    code = new_secret()
    store.codes.put(
        AuthorizationCode(
            code_hash=digest(code),
            client_id=WEB,
            redirect_uri=REDIRECT,
            code_challenge=challenge.rstrip(b"=").decode(),
            scopes=SCOPES,
            sub=SUB,
            grant_id=new_id(),
            username=USERNAME,  # as /authorize stores it: no lookup of the user by sub
            auth_time=now,
            expires_at=now + 60,
        )
    )
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }


LEAN, BOTOCORE, MEMORY = "lean client", "botocore client", "memory store"
FLOWS = ("code exchange", "refresh with openid", "client_credentials")
FLOORS = ("ES256", "RS256")


def wirings(moto_url: str) -> dict[str, Any]:
    """The app's wiring with each store, on the same signing keys."""
    from chalicelib.clock import SystemClock
    from chalicelib.deps import Deps
    from chalicelib.settings import load_settings
    from chalicelib.stores.dynamodb import DynamoTable, make_client
    from chalicelib.stores.dynamodb_http import DynamoHttpClient
    from chalicelib.stores.memory import MemoryTable
    from chalicelib.stores.repository import Store
    from chalicelib.tokens.signer import LocalSigner

    settings, clock = load_settings(), SystemClock()
    lean = Store(
        DynamoTable(DynamoHttpClient(settings.region, moto_url), settings.table_name, clock)
    )
    signer = LocalSigner(lean, clock)
    stores = {
        LEAN: lean,
        BOTOCORE: Store(
            DynamoTable(make_client(settings.region, moto_url), settings.table_name, clock)
        ),
        MEMORY: Store(MemoryTable(clock)),
    }
    return {name: Deps(settings, store, signer, clock) for name, store in stores.items()}


def run(moto_url: str, requests: int, warmup: int) -> dict[str, dict[str, list[float]]]:
    from app import app
    from chalicelib import deps as wiring

    with app_logs.discarded():
        return _run(app, wiring, moto_url, requests, warmup)


def _run(
    app: Any, wiring: Any, moto_url: str, requests: int, warmup: int
) -> dict[str, dict[str, list[float]]]:
    context, auth = FakeContext(), basic(WEB, SECRET)
    job = token_event(CLIENT_CREDENTIALS, basic(JOB, SECRET))
    setups = wirings(moto_url)
    for name in (LEAN, MEMORY):  # botocore's client reads the lean client's table
        seed(setups[name].store)
    samples: dict[str, dict[str, list[float]]] = {n: {f: [] for f in FLOWS} for n in setups}
    # The floors are sampled between the flows: both see the same machine at the same time.
    samples["floor"] = {f: [] for f in FLOORS}
    es256, rs256 = signatures()
    profiled = os.environ.get("BENCH_PROFILE")
    if profiled:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
    for n in range(warmup + requests):
        if n >= warmup:
            samples["floor"]["ES256"].append(cpu_ms(es256))
            samples["floor"]["RS256"].append(cpu_ms(rs256))
        for name, deps in setups.items():
            wiring.override(deps)
            form = new_code(deps.store)
            on = profiled and n >= warmup and name == LEAN
            if on:
                profiler.enable()
            started = time.process_time()
            body = answer(app, token_event(form, auth), context)
            exchange = (time.process_time() - started) * 1000
            refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
            started = time.process_time()
            refreshed = answer(app, token_event(refresh, auth), context)
            again = (time.process_time() - started) * 1000
            started = time.process_time()
            answer(app, job, context)
            machine = (time.process_time() - started) * 1000
            if on:
                profiler.disable()
            if "id_token" not in refreshed:
                raise RuntimeError("the refresh returned no ID token")
            if n >= warmup:
                for flow, cpu in zip(FLOWS, (exchange, again, machine), strict=True):
                    samples[name][flow].append(cpu)
    wiring.override(None)
    if profiled:
        profiler.dump_stats(profiled)
    return samples


def rss_mb(pid: int) -> float:
    """A process's resident memory (Linux /proc), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flows")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)

    from chalicelib.admin import local

    moto_port = free_port()
    moto_url = f"http://{local.HOST}:{moto_port}"
    env = {
        "TOLLGATE_ISSUER": "https://auth.example.test",
        "TOLLGATE_TABLE": local.TABLE,
        "TOLLGATE_STAGE": "local",
        "TOLLGATE_SIGNER": "local",
        "TOLLGATE_LOG_LEVEL": "WARNING",
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_DEFAULT_REGION": local.REGION,
        "AWS_REGION": local.REGION,
        **local.DUMMY_CREDENTIALS,
    }
    with tempfile.TemporaryDirectory(prefix="tollgate-bench-") as tmp:
        child = None
        try:
            with environment(env):
                child = local.start_moto(moto_port, (Path(tmp) / "moto.log").open("wb"))
                local.ensure_table(moto_url)
                moto_before = rss_mb(child.process.pid)
                samples = run(moto_url, args.requests, args.warmup)
                moto_after = rss_mb(child.process.pid)
        finally:
            if child is not None:
                local.stop(child)
    es256, rs256 = (statistics.median(samples["floor"][f]) for f in FLOORS)
    both = es256 + rs256
    print(
        f"token endpoint flows, CPU of this process only (time.process_time; moto's server "
        f"is another process), medians of {args.requests} interleaved requests"
    )
    print(f"  floors: one ES256 signature {es256:.3f} ms, + one RS256 = {both:.3f} ms")
    for flow in FLOWS:
        floor = es256 if flow == "client_credentials" else both
        for name in (LEAN, BOTOCORE, MEMORY):
            cpu = statistics.median(samples[name][flow])
            print(f"  {flow:<20} {name:<16} {cpu:7.3f} ms CPU  {cpu / floor:5.2f}x floor")
    # An exchange and a refresh on each DynamoDB client (the memory store makes none).
    transactions = 2 * 2 * (args.requests + args.warmup)
    print(
        f"  moto's server: {moto_before:.0f} MB resident before, {moto_after:.0f} MB after "
        f"{transactions} TransactWriteItems"
    )
    for row, flow, floor, what in (
        (table.CODE_EXCHANGE, "code exchange", both, "ES256 + RS256"),
        (table.REFRESH, "refresh with openid", both, "ES256 + RS256"),
        (table.CLIENT_CREDENTIALS, "client_credentials", es256, "ES256"),
    ):
        cpu = statistics.median(samples[LEAN][flow])
        memory = statistics.median(samples[MEMORY][flow])
        table.report(
            row,
            f"{cpu:.2f} ms CPU (in-memory store: {memory:.2f} ms)",
            f"{what}: {floor:.2f} ms",
            f"{cpu / floor:.2f}x",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
