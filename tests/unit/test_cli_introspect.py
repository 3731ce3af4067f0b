"""`tollgate client create --introspect`: register a resource server that may introspect
every token (RFC 7662 2.1)."""

from __future__ import annotations

import json

import pytest

from chalicelib.admin.cli import main
from chalicelib.clock import FakeClock
from chalicelib.stores.memory import MemoryTable
from chalicelib.stores.repository import Store

RS = ["client", "create", "--name", "Notes API", "--client-id", "rs"]
RS += ["--grant-type", "client_credentials", "--scope", "notes:read"]


@pytest.fixture
def store() -> Store:
    return Store(MemoryTable(FakeClock()))


def test_introspect_flag_registers_a_resource_server(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--json", *RS, "--introspect"], store=store) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["may_introspect"] is True
    client = store.clients.get("rs")
    assert client is not None and client.may_introspect is True
    assert main(["client", "show", "rs"], store=store) == 0
    assert "every token" in capsys.readouterr().out


def test_without_the_flag_a_client_introspects_only_its_own(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--json", *RS], store=store) == 0
    assert json.loads(capsys.readouterr().out)["may_introspect"] is False
    client = store.clients.get("rs")
    assert client is not None and client.may_introspect is False


def test_a_public_client_cannot_be_a_resource_server(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """RFC 7662 2.1: introspection needs a client that authenticates."""
    argv = ["client", "create", "--name", "SPA", "--type", "public", "--client-id", "spa"]
    argv += ["--redirect-uri", "https://app.example/cb", "--introspect"]
    assert main(argv, store=store) == 2
    assert "--introspect" in capsys.readouterr().err
    assert store.clients.get("spa") is None
