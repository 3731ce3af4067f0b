"""TOLLGATE_SIGNER picks the signer per stage; each mode checks the settings it needs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import deps
from chalicelib.clock import FakeClock
from chalicelib.settings import Settings, SettingsError, load_settings
from chalicelib.stores.memory import MemoryTable
from chalicelib.stores.repository import Store
from chalicelib.tokens.envelope import EnvelopeSigner
from chalicelib.tokens.kms_signer import KmsSigner
from chalicelib.tokens.signer import LocalSigner

ROOT = Path(__file__).resolve().parents[2]
BASE = {"TOLLGATE_ISSUER": "https://auth.example.test", "TOLLGATE_TABLE": "t"}
KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def _load(**env: str) -> Settings:
    return load_settings({**BASE, **env})


def test_local_is_the_default() -> None:
    assert _load().signer == "local"


def test_envelope_needs_its_kms_key() -> None:
    with pytest.raises(SettingsError, match="TOLLGATE_KMS_KEY_ID"):
        _load(TOLLGATE_SIGNER="envelope")
    settings = _load(TOLLGATE_SIGNER="envelope", TOLLGATE_KMS_KEY_ID=KEY)
    assert (settings.signer, settings.kms_key_id) == ("envelope", KEY)


def test_kms_needs_a_signing_key_per_algorithm() -> None:
    with pytest.raises(SettingsError, match="_RS256"):
        _load(TOLLGATE_SIGNER="kms", TOLLGATE_KMS_SIGNING_KEY_ES256=KEY)
    settings = _load(
        TOLLGATE_SIGNER="kms",
        TOLLGATE_KMS_SIGNING_KEY_ES256=KEY,
        TOLLGATE_KMS_SIGNING_KEY_RS256=KEY + "-rsa",
    )
    assert settings.kms_signing_keys == {"ES256": KEY, "RS256": KEY + "-rsa"}


def test_local_keys_are_refused_in_prod() -> None:
    with pytest.raises(SettingsError, match="not for prod"):
        _load(TOLLGATE_STAGE="prod")
    assert _load(TOLLGATE_STAGE="dev").signer == "local"


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(SettingsError, match="one of local, envelope, kms"):
        _load(TOLLGATE_SIGNER="hsm")


def test_retired_keys_stay_published_as_long_as_the_longest_token_lives() -> None:
    assert _load(TOLLGATE_ACCESS_TOKEN_TTL="900").max_token_lifetime == 900


@pytest.mark.parametrize(
    ("env", "kind"),
    [
        ({}, LocalSigner),
        ({"TOLLGATE_SIGNER": "envelope", "TOLLGATE_KMS_KEY_ID": KEY}, EnvelopeSigner),
        (
            {
                "TOLLGATE_SIGNER": "kms",
                "TOLLGATE_KMS_SIGNING_KEY_ES256": KEY,
                "TOLLGATE_KMS_SIGNING_KEY_RS256": KEY,
            },
            KmsSigner,
        ),
    ],
)
def test_the_wiring_builds_the_stage_s_signer(env: dict[str, str], kind: type) -> None:
    clock = FakeClock()
    signer = deps.make_signer(_load(**env), Store(MemoryTable(clock)), clock)
    assert type(signer) is kind


PROBE = """
import json, sys
from chalicelib import deps
from chalicelib.clock import FakeClock
from chalicelib.settings import load_settings
from chalicelib.stores.memory import MemoryTable
from chalicelib.stores.repository import Store
env = {"TOLLGATE_ISSUER": "https://a.test", "TOLLGATE_TABLE": "t", %s}
clock = FakeClock()
deps.make_signer(load_settings(env), Store(MemoryTable(clock)), clock)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {"boto3", "botocore"})))
"""


@pytest.mark.parametrize(
    "env",
    [
        '"TOLLGATE_SIGNER": "envelope", "TOLLGATE_KMS_KEY_ID": "k"',
        '"TOLLGATE_SIGNER": "kms", "TOLLGATE_KMS_SIGNING_KEY_ES256": "k", '
        '"TOLLGATE_KMS_SIGNING_KEY_RS256": "k"',
    ],
)
def test_building_a_kms_signer_does_not_load_boto3(env: str) -> None:
    """The KMS client is made on the first KMS call: building the wiring stays cheap."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE % env], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []
