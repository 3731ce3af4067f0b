"""The standalone authorizer's import path never loads boto3 (DESIGN.md, cold start), nor
PyJWT or cryptography.x509 (issue 13): exactly cryptography's EC and RSA verification, and
the project's own modules listed here.

Each probe runs in a fresh interpreter, so nothing imported by other tests can hide a load.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.authorizer.tokens import AUDIENCE, ISSUER, NOW, KeyPair

ROOT = Path(__file__).resolve().parents[2]
AWS_SDK = {"boto3", "botocore", "s3transfer", "moto"}
# Every module beyond the standard library a cold authorizer loads, up to its first answer.
CRYPTOGRAPHY = {
    "_cffi_backend",
    "_openssl",
    "_openssl.lib",
    "cryptography",
    "cryptography.__about__",
    "cryptography.exceptions",
    "cryptography.hazmat",
    "cryptography.hazmat._oid",
    # the OpenSSL backend, which cryptography's ECDSA loads (with its cipher modules)
    "cryptography.hazmat.backends",
    "cryptography.hazmat.backends.openssl",
    "cryptography.hazmat.backends.openssl.backend",
    "cryptography.hazmat.bindings",
    "cryptography.hazmat.bindings._rust",
    "cryptography.hazmat.bindings.openssl",
    "cryptography.hazmat.bindings.openssl._conditional",
    "cryptography.hazmat.bindings.openssl.binding",
    "cryptography.hazmat.decrepit",
    "cryptography.hazmat.decrepit.ciphers",
    "cryptography.hazmat.decrepit.ciphers.algorithms",
    "cryptography.hazmat.decrepit.ciphers.modes",
    "cryptography.hazmat.primitives",
    "cryptography.hazmat.primitives._asymmetric",
    "cryptography.hazmat.primitives._cipheralgorithm",
    "cryptography.hazmat.primitives._modes",
    "cryptography.hazmat.primitives._serialization",
    "cryptography.hazmat.primitives.asymmetric",
    "cryptography.hazmat.primitives.asymmetric.ec",
    "cryptography.hazmat.primitives.asymmetric.padding",
    "cryptography.hazmat.primitives.asymmetric.rsa",
    "cryptography.hazmat.primitives.asymmetric.utils",
    "cryptography.hazmat.primitives.ciphers",
    "cryptography.hazmat.primitives.ciphers.algorithms",
    "cryptography.hazmat.primitives.ciphers.base",
    "cryptography.hazmat.primitives.ciphers.modes",
    "cryptography.hazmat.primitives.hashes",
    "cryptography.utils",
}
PROJECT = {
    "chalicelib",
    "chalicelib.authorizer",
    "chalicelib.authorizer.config",
    "chalicelib.authorizer.dpop_binding",
    "chalicelib.authorizer.errors",
    "chalicelib.authorizer.events",
    "chalicelib.authorizer.gate",
    "chalicelib.authorizer.keys",
    "chalicelib.authorizer.lambda_handler",
    "chalicelib.authorizer.metadata",
    "chalicelib.authorizer.policy",
    "chalicelib.authorizer.validate",
    "chalicelib.errors",
    "chalicelib.ids",
    "chalicelib.json_input",
    "chalicelib.protocol",
    "chalicelib.protocol.acr",
    "chalicelib.protocol.scope",
    "chalicelib.setting_values",  # not settings: the app's Settings class stays unloaded
    "chalicelib.stores",
    "chalicelib.stores.failures",  # not table, not models: the records stay unloaded
    "chalicelib.stores.scope_policies",
    "chalicelib.tokens",
    "chalicelib.tokens.dpop",
    "chalicelib.tokens.jose",
    "chalicelib.tokens.jwt_verify",
}

IMPORT_ONLY = """
import json, sys
import chalicelib.authorizer.lambda_handler
print(json.dumps(sorted(sys.modules)))
"""

# A whole validation and policy decision, through the handler's own Authorizer class. The
# token and keys come from the test (argv): the probe imports nothing but the handler.
FULL_CALL = """
import json, sys
from chalicelib.authorizer.lambda_handler import Authorizer
from chalicelib.authorizer.config import AuthorizerConfig
from chalicelib.authorizer.keys import LocalKeys
from chalicelib.authorizer.policy import RoutePolicy

issuer, audience, now, token, jwks = sys.argv[1:]
config = AuthorizerConfig(issuer, audience, RoutePolicy.from_mapping({"GET /a": ["r"]}))
keys = LocalKeys(lambda: json.loads(jwks))
authorizer = Authorizer(config, keys=keys, clock=lambda: int(now))
event = {
    "type": "REQUEST",
    "methodArn": "arn:aws:execute-api:eu-west-1:1:api/prod/GET/a",
    "headers": {"Authorization": "Bearer " + token},
}
answer = authorizer(event)
assert answer["principalId"] == "sub-alice", answer
print(json.dumps(sorted(sys.modules)))
"""


def _all_modules(probe: str, *argv: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", probe, *argv], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout))


def _modules(probe: str) -> set[str]:
    return {name.split(".")[0] for name in _all_modules(probe)}


def _beyond_stdlib(loaded: set[str]) -> set[str]:
    """What is neither the standard library nor the probe itself (nor the venv's site hook,
    which Lambda's runtime does not have)."""
    ignored = set(sys.stdlib_module_names) | {"__main__", "_distutils_hack"}
    return {name for name in loaded if name.split(".")[0] not in ignored}


def test_importing_the_lambda_handler_loads_exactly_its_cold_path() -> None:
    loaded = _all_modules(IMPORT_ONLY)
    # The handler preloads cryptography's verification for its first call, and nothing of
    # PyJWT, cryptography.x509, serialization or the AWS SDK.
    assert _beyond_stdlib(loaded) == CRYPTOGRAPHY | PROJECT
    assert "pathlib" not in loaded  # the route policy file is read with os.path


def test_a_whole_authorization_loads_exactly_the_cold_path() -> None:
    """The first answer needs nothing the import did not load: no boto3, no framework."""
    key = KeyPair.ec("k1")
    loaded = _all_modules(
        FULL_CALL, ISSUER, AUDIENCE, str(NOW), key.token(), json.dumps(key.jwks())
    )
    assert _beyond_stdlib(loaded) == CRYPTOGRAPHY | PROJECT


def test_the_probe_sees_botocore_when_it_is_loaded() -> None:
    """The checks above can fail: the probe notices botocore (the CLI's client) when it loads."""
    probe = IMPORT_ONLY.replace(
        "print(", "import chalicelib.stores.dynamodb as d; d.make_client('us-east-1', None)\nprint("
    )
    loaded = _modules(probe)
    assert "botocore" in loaded
    assert "boto3" not in loaded
