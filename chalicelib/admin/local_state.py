"""Where the local stack keeps its state, and the record of the running one.

`tollgate local run` writes `<state dir>/stack.json` (its own pid, moto's URL, the table, the
issuer) once moto and the table are up, and removes it when it stops. Every other command,
given no --endpoint-url and no stage of its own, acts on the stack recorded there and on
nothing else: not on whatever happens to answer on a default port.

The state dir is `.local/` in the project (git-ignored), or TOLLGATE_LOCAL_DIR.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STACK_FILE = "stack.json"


def state_dir() -> Path:
    return Path(os.environ.get("TOLLGATE_LOCAL_DIR") or PROJECT_ROOT / ".local")


@dataclass(frozen=True)
class RunningStack:
    pid: int  # the `tollgate local run` process that owns the stack
    moto_url: str
    table: str
    region: str
    issuer: str


class NoLocalStack(Exception):
    """No `tollgate local run` is running for this state dir (exit code 4)."""


def record(directory: Path, stack: RunningStack) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / STACK_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(stack), indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)  # readers never see half a file
    return path


def forget(directory: Path, pid: int) -> None:
    """Remove the record if it is this process's (a newer stack may have replaced it)."""
    path = directory / STACK_FILE
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def running(directory: Path | None = None) -> RunningStack:
    """The stack `tollgate local run` recorded, if its process still runs; else NoLocalStack."""
    path = (directory or state_dir()) / STACK_FILE
    how = "start it with `make run` (or `tollgate local run`), or name a table with --stage"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        stack = RunningStack(**raw)
    except FileNotFoundError:
        raise NoLocalStack(f"no local stack is running ({path} does not exist): {how}") from None
    except (OSError, ValueError, TypeError) as exc:
        raise NoLocalStack(f"cannot read {path} ({exc}): {how}") from None
    if not _alive(stack.pid):
        raise NoLocalStack(
            f"no local stack is running (process {stack.pid} of {path} has ended): {how}"
        )
    return stack
