# ruff: noqa: F811 (the store fixture comes from test_cli)
"""`tollgate client update`: a registration changes in place (same id, same secret), with
create's checks (issue 11 item 5)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import ids
from chalicelib.stores.repository import Store
from tests.support.assertions import jwks
from tests.unit.test_cli import CB, create_web, run, run_json, store  # noqa: F401 (fixture)
from tests.unit.test_cli_jwks import EC

OTHER = "https://app.example/other"


def stored(store: Store, client_id: str = "web") -> Any:
    client = store.clients.get(client_id)
    assert client is not None
    return client


def test_update_changes_fields_in_place(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    secret = create_web(store, capsys)["client_secret"]
    run_json(store, capsys, "resource", "create", "--uri", "https://api.example", "--scope", "a")
    before = stored(store)
    updated = run_json(
        store, capsys, "client", "update", "web", "--name", "Web 2",
        "--add-redirect-uri", OTHER, "--remove-redirect-uri", CB,
        "--add-scope", "offline_access notes:read", "--remove-scope", "email",
        "--resource", "https://api.example", "--id-token-alg", "ES256",
        "--add-post-logout-redirect-uri", "https://app.example/bye",
    )  # fmt: skip
    after = stored(store)
    assert updated["changed"] == [
        "name", "redirect_uris", "scopes", "id_token_signed_response_alg",
        "post_logout_redirect_uris", "resources",
    ]  # fmt: skip
    assert "client_secret" not in updated
    assert after.name == "Web 2"
    assert after.redirect_uris == [OTHER]
    assert after.scopes == ["openid", "profile", "offline_access", "notes:read"]
    assert after.resources == ["https://api.example"]
    assert after.id_token_signed_response_alg == "ES256"
    assert after.post_logout_redirect_uris == ["https://app.example/bye"]
    # Same id, same secret, same creation time.
    assert (after.client_id, after.secret_hash) == ("web", ids.digest(secret))
    assert after.created_at == before.created_at

    run_json(
        store, capsys, "client", "update", "web", "--redirect-uri", CB, "--redirect-uri", OTHER
    )
    assert stored(store).redirect_uris == [CB, OTHER]
    run_json(store, capsys, "client", "update", "web", "--grant-type", "authorization_code")
    assert stored(store).grant_types == ["authorization_code"]


def test_an_update_that_changes_nothing_writes_nothing(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    create_web(store, capsys)
    code, out, _ = run(store, capsys, "client", "update", "web", "--name", "Web")
    assert (code, out) == (0, "Client 'web' unchanged.\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--remove-redirect-uri", CB], "needs at least one --redirect-uri"),
        (["--remove-redirect-uri", OTHER], "is not among the client's redirect URIs"),
        (["--redirect-uri", CB, "--add-redirect-uri", OTHER], "sets the whole list"),
        (["--add-redirect-uri", "https://*.example/cb"], "wildcard"),
        (["--add-redirect-uri", "http://app.example/cb"], "loopback"),
        (["--remove-grant-type", "authorization_code"], "refresh_token needs"),
        (["--grant-type", "password"], "invalid choice"),
        (["--scope", "  "], "at least one scope"),
        (["--auth-method", "private_key_jwt"], "needs the client's public keys"),
        (["--auth-method", "none", "--introspect"], "only for confidential clients"),
        (["--jwks", json.dumps(jwks(EC))], "only for --auth-method private_key_jwt"),
        (["--name", " "], "--name must not be empty"),
    ],
)
def test_update_refuses_what_create_refuses(
    store: Store, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    create_web(store, capsys)
    before = stored(store)
    code, out, err = run(store, capsys, "client", "update", "web", *argv)
    assert (code, out) == (2, "")
    assert err.startswith("tollgate: ") and message in err, err
    assert stored(store) == before


def test_update_of_an_unknown_client_is_not_found(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(store, capsys, "client", "update", "nobody", "--name", "X")
    assert code == 3 and err == "tollgate: no client with id 'nobody'\n"


def test_auth_method_moves_secret_and_type(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    spa = run_json(
        store, capsys, "client", "create", "--name", "SPA", "--type", "public",
        "--client-id", "spa", "--redirect-uri", CB,
    )  # fmt: skip
    assert "client_secret" not in spa

    # none -> a secret method: a new secret, printed once, and the client is confidential.
    code, out, _ = run(
        store, capsys, "client", "update", "spa", "--auth-method", "client_secret_post"
    )
    assert code == 0
    secret = out.split("client_secret: ")[1].split()[0]
    assert "shown only now" in out
    client = stored(store, "spa")
    assert (client.client_type, client.auth_method) == ("confidential", "client_secret_post")
    assert client.secret_hash == ids.digest(secret)

    # Between secret methods the secret stays, and is not printed again.
    moved = run_json(
        store, capsys, "client", "update", "spa", "--auth-method", "client_secret_basic"
    )
    assert "client_secret" not in moved
    assert stored(store, "spa").secret_hash == ids.digest(secret)

    # -> none: the secret's hash is gone with it.
    code, out, _ = run(store, capsys, "client", "update", "spa", "--auth-method", "none")
    assert code == 0 and "secret was deleted" in out
    client = stored(store, "spa")
    assert (client.client_type, client.secret_hash) == ("public", None)


def test_moving_to_private_key_jwt_drops_the_secret(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    create_web(store, capsys)
    keys = json.dumps(jwks(EC))
    updated = run_json(
        store, capsys, "client", "update", "web", "--auth-method", "private_key_jwt", "--jwks", keys
    )
    assert "client_secret" not in updated
    client = stored(store)
    assert (client.auth_method, client.secret_hash, client.jwks) == (
        "private_key_jwt",
        None,
        jwks(EC),
    )


def test_dpop_required_is_set_at_creation_and_by_update(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """SECURITY.md 46: `--dpop-required` stores dpop_bound_access_tokens; update turns it
    on and off."""
    created = run_json(
        store, capsys, "client", "create", "--name", "SPA", "--client-id", "spa",
        "--type", "public", "--auth-method", "none", "--redirect-uri", CB, "--dpop-required",
    )  # fmt: skip
    assert created["dpop_bound_access_tokens"] is True
    assert stored(store, "spa").dpop_bound_access_tokens is True
    create_web(store, capsys)
    assert stored(store).dpop_bound_access_tokens is False
    updated = run_json(store, capsys, "client", "update", "web", "--dpop-required")
    assert updated["changed"] == ["dpop_bound_access_tokens"]
    assert stored(store).dpop_bound_access_tokens is True
    run_json(store, capsys, "client", "update", "web", "--no-dpop-required")
    assert stored(store).dpop_bound_access_tokens is False
