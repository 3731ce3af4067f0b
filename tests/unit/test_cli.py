"""The `tollgate` admin command, driven through main() against moto's DynamoDB in-process."""

from __future__ import annotations

import functools
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, Type
from moto import mock_aws

from chalicelib import ids
from chalicelib.accounts import passwords
from chalicelib.admin.cli import main
from chalicelib.admin.target import resolve_target
from chalicelib.clock import SystemClock
from chalicelib.stores.dynamodb import DynamoTable, make_client
from chalicelib.stores.models import Client
from chalicelib.stores.repository import Store
from chalicelib.stores.schema import table_definition
from chalicelib.stores.table import StoreUnavailable

TABLE = "tollgate-test"
CB = "https://app.example/cb"


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = make_client("us-east-1", None)
        client.create_table(**table_definition(TABLE))
        yield Store(DynamoTable(client, TABLE, SystemClock()))


@pytest.fixture
def fast_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2id parameters, for tests that only need some password hash."""
    cheap = functools.cache(
        lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)
    )
    monkeypatch.setattr(passwords, "_hasher", cheap)


def run(store: Store, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), store=store)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(store: Store, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(store, capsys, "--json", *argv)
    assert code == 0, err
    return json.loads(out)


def create_web(store: Store, capsys: pytest.CaptureFixture[str], client_id: str = "web") -> Any:
    return run_json(
        store,
        capsys,
        "client",
        "create",
        "--name",
        "Web",
        "--client-id",
        client_id,
        "--redirect-uri",
        CB,
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
    )


# -- clients --------------------------------------------------------------------------------


def test_create_confidential_client_prints_secret_once_and_stores_only_its_hash(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    created = create_web(store, capsys)
    secret = created["client_secret"]
    assert len(secret) >= 43
    assert created["client_id"] == "web"
    assert created["client_type"] == "confidential"
    assert created["auth_method"] == "client_secret_basic"
    assert created["grant_types"] == ["authorization_code", "refresh_token"]
    assert created["scopes"] == ["openid", "profile", "email"]
    assert created["has_secret"] is True
    assert "secret_hash" not in created

    stored = store.clients.get("web")
    assert stored is not None
    assert stored.secret_hash == ids.digest(secret)
    raw = store.table.get("CLIENT#web", "CLIENT")
    assert raw is not None
    assert secret not in json.dumps(raw)

    # Neither show nor list prints the secret or its hash, in either output form.
    for argv in (["client", "show", "web"], ["client", "list"]):
        for extra in ([], ["--json"]):
            code, out, _ = run(store, capsys, *extra, *argv)
            assert code == 0
            assert secret not in out
            assert stored.secret_hash not in out


def test_create_client_human_output(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(store, capsys, "client", "create", "--name", "Web", "--redirect-uri", CB)
    assert code == 0
    assert "client_secret: " in out
    assert "shown only now" in out
    (client,) = store.clients.all()
    assert client.client_id in out
    assert len(client.client_id) >= 22  # ids.new_id(): 16 random bytes
    secret = out.split("client_secret: ")[1].split()[0]
    assert client.secret_hash == ids.digest(secret)


def test_create_public_client(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    created = run_json(
        store,
        capsys,
        "client",
        "create",
        "--name",
        "SPA",
        "--type",
        "public",
        "--redirect-uri",
        "http://127.0.0.1:3000/cb",
        "--redirect-uri",
        "com.example.app:/cb",
        "--scope",
        "openid api:read",
        "--scope",
        "api:write openid",
    )
    assert "client_secret" not in created
    assert created["auth_method"] == "none"
    assert created["has_secret"] is False
    assert created["scopes"] == ["openid", "api:read", "api:write"]
    client = store.clients.get(created["client_id"])
    assert client is not None
    assert client.secret_hash is None
    assert client.redirect_uris == ["http://127.0.0.1:3000/cb", "com.example.app:/cb"]


def test_client_credentials_client_needs_no_redirect_uri(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run_json(
        store,
        capsys,
        "client",
        "create",
        "--name",
        "Batch job",
        "--grant-type",
        "client_credentials",
        "--auth-method",
        "client_secret_post",
        "--scope",
        "api:read",
        "--client-id",
        "batch:job",  # a ":" is allowed in a client id
    )
    assert created["client_id"] == "batch:job"
    assert created["redirect_uris"] == []
    assert created["auth_method"] == "client_secret_post"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("https://app.example/cb#frag", "fragment"),
        ("javascript:alert(1)", "javascript"),
        ("data:text/html,hi", "data"),
        ("http://app.example/cb", "loopback"),
        ("https://user:pw@app.example/cb", "credentials"),
        ("myapp:/cb", "reverse domain"),
        ("https://app.example/a b", "without spaces"),
        ("https://*.example/cb", "wildcards are not supported"),
    ],
)
def test_bad_redirect_uris_are_refused(
    store: Store, capsys: pytest.CaptureFixture[str], uri: str, message: str
) -> None:
    code, out, err = run(
        store,
        capsys,
        "client",
        "create",
        "--name",
        "X",
        "--redirect-uri",
        CB,
        "--redirect-uri",
        uri,
    )
    assert code == 2
    assert out == ""
    assert err.startswith("tollgate: ")
    assert "redirect URI" in err
    assert message in err
    assert store.clients.all() == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--type", "public", "--auth-method", "client_secret_basic"], "public client"),
        (["--type", "public", "--auth-method", "client_secret_post"], "public client"),
        (["--auth-method", "none"], "confidential client"),
        (["--type", "public", "--grant-type", "client_credentials"], "confidential clients"),
        (["--grant-type", "refresh_token"], "authorization_code"),
        (["--grant-type", "password"], "invalid choice"),
        (["--grant-type", "implicit"], "invalid choice"),
        (["--type", "private"], "invalid choice"),
        (["--auth-method", "client_secret_jwt"], "invalid choice"),
        (["--auth-method", "private_key_jwt"], "needs the client's public keys"),
        (["--scope", 'bad"scope'], "--scope"),
        (["--scope", "  "], "at least one scope"),
        (["--client-id", "has space"], "client id"),
        (["--client-id", ""], "client id"),
    ],
)
def test_client_create_validation(
    store: Store, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(
        store, capsys, "client", "create", "--name", "X", "--redirect-uri", CB, *argv
    )
    assert code == 2
    assert out == ""
    assert err.startswith("tollgate: ")
    assert message in err
    assert store.clients.all() == []


@pytest.mark.parametrize(
    "argv",
    [
        ["client", "create", "--name", "X"],  # authorization_code needs a redirect URI
        ["client", "create", "--name", "  ", "--redirect-uri", CB],
        ["client", "create", "--redirect-uri", CB],  # --name is required
        ["client"],
        ["frobnicate"],
    ],
)
def test_more_usage_errors(
    store: Store, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run(store, capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("tollgate: ")


def test_duplicate_client_id(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    first = create_web(store, capsys)
    code, _, err = run(
        store,
        capsys,
        "client",
        "create",
        "--name",
        "Other",
        "--client-id",
        "web",
        "--redirect-uri",
        CB,
    )
    assert code == 2
    assert err.startswith("tollgate: ")
    assert "already exists" in err
    stored = store.clients.get("web")
    assert stored is not None
    assert stored.name == "Web"  # untouched
    assert stored.secret_hash == ids.digest(first["client_secret"])


def test_list_show_delete(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    create_web(store, capsys, "a-web")
    create_web(store, capsys, "b-web")

    listed = run_json(store, capsys, "client", "list")
    assert [c["client_id"] for c in listed] == ["a-web", "b-web"]
    code, out, _ = run(store, capsys, "client", "list")
    assert code == 0
    assert "CLIENT_ID" in out
    assert "a-web" in out
    assert "b-web" in out

    shown = run_json(store, capsys, "client", "show", "a-web")
    assert shown["redirect_uris"] == [CB]
    code, out, _ = run(store, capsys, "client", "show", "a-web")
    assert code == 0
    assert CB in out

    assert run_json(store, capsys, "client", "delete", "a-web") == {
        "deleted": True,
        "client_id": "a-web",
    }
    assert store.clients.get("a-web") is None
    assert [c.client_id for c in store.clients.all()] == ["b-web"]

    for argv in (["client", "show", "a-web"], ["client", "delete", "a-web"]):
        code, out, err = run(store, capsys, *argv)
        assert code == 3  # not found, distinct from bad input (2)
        assert err.startswith("tollgate: no client")


def test_empty_lists(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_json(store, capsys, "client", "list") == []
    assert run_json(store, capsys, "user", "list") == []
    assert run(store, capsys, "client", "list")[1] == "No clients.\n"


def test_rotate_secret(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    old_secret = create_web(store, capsys)["client_secret"]
    # --json is accepted after the subcommand too.
    code, out, _ = run(store, capsys, "client", "rotate-secret", "web", "--json")
    assert code == 0
    rotated = json.loads(out)
    new_secret = rotated["client_secret"]
    assert rotated["client_id"] == "web"
    assert new_secret != old_secret

    stored = store.clients.get("web")
    assert stored is not None
    assert stored.secret_hash == ids.digest(new_secret)
    assert stored.secret_hash != ids.digest(old_secret)
    assert stored.redirect_uris == [CB]  # nothing else changed

    code, out, _ = run(store, capsys, "client", "rotate-secret", "web")
    assert code == 0
    newest = out.split("client_secret: ")[1].split()[0]
    stored = store.clients.get("web")
    assert stored is not None
    assert stored.secret_hash == ids.digest(newest)


def test_rotate_secret_refused(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    spa = run_json(
        store, capsys, "client", "create", "--name", "SPA", "--type", "public",
        "--redirect-uri", CB,
    )  # fmt: skip
    code, out, err = run(store, capsys, "client", "rotate-secret", spa["client_id"])
    assert code == 2
    assert "public" in err
    assert out == ""
    code, _, err = run(store, capsys, "client", "rotate-secret", "nobody")
    assert code == 3
    assert err.startswith("tollgate: no client")


def test_an_old_id_starting_with_a_dash_is_still_usable(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """SECURITY.md item 40: ids made before the rule may start with "-"; after "--" every
    command takes them, and without it the error says how."""
    old = "-Xq3" + ids.new_id()[4:]
    store.clients.create(
        Client(old, "Old", "confidential", "client_secret_basic", [CB], ["authorization_code"],
               ["openid"], secret_hash=ids.digest("s"))
    )  # fmt: skip

    shown = run_json(store, capsys, "client", "show", "--", old)
    assert shown["client_id"] == old
    rotated = run_json(store, capsys, "client", "rotate-secret", "--json", "--", old)
    assert rotated["client_id"] == old
    code, _, err = run(store, capsys, "client", "show", old)
    assert code == 2
    assert "goes after '--'" in err
    code, _, err = run(store, capsys, "client", "create", "--name", "N", f"--client-id={old}",
                       "--redirect-uri", CB)  # fmt: skip
    assert code == 2
    assert "must not start with '-'" in err


# -- users ----------------------------------------------------------------------------------


def test_user_create_hashes_with_argon2id(
    store: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real parameters (RFC 9106 second option); the only test paying for them twice."""
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    created = run_json(
        store,
        capsys,
        "user",
        "create",
        "alice",
        "--password-stdin",
        "--name",
        "Alice Liddell",
        "--email",
        "alice@example.com",
    )
    assert created["username"] == "alice"
    assert created["name"] == "Alice Liddell"
    assert created["email"] == "alice@example.com"
    assert created["disabled"] is False
    assert "password_hash" not in created
    user = store.users.get("alice")
    assert user is not None
    assert user.sub == created["sub"]
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=1$")
    assert passwords.verify_password(user.password_hash, "correct horse battery")
    assert not passwords.verify_password(user.password_hash, "correct horse battery\n")


@pytest.mark.usefixtures("fast_hash")
def test_user_set_password(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(store, capsys, "user", "create", "bob", "--password", "first password")[0] == 0
    before = store.users.get("bob")
    assert before is not None
    assert passwords.verify_password(before.password_hash, "first password")

    result = run_json(store, capsys, "user", "set-password", "bob", "--password", "second pw!")
    assert result == {"username": "bob", "password_changed": True, "sessions_ended": 0}
    after = store.users.get("bob")
    assert after is not None
    assert after.password_hash.startswith("$argon2id$")
    assert after.sub == before.sub
    assert passwords.verify_password(after.password_hash, "second pw!")
    assert not passwords.verify_password(after.password_hash, "first password")


@pytest.mark.usefixtures("fast_hash")
def test_set_password_from_stdin(
    store: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(store, capsys, "user", "create", "bob", "--password", "first password")[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("from stdin pw\r\n"))
    assert run(store, capsys, "user", "set-password", "bob", "--password-stdin")[0] == 0
    user = store.users.get("bob")
    assert user is not None
    assert passwords.verify_password(user.password_hash, "from stdin pw")


@pytest.mark.usefixtures("fast_hash")
@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["user", "create", "carol", "--password", "short"], "", "password refused"),
        (["user", "create", "carol", "--password-stdin"], "\n", "no password"),
        (["user", "create", "carol"], "", "--password-stdin"),
        (["user", "create", "carol", "--password", "long enough", "--password-stdin"], "", ""),
        (["user", "create", "car ol", "--password", "long enough"], "", "username"),
        (["user", "create", "carol", "--password", "long enough", "--email", "x"], "", "email"),
        (["user", "set-password", "nobody", "--password", "long enough"], "", "no user"),
        (["user", "disable", "nobody"], "", "no user"),
        (["user", "set-claims", "carol"], "", "--name"),
    ],
)
def test_user_usage_errors(
    store: Store,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *,
    argv: list[str],
    stdin: str,
    message: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code, out, err = run(store, capsys, *argv)
    assert code == (3 if message == "no user" else 2)  # not found is 3
    assert out == ""
    assert err.startswith("tollgate: ")
    assert message in err
    assert store.users.all() == []


@pytest.mark.usefixtures("fast_hash")
def test_duplicate_user(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(store, capsys, "user", "create", "dave", "--password", "password one")[0] == 0
    code, out, err = run(store, capsys, "user", "create", "dave", "--password", "password two")
    assert code == 2
    assert out == ""
    assert err == "tollgate: a user named 'dave' already exists\n"
    user = store.users.get("dave")
    assert user is not None
    assert passwords.verify_password(user.password_hash, "password one")


@pytest.mark.usefixtures("fast_hash")
def test_disable_enable_list_and_claims(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("erin", "frank"):
        assert run(store, capsys, "user", "create", name, "--password", "long enough")[0] == 0

    disabled = run_json(store, capsys, "user", "disable", "erin")
    assert disabled["disabled"] is True
    user = store.users.get("erin")
    assert user is not None
    assert user.disabled
    assert passwords.verify_password(user.password_hash, "long enough")  # hash kept

    listed = run_json(store, capsys, "user", "list")
    assert [(u["username"], u["disabled"]) for u in listed] == [("erin", True), ("frank", False)]
    assert all("password_hash" not in u for u in listed)
    code, out, _ = run(store, capsys, "user", "list")
    assert code == 0
    assert "disabled" in out
    assert "$argon2" not in out

    assert run_json(store, capsys, "user", "enable", "erin")["disabled"] is False
    user = store.users.get("erin")
    assert user is not None
    assert not user.disabled

    claims = run_json(
        store, capsys, "user", "set-claims", "frank", "--name", "Frank", "--email", "f@example.org"
    )
    assert (claims["name"], claims["email"]) == ("Frank", "f@example.org")
    claims = run_json(store, capsys, "user", "set-claims", "frank", "--email", "")
    assert (claims["name"], claims["email"]) == ("Frank", None)
    user = store.users.get("frank")
    assert user is not None
    assert (user.name, user.email) == ("Frank", None)

    code, out, _ = run(store, capsys, "user", "show", "frank")
    assert code == 0
    assert "Frank" in out
    assert "$argon2" not in out


# -- wiring ---------------------------------------------------------------------------------


def test_store_unavailable_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    class Down:
        def query_page(self, *args: Any) -> tuple[list[dict[str, Any]], str | None]:
            raise StoreUnavailable("ThrottlingException")

    code = main(["client", "list"], store=Store(Down()))  # type: ignore[arg-type]
    _, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("tollgate: ")
    assert "unavailable" in err


def test_unreachable_endpoint_exits_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    code = main(["--endpoint-url", "http://127.0.0.1:9", "client", "list"])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("tollgate: the store is unavailable")
    assert "http://127.0.0.1:9" in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "client" in capsys.readouterr().out


def test_target_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from chalicelib.admin.cli import build_parser
    from chalicelib.admin.local_state import RunningStack, record

    for name in ("AWS_ENDPOINT_URL", "TOLLGATE_TABLE", "TOLLGATE_STAGE", "MOTO_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("TOLLGATE_LOCAL_DIR", str(tmp_path))
    stack = RunningStack(os.getpid(), "http://127.0.0.1:6000", "tollgate-local", "us-east-1", "")
    record(tmp_path, stack)

    # Stage local: the endpoint and table the running stack recorded, never a guessed port.
    target = resolve_target(build_parser().parse_args(["client", "list"]))
    assert (target.stage, target.table) == ("local", "tollgate-local")
    assert target.endpoint_url == "http://127.0.0.1:6000"
    assert target.region == "eu-west-1"

    target = resolve_target(build_parser().parse_args(["--stage", "prod", "client", "list"]))
    assert (target.table, target.endpoint_url) == ("tollgate-prod", None)

    argv = ["--endpoint-url", "", "--table", "t", "--region", "ap-south-1", "user", "list"]
    target = resolve_target(build_parser().parse_args(argv))
    assert (target.table, target.endpoint_url, target.region) == ("t", None, "ap-south-1")

    monkeypatch.setenv("TOLLGATE_STAGE", "dev")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    target = resolve_target(build_parser().parse_args(["client", "list"]))
    assert (target.stage, target.table) == ("dev", "tollgate-dev")
    assert target.endpoint_url == "http://localhost:4566"
