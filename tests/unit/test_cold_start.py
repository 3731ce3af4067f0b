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
