"""bench/table.py: `make bench` ends with issue 13's whole table, today's figures beside what
the bench modules reported in the same run (no timing is asserted: the numbers are the
machine's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench import table


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    saved = dict(table._measured)
    table._measured.clear()
    yield
    table._measured.clear()
    table._measured.update(saved)


def test_every_row_of_the_issue_is_printed_with_todays_figures() -> None:
    lines = table.render().splitlines()
    assert len(lines) == 2 + len(table.TODAY)
    for today, line in zip(table.TODAY.values(), lines[2:], strict=True):
        assert line.startswith(f"| {today.what} | {today.figure} |")
        assert "not measured in this run" in line


def test_a_reported_row_shows_the_new_figure_beside_todays() -> None:
    table.report(table.CODE_EXCHANGE, "3.10 ms CPU", "ES256 + RS256: 0.80 ms", "3.88x")
    row = next(line for line in table.render().splitlines() if "code exchange" in line)
    assert row.endswith(
        "| 6.4 ms | its two signatures | 8.7x | 3.10 ms CPU "
        "| ES256 + RS256: 0.80 ms | 3.88x | <= 4x floor |"
    )


def test_a_row_not_in_the_issue_is_refused() -> None:
    with pytest.raises(KeyError):
        table.report("a flow the issue does not name", "1 ms", "-", "-")
