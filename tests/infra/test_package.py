"""The package is proven, not assumed: the synthesized Lambda zips, run on their own.

The zips are the CDK assets of tests/infra/conftest.py's synthesis, which runs `chalice
package` through chalice's CDK construct exactly as `make deploy` does. Each handler the
templates name (the API, the built-in authorizer, the standalone authorizer) runs from its
unzipped code and layer in a fresh `python3.11 -I -S` (tests/infra/lambda_package.py) with
the environment its template sets, against a moto server: discovery, the JWKS, a
client_credentials token that verifies against them, and an allow and a deny from each
authorizer. Every module a handler loaded must come from its code, its layer or the
standard library; every native library must suit Lambda's python3.11 runtime.
"""

from __future__ import annotations

import json
import threading
from fnmatch import fnmatchcase
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.infra import lambda_package as package
from tests.infra.conftest import (
    ACCOUNT,
    API_ID,
    CLIENT_ID,
    REGION,
    SCOPES,
    Deployed,
    Synthesized,
    api_event,
)


def _forged(token: str) -> str:
    """The token's claims and header, signed by a key that is not the issuer's."""
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    key: Any = (
        ec.generate_private_key(ec.SECP256R1())
        if header["alg"] == "ES256"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    return jwt.encode(claims, key, algorithm=header["alg"], headers={"kid": header["kid"]})


class _Jwks(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(jwks: dict[str, Any]) -> tuple[ThreadingHTTPServer, str]:
    """The issuer's /jwks.json on loopback, for the standalone authorizer to fetch."""
    handler = type("Jwks", (_Jwks,), {"body": json.dumps(jwks).encode()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"


def _allowed(answer: dict[str, Any], method_arn: str) -> bool:
    """Whether the policy allows invoking the method: IAM's `*` and `?` wildcards."""
    allowed = denied = False
    for statement in answer["result"]["policyDocument"]["Statement"]:
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        if statement["Action"] in ("execute-api:Invoke", ["execute-api:Invoke"]) and any(
            fnmatchcase(method_arn, r) for r in resources
        ):
            allowed |= statement["Effect"] == "Allow"
            denied |= statement["Effect"] == "Deny"
    return allowed and not denied


def _assert_package_only(result: package.Run, function: package.Function) -> None:
    assert package.foreign_modules(result, function) == {}
    # Every module of the package came from its bytecode: nothing compiled on the cold start.
    roots = (str(function.code.resolve()), str(function.opt.resolve()))
    assert [path for path in result.compiled if path.startswith(roots)] == []
    # Some from each: the app's code, and its dependencies from the layer.
    assert Path(result.modules["chalicelib"]).is_relative_to(function.code.resolve())
    assert Path(result.modules["cryptography"]).is_relative_to(function.opt.resolve())


@pytest.mark.slow
def test_each_handler_runs_from_the_package_alone(deployed: Deployed) -> None:
    api = deployed.functions["APIHandler"]
    issuer = deployed.issuer
    token_body = urlencode({"grant_type": "client_credentials", "scope": SCOPES})
    result = package.run(
        api,
        deployed.environments["APIHandler"],
        [
            api_event(issuer, "GET", "/.well-known/openid-configuration"),
            api_event(issuer, "GET", "/jwks.json"),
            api_event(issuer, "POST", "/token", token_body),
        ],
        deployed.work,
    )
    discovery, jwks_answer, token_answer = (a["result"] for a in result.answers)
    assert discovery["statusCode"] == 200, discovery
    metadata = json.loads(discovery["body"])
    assert metadata["issuer"] == issuer
    assert metadata["jwks_uri"] == f"{issuer}/jwks.json"
    assert jwks_answer["statusCode"] == 200, jwks_answer
    jwks = json.loads(jwks_answer["body"])
    assert token_answer["statusCode"] == 200, token_answer
    token = json.loads(token_answer["body"])["access_token"]
    header = jwt.get_unverified_header(token)
    signer = dict(deployed.environments["APIHandler"])["TOLLGATE_SIGNER"]
    assert signer == ("envelope" if deployed.stage == "dev" else "kms")
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    claims = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=[header["alg"]],
        issuer=issuer,
        options={"verify_aud": False},
    )
    assert claims["client_id"] == CLIENT_ID
    assert set(claims["scope"].split()) == set(SCOPES.split())
    _assert_package_only(result, api)
    # The table and KMS through the lean client (stores/aws_json.py): no botocore module
    # loads while every call succeeds, and never boto3 (its S3 transfer code).
    assert not {name.split(".")[0] for name in result.modules} & {"botocore", "boto3"}

    method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{deployed.stage}/GET/api/whoami"
    forged = _forged(token)
    # The built-in authorizer, in a container of its own: it opens the keys the API sealed.
    builtin = deployed.functions["TollgateAuthorizer"]
    result = package.run(
        builtin,
        deployed.environments["TollgateAuthorizer"],
        [
            {"type": "TOKEN", "authorizationToken": f"Bearer {t}", "methodArn": method_arn}
            for t in (token, forged)
        ],
        deployed.work,
    )
    allow, deny = result.answers
    assert allow["result"]["principalId"] == CLIENT_ID, allow
    assert _allowed(allow, method_arn)
    assert deny == {"errorType": "Unauthorized", "errorMessage": "Unauthorized"}
    _assert_package_only(result, builtin)

    standalone = deployed.functions["StandaloneAuthorizer9ECA7970"]
    environment = dict(deployed.environments["StandaloneAuthorizer9ECA7970"])
    assert environment["TOLLGATE_JWKS_URI"] == f"{issuer}/jwks.json"
    server, environment["TOLLGATE_JWKS_URI"] = _serve(jwks)  # https on execute-api, really
    # The stage's policy and audience are another API's, or nothing and the issuer by default
    # (SECURITY.md 55): this API's, whose tokens name the issuer.
    environment["TOLLGATE_ROUTE_POLICY"] = '{"GET /api/whoami": []}'
    environment["TOLLGATE_AUDIENCE"] = issuer
    try:
        result = package.run(
            standalone,
            environment,
            [
                {"type": "TOKEN", "authorizationToken": f"Bearer {t}", "methodArn": method_arn}
                for t in (token, forged)
            ],
            deployed.work,
        )
    finally:
        server.shutdown()
        server.server_close()
    allow, deny = result.answers
    assert _allowed(allow, method_arn), allow
    assert deny == {"errorType": "Unauthorized", "errorMessage": "Unauthorized"}
    _assert_package_only(result, standalone)
    assert "boto3" not in result.modules  # its import path never loads boto3


def test_native_libraries_suit_the_lambda_runtime(synthesized: Synthesized, tmp_path: Path) -> None:
    """ELF machine = the function's architecture; no GLIBC symbol newer than Amazon Linux 2's."""
    functions = package.functions(synthesized.dev, synthesized.dev_path.parent, tmp_path)
    checked = 0
    for function in functions.values():
        machine = package.ELF_MACHINES[function.architecture]
        for root in (function.code, function.opt):
            for library in package.native_libraries(root):
                checked += 1
                assert library.machine == machine, library
                assert library.glibc is not None, library  # every one links against libc
                assert library.glibc <= package.RUNTIME_GLIBC, library
    # cryptography, cffi and argon2's bindings, seen by each of the three functions
    assert checked >= 9


def test_the_passkey_library_runs_from_the_layer(synthesized: Synthesized, tmp_path: Path) -> None:
    """py_webauthn and cbor2 are in the layer and work there, with the standard library
    alone: `chalice package` leaves out a package with no wheel for Lambda's glibc (cbor2 6
    was left out, so passkeys would fail only once deployed)."""
    import subprocess
    import sys

    functions = package.functions(synthesized.dev, synthesized.dev_path.parent, tmp_path)
    function = next(f for f in functions.values() if f.handler == "app.app")
    probe = (
        "import sys; sys.path[:0] = [sys.argv[1]]\n"
        "import cbor2, webauthn\n"
        "assert cbor2.loads(cbor2.dumps({1: b'x'})) == {1: b'x'}\n"
        "print(cbor2.__file__)\n"
    )
    layer = str(function.opt / "python" / "lib" / "python3.11" / "site-packages")
    found = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, layer],
        check=False,
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith(layer)


def test_the_provenance_check_refuses_modules_from_outside_the_package(tmp_path: Path) -> None:
    task, opt, stdlib = tmp_path / "task", tmp_path / "opt", tmp_path / "lib" / "python3.11"
    for directory in (task, opt, stdlib):
        directory.mkdir(parents=True)
    function = package.Function("F", "f", "app.app", "x86_64", {}, task, opt)
    loaded = {
        "app": f"{task}/app.py",
        "jwt": f"{opt}/python/lib/python3.11/site-packages/jwt/__init__.py",
        "os": f"{stdlib}/os.py",
        "installed": f"{stdlib}/site-packages/installed.py",
        "elsewhere": f"{tmp_path}/task2/elsewhere.py",
    }
    run = package.Run(answers=[], modules=loaded, stdlib=[str(stdlib)], compiled=[])
    assert set(package.foreign_modules(run, function)) == {"installed", "elsewhere"}


def test_every_source_has_its_runtime_bytecode(synthesized: Synthesized, tmp_path: Path) -> None:
    """A .pyc beside each .py, for python3.11, that the interpreter uses without reading the
    source's mtime (PEP 552 unchecked hash: flags 0b01), naming the path Lambda will see."""
    import importlib.util
    import marshal

    functions = package.functions(synthesized.dev, synthesized.dev_path.parent, tmp_path)
    checked = 0
    for function in functions.values():
        for root, lambda_root in ((function.code, "/var/task"), (function.opt, "/opt")):
            for source in root.rglob("*.py"):
                cached = Path(importlib.util.cache_from_source(str(source)))
                assert cached.is_file(), source
                data = cached.read_bytes()
                assert data[:4] == importlib.util.MAGIC_NUMBER, cached
                assert int.from_bytes(data[4:8], "little") == 0b01, cached
                checked += 1
            module = root / "chalicelib" / "ids.py"
            if module.is_file():
                code = marshal.loads(  # noqa: S302 (the bytecode we just packaged)
                    Path(importlib.util.cache_from_source(str(module))).read_bytes()[16:]
                )
                assert code.co_filename == f"{lambda_root}/chalicelib/ids.py"
    assert checked > 1000  # the project, chalice, botocore, cryptography, PyJWT...
