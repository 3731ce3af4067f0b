"""`tollgate grant list|revoke`, driven through main() against moto's DynamoDB in-process."""

from __future__ import annotations

import json

import pytest

from chalicelib.stores.models import Consent, Grant, User
from chalicelib.stores.repository import Store
from tests.unit.test_cli import run, run_json, store  # noqa: F401 (the moto store fixture)

NOW = 1_700_000_000


@pytest.fixture
def seeded(store: Store) -> Store:  # noqa: F811
    """alice (sub-alice): grants g1 (web), g2 (web, later), g3 (api, revoked); bob: g-bob."""
    for username in ("alice", "bob"):
        store.users.create(User(username, f"sub-{username}", "not-a-hash"))
    store.consents.put(Consent("sub-alice", "web", ["openid", "profile"], NOW))
    store.consents.put(Consent("sub-bob", "web", ["openid"], NOW))
    store.grants.put(Grant("g1", "sub-alice", "web", ["openid", "profile"], NOW))
    store.grants.put(Grant("g2", "sub-alice", "web", ["openid"], NOW + 60))
    store.grants.put(Grant("g3", "sub-alice", "api", ["notes:read"], NOW + 120))
    store.grants.revoke("g3", NOW + 180, "code reuse")
    store.grants.put(Grant("g-bob", "sub-bob", "web", ["openid"], NOW))
    return store


def test_list_shows_the_users_active_grants(
    seeded: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(seeded, capsys, "grant", "list", "--user", "alice")

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["GRANT_ID", "CLIENT", "SCOPES", "CREATED", "REVOKED"]
    assert [line.split()[0] for line in lines[1:]] == ["g1", "g2"]
    assert "openid profile" in lines[1]
    assert "2023-11-14 22:13:20 UTC" in lines[1]


def test_list_all_includes_revoked_grants_as_json(
    seeded: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    grants = run_json(seeded, capsys, "grant", "list", "--user", "alice", "--all")

    assert [g["grant_id"] for g in grants] == ["g1", "g2", "g3"]
    assert grants[2] == {
        "grant_id": "g3",
        "sub": "sub-alice",
        "client_id": "api",
        "scopes": ["notes:read"],
        "created_at": NOW + 120,
        "active": False,
        "revoked_at": NOW + 180,
        "revoked_reason": "code reuse",
    }
    assert run_json(seeded, capsys, "grant", "list", "--user", "alice", "--json")[0]["active"]


def test_list_of_a_user_without_grants(seeded: Store, capsys: pytest.CaptureFixture[str]) -> None:
    seeded.users.create(User("carol", "sub-carol", "not-a-hash"))

    assert run(seeded, capsys, "grant", "list", "--user", "carol") == (
        0,
        "No active grants for 'carol'.\n",
        "",
    )
    assert run_json(seeded, capsys, "grant", "list", "--user", "carol", "--all") == []


def test_revoke_one_grant(seeded: Store, capsys: pytest.CaptureFixture[str]) -> None:
    answer = run_json(seeded, capsys, "grant", "revoke", "g1")

    assert answer["grant_id"] == "g1"
    assert answer["active"] is False
    assert answer["revoked_now"] is True
    assert answer["revoked_reason"] == "revoked by an admin"
    grant = seeded.grants.get("g1")
    assert grant is not None and not grant.active
    g2 = seeded.grants.get("g2")
    assert g2 is not None and g2.active
    assert seeded.consents.get("sub-alice", "web") is not None  # one grant, not the consent

    code, out, err = run(seeded, capsys, "grant", "revoke", "g1")
    assert (code, err) == (0, "")
    assert out.startswith("Grant 'g1' was already revoked:")
    again = seeded.grants.get("g1")
    assert again is not None and again.revoked_at == grant.revoked_at


def test_revoke_by_user_and_client_ends_consent_and_grants(
    seeded: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(seeded, capsys, "grant", "revoke", "--user", "alice", "--client", "web")

    assert code == 0
    (record,) = [json.loads(line) for line in err.splitlines()]  # the change's audit record
    assert (record["event"], record["client_id"], record["sub"]) == (
        "consent.revoked",
        "web",
        "sub-alice",
    )
    assert "deleted the consent" in out
    assert "g1, g2" in out
    assert seeded.consents.get("sub-alice", "web") is None
    assert all(not g.active for g in seeded.grants.list_for("sub-alice"))
    bob = seeded.grants.get("g-bob")
    assert bob is not None and bob.active
    assert seeded.consents.get("sub-bob", "web") is not None

    answer = run_json(
        seeded, capsys, "grant", "revoke", "--user", "alice", "--client", "web", "--json"
    )
    assert answer == {
        "username": "alice",
        "sub": "sub-alice",
        "client_id": "web",
        "consent_deleted": False,
        "revoked_grants": [],
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["grant", "list", "--user", "nobody"], "no user named 'nobody'"),
        (["grant", "revoke", "missing"], "no grant with id 'missing'"),
        (["grant", "revoke", "--user", "nobody", "--client", "web"], "no user named 'nobody'"),
        (["grant", "revoke", "--user", "alice", "--client", "nope"], "no client with id 'nope'"),
        (["grant", "revoke"], "give GRANT_ID, or --user USERNAME and --client CLIENT_ID"),
        (["grant", "revoke", "--user", "alice"], "give GRANT_ID, or --user"),
        (["grant", "revoke", "g1", "--user", "alice"], "not both"),
        (["grant", "revoke", "--user", "alice", "--client", "a b"], "a client id is"),
        (["grant", "list"], "--user"),
    ],
)
def test_bad_input_exits_2_and_changes_nothing(
    seeded: Store, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(seeded, capsys, *argv)

    assert (code, out) == (3 if message.startswith("no ") else 2, "")  # not found: 3
    assert err.startswith("tollgate: ")
    assert message in err
    assert [g.grant_id for g in seeded.grants.list_for("sub-alice") if g.active] == ["g1", "g2"]
    assert seeded.consents.get("sub-alice", "web") is not None
