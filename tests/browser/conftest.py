"""A real local stack for browser tests: moto's server, the seeded table, `chalice local`.

`stack` is reached directly (a path-less issuer, as with a custom domain); `staged_stack`
through tests/support/stage_proxy.py, API Gateway's stage routing, so its issuer has a
path (`http://127.0.0.1:<port>/dev`) and a URL that leaves the stage gets a 403.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.local_stack import Stack, free_port, running_stack
from tests.support.stage_proxy import stage_proxy

__all__ = ["Stack", "free_port", "running_stack"]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# npm clients (oauth4webapi, axe-core, ...), pinned in tests/clients/package-lock.json.
CLIENTS = Path(__file__).resolve().parent.parent / "clients"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A fresh stack per test module: each module's flows start with no consent stored."""
    port = free_port()
    with running_stack(tmp_path_factory.mktemp("local"), port, f"http://127.0.0.1:{port}") as s:
        yield s


@pytest.fixture(scope="module")
def staged_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A fresh stack behind the stage proxy: the issuer is `http://127.0.0.1:<proxy>/dev`."""
    port = free_port()
    state = tmp_path_factory.mktemp("staged")
    with stage_proxy(port, "dev") as proxy, running_stack(state, port, proxy.url) as s:
        yield Stack(s.issuer, s.creds, s.moto_url, proxy)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing: `make test` installs it")
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    return CHROMIUM


@pytest.fixture(scope="session")
def node() -> str:
    """Node.js with tests/clients installed (`make test` runs `npm ci` there)."""
    found = shutil.which("node")
    if found is None or not (CLIENTS / "node_modules" / ".package-lock.json").exists():
        if os.environ.get("CI"):
            pytest.fail("Node.js or tests/clients/node_modules missing: `make test` installs them")
        pytest.skip("Node.js and tests/clients (npm ci) are needed: make test installs them")
    return found


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium_path, headless=True, args=ARGS)
        yield launched
        launched.close()
