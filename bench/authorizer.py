"""The authorizer's cost: CPU per validation, and cold start.

    python -m bench.authorizer [--iterations N] [--batches B] [--imports K]

1. CPU time per validation in-process (validate.verify: header checks, key lookup, PyJWT
   decode, claim checks; and gate.authorize: that plus the IAM policy), next to the raw
   ECDSA P-256 verify of the same signature with the same key by `cryptography`, measured
   in the same run. Ratio: validation / raw verify.
2. Cold import of the standalone authorizer (chalicelib.authorizer.lambda_handler, which
   preloads PyJWT and cryptography) next to a hello-world Chalice app importing PyJWT and
   cryptography, each in fresh interpreters, alternating, median of K. Ratio: authorizer /
   hello world. Also shown: the authorizer's import plus its first authorization (keys
   in-process), which is what a cold start really costs before any JWKS fetch.

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
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

jwt.get_algorithm_by_name("ES256")
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


def cpu_per_call(call: Callable[[], Any], iterations: int, batches: int) -> float:
    """Median CPU seconds per call over `batches` batches (after a warm-up)."""
    for _ in range(max(1, iterations // 10)):
        call()
    samples = []
    for _ in range(batches):
        start = time.process_time()
        for _ in range(iterations):
            call()
        samples.append((time.process_time() - start) / iterations)
    return statistics.median(samples)


def validation_numbers(token: Token, iterations: int, batches: int) -> dict[str, float]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    from chalicelib.authorizer import gate, validate
    from chalicelib.authorizer.keys import LocalKeys
    from chalicelib.authorizer.policy import RoutePolicy

    keys = LocalKeys(lambda: token.jwks)
    policy = RoutePolicy.from_mapping(ROUTES)

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

    # What lies underneath: one ECDSA P-256 verify, the same key and signature.
    signing_input, _, signature = token.text.rpartition(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    data, algorithm = signing_input.encode(), ec.ECDSA(hashes.SHA256())

    def raw_verify() -> None:
        token.public_key.verify(der, data, algorithm)

    return {
        "raw_verify": cpu_per_call(raw_verify, iterations, batches),
        "verify": cpu_per_call(verify, iterations, batches),
        "authorize": cpu_per_call(authorize, iterations, batches),
    }


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
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--imports", type=int, default=7)
    args = parser.parse_args(argv)

    token = make_token()
    cpu = validation_numbers(token, args.iterations, args.batches)
    cold = cold_numbers(token, args.imports)
    verify_ratio = cpu["verify"] / cpu["raw_verify"]
    import_ratio = cold["authorizer"] / cold["hello"]
    us, ms = 1e6, 1e3
    print(f"CPU per validation (verify)           {cpu['verify'] * us:7.1f} us")
    print(f"CPU per authorization (+ IAM policy)  {cpu['authorize'] * us:7.1f} us")
    print(f"raw ECDSA P-256 verify, same key      {cpu['raw_verify'] * us:7.1f} us")
    print(f"ratio validation / raw verify         {verify_ratio:7.2f}")
    print(f"cold import, standalone authorizer    {cold['authorizer'] * ms:7.1f} ms")
    print(
        f"cold import, hello-world Chalice app  {cold['hello'] * ms:7.1f} ms (PyJWT, cryptography)"
    )
    print(f"ratio authorizer / hello world        {import_ratio:7.2f}")
    print(f"authorizer import + first call        {cold['first_call'] * ms:7.1f} ms")
    return {
        **{f"cpu_{name}": value for name, value in cpu.items()},
        **{f"import_{name}": value for name, value in cold.items()},
        "verify_ratio": verify_ratio,
        "import_ratio": import_ratio,
    }


if __name__ == "__main__":
    main()
