"""Compiled bytecode in the Lambda zips, made once at packaging.

`chalice package` ships sources only, and Lambda's code folders (/var/task, /opt) are
read-only: without .pyc files every cold start compiles boto3's botocore, chalice,
cryptography, PyJWT and the project again (about half of the API's cold start). So each zip
gets a .pyc beside every .py, compiled by the runtime's Python (python3.11: the magic number
must match) with `unchecked-hash` invalidation: the interpreter uses it without comparing it
to the source's mtime, which a zip does not keep faithfully. The zip is rebuilt from the same
sources every time it is packaged, so a .pyc can never be older than its source.

Reproducible: entries keep their order, new ones are sorted and dated SOURCE_DATE_EPOCH (or
1980-01-01), and the file names inside the bytecode are the ones Lambda will see
(/var/task/..., /opt/...), not this machine's temporary directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

RUNTIME = (3, 11)
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z: the earliest date a zip entry can hold


def runtime_python() -> str:
    """An interpreter of the Lambda runtime's version, to compile with."""
    if sys.version_info[:2] == RUNTIME:
        return sys.executable
    found = shutil.which("python{}.{}".format(*RUNTIME))
    if found is None:
        raise RuntimeError("packaging needs python{}.{} to compile bytecode".format(*RUNTIME))
    return found


def _date_time() -> tuple[int, int, int, int, int, int]:
    epoch = max(int(os.environ.get("SOURCE_DATE_EPOCH", ZIP_EPOCH)), ZIP_EPOCH)
    return time.gmtime(epoch)[:6]


def _cached(name: str) -> bool:
    return name.endswith(".pyc") or "__pycache__/" in name


def add_files(archive: Path, files: dict[str, Path]) -> None:
    """Add `files` (name in the zip -> file) to `archive`, dated as the bytecode is."""
    with zipfile.ZipFile(archive, "a", compression=zipfile.ZIP_DEFLATED) as zipped:
        for name, path in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=_date_time())
            info.external_attr = 0o644 << 16
            zipped.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)


def add_bytecode(archive: Path, root: str, python: str | None = None) -> int:
    """Add a .pyc to `archive` for each of its .py files; `root` is where Lambda unzips it
    (/var/task or /opt). Returns how many were added."""
    with tempfile.TemporaryDirectory() as temp:
        tree = Path(temp) / "tree"
        with zipfile.ZipFile(archive) as zipped:
            # A working tree's own __pycache__ (tests import the project) would come along
            # with the sources: timestamp .pyc naming this machine's paths. Never shipped.
            entries = [e for e in zipped.infolist() if not _cached(e.filename)]
            for entry in entries:
                zipped.extract(entry, tree)
        sources = [e.filename for e in entries if e.filename.endswith(".py")]
        if not sources:
            return 0
        compileall = [python or runtime_python(), "-I", "-m", "compileall", "-q", "-f", "-j", "0"]
        mode = ["--invalidation-mode", "unchecked-hash", "-s", str(tree), "-p", root]
        done = subprocess.run(  # noqa: S603 (our interpreter, our temporary directory)
            [*compileall, *mode, str(tree)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"compileall failed for {archive.name}: {done.stdout[-2000:]}")
        known = {e.filename for e in entries}
        compiled = sorted(
            p.relative_to(tree).as_posix()
            for p in tree.rglob("*.pyc")
            if p.relative_to(tree).as_posix() not in known
        )
        rebuilt = Path(temp) / archive.name
        with zipfile.ZipFile(archive) as old, zipfile.ZipFile(rebuilt, "w") as new:
            for entry in entries:  # as they were: same order, dates and modes
                new.writestr(entry, old.read(entry), compress_type=entry.compress_type)
            for name in compiled:
                info = zipfile.ZipInfo(name, date_time=_date_time())
                info.external_attr = 0o100644 << 16
                new.writestr(info, (tree / name).read_bytes(), zipfile.ZIP_DEFLATED)
        shutil.move(rebuilt, archive)
    return len(compiled)
