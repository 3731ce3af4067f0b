"""The local stack's processes: moto's server and `chalice local`, each in a session of its
own, started, watched and stopped (with everything they started) by `tollgate local run`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from chalicelib.admin.local_banner import opener
from chalicelib.admin.local_seed import HOST, REGION, TABLE, LocalError
from chalicelib.admin.local_state import PROJECT_ROOT

# moto accepts any credentials; boto3 refuses to sign without some.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

MOTO_TIMEOUT = 20.0
CHALICE_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: IO[bytes] | None = field(default=None)


def _start(name: str, argv: list[str], env: dict[str, str], log: IO[bytes] | None) -> Child:
    # A session of its own: Ctrl-C reaches only us, and stopping the group also stops
    # grandchildren (chalice's autoreloader runs the server in a child process).
    try:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and its scripts)
            argv,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=True,
        )
    except OSError as exc:
        if log is not None:
            log.close()
        raise LocalError(f"cannot start {name}: {exc}") from None
    return Child(name, process, log)


def _signal_group(child: Child, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
        os.killpg(child.process.pid, signum)


def stop(child: Child) -> None:
    """Terminate a child and its group; kill it if it has not stopped after 5 s."""
    _signal_group(child, signal.SIGTERM)
    try:
        child.process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        _signal_group(child, signal.SIGKILL)
        child.process.wait()
    _signal_group(child, signal.SIGKILL)  # stragglers in the group, if any
    if child.log is not None:
        child.log.close()


def wait_until_answering(url: str, child: Child, timeout: float) -> None:
    """Poll `url` until any HTTP answer comes; LocalError if the child dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        code = child.process.poll()
        if code is not None:
            raise LocalError(f"{child.name} exited with code {code} before it answered")
        try:
            with opener.open(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # an error status is still an answer
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise LocalError(f"{child.name} did not answer at {url} within {timeout:.0f} s")
        time.sleep(0.2)


def start_moto(moto_port: int, log: IO[bytes] | None) -> Child:
    # moto with bounded transactions and keep-alive (chalicelib/admin/moto_launcher.py).
    argv = [sys.executable, "-m", "chalicelib.admin.moto_launcher", HOST, str(moto_port)]
    child = _start("moto server", argv, dict(os.environ), log)
    try:
        wait_until_answering(f"http://{HOST}:{moto_port}/moto-api/", child, MOTO_TIMEOUT)
    except BaseException:
        stop(child)
        raise
    return child


def _no_proxy(env: MutableMapping[str, str]) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [h for h in env.get(name, "").split(",") if h]
        env[name] = ",".join(_unique([*hosts, HOST, "localhost"]))


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def chalice_env(port: int, moto_url: str, issuer: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    env.update(
        TOLLGATE_ISSUER=issuer or f"http://{HOST}:{port}",
        TOLLGATE_TABLE=TABLE,
        TOLLGATE_STAGE="local",
        AWS_ENDPOINT_URL=moto_url,
        **DUMMY_CREDENTIALS,
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
    )
    _no_proxy(env)
    return env


def start_chalice(
    port: int, moto_url: str, *, autoreload: bool = False, issuer: str | None = None
) -> Child:
    """`chalice local` on `port` (`issuer` when it is reached elsewhere: a stage proxy).
    Without the autoreloader by default: it polls every file
    below the project (the virtualenv included) each second, and restarts the server, dropping
    requests, whenever anything there is written: the CLI's own bytecode, .local/ state."""
    if not (Path(sys.executable).parent / "chalice").exists():
        raise LocalError("chalice not found: install the dev dependencies (uv sync)")
    # chalice's own command line, its server answering in one write with TCP_NODELAY
    # (chalicelib/admin/chalice_launcher.py: no delayed-ACK stall on a kept connection).
    argv = [sys.executable, "-m", "chalicelib.admin.chalice_launcher", "local", "--stage"]
    argv += ["local", "--host", HOST, "--port", str(port)]
    env = chalice_env(port, moto_url, issuer)
    if autoreload:
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # its own imports would restart it once more
    else:
        argv.append("--no-autoreload")
    return _start("chalice local", argv, env, None)


def supervise(children: list[Child], interval: float = 0.5) -> int:
    """Block until a child exits; then report it and return 1 (the caller stops the rest)."""
    while True:
        for child in children:
            code = child.process.poll()
            if code is not None:
                others = [c.name for c in children if c is not child]
                print(
                    f"tollgate: {child.name} exited with code {code}; "
                    f"stopping {', '.join(others) or 'everything'}",
                    file=sys.stderr,
                )
                return 1
        time.sleep(interval)
