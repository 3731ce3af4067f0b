"""A user's second factors from the command line (SECURITY.md items 56, 58 and 59), against
the in-memory store and moto's DynamoDB: `user factors` lists them without secrets,
`user remove-factor` removes one, `user reset-mfa` removes all with the recovery codes and
ends the user's sessions, `user require-mfa` and `client update --require-mfa` set policy."""

from __future__ import annotations

import json

import pytest

from chalicelib.accounts import totp
from chalicelib.stores.models import Factor, Grant, Session, User
from chalicelib.stores.repository import Store
from tests.support.logs import captured
from tests.unit.test_cli_users import NOW, run, run_json, store  # noqa: F401 (fixture)

SECRET = totp.new_secret()


@pytest.fixture
def enrolled(store: Store) -> Store:  # noqa: F811 (the imported fixture)
    """alice (two sessions) with a TOTP factor and recovery codes; bob with one factor; in
    each backend of the `store` fixture."""
    for name in ("alice", "bob"):
        store.users.create(User(name, f"sub-{name}", "$argon2id$not-a-real-hash"))
    for sid_hash in ("hash-1", "hash-2"):
        store.sessions.put(
            Session(sid_hash, "sub-alice", "alice", NOW, ["pwd", "otp", "mfa"], NOW + 3600)
        )
    key = store.factors.seal_key()
    for name, factor_id in (("alice", "f-alice"), ("bob", "f-bob")):
        sealed = totp.seal(key, name, factor_id, SECRET)
        factor = Factor(factor_id, name, "totp", NOW, label="phone", secret=sealed)
        codes = [totp.recovery_hash(name, c) for c in totp.new_recovery_codes()]
        store.factors.add(factor, codes)
    store.grants.put(Grant("g-alice", "sub-alice", "web", ["openid"], NOW))
    return store


def test_factors_lists_kind_and_dates_never_the_secret(
    enrolled: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = run_json(enrolled, capsys, "user", "factors", "alice")
    assert listed["recovery_codes_left"] == totp.RECOVERY_CODES
    assert [(f["factor_id"], f["kind"], f["label"]) for f in listed["factors"]] == [
        ("f-alice", "totp", "phone")
    ]
    code, out, _ = run(enrolled, capsys, "user", "factors", "alice")
    assert code == 0
    assert "f-alice" in out
    assert "recovery codes left: 10" in out
    # SECURITY.md 56: neither the secret nor its sealed form is printed.
    sealed = enrolled.factors.get("alice", "f-alice")
    assert sealed is not None and sealed.secret
    for shown in (out, json.dumps(listed)):
        assert SECRET not in shown
        assert sealed.secret not in shown


def test_the_secret_is_stored_sealed_to_its_user_and_factor(enrolled: Store) -> None:
    """SECURITY.md item 56: the item holds no clear secret; it opens only for its own user
    and factor, so a factor item copied onto another account yields nothing."""
    factor = enrolled.factors.get("alice", "f-alice")
    assert factor is not None and factor.secret is not None
    item = enrolled.table.get("USER#alice", "FACTOR#f-alice")
    assert SECRET not in json.dumps(item)
    key = enrolled.factors.seal_key()
    assert totp.unseal(key, "alice", "f-alice", factor.secret) == SECRET
    for user, factor_id in (("bob", "f-alice"), ("alice", "f-bob")):
        with pytest.raises(ValueError, match="does not open"):
            totp.unseal(key, user, factor_id, factor.secret)


def test_remove_factor_removes_one_and_its_recovery_codes_with_the_last(
    enrolled: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(enrolled, capsys, "user", "remove-factor", "alice", "no-such")
    assert code == 3, err
    assert len(enrolled.sessions.list_for("sub-alice")) == 2  # a refused removal ends nothing
    removed = run_json(enrolled, capsys, "user", "remove-factor", "alice", "f-alice")
    # The factor may have been an intruder's: sessions end and grants are revoked with it.
    assert removed == {
        "username": "alice",
        "removed": "f-alice",
        "sessions_ended": 2,
        "grants_revoked": 1,
    }
    grant = enrolled.grants.get("g-alice")
    assert grant is not None and not grant.active
    assert enrolled.factors.list_for("alice") == []
    assert enrolled.factors.recovery_left("alice") == 0
    assert [f.factor_id for f in enrolled.factors.list_for("bob")] == ["f-bob"]


def test_reset_mfa_removes_every_factor_ends_sessions_and_is_audited(
    enrolled: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """SECURITY.md item 59: a lost device is handled by an admin, on the record."""
    with captured() as lines:
        reset = run_json(enrolled, capsys, "user", "reset-mfa", "alice")
    records = lines.audit()
    assert reset == {
        "username": "alice",
        "factors_removed": 1,
        "sessions_ended": 2,
        "grants_revoked": 1,
    }
    grant = enrolled.grants.get("g-alice")
    assert grant is not None and not grant.active
    assert enrolled.factors.list_for("alice") == []
    assert enrolled.factors.recovery_left("alice") == 0
    assert enrolled.sessions.list_for("sub-alice") == []
    assert [r["event"] for r in records] == ["admin.user.mfa_reset"]
    assert records[0]["sub"] == "sub-alice"
    assert SECRET not in json.dumps(records)
    assert enrolled.factors.recovery_left("bob") == totp.RECOVERY_CODES


def test_deleting_a_user_deletes_its_factors(
    enrolled: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    run_json(enrolled, capsys, "user", "delete", "alice")
    assert enrolled.table.query("USER#alice") == []


def test_require_mfa_per_user_and_per_client(
    enrolled: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_json(enrolled, capsys, "user", "require-mfa", "alice")["mfa_required"] is True
    user = enrolled.users.get("alice")
    assert user is not None and user.mfa_required
    assert run_json(enrolled, capsys, "user", "show", "alice")["mfa_required"] is True
    run_json(enrolled, capsys, "user", "require-mfa", "alice", "--off")
    user = enrolled.users.get("alice")
    assert user is not None and not user.mfa_required

    made = run_json(
        enrolled,
        capsys,
        *("client", "create", "--name", "Bank", "--redirect-uri", "https://bank.example/cb"),
        "--require-mfa",
    )
    assert made["require_mfa"] is True
    client_id = made["client_id"]
    changed = run_json(enrolled, capsys, "client", "update", client_id, "--no-require-mfa")
    assert changed["changed"] == ["require_mfa"]
    client = enrolled.clients.get(client_id)
    assert client is not None and not client.require_mfa
