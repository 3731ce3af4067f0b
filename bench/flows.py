"""The token endpoint's storage flows over DynamoDB, as ratios to their signatures.

    python -m bench.flows [--requests N] [--warmup W]

moto's server runs in another process (the local stack's launcher, keep-alive on). The
Lambda handler runs in-process (`app(event, context)`, API Gateway REST proxy events, the
local signer with its keys in memory), once with botocore's DynamoDB client (what the
functions used before) and once with the lean client they use now (DynamoHttpClient),
requests interleaved so both see the same machine:
- code exchange (authorization_code with PKCE and openid: an ES256 access token, an RS256
  ID token and a refresh token; the code is stored before the clock starts);
- refresh with openid (the exchange's refresh token: the same two signatures).
The floor, measured in the same run: one ES256 and one RS256 signature of a token-sized
payload by `cryptography` (their sum). CPU time per request (time.process_time), medians.
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

from bench.grants import (
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


def floor(requests: int) -> float:
    """Milliseconds of CPU for one ES256 plus one RS256 signature (medians)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    payload = os.urandom(600)

    def es256() -> None:
        ec_key.sign(payload, ec.ECDSA(hashes.SHA256()))

    def rs256() -> None:
        rsa_key.sign(payload, padding.PKCS1v15(), hashes.SHA256())

    return cpu_ms(es256, requests) + cpu_ms(rs256, requests)


def cpu_ms(call: Callable[[], None], requests: int) -> float:
    samples = []
    for _ in range(requests):
        started = time.process_time()
        call()
        samples.append((time.process_time() - started) * 1000)
    return statistics.median(samples)


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


def wirings(moto_url: str) -> dict[str, Any]:
    """The app's wiring with each DynamoDB client, on the same table and signing keys."""
    from chalicelib.clock import SystemClock
    from chalicelib.deps import Deps
    from chalicelib.settings import load_settings
    from chalicelib.stores.dynamodb import DynamoTable, make_client
    from chalicelib.stores.dynamodb_http import DynamoHttpClient
    from chalicelib.stores.repository import Store
    from chalicelib.tokens.signer import LocalSigner

    settings, clock = load_settings(), SystemClock()
    out = {}
    clients: dict[str, Any] = {
        "botocore client": make_client(settings.region, moto_url),
        "lean client": DynamoHttpClient(settings.region, moto_url),
    }
    for name, client in clients.items():
        store = Store(DynamoTable(client, settings.table_name, clock))
        out[name] = Deps(settings, store, LocalSigner(store, clock), clock)
    return out


def run(moto_url: str, requests: int, warmup: int) -> dict[str, dict[str, list[float]]]:
    from app import app
    from chalicelib import deps as wiring

    context, auth = FakeContext(), basic(WEB, SECRET)
    setups = wirings(moto_url)
    store = next(iter(setups.values())).store
    seed(store)
    samples: dict[str, dict[str, list[float]]] = {
        name: {"code exchange": [], "refresh with openid": []} for name in setups
    }
    profiled = os.environ.get("BENCH_PROFILE")
    if profiled:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
    for n in range(warmup + requests):
        for name, deps in setups.items():
            wiring.override(deps)
            form = new_code(store)
            on = profiled and n >= warmup and name == "lean client"
            if on:
                profiler.enable()
            started = time.process_time()
            body = answer(app, token_event(form, auth), context)
            exchange = (time.process_time() - started) * 1000
            refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
            started = time.process_time()
            refreshed = answer(app, token_event(refresh, auth), context)
            again = (time.process_time() - started) * 1000
            if on:
                profiler.disable()
            if "id_token" not in refreshed:
                raise RuntimeError("the refresh returned no ID token")
            if n >= warmup:
                samples[name]["code exchange"].append(exchange)
                samples[name]["refresh with openid"].append(again)
    wiring.override(None)
    if profiled:
        profiler.dump_stats(profiled)
    return samples


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
        "TOLLGATE_LOG_LEVEL": "WARNING",  # its request lines would drown the numbers
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
                samples = run(moto_url, args.requests, args.warmup)
                signatures = floor(args.requests)
        finally:
            if child is not None:
                local.stop(child)
    print(
        f"token endpoint flows over DynamoDB (moto's server in another process), CPU medians "
        f"of {args.requests} interleaved requests; floor: one ES256 + one RS256 signature "
        f"= {signatures:.3f} ms"
    )
    for name, flows in samples.items():
        for flow, values in flows.items():
            cpu = statistics.median(values)
            print(f"  {flow:<20} {name:<16} {cpu:7.3f} ms CPU  {cpu / signatures:5.2f}x floor")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
