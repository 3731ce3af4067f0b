"""`tollgate local run` (make run) stops quietly, with everything it started, however it is
stopped (issue 16 item 5): Ctrl-C, SIGTERM to it, SIGTERM to its process group, and the
group SIGTERM that a forwarding wrapper turns into two."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
TOLLGATE = Path(sys.executable).parent / "tollgate"
READY = b"Ctrl-C stops everything."


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tree(pid: int) -> list[int]:
    """The pids below `pid` (children, grandchildren, ...), from /proc."""
    found: list[int] = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in map(int, children):
        found += [child, *_tree(child)]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    output: Path
    state: Path
    descendants: list[int]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Running]:
    output = tmp_path / "output.log"
    env = {**os.environ, "TOLLGATE_LOCAL_DIR": str(tmp_path / "state"), "PYTHONUNBUFFERED": "1"}
    argv = [str(TOLLGATE), "local", "run", "--port", str(_free_port())]
    argv += ["--moto-port", str(_free_port())]
    with output.open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, as a shell job would be
        )  # fmt: skip
    running = Running(process, output, tmp_path / "state", [])
    try:
        deadline = time.monotonic() + 90
        while READY not in output.read_bytes():
            assert process.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.2)
        running.descendants = _tree(process.pid)
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for pid in _tree(process.pid) + running.descendants:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _signals(*sends: tuple[bool, signal.Signals]) -> Callable[[int], None]:
    """Send each (to the group?, signal) in turn to the process `pid`."""

    def send(pid: int) -> None:
        for group, signum in sends:
            (os.killpg if group else os.kill)(pid, signum)

    return send


STOPS = {
    "Ctrl-C": _signals((False, signal.SIGINT)),
    "SIGTERM": _signals((False, signal.SIGTERM)),
    "SIGTERM to the group": _signals((True, signal.SIGTERM)),
    # GNU make forwards a SIGTERM to its children: `make run` gets the group's and make's.
    "SIGTERM twice": _signals((True, signal.SIGTERM), (False, signal.SIGTERM)),
    "Ctrl-C, then SIGTERM": _signals((False, signal.SIGINT), (False, signal.SIGTERM)),
}


@pytest.mark.slow
@pytest.mark.parametrize("how", list(STOPS))
def test_every_way_of_stopping_ends_quietly_with_everything_stopped(
    stack: Running, how: str
) -> None:
    record = json.loads((stack.state / "stack.json").read_text())
    assert record["pid"] == stack.process.pid
    assert len(stack.descendants) == 2  # moto's server and chalice local (no reloader child)

    STOPS[how](stack.process.pid)

    assert stack.process.wait(timeout=30) == 0
    output = stack.output.read_text()
    assert "Traceback" not in output, output
    assert output.rstrip().endswith("Stopping."), output
    assert not [pid for pid in stack.descendants if _alive(pid)]
    assert not (stack.state / "stack.json").exists()


def test_only_the_first_stop_signal_interrupts() -> None:
    """Deterministically what "SIGTERM twice" races for: GNU make, for one, forwards a SIGTERM
    to its children, so `make run` gets the group's SIGTERM and make's. The second must not
    interrupt the cleanup the first started."""
    from chalicelib.admin import local

    handler = local._StopOnce()
    with pytest.raises(KeyboardInterrupt):
        handler(signal.SIGTERM, None)
    handler(signal.SIGTERM, None)  # ignored: no exception
    handler(signal.SIGINT, None)
    assert handler.received == signal.SIGTERM


@pytest.mark.slow
def test_the_cli_acts_on_the_running_stack_and_never_restarts_it(stack: Running) -> None:
    """No --endpoint-url: the CLI finds moto through the stack's record; its writes (and its
    bytecode) land in the project, and the server does not restart for them."""
    before = list(stack.descendants)
    env = {**os.environ, "TOLLGATE_LOCAL_DIR": str(stack.state)}
    env.pop("AWS_ENDPOINT_URL", None)
    listed = subprocess.run(
        [str(TOLLGATE), "--json", "client", "list"],
        cwd=PROJECT, env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert [c["client_id"] for c in json.loads(listed.stdout)] == ["demo-spa", "demo-web"]
    created = subprocess.run(
        [str(TOLLGATE), "client", "create", "--name", "X", "--redirect-uri", "https://a.example/cb"],
        cwd=PROJECT, env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert created.stderr.startswith("tollgate: writing to stage 'local': table 'tollgate-local'")
    time.sleep(2)  # the reloader, were it on, polls every second
    assert _tree(stack.process.pid) == before
