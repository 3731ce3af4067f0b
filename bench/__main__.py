"""Run every benchmark module of this package (each one that defines main()), then print
issue 13's table: today's figures beside what the modules reported (bench/table.py)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    from bench import table

    here = Path(__file__).parent
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(here)]) if m.name not in {"__main__", "table"}
    )
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        run = getattr(module, "main", None)
        if callable(run):
            print(f"== bench.{name}", flush=True)
            run([])
    print("== issue 13: today and this run (ratios within this run)", flush=True)
    print(table.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
