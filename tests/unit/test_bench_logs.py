"""bench/app_logs.py: a bench that runs the app prints its tables, not the app's log lines."""

from __future__ import annotations

import json
import logging

import pytest

from bench import app_logs


def _audit() -> None:
    logging.getLogger("tollgate.audit").info("audit bench.probe success")


def test_the_app_s_lines_are_discarded_during_a_bench_and_on_stdout_after(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with app_logs.discarded():
        _audit()
    assert capsys.readouterr().out == ""
    _audit()
    line = json.loads(capsys.readouterr().out)
    assert line["logger"] == "tollgate.audit"
    assert line["message"] == "audit bench.probe success"
