"""requirements.txt is what Chalice packages into the Lambda: it must equal the lock's export."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_requirements_txt_matches_the_lock() -> None:
    uv = Path(sys.executable).parent / "uv"
    exported = subprocess.run(
        [str(uv), "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    committed = (ROOT / "requirements.txt").read_text()
    assert _pins(committed) == _pins(exported), (
        "requirements.txt has drifted from uv.lock: run `make requirements`"
    )


def _pins(text: str) -> list[str]:
    # The header comment names the output file; the pins (and their "via" notes) must agree.
    return [line for line in text.splitlines() if not line.startswith("#")]


def test_requirements_hold_no_dev_tools() -> None:
    names = {
        line.split("==")[0].strip().lower()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line and not line.startswith(("#", " "))
    }
    assert {"pyjwt", "cryptography", "argon2-cffi", "boto3"} <= names
    assert not names & {"chalice", "moto", "pytest", "playwright", "mypy", "ruff"}
