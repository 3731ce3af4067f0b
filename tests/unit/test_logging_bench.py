"""bench/logging_cost.py reads `python -X importtime` right and reports its ratio (no timing
is asserted: the numbers are the machine's)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.logging_cost import cumulative_ms

ROOT = Path(__file__).resolve().parents[2]

SAMPLE = """import time: self [us] | cumulative | imported package
import time:       120 |        300 |     chalicelib.observability.logs
import time:       500 |       2500 |   chalicelib.observability
import time:      1000 |      90000 | app
import time:        50 |      70000 | aws_lambda_powertools
"""


def test_it_reads_cumulative_times_in_ms() -> None:
    assert cumulative_ms(SAMPLE, "app") == 90.0
    assert cumulative_ms(SAMPLE, "aws_lambda_powertools") == 70.0
    assert cumulative_ms(SAMPLE, "chalicelib.observability", top_level=False) == 2.5


def test_a_nested_import_is_not_taken_for_a_top_level_one() -> None:
    try:
        cumulative_ms(SAMPLE, "chalicelib.observability")
    except LookupError:
        return
    raise AssertionError("a nested import was read as a top-level one")


def test_the_benchmark_reports_the_ratio_to_the_app_import() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.logging_cost", "--runs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "ratio own logging / app import" in out
