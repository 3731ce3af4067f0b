"""`tollgate local run` (make run): moto's server, the seeded table, `chalice local`.

    local_seed.py     the table and the demo user and clients (idempotent)
    local_stack.py    the child processes: start, wait, supervise, stop
    local_banner.py   what is printed once the stack answers
    local_state.py    the state dir and the record of the running stack (read by the CLI)

Every way of stopping it (Ctrl-C, SIGTERM to it, SIGTERM to its process group, a child that
exits) stops both children and their process groups and ends without a traceback.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from chalicelib.admin.local_banner import authorization_url, banner, discover, pkce_pair
from chalicelib.admin.local_seed import (
    CLIENT_SCOPES,
    DEMO_SCOPES,
    HOST,
    REGION,
    SPA_CLIENT,
    STATE_FILE,
    TABLE,
    WEB_CLIENT,
    WEB_SCOPES,
    DemoCredentials,
    LocalError,
    ensure_table,
    local_store,
    seed,
)
from chalicelib.admin.local_stack import (
    CHALICE_TIMEOUT,
    DUMMY_CREDENTIALS,
    Child,
    _no_proxy,
    _port_in_use,
    start_chalice,
    start_moto,
    stop,
    supervise,
    wait_until_answering,
)
from chalicelib.admin.local_state import RunningStack, forget, record, state_dir
from chalicelib.stores.table import StoreUnavailable

__all__ = [  # what tests and other tools use through this module
    "CHALICE_TIMEOUT",
    "CLIENT_SCOPES",
    "DEMO_SCOPES",
    "DUMMY_CREDENTIALS",
    "HOST",
    "REGION",
    "SPA_CLIENT",
    "TABLE",
    "WEB_CLIENT",
    "WEB_SCOPES",
    "Child",
    "DemoCredentials",
    "_port_in_use",
    "authorization_url",
    "banner",
    "discover",
    "ensure_table",
    "local_store",
    "pkce_pair",
    "run",
    "seed",
    "start_chalice",
    "start_moto",
    "stop",
    "wait_until_answering",
]


class _Stop(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: stop everything (a KeyboardInterrupt, so that main() ends
    quietly even if it arrives where run() does not catch it)."""


class _StopOnce:
    """The handler for SIGINT and SIGTERM. The first signal interrupts whatever run() is
    doing; later ones are ignored, so cleanup is never interrupted. (A SIGTERM to the process
    group reaches us twice when a wrapper such as `uv run` forwards it as well.)"""

    def __init__(self) -> None:
        self.received: int | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
            raise _Stop


def run(port: int, moto_port: int, directory: Path | None = None, reload: bool = False) -> int:
    """Start moto, create and seed the table, start chalice local; stop both on a signal."""
    directory = directory or state_dir()
    if port == moto_port:
        print("tollgate: --port and --moto-port must differ", file=sys.stderr)
        return 2
    for busy, what in ((moto_port, "--moto-port"), (port, "--port")):
        if _port_in_use(busy):
            print(f"tollgate: port {busy} is in use (choose another {what})", file=sys.stderr)
            return 1
    moto_url = f"http://{HOST}:{moto_port}"
    issuer = f"http://{HOST}:{port}"
    if not os.environ.get("AWS_ACCESS_KEY_ID"):  # moto takes any; boto3 needs some to sign
        os.environ.update(DUMMY_CREDENTIALS)
    _no_proxy(os.environ)

    children: list[Child] = []
    # Ctrl-C must stop us even when we were started with SIGINT ignored (a job started in
    # the background of a non-interactive shell inherits that, and Python keeps it).
    handler = _StopOnce()
    previous_int = signal.signal(signal.SIGINT, handler)
    previous_term = signal.signal(signal.SIGTERM, handler)
    try:
        # Outside the project: with --reload, chalice restarts on any change below it.
        moto_log = Path(tempfile.gettempdir()) / f"tollgate-moto-{moto_port}.log"
        print(f"Starting moto at {moto_url} (log: {moto_log})", flush=True)
        children.append(start_moto(moto_port, moto_log.open("wb")))
        ensure_table(moto_url)
        creds = seed(local_store(moto_url), port, directory)
        # Recorded before chalice starts, so that its reloader (if on) never sees it change.
        record(directory, RunningStack(os.getpid(), moto_url, TABLE, REGION, issuer))
        print(f"Starting chalice local at {issuer}", flush=True)
        children.append(start_chalice(port, moto_url, autoreload=reload))
        wait_until_answering(
            f"{issuer}/.well-known/openid-configuration", children[-1], CHALICE_TIMEOUT
        )
        print(banner(creds, issuer, moto_url, directory / STATE_FILE), flush=True)
        return supervise(children)
    except _Stop:
        print("\nStopping.", file=sys.stderr, flush=True)
        return 0
    except LocalError as exc:
        print(f"tollgate: {exc}", file=sys.stderr)
        return 1
    except StoreUnavailable as exc:
        print(f"tollgate: seeding the demo data failed: {exc}", file=sys.stderr)
        return 1
    finally:
        handler.received = handler.received or signal.SIGTERM  # from now on, ignore both
        for child in reversed(children):
            stop(child)
        forget(directory, os.getpid())
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
