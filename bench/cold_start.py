"""Cold start of the packaged Lambda functions, as ratios to a hello-world floor.

    python -m bench.cold_start [--runs N] [--baseline REF]

Packages the app with `chalice package` (as the CDK construct does), unzips the function
zip and the layer as Lambda does, and runs each handler once in a fresh `python3.11 -I -S`
with only them and the standard library on sys.path (tests/infra/lambda_package.py's
runner), against a moto server in another process. Measured: the child's CPU time (user +
sys) for interpreter start, import and the first call:

- api: the API function, import + one client_credentials token (envelope signer: KMS and
  DynamoDB in moto; the keys already exist, as in any container but the very first).
- authorizer: the standalone authorizer, import + its first validation (JWKS over loopback).
- floor: a hello-world Chalice app with one route, packaged the same way with bytecode,
  answering one request. Every ratio divides by the floor's median from the same run.

Three packages of each: `today` (the code at --baseline, no bytecode: what `chalice package`
shipped before issue 13), `no-pyc` (this code, no bytecode) and `new` (this code, packaged as
infra/chalice_app.py does: bytecode added by infra/bytecode.py). Runs are interleaved, N of
each; medians. No number here is asserted by a test: they depend on the machine.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from infra.bytecode import add_bytecode
from tests.infra.lambda_package import RUNNER

ROOT = Path(__file__).resolve().parents[1]
# The last commit before the cold-start work of issue 13: what "today" means.
BASELINE = "60f9df7"
REGION = "us-east-1"
TABLE = "tollgate-bench-cold"
ISSUER = "https://abcdef1234.execute-api.us-east-1.amazonaws.com/dev"
CLIENT_ID, SECRET = "bench-job", "bench-secret-0123456789abcdef0123"
ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/GET/api/whoami"
HELLO = """from chalice import Chalice
app = Chalice(app_name="hello")


@app.route("/")
def index():
    return {"hello": "world"}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _event(method: str, path: str, body: str | None = None) -> dict[str, Any]:
    headers = {"Host": "abcdef1234.execute-api.us-east-1.amazonaws.com"}
    if body is not None:
        basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
        headers |= {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Basic {basic}",
        }
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": "/dev" + path,
            "stage": "dev",
            "requestId": "bench",
            "identity": {"sourceIp": "198.51.100.7"},
            "apiId": "abcdef1234",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def _unzip(archive: Path, into: Path) -> Path:
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(into)
    return into


def build(work: Path, baseline: str) -> dict[str, tuple[Path, Path]]:
    """(code, opt) of each package: today, no-pyc, new, and the hello-world floor."""
    from chalice import api

    out = work / "chalice.out"
    api.package_app(project_dir=str(ROOT), output_dir=str(out), stage="dev")
    code, layer = out / "deployment.zip", out / "layer-deployment.zip"
    packages = {"no-pyc": (_unzip(code, work / "no-pyc"), _unzip(layer, work / "opt-no-pyc"))}
    today = _unzip(code, work / "today")
    shutil.rmtree(today / "chalicelib")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", baseline, "app.py", "chalicelib"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(today)], input=archive, check=True)
    packages["today"] = (today, packages["no-pyc"][1])
    add_bytecode(code, "/var/task")
    add_bytecode(layer, "/opt")
    packages["new"] = (_unzip(code, work / "new"), _unzip(layer, work / "opt-new"))
    hello = work / "hello.zip"
    with zipfile.ZipFile(code) as full, zipfile.ZipFile(hello, "w") as small:
        for entry in full.infolist():
            if entry.filename.startswith("chalice/"):
                small.writestr(entry, full.read(entry))
        small.writestr("app.py", HELLO)
    add_bytecode(hello, "/var/task")
    empty = work / "opt-empty"
    empty.mkdir()
    packages["floor"] = (_unzip(hello, work / "hello"), empty)
    return packages


def _serve(body: bytes) -> ThreadingHTTPServer:
    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_once(
    code: Path, opt: Path, handler: str, events: list[Any], *, env: dict[str, str], work: Path
) -> tuple[float, list[Any]]:
    """CPU seconds of one fresh interpreter running the handler; its answers."""
    events_path, out_path = work / "events.json", work / "out.json"
    events_path.write_text(json.dumps(events), encoding="utf-8")
    python = Path(sys.base_prefix) / "bin" / "python3.11"
    argv = [str(python), "-I", "-S", "-c", RUNNER, str(code), str(opt), handler]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [*argv, str(events_path), str(out_path)],
        env=env,
        cwd=code,
        capture_output=True,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode()[-2000:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    answers = json.loads(out_path.read_text(encoding="utf-8"))["answers"]
    return cpu, answers


def _environment(moto: str, kms_key: str) -> dict[str, str]:
    return {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": moto,
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "NO_PROXY": "127.0.0.1,localhost",
        "TOLLGATE_ISSUER": ISSUER,
        "TOLLGATE_TABLE": TABLE,
        "TOLLGATE_STAGE": "dev",
        "TOLLGATE_SIGNER": "envelope",
        "TOLLGATE_KMS_KEY_ID": kms_key,
    }


def _setup(moto: str) -> str:
    """The table, the envelope's KMS key and the client; the key's id."""
    from chalicelib import ids
    from chalicelib.admin import local
    from chalicelib.stores.models import Client
    from chalicelib.tokens import kms_client

    local.ensure_table(moto, TABLE, REGION)
    kms = kms_client.make_client(REGION, moto)
    key_id: str = kms.create_key(Description="bench")["KeyMetadata"]["KeyId"]
    local.local_store(moto, TABLE, REGION).clients.create(
        Client(
            client_id=CLIENT_ID,
            name="Bench",
            client_type="confidential",
            auth_method="client_secret_basic",
            redirect_uris=[],
            grant_types=["client_credentials"],
            scopes=["api"],
            secret_hash=ids.digest(SECRET),
        )
    )
    return key_id


def report(times: dict[str, list[float]], runs: int) -> None:
    floor = statistics.median(times["floor"])
    print(f"cold start, CPU (user+sys) of a fresh python3.11 -I -S, median of {runs}")
    print(f"  floor (hello-world Chalice, bytecode): {floor * 1000:7.1f} ms   1.00x")
    for name, samples in times.items():
        if name == "floor":
            continue
        median = statistics.median(samples)
        print(f"  {name:<38} {median * 1000:7.1f} ms   {median / floor:.2f}x")
    from bench import table

    rows = {"api": table.API_COLD, "authorizer": table.AUTHORIZER_COLD}
    for what in ("api", "authorizer"):
        today, new = (
            statistics.median(times[f"{what} today"]),
            statistics.median(times[f"{what} new"]),
        )
        print(f"  {what}: new / today = {new / today:.2f}")
        table.report(
            rows[what],
            f"{new * 1000:.0f} ms CPU (today's code, same run: {today * 1000:.0f} ms)",
            f"hello world: {floor * 1000:.0f} ms",
            f"{new / floor:.2f}x floor; {new / today:.2f}x today's",
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline", default=BASELINE)
    args = parser.parse_args(argv)
    from chalicelib.admin import local

    # moto's fake account, for this process's own calls (the table, the key, the client).
    for name, value in (("AWS_DEFAULT_REGION", REGION), ("AWS_ACCESS_KEY_ID", "testing")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        packages = build(work, args.baseline)
        port = _free_port()
        child = local.start_moto(port, (work / "moto.log").open("wb"))
        try:
            moto = f"http://127.0.0.1:{port}"
            env = _environment(moto, _setup(moto))
            token_event = _event("POST", "/token", urlencode({"grant_type": "client_credentials"}))
            # Warm-up (not counted): the first run creates the signing keys.
            _, (answer,) = run_once(*packages["new"], "app.app", [token_event], env=env, work=work)
            assert answer["result"]["statusCode"] == 200, answer
            token = json.loads(answer["result"]["body"])["access_token"]
            _, (jwks,) = run_once(
                *packages["new"], "app.app", [_event("GET", "/jwks.json")], env=env, work=work
            )
            server = _serve(jwks["result"]["body"].encode())
            auth_env = env | {
                "TOLLGATE_JWKS_URI": f"http://127.0.0.1:{server.server_address[1]}/jwks.json",
                "TOLLGATE_ROUTE_POLICY": json.dumps({"GET /api/whoami": []}),
            }
            auth_event = {
                "type": "TOKEN",
                "authorizationToken": f"Bearer {token}",
                "methodArn": ARN,
            }
            cases: dict[str, tuple[tuple[Path, Path], str, list[Any], dict[str, str]]] = {
                "floor": (packages["floor"], "app.app", [_event("GET", "/")], env)
            }
            for name in ("today", "no-pyc", "new"):
                cases[f"api {name}"] = (packages[name], "app.app", [token_event], env)
                auth = "chalicelib.authorizer.lambda_handler.handler"
                cases[f"authorizer {name}"] = (packages[name], auth, [auth_event], auth_env)
            times: dict[str, list[float]] = {name: [] for name in cases}
            try:
                for _ in range(args.runs):
                    for name, (pkg, handler, events, case_env) in cases.items():
                        cpu, answers = run_once(*pkg, handler, events, env=case_env, work=work)
                        result = answers[0].get("result", answers[0])
                        ok = result.get("statusCode") == 200 or "policyDocument" in result
                        assert ok, (name, answers)
                        times[name].append(cpu)
            finally:
                server.shutdown()
                server.server_close()
        finally:
            local.stop(child)
    report(times, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
