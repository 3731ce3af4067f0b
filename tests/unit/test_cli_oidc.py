"""`tollgate client create` OIDC and RFC 8707 options, and `user set-claims` standard claims."""

from __future__ import annotations

import pytest

from chalicelib.stores.models import User
from chalicelib.stores.repository import Store
from tests.unit.test_cli import run, run_json, store  # noqa: F401 (the moto store fixture)


def test_client_create_with_oidc_and_resource_options(
    store: Store,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_json(store, capsys, "resource", "create", "--uri", "https://api.example/", "--scope", "a")
    made = run_json(
        store,
        capsys,
        "client",
        "create",
        "--name",
        "RP",
        "--redirect-uri",
        "https://rp.example/cb",
        "--id-token-alg",
        "ES256",
        "--post-logout-redirect-uri",
        "https://rp.example/bye",
        "--resource",
        "https://api.example/",
    )
    client = store.clients.get(made["client_id"])
    assert client is not None
    assert client.id_token_signed_response_alg == "ES256"
    assert client.post_logout_redirect_uris == ["https://rp.example/bye"]
    assert client.resources == ["https://api.example/"]
    assert made["resources"] == ["https://api.example/"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--post-logout-redirect-uri", "javascript:alert(1)", "refused"),
        ("--resource", "not-a-uri", "bad --resource"),
        ("--id-token-alg", "HS256", "invalid choice"),
    ],
)
def test_client_create_refuses_bad_oidc_options(
    store: Store,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    option: str,
    value: str,
    message: str,
) -> None:
    code, _out, err = run(
        store,
        capsys,
        "client",
        "create",
        "--name",
        "RP",
        "--redirect-uri",
        "https://rp.example/cb",
        option,
        value,
    )
    assert code == 2
    assert message in err
    assert store.clients.all() == []


def test_user_standard_claims(store: Store, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    store.users.create(User("alice", "sub-alice", "not-a-hash"))
    shown = run_json(
        store,
        capsys,
        "user",
        "set-claims",
        "alice",
        "--email",
        "alice@example.com",
        "--email-verified",
        "yes",
        "--claim",
        "given_name=Alice",
        "--claim",
        'address={"locality": "Springfield"}',
        "--claim",
        "phone_number=+1 555 0100",
    )
    assert shown["claims"] == {
        "given_name": "Alice",
        "address": {"locality": "Springfield"},
        "phone_number": "+1 555 0100",
    }
    user = store.users.get("alice")
    assert user is not None and user.email_verified and user.updated_at > 0
    run_json(store, capsys, "user", "set-claims", "alice", "--claim", "given_name=")
    user = store.users.get("alice")
    assert user is not None and "given_name" not in user.claims
    code, _out, err = run(store, capsys, "user", "set-claims", "alice", "--claim", "sub=x")
    assert code == 2 and "bad --claim" in err
    code, _out, err = run(store, capsys, "user", "set-claims", "alice", "--claim", "address=[1]")
    assert code == 2 and "JSON object" in err
