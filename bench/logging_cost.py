"""What structured logging and metrics cost the cold start: import time, measured.

    python -m bench.logging_cost [--runs N] [--python PATH]

Each run is a fresh interpreter under `python -X importtime`, with the project as its working
directory; the median of N runs (default 5) of each of:

1. `import app`: today's app import, Tollgate's own JSON logs, audit and EMF metrics included
   (chalicelib.observability, standard library only); and that package's own share of it.
2. `import app` then `from aws_lambda_powertools import Logger, Metrics`: what AWS Lambda
   Powertools would add on the cold path, measured in the same runs.

Ratios are to (1) of the same run. Powertools is not a project dependency: measure it with an
interpreter that has it, e.g. `uv run --with aws-lambda-powertools python -m bench.logging_cost`
(without it this benchmark reports only (1)). No number here is asserted by a test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POWERTOOLS = "import app; from aws_lambda_powertools import Logger, Metrics"
OWN = "chalicelib.observability"


def cumulative_ms(importtime: str, module: str, top_level: bool = True) -> float:
    """The cumulative import time of `module` in `python -X importtime` output (stderr), in
    ms; with `top_level`, only where it was imported at the outermost level."""
    for line in importtime.splitlines():
        if not line.startswith("import time:"):
            continue
        try:
            _self, cumulative, name = line[len("import time:") :].split("|")
        except ValueError:
            continue
        if name.strip() == module and (not top_level or name[1:2] != " "):
            return int(cumulative) / 1000
    raise LookupError(f"{module} was not imported")


def _importtime(python: str, code: str) -> str:
    done = subprocess.run(
        [python, "-X", "importtime", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stderr


def has_powertools(python: str) -> bool:
    probe = "import importlib.util as u; print(u.find_spec('aws_lambda_powertools') is not None)"
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"


def measure(python: str, runs: int) -> dict[str, float]:
    """Medians in ms: app, own (chalicelib.observability within it), and, if installed,
    powertools (its import on top of the app's), alternating so that load hits both."""
    app: list[float] = []
    own: list[float] = []
    powertools: list[float] = []
    with_powertools = has_powertools(python)
    for _ in range(runs):
        plain = _importtime(python, "import app")
        app.append(cumulative_ms(plain, "app"))
        own.append(cumulative_ms(plain, OWN, top_level=False))
        if with_powertools:
            both = _importtime(python, POWERTOOLS)
            powertools.append(cumulative_ms(both, "aws_lambda_powertools"))
    out = {"app": statistics.median(app), "own": statistics.median(own)}
    if powertools:
        out["powertools"] = statistics.median(powertools)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure")
    args = parser.parse_args(argv)
    found = measure(args.python, args.runs)
    app = found["app"]
    print(f"median of {args.runs} fresh interpreters (python -X importtime):")
    print(f"  import app (today, own JSON logs + audit + EMF): {app:8.1f} ms")
    print(f"  of which chalicelib.observability:              {found['own']:8.1f} ms")
    print(f"  ratio own logging / app import: {found['own'] / app:.3f}")
    if "powertools" in found:
        extra = found["powertools"]
        print(f"  aws_lambda_powertools Logger + Metrics on top:  {extra:8.1f} ms")
        print(f"  ratio (app + Powertools) / app: {(app + extra) / app:.2f}")
    else:
        print("  aws_lambda_powertools is not installed in this interpreter (see --help)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
