"""The standalone authorizer's import path never loads boto3 (DESIGN.md, cold start).

Each probe runs in a fresh interpreter, so nothing imported by other tests can hide a load.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AWS_SDK = {"boto3", "botocore", "s3transfer", "moto"}

IMPORT_ONLY = """
import json, sys
import chalicelib.authorizer.lambda_handler
print(json.dumps(sorted(sys.modules)))
"""

# A whole validation and policy decision, through the handler's own Authorizer class.
FULL_CALL = """
import json, sys
from chalicelib.authorizer.lambda_handler import Authorizer
from chalicelib.authorizer.config import AuthorizerConfig
from chalicelib.authorizer.keys import LocalKeys
from chalicelib.authorizer.policy import RoutePolicy
from tests.authorizer.tokens import AUDIENCE, ISSUER, NOW, KeyPair

key = KeyPair.ec("k1")
config = AuthorizerConfig(ISSUER, AUDIENCE, RoutePolicy.from_mapping({"GET /a": ["r"]}))
authorizer = Authorizer(config, keys=LocalKeys(key.jwks), clock=lambda: NOW)
event = {
    "type": "REQUEST",
    "methodArn": "arn:aws:execute-api:eu-west-1:1:api/prod/GET/a",
    "headers": {"Authorization": "Bearer " + key.token()},
}
answer = authorizer(event)
assert answer["principalId"] == "sub-alice", answer
print(json.dumps(sorted(sys.modules)))
"""


def _modules(probe: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return {name.split(".")[0] for name in json.loads(out.stdout)}


def test_importing_the_lambda_handler_loads_no_boto3() -> None:
    loaded = _modules(IMPORT_ONLY)
    assert loaded & AWS_SDK == set()
    # The probe sees what the handler preloads for its first call: the check can fail.
    assert {"jwt", "cryptography", "chalicelib"} <= loaded


def test_a_whole_authorization_loads_no_boto3() -> None:
    loaded = _modules(FULL_CALL)
    assert loaded & AWS_SDK == set()
    assert "chalice" not in loaded  # the standalone authorizer needs no framework either


def test_the_probe_sees_botocore_when_it_is_loaded() -> None:
    """The revocation check is the one path that loads the AWS SDK (botocore alone, never
    boto3): the probe notices it."""
    probe = IMPORT_ONLY.replace(
        "print(", "import chalicelib.stores.dynamodb as d; d.make_client('us-east-1', None)\nprint("
    )
    loaded = _modules(probe)
    assert "botocore" in loaded
    assert "boto3" not in loaded
