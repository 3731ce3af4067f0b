"""A real local stack for browser tests: moto's server, the seeded table, `chalice local`."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chalicelib.admin import local

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Stack:
    issuer: str
    creds: local.DemoCredentials


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A fresh stack per test module: each module's flows start with no consent stored."""
    state = tmp_path_factory.mktemp("local")
    moto_port, port = _free_port(), _free_port()
    moto_url = f"http://127.0.0.1:{moto_port}"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    moto = local.start_moto(moto_port, (state / "moto.log").open("wb"))
    children = [moto]
    try:
        local.ensure_table(moto_url)
        creds = local.seed(local.local_store(moto_url), port, state)
        chalice = local.start_chalice(port, moto_url, autoreload=False)
        children.append(chalice)
        issuer = f"http://127.0.0.1:{port}"
        local.wait_until_answering(
            f"{issuer}/.well-known/openid-configuration", chalice, local.CHALICE_TIMEOUT
        )
        yield Stack(issuer, creds)
    finally:
        for child in reversed(children):
            local.stop(child)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing: `make test` installs it")
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    return CHROMIUM
