"""Run every benchmark module of this package (each one that defines main())."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name != "__main__")
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        run = getattr(module, "main", None)
        if callable(run):
            print(f"== bench.{name}", flush=True)
            run([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
