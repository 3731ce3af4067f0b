"""DPoP at the edge, what it costs: CPU per authorizer call and DynamoDB calls per request.

    python -m bench.dpop [--iterations N] [--batches B]

1. CPU per call of gate.authorize (what both authorizers run) for the same ES256 access
   token: as Bearer (unbound), and as DPoP-bound with a fresh ES256 proof per call (strict
   JOSE read of the proof, its signature verified with its embedded key, the claims, `ath`,
   the RFC 7638 thumbprint, the jti recorded). Measured in the same run, alternating
   batches; ratio DPoP / Bearer. The proofs are made before the clock starts (that is the
   client's work). The replay guard here is the store's own over the in-memory table, so
   its CPU is counted but not DynamoDB's round trip (one PutItem: a few ms of latency).
2. DynamoDB calls per request, counted on the table: a DPoP request, a replayed proof, a
   Bearer request (revocation check off, the default).

No number here is asserted by a test except the call counts, which are exact.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from bench.authorizer import ARN, AUDIENCE, ISSUER, NOW, ROUTES

PROOF_URL = "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/prod/api/notes"


class CountingTable:
    """A table that counts the calls made to it (each is one DynamoDB request on AWS)."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.table, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(*args, **kwargs)

        return counted


def _tokens() -> tuple[Any, str, str, Any]:
    """(keys, bearer token, bound token, the client's DPoP key)."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from chalicelib.authorizer.keys import LocalKeys
    from chalicelib.tokens import dpop
    from chalicelib.tokens import keys as token_keys

    signing_key = token_keys.generate("ES256", NOW)
    private = load_pem_private_key(signing_key.private_pem.encode(), password=None)
    client = ec.generate_private_key(ec.SECP256R1())
    jwk = jwt.get_algorithm_by_name("ES256").to_jwk(client.public_key(), as_dict=True)
    claims = {
        "iss": ISSUER,
        "sub": "sub-bench",
        "aud": AUDIENCE,
        "client_id": "bench",
        "scope": "notes:read notes:write",
        "iat": NOW,
        "exp": NOW + 300,
        "jti": "jti-bench",
    }
    headers = {"kid": signing_key.kid, "typ": "at+jwt"}
    bearer = jwt.encode(claims, private, algorithm="ES256", headers=headers)  # type: ignore[arg-type]
    bound_claims = {**claims, "cnf": {"jkt": dpop.thumbprint(jwk)}}
    bound = jwt.encode(bound_claims, private, algorithm="ES256", headers=headers)  # type: ignore[arg-type]
    keys = LocalKeys(lambda: {"keys": [signing_key.public_jwk]})
    return keys, bearer, bound, (client, jwk)


def _proofs(client: Any, token: str, count: int) -> list[str]:
    import jwt

    from chalicelib.tokens import dpop

    key, jwk = client
    header = {"typ": "dpop+jwt", "jwk": jwk}
    ath = dpop.ath(token)
    return [
        jwt.encode(
            {"jti": f"jti-{n}", "htm": "GET", "htu": PROOF_URL, "iat": NOW, "ath": ath},
            key,
            algorithm="ES256",
            headers=header,
        )
        for n in range(count)
    ]


@functools.cache
def _policy() -> Any:
    from chalicelib.authorizer.policy import RoutePolicy

    return RoutePolicy.from_mapping(ROUTES)


def _authorize(keys: Any, authorization: str, proof: str | None, replay: Any) -> Any:
    from chalicelib.authorizer import gate

    return gate.authorize(
        authorization,
        ARN,
        keys=keys,
        policy=_policy(),
        issuer=ISSUER,
        audience=AUDIENCE,
        now=NOW,
        proof=proof,
        url=PROOF_URL,
        replay=replay,
    )


def _store(table: Any) -> Any:
    from chalicelib.stores.repository import Store

    return Store(table)


def dynamodb_calls() -> dict[str, dict[str, int]]:
    """Table calls per request, exactly: DPoP, the same proof replayed, Bearer."""
    from chalicelib.authorizer.errors import InvalidDpopProof
    from chalicelib.clock import FakeClock
    from chalicelib.stores.memory import MemoryTable

    keys, bearer, bound, client = _tokens()
    table = CountingTable(MemoryTable(FakeClock(NOW)))
    guard = _store(table).dpop
    (proof,) = _proofs(client, bound, 1)
    counts: dict[str, dict[str, int]] = {}
    _authorize(keys, f"DPoP {bound}", proof, guard)
    counts["dpop"], table.calls = dict(table.calls), Counter()
    with contextlib.suppress(InvalidDpopProof):  # refused: the point of the guard
        _authorize(keys, f"DPoP {bound}", proof, guard)
    counts["dpop_replayed"], table.calls = dict(table.calls), Counter()
    _authorize(keys, f"Bearer {bearer}", None, guard)
    counts["bearer"] = dict(table.calls)
    return counts


def cpu_numbers(iterations: int, batches: int) -> dict[str, float]:
    from chalicelib.clock import FakeClock
    from chalicelib.stores.memory import MemoryTable

    keys, bearer, bound, client = _tokens()
    proofs = iter(_proofs(client, bound, iterations * (batches + 1) + 10))
    guard = _store(MemoryTable(FakeClock(NOW))).dpop

    def plain() -> None:
        _authorize(keys, f"Bearer {bearer}", None, guard)

    def with_proof() -> None:
        _authorize(keys, f"DPoP {bound}", next(proofs), guard)

    runs: dict[str, Callable[[], None]] = {"bearer": plain, "dpop": with_proof}
    for run in runs.values():  # warm-up
        for _ in range(5):
            run()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(batches):  # alternating, so a noisy moment hits both
        for name, run in runs.items():
            start = time.process_time()
            for _ in range(iterations):
                run()
            samples[name].append((time.process_time() - start) / iterations)
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.dpop")
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=5)
    args = parser.parse_args(argv)
    cpu = cpu_numbers(args.iterations, args.batches)
    calls = dynamodb_calls()
    ratio = cpu["dpop"] / cpu["bearer"]
    us = 1e6
    print(f"CPU per authorizer call, Bearer           {cpu['bearer'] * us:7.1f} us")
    print(f"CPU per authorizer call, DPoP + proof     {cpu['dpop'] * us:7.1f} us")
    print(f"ratio DPoP / Bearer                       {ratio:7.2f}")
    for name, seen in calls.items():
        shown = ", ".join(f"{n} {call}" for call, n in sorted(seen.items())) or "none"
        print(f"DynamoDB calls per request, {name:14s} {shown}")
    return {"cpu_bearer": cpu["bearer"], "cpu_dpop": cpu["dpop"], "ratio": ratio, "calls": calls}


if __name__ == "__main__":
    main()
