"""What every command shares on the way out: its Result, and the text layouts (a field list,
a table, a time). With --json a command prints `Result.data`, otherwise `Result.text`."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from chalicelib.stores.repository import Store


@dataclass
class Result:
    """What a command prints: `data` with --json, `text` otherwise."""

    data: Any
    text: str
    note: str = ""  # printed to stderr (for example how to get the next page)


Handler = Callable[[argparse.Namespace, Store], Result]
T = TypeVar("T")


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
    if result.note:
        sys.stdout.flush()  # the note comes after the output, also on a shared terminal
        print(result.note, file=sys.stderr)


# -- listings -----------------------------------------------------------------------------

DEFAULT_PAGE = 100
MAX_PAGE = 1000

Page = Callable[[int, str | None], tuple[list[T], str | None]]


def page_options(sub: argparse.ArgumentParser, what: str) -> None:
    """--limit, --after and --all: a listing reads one page (one Query) unless told --all."""
    sub.add_argument(
        "--limit",
        type=_page_size,
        default=DEFAULT_PAGE,
        help=f"at most this many {what} (1 to {MAX_PAGE}; default {DEFAULT_PAGE})",
    )
    sub.add_argument("--after", metavar="CURSOR", help="continue after this one (printed)")
    sub.add_argument("--all", action="store_true", help=f"every {what.rstrip('s')}, page by page")


def _page_size(value: str) -> int:
    try:
        size = int(value)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE:
        raise argparse.ArgumentTypeError(f"--limit takes 1 to {MAX_PAGE}, not {value!r}")
    return size


def collect(page: Page[T], args: argparse.Namespace) -> tuple[list[T], str | None]:
    """The records one listing prints, and the cursor of the page after them (or None)."""
    records, after = page(args.limit, args.after)
    while args.all and after is not None:
        more, after = page(args.limit, after)
        records.extend(more)
    return records, after


def next_page_note(command: str, after: str | None) -> str:
    if after is None:
        return ""
    return f"tollgate: there may be more: {command} --after {shlex.quote(after)}"
