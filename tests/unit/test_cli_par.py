# ruff: noqa: F811 (the store fixture comes from test_cli)
"""`tollgate client create|update --require-par | --profile fapi2` (RFC 9126, SECURITY.md 63
and 64): a registration that breaks the FAPI 2.0 profile is refused, by create and update."""

from __future__ import annotations

import json

import pytest

from chalicelib.stores.repository import Store
from tests.support.assertions import jwks
from tests.unit.test_cli import CB, create_web, run, run_json, store  # noqa: F401 (fixture)
from tests.unit.test_cli_jwks import EC


def test_create_and_update_require_par(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    created = run_json(
        store, capsys, "client", "create", "--name", "Pushing", "--client-id", "pushing",
        "--redirect-uri", CB, "--require-par",
    )  # fmt: skip
    assert created["require_pushed_authorization_requests"] is True
    updated = run_json(store, capsys, "client", "update", "pushing", "--no-require-par")
    assert updated["changed"] == ["require_pushed_authorization_requests"]
    client = store.clients.get("pushing")
    assert client is not None and not client.require_pushed_authorization_requests


def test_create_a_fapi2_client(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    created = run_json(
        store, capsys, "client", "create", "--name", "Bank", "--client-id", "bank",
        "--redirect-uri", CB, "--auth-method", "private_key_jwt", "--jwks", json.dumps(jwks(EC)),
        "--id-token-alg", "ES256", "--profile", "fapi2", "--dpop-required",
    )  # fmt: skip
    assert created["profile"] == "fapi2"
    client = store.clients.get("bank")
    assert client is not None and client.is_fapi2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "private_key_jwt"),
        (
            ["--auth-method", "private_key_jwt", "--jwks", json.dumps(jwks(EC)), "--dpop-required"],
            "ES256",
        ),
    ],
    ids=["secret", "rs256-id-tokens"],
)
def test_create_refuses_a_client_that_breaks_fapi2(
    store: Store, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(
        store, capsys, "client", "create", "--name", "Bank", "--client-id", "bank",
        "--redirect-uri", CB, "--profile", "fapi2", *argv,
    )  # fmt: skip
    assert (code, out) == (2, "") and message in err, err
    assert store.clients.get("bank") is None


def test_update_to_fapi2_is_refused_for_a_secret_client(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    create_web(store, capsys)
    code, _, err = run(store, capsys, "client", "update", "web", "--profile", "fapi2")
    assert code == 2 and "private_key_jwt" in err
    client = store.clients.get("web")
    assert client is not None and client.profile == ""
