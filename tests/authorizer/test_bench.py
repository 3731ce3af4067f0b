"""The benchmark runs and reports both ratios (no timing is asserted: numbers are the machine's)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import bench.__main__ as runner
from bench import authorizer as bench_authorizer

ROOT = Path(__file__).resolve().parents[2]


def test_the_authorizer_benchmark_prints_both_ratios() -> None:
    argv = ["--iterations", "20", "--batches", "1", "--imports", "1"]
    out = subprocess.run(
        [sys.executable, "-m", "bench.authorizer", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "ratio validation / raw verify" in out
    assert "ratio handler / raw verify" in out
    assert "ratio authorizer / hello world" in out
    # issue 13's two warm rows for the authorizer: what, now, floor, ratio
    assert "| authorizer warm, one validation (core) |" in out
    assert "| authorizer warm, Lambda handler (event to policy) |" in out


def test_numbers_are_measured_in_one_run() -> None:
    numbers = bench_authorizer.main(["--iterations", "20", "--batches", "1", "--imports", "1"])
    for name in ("cpu_verify", "cpu_authorize", "cpu_handler", "cpu_raw_verify"):
        assert numbers[name] > 0, name
    # One round: each ratio is that round's batch against the floor's batch.
    assert numbers["verify_ratio"] == numbers["cpu_verify"] / numbers["cpu_raw_verify"]
    assert numbers["handler_ratio"] == numbers["cpu_handler"] / numbers["cpu_raw_verify"]
    assert numbers["import_ratio"] == numbers["import_authorizer"] / numbers["import_hello"]


def test_make_bench_s_table_gets_both_warm_authorizer_rows() -> None:
    """`make bench` ends with issue 13's table: the authorizer's warm rows are this run's."""
    from bench import table

    saved = dict(table._measured)
    table._measured.clear()
    try:
        bench_authorizer.main(["--iterations", "20", "--batches", "1", "--imports", "1"])
        rendered = table.render().splitlines()
    finally:
        table._measured.clear()
        table._measured.update(saved)
    for what in ("authorizer warm, one validation (core)", "authorizer warm, Lambda handler"):
        row = next(line for line in rendered if line.startswith(f"| {what}"))
        assert "not measured in this run" not in row
        assert " us | raw verify + base64 + JSON: " in row


def test_make_bench_runs_every_benchmark_module(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import pkgutil

    names = sorted(
        m.name for m in pkgutil.iter_modules([str(ROOT / "bench")]) if m.name != "__main__"
    )
    assert "authorizer" in names
    ran: list[tuple[str, list[str]]] = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        if callable(getattr(module, "main", None)):

            def fake(argv: list[str], name: str = name) -> None:
                ran.append((name, argv))

            monkeypatch.setattr(module, "main", fake)
    assert runner.main() == 0
    assert ("authorizer", []) in ran
    assert [name for name, _ in ran] == sorted(name for name, _ in ran)


def test_the_dpop_benchmark_measures_both_in_one_run_and_counts_dynamodb_calls() -> None:
    """Issue 14 item 6: the ratio DPoP / Bearer of one run; exactly one PutItem per DPoP
    request (SECURITY.md 45), a GetItem more only for a replay, none for Bearer."""
    from bench import dpop as bench_dpop

    numbers = bench_dpop.main(["--iterations", "5", "--batches", "1"])
    assert numbers["cpu_bearer"] > 0 and numbers["cpu_dpop"] > 0
    assert numbers["ratio"] == numbers["cpu_dpop"] / numbers["cpu_bearer"]
    assert numbers["calls"] == {
        "dpop": {"put": 1},
        "dpop_replayed": {"put": 1, "get": 1},
        "bearer": {},
    }
