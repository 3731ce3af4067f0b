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
    # The last line: a probe that serves requests logs them before it.
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
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


LEAN_CLIENTS = """
import os
os.environ.update(AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="s", AWS_SESSION_TOKEN="t")
os.environ.pop("AWS_CREDENTIAL_EXPIRATION", None)
from chalicelib.stores.dynamodb_http import DynamoHttpClient
from chalicelib.tokens.kms_http import KmsHttpClient
table = DynamoHttpClient("us-east-1")  # https: the CA bundle is found too
KmsHttpClient("us-east-1", "http://127.0.0.1:9")
"""


def test_the_lambda_functions_aws_clients_load_no_botocore() -> None:
    """The lean DynamoDB and KMS clients (deps.build) sign and send JSON themselves with the
    function's credentials from its environment: no botocore module loads until a call fails."""
    loaded = set(_modules_after(LEAN_CLIENTS))
    assert {"http.client", "ssl", "chalicelib.tokens.kms_http"} <= loaded
    assert not {m.split(".")[0] for m in loaded} & {"botocore", "boto3"}


def test_a_failing_call_loads_botocore_s_retry_rules() -> None:
    """The check above can fail: the retry rules are botocore's, loaded on the first failure."""
    failing = (
        'table.endpoint = "http://127.0.0.1:9"\n'
        "table._connections = table._make_connections()\n"
        "table.sleep = lambda seconds: None\n"
        "try:\n"
        "    table.get_item(TableName='t', Key={})\n"
        "except Exception as exc:\n"
        "    assert type(exc).__name__ == 'EndpointConnectionError', exc\n"
    )
    loaded = set(_modules_after(LEAN_CLIENTS + failing))
    assert {"botocore.retries.standard", "botocore.exceptions"} <= loaded
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


def test_the_login_page_with_its_passkey_form_loads_no_webauthn_library() -> None:
    """py_webauthn (with cbor2 and pyOpenSSL) loads when a passkey response is checked, not
    for the login page's options, which Tollgate writes itself."""
    probe = (
        "from tests.support.oauth import Browser, tollgate\n"
        "from tests.functional.flows import authorize_path\n"
        "with tollgate() as (_deps, _clock, http):\n"
        "    browser = Browser(http)\n"
        "    page = browser.follow(browser.get(authorize_path()))\n"
        "    assert 'data-passkey-options' in page.text, page.text\n"
        "{check}"
    )
    passkey = {"webauthn", "cbor2"}  # (pyOpenSSL: the harness may load it anyway)
    loaded = _third_party(_modules_after(probe.format(check="")))
    assert not loaded & passkey
    checked = probe.format(
        check="from chalicelib.accounts import passkeys\n"
        "from tests.support.oauth import ISSUER\n"
        "from tests.support.webauthn import SoftAuthenticator\n"
        "import json\n"
        "posted = passkeys.read(SoftAuthenticator(ISSUER).create(\n"
        "    {'user': {'id': 'AA'}, 'rp': {'id': 'x'}, 'challenge': 'AA'}))\n"
        "try:\n"
        "    passkeys.verify_registration(_deps, posted, 'alice', 'f')\n"
        "except passkeys.PasskeyRefused:\n"
        "    pass\n"
    )
    assert passkey <= _third_party(_modules_after(checked))  # the check above can fail
