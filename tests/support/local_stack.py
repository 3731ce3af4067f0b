"""A real local stack: moto's server, the seeded table, `chalice local` (tests/browser and
tests/examples), and the example APIs under their own `chalice local`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chalicelib.admin import local
from chalicelib.admin.local_stack import Child
from tests.support.stage_proxy import StageProxy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Stack:
    issuer: str
    creds: local.DemoCredentials
    moto_url: str
    proxy: StageProxy | None = None


@contextmanager
def running_stack(state: Path, port: int, issuer: str) -> Iterator[Stack]:
    """moto, the seeded table and `chalice local` on `port`, configured with `issuer`."""
    moto_port = free_port()
    moto_url = f"http://127.0.0.1:{moto_port}"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    moto = local.start_moto(moto_port, (state / "moto.log").open("wb"))
    children = [moto]
    try:
        local.ensure_table(moto_url)
        creds = local.seed(local.local_store(moto_url), port, state, issuer=issuer)
        chalice = local.start_chalice(port, moto_url, autoreload=False, issuer=issuer)
        children.append(chalice)
        # chalice local itself (a proxy in front would answer 502 before it is up).
        local.wait_until_answering(
            f"http://127.0.0.1:{port}/.well-known/openid-configuration",
            chalice,
            local.CHALICE_TIMEOUT,
        )
        yield Stack(issuer, creds, moto_url)
    finally:
        for child in reversed(children):
            local.stop(child)


@contextmanager
def example_api(
    name: str, port: int, env: Mapping[str, str], log: Path, ready: str = "/"
) -> Iterator[str]:
    """examples/<name> under its own `chalice local` on `port`, with `env` (TOLLGATE_*)."""
    chalice = Path(sys.executable).parent / "chalice"
    argv = [str(chalice), "local", "--no-autoreload", "--host", "127.0.0.1", "--port", str(port)]
    environment = {**os.environ, **env, "NO_PROXY": "127.0.0.1,localhost"}
    environment.pop("TOLLGATE_AUTHORIZER_ARN", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=EXAMPLES / name,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    child = Child(f"chalice local ({name})", process, None)
    url = f"http://127.0.0.1:{port}"
    try:
        local.wait_until_answering(url + ready, child, local.CHALICE_TIMEOUT)
        yield url
    finally:
        local.stop(child)
