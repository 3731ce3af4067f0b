"""The CLI is safe to point at things (issue 11 item 6): the local stage is the stack
`make run` recorded and nothing else, writes name their target first, not found is its own
exit status, listings page through an index, and a closed pipe ends quietly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from chalicelib.admin.cli import main
from chalicelib.admin.local_state import RunningStack, record
from chalicelib.clock import SystemClock
from chalicelib.stores.dynamodb import make_client
from chalicelib.stores.memory import MemoryTable
from chalicelib.stores.models import Client
from chalicelib.stores.repository import Store
from chalicelib.stores.schema import table_definition

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No endpoint from the environment; the local state dir is an empty temporary one."""
    for name in ("AWS_ENDPOINT_URL", "TOLLGATE_TABLE", "TOLLGATE_STAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MOTO_PORT", "9")  # a default port must never be guessed at
    monkeypatch.setenv("TOLLGATE_LOCAL_DIR", str(tmp_path))
    return tmp_path


def test_without_a_local_stack_it_says_so_and_exits_4(
    no_endpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["client", "list"]) == 4
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("tollgate: no local stack is running")
    assert "make run" in err


def test_a_stack_whose_process_ended_is_no_stack(
    no_endpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ended = subprocess.Popen([sys.executable, "-c", ""])
    ended.wait()
    record(no_endpoint, RunningStack(ended.pid, "http://127.0.0.1:9", "t", "us-east-1", ""))
    assert main(["client", "create", "--name", "X", "--redirect-uri", "https://a.example/cb"]) == 4
    assert f"process {ended.pid}" in capsys.readouterr().err


@pytest.fixture
def prod(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        make_client("us-east-1", None).create_table(**table_definition("tollgate-prod"))
        yield


@pytest.mark.usefixtures("prod")
def test_a_write_names_its_stage_and_table_first(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--stage", "prod", "--region", "us-east-1", "client", "list"]
    assert main(argv) == 0
    assert capsys.readouterr().err == ""  # reading says nothing

    create = ["client", "create", "--name", "X", "--redirect-uri", "https://a.example/cb"]
    assert main(["--stage", "prod", "--region", "us-east-1", *create]) == 0
    out, err = capsys.readouterr()
    notice, audit = err.splitlines()  # then the change's audit record (README)
    assert notice == "tollgate: writing to stage 'prod': table 'tollgate-prod' in us-east-1"
    assert json.loads(audit)["event"] == "admin.client.created"
    assert "Created confidential client" in out

    # Refused input writes nothing, so names nothing.
    assert main(["--stage", "prod", "client", "create", "--name", "X"]) == 2
    assert "writing to" not in capsys.readouterr().err


# -- listings ---------------------------------------------------------------------------------


class NoScans(MemoryTable):
    def scan_prefix(self, pk_prefix: str) -> list[dict[str, Any]]:
        raise AssertionError("a listing scanned the table")


@pytest.fixture
def many() -> Store:
    store = Store(NoScans(SystemClock()))
    for n in range(5):
        store.clients.create(
            Client(
                f"c{n}",
                f"Client {n}",
                "public",
                "none",
                ["https://a.example/cb"],
                ["authorization_code"],
                ["openid"],
            )
        )
    return store


def _ids(store: Store, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[list[str], str]:
    assert main(["--json", "client", "list", *argv], store=store) == 0
    out, err = capsys.readouterr()
    return [c["client_id"] for c in json.loads(out)], err


def test_listings_page_through_an_index(many: Store, capsys: pytest.CaptureFixture[str]) -> None:
    first, note = _ids(many, capsys, "--limit", "2")
    assert first == ["c0", "c1"]
    assert note == "tollgate: there may be more: tollgate client list --after c1\n"
    second, note = _ids(many, capsys, "--limit", "2", "--after", "c1")
    assert second == ["c2", "c3"]
    last, note = _ids(many, capsys, "--limit", "2", "--after", "c3")
    assert (last, note) == (["c4"], "")
    everything, note = _ids(many, capsys, "--limit", "2", "--all")
    assert (everything, note) == (["c0", "c1", "c2", "c3", "c4"], "")

    many.clients.delete("c1")
    assert _ids(many, capsys, "--limit", "2")[0] == ["c0", "c2"]


def test_a_bad_limit_is_bad_input(many: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["client", "list", "--limit", "0"], store=many) == 2
    assert "--limit takes 1 to 1000" in capsys.readouterr().err


# -- a reader that goes away ------------------------------------------------------------------

_LISTER = textwrap.dedent(
    """
    from chalicelib.admin.cli import main
    from chalicelib.clock import SystemClock
    from chalicelib.stores.memory import MemoryTable
    from chalicelib.stores.models import Client
    from chalicelib.stores.repository import Store

    store = Store(MemoryTable(SystemClock()))
    for n in range(3000):
        store.clients.create(
            Client(f"client-{n:05}", "A client with a long enough name " * 3, "public",
                   "none", ["https://a.example/cb"], ["authorization_code"], ["openid"])
        )
    print("ready", flush=True)
    raise SystemExit(main(["client", "list", "--all", "--limit", "1000"], store=store))
    """
)


def test_piping_into_head_ends_quietly() -> None:
    lister = subprocess.Popen(
        [sys.executable, "-c", _LISTER],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    assert lister.stdout is not None and lister.stderr is not None
    assert lister.stdout.readline() == b"ready\n"
    assert lister.stdout.readline().startswith(b"CLIENT_ID")  # then `head -2` has had enough
    lister.stdout.close()
    err = lister.stderr.read().decode()
    assert lister.wait(timeout=60) == 141, err
    assert err == ""
