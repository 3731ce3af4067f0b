"""The user lifecycle commands (SECURITY.md items 27 and 33), driven through main() against
the in-memory store and moto's DynamoDB: set-password, disable and enable, sessions,
signout, revoke-grants, delete, and show by name, sub or email."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.admin.cli import main
from chalicelib.clock import SystemClock
from chalicelib.stores.models import Consent, Grant, Session, User
from chalicelib.stores.repository import Store
from tests.support.tables import BACKENDS, fresh_table
from tests.unit.test_cli import fast_hash  # noqa: F401 (cheap argon2 parameters)

NOW = SystemClock().now()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with fresh_table(request.param, SystemClock(), "tollgate-test") as table:
        yield Store(table)


@pytest.fixture
def seeded(store: Store) -> Store:
    """alice: two sessions, grants g1 (web) and g2 (api), consents for both; bob: one of each."""
    for name in ("alice", "bob"):
        store.users.create(
            User(name, f"sub-{name}", "$argon2id$not-a-real-hash", email=f"{name}@example.com")
        )
    for sid_hash, sub, at in (
        ("hash-1", "sub-alice", NOW - 60),
        ("hash-2", "sub-alice", NOW),
        ("hash-b", "sub-bob", NOW),
    ):
        store.sessions.put(
            Session(sid_hash, sub, sub[4:], at, ["pwd"], NOW + 3600, "sid-" + sid_hash[5:])
        )
    for grant_id, sub, client_id in (
        ("g1", "sub-alice", "web"),
        ("g2", "sub-alice", "api"),
        ("gb", "sub-bob", "web"),
    ):
        store.grants.put(Grant(grant_id, sub, client_id, ["openid"], NOW))
        store.consents.put(Consent(sub, client_id, ["openid"], NOW))
    return store


def run(store: Store, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), store=store)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(store: Store, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(store, capsys, "--json", *argv)
    assert code == 0, err
    return json.loads(out)


def active_grants(store: Store, sub: str) -> list[str]:
    return [g.grant_id for g in store.grants.list_for(sub) if g.active]


def bob_untouched(store: Store) -> None:
    assert [s.sid_hash for s in store.sessions.list_for("sub-bob")] == ["hash-b"]
    assert active_grants(store, "sub-bob") == ["gb"]
    assert store.consents.get("sub-bob", "web") is not None


def test_sessions_lists_a_users_sessions_by_their_public_name(
    seeded: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = run_json(seeded, capsys, "user", "sessions", "alice")

    assert [s["sid"] for s in listed] == ["sid-1", "sid-2"]
    assert listed[0] == {
        "sid": "sid-1",
        "username": "alice",
        "sub": "sub-alice",
        "auth_time": NOW - 60,
        "expires_at": NOW + 3600,
        "amr": ["pwd"],
    }
    code, out, err = run(seeded, capsys, "user", "sessions", "alice")
    assert (code, err) == (0, "")
    assert out.splitlines()[0].split() == ["SID", "SIGNED_IN", "EXPIRES", "AMR"]
    assert "sid-1" in out and "sid-2" in out
    assert "hash-" not in out  # never the hash of the cookie
    assert run(seeded, capsys, "user", "sessions", "nobody")[0] == 3  # not found


def test_signout_ends_all_of_a_users_sessions(
    seeded: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """SECURITY.md 33."""
    answer = run_json(seeded, capsys, "user", "signout", "alice")

    assert answer == {"username": "alice", "sub": "sub-alice", "sessions_ended": 2}
    assert seeded.sessions.list_for("sub-alice") == []
    assert seeded.sessions.get("hash-1") is None and seeded.sessions.get("hash-2") is None
    assert active_grants(seeded, "sub-alice") == ["g1", "g2"]  # tokens are another command
    bob_untouched(seeded)
    assert run(seeded, capsys, "user", "sessions", "alice")[1] == "No sessions for 'alice'.\n"


@pytest.mark.usefixtures("fast_hash")
def test_set_password_ends_every_session(seeded: Store, capsys: pytest.CaptureFixture[str]) -> None:
    """SECURITY.md 33: the CLI has no session of the user's own, so all of them end."""
    code, out, err = run(seeded, capsys, "user", "set-password", "alice", "--password", "new one!")

    assert code == 0
    (record,) = [json.loads(line) for line in err.splitlines()]  # the change's audit record
    assert (record["event"], record["username"]) == ("admin.user.password_set", "alice")
    assert "new one!" not in err
    assert out == "Changed the password of 'alice'; ended 2 session(s).\n"
    assert seeded.sessions.list_for("sub-alice") == []
    bob_untouched(seeded)


def test_disable_ends_sessions_and_revokes_grants_and_enable_revives_none(
    seeded: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """SECURITY.md 27, 33."""
    disabled = run_json(seeded, capsys, "user", "disable", "alice")

    assert disabled["disabled"] is True
    assert disabled["sessions_ended"] == 2
    assert disabled["revoked_grants"] == ["g1", "g2"]
    assert seeded.sessions.list_for("sub-alice") == []
    assert active_grants(seeded, "sub-alice") == []
    grant = seeded.grants.get("g1")
    assert grant is not None and grant.revoked_reason == "user disabled"
    bob_untouched(seeded)

    code, out, _ = run(seeded, capsys, "user", "enable", "alice")

    assert code == 0 and out.startswith("Enabled user 'alice'.")
    user = seeded.users.get("alice")
    assert user is not None and not user.disabled
    assert seeded.sessions.get("hash-1") is None and seeded.sessions.get("hash-2") is None
    assert active_grants(seeded, "sub-alice") == []


def test_revoke_grants_revokes_them_all_in_one_command(
    seeded: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """SECURITY.md 33."""
    answer = run_json(seeded, capsys, "user", "revoke-grants", "alice")

    assert answer == {
        "username": "alice",
        "sub": "sub-alice",
        "revoked_grants": ["g1", "g2"],
        "deleted_consents": ["api", "web"],
    }
    assert active_grants(seeded, "sub-alice") == []
    assert seeded.consents.list_for("sub-alice") == []
    bob_untouched(seeded)
    again = run_json(seeded, capsys, "user", "revoke-grants", "alice")
    assert (again["revoked_grants"], again["deleted_consents"]) == ([], [])


def test_delete_removes_the_user_and_everything_of_it(
    seeded: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = run_json(seeded, capsys, "user", "delete", "alice")

    assert answer == {
        "deleted": True,
        "username": "alice",
        "sub": "sub-alice",
        "sessions_ended": 2,
        "deleted_grants": ["g1", "g2"],
        "deleted_consents": ["api", "web"],
    }
    assert seeded.users.get("alice") is None
    assert seeded.users.get_by_sub("sub-alice") is None
    table = seeded.table
    for pk, sk in (
        ("SUB#sub-alice", "SUB"),
        ("SESSION#hash-1", "SESSION"),
        ("GRANT#g1", "GRANT"),
        ("GRANT#g2", "GRANT"),
    ):
        assert table.get(pk, sk) is None, pk
    for partition in ("SESSIONS#sub-alice", "GRANTS#sub-alice", "CONSENT#sub-alice"):
        assert table.query(partition) == [], partition
    bob_untouched(seeded)
    assert run(seeded, capsys, "user", "delete", "alice")[0] == 3  # not found


def test_show_prints_everything_json_prints(
    seeded: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        seeded,
        capsys,
        "user",
        "set-claims",
        "alice",
        "--name",
        "Alice A",
        "--email-verified",
        "yes",
        "--claim",
        "given_name=Alice",
    )
    shown = run_json(seeded, capsys, "user", "show", "alice")
    code, out, _ = run(seeded, capsys, "user", "show", "alice")

    assert code == 0
    labels = {line.split(":", 1)[0] for line in out.splitlines() if ":" in line}
    for name, value in shown.items():
        label = {"disabled": "status", "created_at": "created", "updated_at": "updated"}.get(
            name, name
        )
        assert label in labels, name
        if isinstance(value, str):
            assert value in out, name
    assert 'given_name="Alice"' in out
    assert "email_verified: yes" in out
    assert "$argon2" not in out


def test_show_finds_a_user_by_sub_or_email(
    seeded: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_json(seeded, capsys, "user", "show", "--sub", "sub-bob")["username"] == "bob"
    by_email = run_json(seeded, capsys, "user", "show", "--email", "ALICE@example.com")
    assert by_email["username"] == "alice"
    code, out, _ = run(seeded, capsys, "user", "show", "--sub", "sub-alice")
    assert code == 0 and "alice@example.com" in out


@pytest.mark.parametrize(
    ("argv", "message", "status"),
    [
        (["user", "show"], "give one of USERNAME, --sub SUB or --email EMAIL", 2),
        (["user", "show", "alice", "--sub", "sub-alice"], "give one of", 2),
        (["user", "show", "--sub", "sub-nobody"], "no user with sub 'sub-nobody'", 3),
        (["user", "show", "--email", "nobody@example.com"], "no user with email", 3),
        (["user", "show", "--email", "not an email"], "is not an email address", 2),
        (["user", "signout", "nobody"], "no user named 'nobody'", 3),
        (["user", "revoke-grants", "nobody"], "no user named 'nobody'", 3),
    ],
)
def test_lookup_errors_exit_2_for_bad_input_and_3_for_not_found(
    seeded: Store,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
    status: int,
) -> None:
    code, out, err = run(seeded, capsys, *argv)
    assert (code, out) == (status, "")
    assert message in err


def test_an_email_shared_by_two_users_names_them(
    seeded: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded.users.create(User("carol", "sub-carol", "x", email="Alice@Example.com"))
    code, _, err = run(seeded, capsys, "user", "show", "--email", "alice@example.com")
    assert code == 2
    assert "2 users have email" in err and "'alice'" in err and "'carol'" in err
