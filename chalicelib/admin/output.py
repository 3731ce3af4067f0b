"""What every command shares on the way out: its Result, and the text layouts (a field list,
a table, a time). With --json a command prints `Result.data`, otherwise `Result.text`."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.stores.repository import Store


@dataclass
class Result:
    """What a command prints: `data` with --json, `text` otherwise."""

    data: Any
    text: str


Handler = Callable[[argparse.Namespace, Store], Result]


def when(epoch: int) -> str:
    if not epoch:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def fields(rows: list[tuple[str, str | list[str]]]) -> str:
    width = max(len(label) for label, _ in rows) + 2
    lines: list[str] = []
    for label, value in rows:
        values = value if isinstance(value, list) else [value]
        for i, one in enumerate(values or ["-"]):
            head = f"{label}:" if i == 0 else ""
            lines.append(f"{head:<{width}}{one}")
    return "\n".join(lines)


def table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return empty
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    )


def print_result(result: Result, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.data, indent=2))
    else:
        print(result.text)
