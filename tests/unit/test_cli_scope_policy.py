# ruff: noqa: F811 (the store fixture comes from test_cli)
"""`tollgate client create|update --scope-policy strict|subset` (issue 12 item 5)."""

from __future__ import annotations

import pytest

from chalicelib.stores.repository import Store
from tests.unit.test_cli import CB, run, run_json, store  # noqa: F401 (fixture)

CREATE = ["client", "create", "--name", "A", "--redirect-uri", CB, "--client-id", "a"]


def test_strict_by_default_subset_when_asked(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_json(store, capsys, *CREATE)["scope_policy"] == "strict"
    updated = run_json(store, capsys, "client", "update", "a", "--scope-policy", "subset")
    assert updated["changed"] == ["scope_policy"]
    stored = store.clients.get("a")
    assert stored is not None and stored.scope_policy == "subset"
    code, out, _ = run(store, capsys, "client", "show", "a")
    assert code == 0 and "scope_policy:" in out and "subset" in out
    made = run_json(store, capsys, *CREATE[:-1], "b", "--scope-policy", "subset")
    assert made["scope_policy"] == "subset"


@pytest.mark.parametrize("value", ["lenient", "", "SUBSET", "subset "])
def test_other_values_are_refused(
    store: Store, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    code, _out, err = run(store, capsys, *CREATE, "--scope-policy", value)
    assert code == 2 and "invalid choice" in err
    assert store.clients.get("a") is None
    run_json(store, capsys, *CREATE)
    code, _out, err = run(store, capsys, "client", "update", "a", "--scope-policy", value)
    assert code == 2 and "invalid choice" in err
