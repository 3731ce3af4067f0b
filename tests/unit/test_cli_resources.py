# ruff: noqa: F811 (the store fixture comes from test_cli)
"""`tollgate resource create|list|show|update|delete` (issue 12 item 1), on moto's DynamoDB:
resource servers as records, and a client's `--resource` list naming registered ones."""

from __future__ import annotations

import json

import pytest

from chalicelib.stores.repository import Store
from tests.unit.test_cli import CB, run, run_json, store  # noqa: F401 (fixture)

MCP = "https://mcp.example.com/mcp"


def create_mcp(store: Store, capsys: pytest.CaptureFixture[str], *more: str) -> dict[str, object]:
    made: dict[str, object] = run_json(
        store, capsys, "resource", "create", "--uri", MCP,
        "--scope", "tools:read", "--scope", "tools:write tools:read", *more,
    )  # fmt: skip
    return made


def test_create_show_list_update_delete(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    made = create_mcp(store, capsys, "--token-ttl", "120", "--name", "MCP server")
    assert made["uri"] == MCP
    assert made["scopes"] == ["tools:read", "tools:write"]
    assert made["token_ttl"] == 120
    stored = store.resources.get(MCP)
    assert stored is not None and stored.name == "MCP server"

    assert run_json(store, capsys, "resource", "show", MCP)["scopes"] == made["scopes"]
    listed = run_json(store, capsys, "resource", "list")
    assert [r["uri"] for r in listed] == [MCP]
    code, out, _ = run(store, capsys, "resource", "list")
    assert code == 0 and MCP in out and "tools:read tools:write" in out

    updated = run_json(
        store, capsys, "resource", "update", MCP,
        "--add-scope", "tools:admin", "--remove-scope", "tools:write", "--stage-ttl",
    )  # fmt: skip
    assert updated["changed"] == ["scopes", "token_ttl"]
    after = store.resources.get(MCP)
    assert after is not None
    assert (after.scopes, after.token_ttl) == (["tools:read", "tools:admin"], None)
    code, out, _ = run(store, capsys, "resource", "update", MCP, "--name", "MCP server")
    assert (code, out) == (0, f"Resource {MCP!r} unchanged.\n")

    assert run_json(store, capsys, "resource", "delete", MCP) == {"deleted": True, "uri": MCP}
    assert store.resources.get(MCP) is None


def test_changes_are_audited_on_stderr(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(store, capsys, "resource", "create", "--uri", MCP, "--scope", "t")
    assert code == 0
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert [(r["event"], r["resource"]) for r in records] == [("admin.resource.created", MCP)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--uri", "mcp.example.com/mcp", "--scope", "t"], "absolute URI"),
        (["--uri", "/mcp", "--scope", "t"], "absolute URI"),
        (["--uri", f"{MCP}#frag", "--scope", "t"], "without a fragment"),
        (["--uri", "https://mcp.example/\u00e9", "--scope", "t"], "printable ASCII"),
        (["--uri", "https://mcp.example/a b", "--scope", "t"], "absolute URI"),
        (["--uri", "https://mcp.example/" + "a" * 600, "--scope", "t"], "at most 512"),
        (["--uri", "https://:443/", "--scope", "t"], "absolute URI"),
        (["--uri", MCP], "--scope"),
        (["--uri", MCP, "--scope", " "], "at least one --scope"),
        (["--uri", MCP, "--scope", 'a"b'], "bad --scope"),
        (["--uri", MCP, "--scope", "tools openid"], "OpenID Connect scopes"),
        (["--uri", MCP, "--scope", "t", "--token-ttl", "10"], "--token-ttl takes 30 to 86400"),
        (["--uri", MCP, "--scope", "t", "--token-ttl", "1e3"], "--token-ttl takes"),
        (["--uri", MCP, "--scope", "t", "--token-ttl", "86401"], "--token-ttl takes"),
        (["--uri", MCP, "--scope", "t", "--name", "a\x00b"], "control codes"),
    ],
)
def test_create_refuses_bad_input(
    store: Store, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(store, capsys, "resource", "create", *argv)
    assert code == 2, err
    assert message in err and out == ""
    assert store.resources.all() == []


def test_create_refuses_a_registered_uri(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    create_mcp(store, capsys)
    code, _out, err = run(store, capsys, "resource", "create", "--uri", MCP, "--scope", "x")
    assert code == 2 and "already exists" in err
    stored = store.resources.get(MCP)
    assert stored is not None and stored.scopes == ["tools:read", "tools:write"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--remove-scope", "tools:read tools:write"], "at least one scope"),
        (["--remove-scope", "nope"], "not among the resource's scopes"),
        (["--scope", "a", "--add-scope", "b"], "sets the whole list"),
        (["--token-ttl", "60", "--stage-ttl"], "not allowed with"),
        (["--add-scope", "email"], "OpenID Connect scopes"),
    ],
)
def test_update_refuses_bad_input(
    store: Store, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    create_mcp(store, capsys)
    code, _out, err = run(store, capsys, "resource", "update", MCP, *argv)
    assert code == 2, err
    assert message in err
    stored = store.resources.get(MCP)
    assert stored is not None and stored.scopes == ["tools:read", "tools:write"]


@pytest.mark.parametrize("command", ["show", "update", "delete"])
@pytest.mark.parametrize("uri", [MCP, "not a uri", "https://x.example/" + "a" * 2000])
def test_an_unknown_resource_is_exit_code_3(
    store: Store, capsys: pytest.CaptureFixture[str], command: str, uri: str
) -> None:
    code, _out, err = run(store, capsys, "resource", command, uri)
    assert code == 3 and "no resource with URI" in err


def test_a_clients_resource_list_names_registered_resources(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["client", "create", "--name", "A", "--redirect-uri", CB, "--client-id", "a"]
    code, _out, err = run(store, capsys, *base, "--resource", MCP)
    assert code == 2 and "register it first" in err
    assert store.clients.get("a") is None
    create_mcp(store, capsys)
    assert run_json(store, capsys, *base, "--resource", MCP)["resources"] == [MCP]
    code, _out, err = run(
        store, capsys, "client", "update", "a", "--add-resource", "https://other.example/"
    )
    assert code == 2 and "register it first" in err
