"""The app's log lines, discarded while a bench runs it: `make bench` prints its tables only.

The lines are still formatted and written (as a Lambda writes them: their CPU is part of
what a bench measures), to /dev/null.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def discarded() -> Iterator[None]:
    import app  # noqa: F401 (importing it points the app's logs at stdout: replaced below)
    from chalicelib.observability import logs

    with open(os.devnull, "w") as null:
        logs.configure(lambda: null)
        try:
            yield
        finally:
            logs.configure()
