"""The examples under `chalice local`, beside a real local Tollgate (moto + chalice local)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.local_stack import Stack, free_port, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    port = free_port()
    with running_stack(tmp_path_factory.mktemp("local"), port, f"http://127.0.0.1:{port}") as s:
        yield s
