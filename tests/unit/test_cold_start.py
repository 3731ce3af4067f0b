"""Cold start: importing the app loads only the standard library, Chalice and project code.

botocore, cryptography, PyJWT and argon2 load on first use (DESIGN.md, cold start); boto3
never does: the DynamoDB and KMS clients are botocore's own (boto3's import loads s3transfer).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"boto3", "botocore", "cryptography", "jwt", "argon2", "moto"}
BOTO3 = {"boto3", "s3transfer", "multiprocessing"}

PROBE = """
import json, sys
import app
{extra}
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(extra: str = "") -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(extra=extra)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded: list[str] = json.loads(out.stdout)
    return loaded


def _third_party(loaded: list[str]) -> set[str]:
    stdlib = set(sys.stdlib_module_names) | {"__main__", "_distutils_hack"}
    return {m.split(".")[0] for m in loaded} - stdlib


def test_importing_the_app_loads_no_heavy_dependency() -> None:
    loaded = _modules_after()
    assert _third_party(loaded) == {"app", "chalice", "chalicelib"}
    # The probe really imported the app and its routes.
    assert "chalicelib.web.routes" in loaded
    assert "chalicelib.endpoints.token" in loaded


def test_first_use_loads_them() -> None:
    """The probe sees lazy imports once they happen: the check above can fail."""
    loaded = _modules_after(
        "from chalicelib.stores.dynamodb import make_client\n"
        "make_client('us-east-1', None)\n"
        "from chalicelib.tokens.keys import generate\n"
        "generate('ES256', 0)\n"
    )
    assert {"botocore", "cryptography"} <= _third_party(loaded) & HEAVY


def test_the_lambda_functions_dynamodb_client_loads_no_service_model() -> None:
    """The lean client (deps.build) signs and sends JSON itself: botocore's client machinery
    and its service models stay unloaded (credentials and the retry rules only)."""
    loaded = set(
        _modules_after(
            "from chalicelib.stores.dynamodb_http import DynamoHttpClient\n"
            "DynamoHttpClient('us-east-1', 'http://127.0.0.1:9')\n"
        )
    )
    assert {"http.client", "botocore.credentials", "botocore.retries.standard"} <= loaded
    assert not loaded & {"botocore.session", "botocore.client", "boto3"}


def test_the_dynamodb_and_kms_clients_and_codec_load_no_boto3() -> None:
    """Everything the table and the KMS signers use, from botocore alone."""
    loaded = _modules_after(
        "from chalicelib.stores.dynamodb import make_client\n"
        "from chalicelib.stores.attribute_values import deserialize, serialize\n"
        "from chalicelib.tokens import kms_client\n"
        "make_client('us-east-1', 'http://127.0.0.1:9').meta.service_model\n"
        "kms_client.make_client('us-east-1').meta.service_model\n"
        "deserialize(serialize({'n': 1, 's': {'a'}}))\n"
    )
    assert "botocore.client" in loaded  # the probe really made clients
    assert not {m.split(".")[0] for m in loaded} & BOTO3
