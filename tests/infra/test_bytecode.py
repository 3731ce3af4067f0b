"""infra/bytecode.py: the zips' bytecode is reproducible and leaves the sources untouched."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from infra.bytecode import add_bytecode

SOURCES = {
    "app.py": "import pkg.mod\nVALUE = pkg.mod.twice(21)\n",
    "pkg/__init__.py": "",
    "pkg/mod.py": "def twice(n):\n    return 2 * n\n",
    "pkg/data.json": "{}",
}


def _zip(path: Path, date: tuple[int, int, int, int, int, int]) -> Path:
    with zipfile.ZipFile(path, "w") as zipped:
        for name, text in SOURCES.items():
            zipped.writestr(zipfile.ZipInfo(name, date_time=date), text)
    return path


def test_the_same_sources_give_the_same_zip_whenever_packaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = _zip(tmp_path / "a.zip", (2024, 1, 1, 0, 0, 0))
    second = _zip(tmp_path / "b.zip", (2024, 1, 1, 0, 0, 0))
    assert add_bytecode(first, "/var/task") == 3
    assert add_bytecode(second, "/var/task") == 3
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zipped:
        names = zipped.namelist()
        assert names[: len(SOURCES)] == list(SOURCES)  # sources first, as they were
        assert {zipped.read(n).decode() for n in SOURCES} == set(SOURCES.values())
        pyc = [n for n in names if n.endswith(".pyc")]
        assert pyc == sorted(pyc)
        assert "pkg/__pycache__/mod.cpython-311.pyc" in pyc
        assert {zipped.getinfo(n).date_time for n in pyc} == {(2023, 11, 14, 22, 13, 20)}


def test_a_source_that_does_not_compile_stops_the_packaging(tmp_path: Path) -> None:
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("broken.py", "def (:\n")
    with pytest.raises(RuntimeError, match="compileall failed"):
        add_bytecode(archive, "/var/task")


def test_a_working_trees_own_bytecode_is_replaced(tmp_path: Path) -> None:
    """chalice package copies the project's __pycache__ when tests have imported it: those
    timestamp .pyc (this machine's paths) give way to the runtime's unchecked-hash ones."""
    archive = _zip(tmp_path / "c.zip", (2024, 1, 1, 0, 0, 0))
    stale = b"\xa7\r\r\n" + b"\x00" * 12 + b"stale"  # a timestamp-mode header, flags 0
    with zipfile.ZipFile(archive, "a") as zipped:
        zipped.writestr("pkg/__pycache__/mod.cpython-311.pyc", stale)
        zipped.writestr("pkg/__pycache__/old.cpython-312.pyc", stale)
    assert add_bytecode(archive, "/var/task") == 3
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        assert "pkg/__pycache__/old.cpython-312.pyc" not in names
        assert names.count("pkg/__pycache__/mod.cpython-311.pyc") == 1
        data = zipped.read("pkg/__pycache__/mod.cpython-311.pyc")
    assert int.from_bytes(data[4:8], "little") == 0b01  # PEP 552 unchecked hash
