"""The authorizer's cost: CPU per validation, and cold import.

    python -m bench.authorizer [--iterations N] [--batches B] [--imports K]

1. The two warm rows of issue 13's table, as ratios to a floor measured in the same run
   (round-robin batches, medians): the floor is what any verifier of the token must do,
   base64url-decoding its three segments, json.loads of header and payload, and one ECDSA
   P-256 verify of its signature with the same key by `cryptography` (raw_floor). Against
   it: the core (validate.verify: every RFC 8725 check of chalicelib/tokens/jwt_verify.py,
   the key lookup and the typed claims; target <= 1.3x) and the standalone Lambda
   authorizer from a REQUEST event to its answer (lambda_handler.Authorizer: the core, the
   route policy and the IAM document; target <= 1.5x). gate.authorize is shown too.
2. Cold import of the standalone authorizer (chalicelib.authorizer.lambda_handler, which
   preloads cryptography's EC and RSA verification) next to a hello-world Chalice app that
   imports the same, each in fresh interpreters, alternating, median of K. Ratio:
   authorizer / hello world. Also shown: the authorizer's import plus its first
   authorization (keys in-process). The cold start of the packaged authorizer against
   issue 13's baseline is bench/cold_start.py's.

No number here is asserted by a test: they depend on the machine.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import table

ROOT = Path(__file__).resolve().parents[1]
ISSUER = "https://auth.example.test"
AUDIENCE = "https://api.example.test"
NOW = 1_800_000_000
ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/prod/GET/api/notes"
ROUTES = {
    "GET /api/whoami": [],
    "GET /api/notes": ["notes:read"],
    "POST /api/notes": ["notes:write"],
}

HELLO_WORLD = """
from chalice import Chalice
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

app = Chalice(app_name="hello")


@app.route("/")
def index():
    return {"hello": "world"}
"""

TIMED_IMPORT = (
    "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
)

# Import and the first authorization (keys in-process: no network), in a fresh interpreter.
TIMED_FIRST_CALL = """
import json, os, time
t = time.perf_counter()
from chalicelib.authorizer.lambda_handler import Authorizer
from chalicelib.authorizer.config import AuthorizerConfig
from chalicelib.authorizer.keys import LocalKeys
from chalicelib.authorizer.policy import RoutePolicy
jwks = json.loads(os.environ["BENCH_JWKS"])
policy = RoutePolicy.from_mapping(json.loads(os.environ["BENCH_ROUTES"]))
config = AuthorizerConfig(os.environ["BENCH_ISSUER"], os.environ["BENCH_AUDIENCE"], policy)
now = int(os.environ["BENCH_NOW"])
authorizer = Authorizer(config, keys=LocalKeys(lambda: jwks), clock=lambda: now)
event = {
    "type": "TOKEN",
    "authorizationToken": "Bearer " + os.environ["BENCH_TOKEN"],
    "methodArn": os.environ["BENCH_ARN"],
}
assert authorizer(event)["principalId"] == "sub-bench"
print(time.perf_counter() - t)
"""


@dataclass(frozen=True)
class Token:
    text: str
    jwks: dict[str, Any]
    public_key: Any  # cryptography EllipticCurvePublicKey


def make_token() -> Token:
    import jwt
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from chalicelib.tokens import keys as token_keys

    signing_key = token_keys.generate("ES256", NOW)
    private = load_pem_private_key(signing_key.private_pem.encode(), password=None)
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
    text = jwt.encode(claims, private, algorithm="ES256", headers=headers)  # type: ignore[arg-type]
    return Token(text, {"keys": [signing_key.public_jwk]}, private.public_key())


def raw_floor(token: Token) -> Callable[[], Any]:
    """The floor of a validation (issue 13): base64url-decode the three segments, json.loads
    the header and the payload, and one ECDSA P-256 verify of the signature (made DER once,
    outside) with the same key, by `cryptography`. No check at all."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    text = token.text
    signing_input, _, signature = text.rpartition(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    data, algorithm, public_key = (
        signing_input.encode(),
        ec.ECDSA(hashes.SHA256()),
        token.public_key,
    )

    def floor() -> None:
        head, body, sig = text.split(".")
        json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
        json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
        public_key.verify(der, data, algorithm)

    return floor


def request_event(token: str) -> dict[str, Any]:
    """A REST API REQUEST authorizer event, as API Gateway sends it for a Bearer request."""
    headers = {
        "Host": "a1b2c3.execute-api.eu-west-1.amazonaws.com",
        "Authorization": "Bearer " + token,
    }
    return {
        "type": "REQUEST",
        "methodArn": ARN,
        "resource": "/api/notes",
        "path": "/api/notes",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "requestContext": {"path": "/prod/api/notes", "stage": "prod", "httpMethod": "GET"},
    }


def validation_numbers(token: Token, iterations: int, batches: int) -> dict[str, float]:
    """CPU per call (medians) of the floor, the core, gate.authorize and the Lambda handler,
    measured in rounds of one batch each, and the core's and the handler's ratios."""
    from chalicelib.authorizer import gate, validate
    from chalicelib.authorizer.config import AuthorizerConfig
    from chalicelib.authorizer.keys import LocalKeys
    from chalicelib.authorizer.lambda_handler import Authorizer
    from chalicelib.authorizer.policy import RoutePolicy

    keys = LocalKeys(lambda: token.jwks)
    policy = RoutePolicy.from_mapping(ROUTES)
    handler = Authorizer(
        AuthorizerConfig(ISSUER, AUDIENCE, policy),
        keys=LocalKeys(lambda: token.jwks),
        clock=lambda: NOW,
    )
    event = request_event(token.text)
    assert handler(event)["principalId"] == "sub-bench"

    def verify() -> None:
        validate.verify(token.text, keys, issuer=ISSUER, audience=AUDIENCE, now=NOW)

    def authorize() -> None:
        gate.authorize(
            f"Bearer {token.text}",
            ARN,
            keys=keys,
            policy=policy,
            issuer=ISSUER,
            audience=AUDIENCE,
            now=NOW,
        )

    calls: dict[str, Callable[[], Any]] = {
        "raw_verify": raw_floor(token),
        "verify": verify,
        "authorize": authorize,
        "handler": lambda: handler(event),
    }
    for call in calls.values():  # warm-up, unmeasured
        for _ in range(max(1, iterations // 10)):
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(batches):  # one round: each call's batch, back to back
        for name, call in calls.items():
            start = time.process_time()
            for _ in range(iterations):
                call()
            samples[name].append((time.process_time() - start) / iterations)
    out = {name: statistics.median(values) for name, values in samples.items()}
    # Each ratio is the median over rounds of the batch against the floor's batch of the same
    # round: a machine shared with other work slows both alike, so its load cancels out.
    floor = samples["raw_verify"]
    for name in ("verify", "handler"):
        out[f"{name}_ratio"] = statistics.median(
            v / f for v, f in zip(samples[name], floor, strict=True)
        )
    return out


def _seconds(code: str, cwd: Path, env: dict[str, str] | None = None) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def cold_numbers(token: Token, repeats: int) -> dict[str, float]:
    first_call_env = {
        "BENCH_JWKS": json.dumps(token.jwks),
        "BENCH_ROUTES": json.dumps(ROUTES),
        "BENCH_ISSUER": ISSUER,
        "BENCH_AUDIENCE": AUDIENCE,
        "BENCH_NOW": str(NOW),
        "BENCH_TOKEN": token.text,
        "BENCH_ARN": ARN,
    }
    runs: dict[str, Callable[[], float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        hello_dir = Path(tmp)
        (hello_dir / "hello_app.py").write_text(HELLO_WORLD)
        runs = {
            "authorizer": lambda: _seconds(
                TIMED_IMPORT.format(module="chalicelib.authorizer.lambda_handler"), ROOT
            ),
            "hello": lambda: _seconds(TIMED_IMPORT.format(module="hello_app"), hello_dir),
            "first_call": lambda: _seconds(TIMED_FIRST_CALL, ROOT, first_call_env),
        }
        for run in runs.values():
            run()  # unmeasured: every run then starts from written bytecode caches
        samples: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(repeats):  # alternating, so a noisy moment hits all of them
            for name, run in runs.items():
                samples[name].append(run())
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(prog="python -m bench.authorizer")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--imports", type=int, default=7)
    args = parser.parse_args(argv)

    token = make_token()
    cpu = validation_numbers(token, args.iterations, args.batches)
    cold = cold_numbers(token, args.imports)
    verify_ratio, handler_ratio = cpu.pop("verify_ratio"), cpu.pop("handler_ratio")
    import_ratio = cold["authorizer"] / cold["hello"]
    us, ms = 1e6, 1e3
    floor = f"raw ECDSA verify + base64 + JSON of the same token: {cpu['raw_verify'] * us:.0f} us"
    print(
        f"{sys.platform} {os.cpu_count()} CPUs, {sys.implementation.name} {sys.version.split()[0]}"
    )
    print("| what | now | floor it is measured against | ratio (target) |")
    print("| --- | --- | --- | --- |")
    print(
        f"| authorizer warm, one validation (core) | {cpu['verify'] * us:.0f} us | {floor} "
        f"| {verify_ratio:.2f}x (<= 1.3x) |"
    )
    print(
        f"| authorizer warm, Lambda handler (event to policy) | {cpu['handler'] * us:.0f} us "
        f"| same raw floor | {handler_ratio:.2f}x (<= 1.5x) |"
    )
    print(f"gate.authorize (core + IAM policy)    {cpu['authorize'] * us:7.1f} us")
    print(f"ratio validation / raw verify         {verify_ratio:7.2f}")
    print(f"ratio handler / raw verify            {handler_ratio:7.2f}")
    print(f"cold import, standalone authorizer    {cold['authorizer'] * ms:7.1f} ms")
    print(
        f"cold import, hello-world Chalice app  {cold['hello'] * ms:7.1f} ms"
        " (+ cryptography EC, RSA)"
    )
    print(f"ratio authorizer / hello world        {import_ratio:7.2f}")
    print(f"authorizer import + first call        {cold['first_call'] * ms:7.1f} ms")
    # Issue 13's two warm rows, for `make bench`'s table (bench/table.py).
    raw = f"raw verify + base64 + JSON: {cpu['raw_verify'] * us:.0f} us"
    table.report(table.AUTHORIZER_CORE, f"{cpu['verify'] * us:.0f} us", raw, f"{verify_ratio:.2f}x")
    table.report(
        table.AUTHORIZER_HANDLER, f"{cpu['handler'] * us:.0f} us", raw, f"{handler_ratio:.2f}x"
    )
    return {
        **{f"cpu_{name}": value for name, value in cpu.items()},
        **{f"import_{name}": value for name, value in cold.items()},
        "verify_ratio": verify_ratio,
        "handler_ratio": handler_ratio,
        "import_ratio": import_ratio,
    }


if __name__ == "__main__":
    main()
