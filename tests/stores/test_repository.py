"""Store (the typed repository) against both backends: every record kind round-trips, and
the single-use and create-only rules hold on MemoryTable and on DynamoDB alike."""

from __future__ import annotations

import dataclasses

import pytest

from chalicelib.clock import FakeClock
from chalicelib.stores.models import (
    AuthorizationCode,
    Client,
    Consent,
    Grant,
    Interaction,
    RefreshToken,
    Session,
    SigningKey,
    User,
)
from chalicelib.stores.records import AlreadyUsed, Gone, GrantRevoked, RefreshAlreadyUsed
from chalicelib.stores.repository import Store
from chalicelib.stores.table import ConditionFailed, ItemExists

NOW = FakeClock().now()


def make_client(client_id: str = "app", name: str = "App") -> Client:
    return Client(
        client_id=client_id,
        name=name,
        client_type="confidential",
        auth_method="client_secret_basic",
        redirect_uris=["https://app.example/cb", "https://app.example/cb2"],
        grant_types=["authorization_code", "refresh_token"],
        scopes=["openid", "profile"],
        secret_hash="argon2-hash",
        created_at=NOW,
    )


def make_code(code_hash: str = "h1", expires_at: int = NOW + 60) -> AuthorizationCode:
    return AuthorizationCode(
        code_hash=code_hash,
        client_id="app",
        redirect_uri="https://app.example/cb",
        code_challenge="challenge",
        scopes=["openid"],
        sub="sub-1",
        grant_id="g1",
        auth_time=NOW - 5,
        expires_at=expires_at,
        nonce="n-1",
        amr=["pwd"],
    )


def make_refresh(token_hash: str = "r1", expires_at: int = NOW + 3600) -> RefreshToken:
    return RefreshToken(
        token_hash=token_hash,
        grant_id="g1",
        client_id="app",
        sub="sub-1",
        scopes=["openid", "offline_access"],
        issued_at=NOW,
        expires_at=expires_at,
        auth_time=NOW,
    )


def make_interaction(interaction_id: str = "i1", expires_at: int = NOW + 600) -> Interaction:
    # state, nonce, max_age and login_hint are optional without defaults: None must round-trip.
    return Interaction(
        interaction_id=interaction_id,
        client_id="app",
        redirect_uri="https://app.example/cb",
        scopes=["openid"],
        state=None,
        code_challenge="challenge",
        nonce=None,
        prompt=[],
        max_age=None,
        login_hint=None,
        csrf="csrf-token",
        browser_hash="browser",
        expires_at=expires_at,
        created_at=NOW,
    )


def make_session(sid_hash: str = "s1", expires_at: int = NOW + 3600) -> Session:
    return Session(
        sid_hash=sid_hash,
        sub="sub-1",
        username="alice",
        auth_time=NOW,
        amr=["pwd"],
        expires_at=expires_at,
    )


# -- clients and users ----------------------------------------------------------------------


def test_client_round_trip(store: Store) -> None:
    client = make_client()
    store.clients.create(client)

    assert store.clients.get("app") == client
    assert store.clients.get("other") is None


def test_create_client_twice_raises_and_keeps_the_first(store: Store) -> None:
    store.clients.create(make_client(name="First"))

    with pytest.raises(ItemExists):
        store.clients.create(make_client(name="Second"))

    got = store.clients.get("app")
    assert got is not None
    assert got.name == "First"


def test_save_client_overwrites_and_list_clients(store: Store) -> None:
    store.clients.create(make_client("b"))
    store.clients.create(make_client("a"))
    public = dataclasses.replace(
        make_client("a"), client_type="public", auth_method="none", secret_hash=None
    )
    store.clients.save(public)
    store.users.create(User(username="a", sub="sub-a", password_hash="x"))  # not a client

    assert store.clients.all() == [public, make_client("b")]
    got = store.clients.get("a")
    assert got is not None
    assert got.is_public
    assert got.secret_hash is None

    store.clients.delete("b")
    assert [c.client_id for c in store.clients.all()] == ["a"]


def test_user_round_trip_and_create_twice(store: Store) -> None:
    user = User(username="alice", sub="sub-1", password_hash="hash", email="a@example.org")
    store.users.create(user)

    with pytest.raises(ItemExists):
        store.users.create(dataclasses.replace(user, sub="sub-2"))

    assert store.users.get("alice") == user
    assert store.users.all() == [user]
    store.users.save(dataclasses.replace(user, disabled=True))
    got = store.users.get("alice")
    assert got is not None
    assert got.disabled is True
    assert got.name is None


def test_users_are_found_by_sub(store: Store) -> None:
    user = User(username="alice", sub="sub-1", password_hash="hash")
    store.users.create(user)
    assert store.users.get_by_sub("sub-1") == user
    assert store.users.get_by_sub("sub-2") is None
    # A second user may not take an existing sub; nothing of it is written.
    with pytest.raises(ItemExists):
        store.users.create(User(username="bob", sub="sub-1", password_hash="hash"))
    assert store.users.get("bob") is None
    assert store.users.get_by_sub("sub-1") == user


# -- sessions -------------------------------------------------------------------------------


def test_session_round_trip_and_expiry(store: Store, clock: FakeClock) -> None:
    session = make_session(expires_at=clock.now() + 100)
    store.sessions.put(session)

    assert store.sessions.get("s1") == session
    clock.advance(99)
    assert store.sessions.get("s1") == session
    clock.advance(1)
    assert store.sessions.get("s1") is None


def test_session_id_is_create_only_until_it_expires(store: Store, clock: FakeClock) -> None:
    store.sessions.put(make_session(expires_at=clock.now() + 100))

    with pytest.raises(ItemExists):
        store.sessions.put(make_session(expires_at=clock.now() + 500))

    clock.advance(100)
    fresh = dataclasses.replace(make_session(expires_at=clock.now() + 100), username="bob")
    store.sessions.put(fresh)
    assert store.sessions.get("s1") == fresh


def test_delete_session(store: Store) -> None:
    store.sessions.put(make_session())

    store.sessions.delete(make_session())

    assert store.sessions.get("s1") is None
    assert store.sessions.list_for("sub-1") == []


# -- interactions ---------------------------------------------------------------------------


def test_interaction_round_trip_with_none_fields(store: Store) -> None:
    interaction = make_interaction()
    store.interactions.put(interaction)

    assert store.interactions.get("i1") == interaction
    assert store.interactions.get("other") is None


def test_update_interaction(store: Store) -> None:
    store.interactions.put(make_interaction())

    got = store.interactions.update("i1", {"sid_hash": "s1", "login_hint": "alice"})

    expected = dataclasses.replace(make_interaction(), sid_hash="s1", login_hint="alice")
    assert got == expected
    assert store.interactions.get("i1") == expected


def test_update_interaction_when_gone_raises(store: Store, clock: FakeClock) -> None:
    with pytest.raises(ConditionFailed):
        store.interactions.update("missing", {"sid_hash": "s1"})

    store.interactions.put(make_interaction(expires_at=clock.now() + 10))
    clock.advance(10)
    with pytest.raises(ConditionFailed):
        store.interactions.update("i1", {"sid_hash": "s1"})


def test_complete_interaction_only_once(store: Store) -> None:
    store.interactions.put(make_interaction())

    done = store.interactions.complete("i1", by="consent-1")

    assert done == dataclasses.replace(make_interaction(), completed_by="consent-1")
    assert store.interactions.complete("i1", by="consent-2") is None
    got = store.interactions.get("i1")
    assert got is not None
    assert got.completed_by == "consent-1"
    # the same completer retrying (its first answer lost) is not a second completion
    assert store.interactions.complete("i1", by="consent-1") == done


def test_complete_interaction_unknown_or_expired(store: Store, clock: FakeClock) -> None:
    assert store.interactions.complete("missing", by="x") is None

    store.interactions.put(make_interaction(expires_at=clock.now() + 10))
    clock.advance(10)

    assert store.interactions.complete("i1", by="x") is None
    assert store.interactions.get("i1") is None


# -- authorization codes --------------------------------------------------------------------


def test_get_code_round_trip_and_expiry(store: Store, clock: FakeClock) -> None:
    store.codes.put(make_code(expires_at=clock.now() + 60))
    assert store.codes.get("h1") == make_code(expires_at=clock.now() + 60)
    assert store.codes.get("h2") is None
    clock.advance(60)
    assert store.codes.get("h1") is None


def test_redeem_code_consumes_it_once(store: Store) -> None:
    store.codes.put(make_code())
    store.codes.redeem(make_code(), "request-1", None, NOW)
    got = store.codes.get("h1")
    assert got == dataclasses.replace(make_code(), consumed_by="request-1")

    with pytest.raises(AlreadyUsed) as used:
        store.codes.redeem(make_code(), "request-2", None, NOW)
    # the record tells the caller which grant to revoke (RFC 9700 4.2.4 code reuse)
    assert used.value.record == dataclasses.replace(make_code(), consumed_by="request-1")
    assert used.value.record.grant_id == "g1"


def test_redeem_code_the_same_consumer_succeeds_again(store: Store) -> None:
    """A retried transaction whose first attempt committed is not reuse."""
    refresh = make_refresh()
    store.codes.put(make_code())
    store.codes.redeem(make_code(), "request-1", refresh, NOW)
    store.codes.redeem(make_code(), "request-1", refresh, NOW)
    assert store.refresh.get("r1") == refresh
    code = store.codes.get("h1")
    assert code is not None and code.consumed_by == "request-1"


@pytest.mark.parametrize("late", [0, 1, 3600])
def test_redeem_code_expired_or_unknown_is_gone(store: Store, clock: FakeClock, late: int) -> None:
    store.codes.put(make_code(expires_at=clock.now() + 60))
    clock.advance(60 + late)
    with pytest.raises(Gone):
        store.codes.redeem(make_code(), "request-1", make_refresh(), NOW)
    assert store.refresh.get("r1") is None  # nothing half-written
    with pytest.raises(Gone):
        store.codes.redeem(make_code("unknown"), "request-1", None, NOW)


def make_grant(grant_id: str = "g1") -> Grant:
    """The grant make_refresh's tokens belong to: their rotation checks it is active."""
    return Grant(grant_id, "sub-1", "app", ["openid", "offline_access"], NOW)


def test_rotate_refresh_once_then_already_used(store: Store) -> None:
    old, new, other = make_refresh("r1"), make_refresh("r2"), make_refresh("r3")
    store.grants.put(make_grant())
    store.refresh.put(old)
    store.refresh.rotate(old, "request-1", NOW, new)
    store.refresh.rotate(old, "request-1", NOW, new)  # our own retry
    rotated = store.refresh.get("r1")
    assert rotated is not None
    assert (rotated.consumed_by, rotated.successor_hash) == ("request-1", "r2")
    assert store.refresh.get("r2") == new
    with pytest.raises(RefreshAlreadyUsed) as used:
        store.refresh.rotate(old, "request-2", NOW, other)
    assert used.value.record.successor_hash == "r2"
    assert store.refresh.get("r3") is None


def test_supersede_refresh_voids_the_lost_successor(store: Store) -> None:
    old, lost, new = make_refresh("r1"), make_refresh("r2"), make_refresh("r3")
    store.grants.put(make_grant())
    store.refresh.put(old)
    store.refresh.rotate(old, "request-1", NOW, lost)
    current = store.refresh.get("r1")
    assert current is not None
    store.refresh.supersede(current, "request-2", NOW, new)
    voided = store.refresh.get("r2")
    assert voided is not None and (voided.consumed_by or "").startswith("superseded:")
    after = store.refresh.get("r1")
    assert after is not None and after.successor_hash == "r3"
    # Superseding from a stale view fails and writes nothing.
    with pytest.raises(RefreshAlreadyUsed):
        store.refresh.supersede(current, "request-3", NOW, make_refresh("r4"))
    assert store.refresh.get("r4") is None


@pytest.mark.parametrize("grant", ["revoked", "gone"])
def test_rotation_checks_the_grant_in_its_transaction(store: Store, grant: str) -> None:
    """No read of the grant before: its rotation's transaction requires it active, so a
    revocation landing between a refresh's read and its write cannot be missed."""
    old, lost, new = make_refresh("r1"), make_refresh("r2"), make_refresh("r3")
    store.grants.put(make_grant())
    store.refresh.put(old)
    store.refresh.rotate(old, "request-1", NOW, lost)
    current = store.refresh.get("r1")
    assert current is not None
    if grant == "revoked":
        store.grants.revoke("g1", NOW, "admin")
    else:
        store.grants.delete_all("sub-1")

    with pytest.raises(GrantRevoked):
        store.refresh.rotate(store.refresh.get("r2") or lost, "request-2", NOW, new)
    with pytest.raises(GrantRevoked):
        store.refresh.supersede(current, "request-3", NOW, new)

    assert store.refresh.get("r2") == lost  # neither consumed nor superseded
    assert store.refresh.get("r3") is None


def test_put_code_twice_raises(store: Store) -> None:
    store.codes.put(make_code())

    with pytest.raises(ItemExists):
        store.codes.put(make_code())


# -- grants ---------------------------------------------------------------------------------


def test_grant_round_trip_and_revoke(store: Store) -> None:
    grant = Grant(grant_id="g1", sub="sub-1", client_id="app", scopes=["openid"], created_at=NOW)
    store.grants.put(grant)
    got = store.grants.get("g1")
    assert got == grant
    assert got is not None
    assert got.active

    store.grants.revoke("g1", NOW + 5, "code_reuse")

    revoked = store.grants.get("g1")
    assert revoked == dataclasses.replace(grant, revoked_at=NOW + 5, revoked_reason="code_reuse")
    assert revoked is not None
    assert revoked.active is False


def test_revoke_unknown_grant_is_a_no_op(store: Store) -> None:
    store.grants.revoke("missing", NOW, "logout")

    assert store.grants.get("missing") is None


def test_put_grant_twice_raises(store: Store) -> None:
    grant = Grant(grant_id="g1", sub="sub-1", client_id="app", scopes=[], created_at=NOW)
    store.grants.put(grant)

    with pytest.raises(ItemExists):
        store.grants.put(dataclasses.replace(grant, sub="sub-2"))


# -- consents -------------------------------------------------------------------------------


def test_consent_round_trip(store: Store) -> None:
    assert store.consents.get("sub-1", "app") is None
    consent = Consent(sub="sub-1", client_id="app", scopes=["openid", "email"], granted_at=NOW)

    store.consents.put(consent)

    assert store.consents.get("sub-1", "app") == consent
    assert store.consents.get("sub-1", "other") is None
    assert store.consents.get("sub-2", "app") is None

    wider = dataclasses.replace(consent, scopes=["openid", "email", "profile"], granted_at=NOW + 1)
    store.consents.put(wider)  # consent is updated in place, not create-only
    assert store.consents.get("sub-1", "app") == wider


# -- signing keys ---------------------------------------------------------------------------


def make_key(kid: str, state: str = "active") -> SigningKey:
    return SigningKey(
        kid=kid,
        alg="ES256",
        public_jwk={"kty": "EC", "crv": "P-256", "x": f"x-{kid}", "y": f"y-{kid}", "kid": kid},
        private_pem="-----BEGIN PRIVATE KEY-----\nMIG...\n-----END PRIVATE KEY-----\n",
        state=state,
        created_at=NOW,
    )


def test_list_keys(store: Store) -> None:
    assert store.keys.all() == []
    store.keys.put(make_key("k2", "next"))
    store.keys.put(make_key("k1"))
    store.keys.put(make_key("k0", "retired"))

    assert store.keys.all() == [make_key("k0", "retired"), make_key("k1"), make_key("k2", "next")]


def test_put_key_twice_raises(store: Store) -> None:
    store.keys.put(make_key("k1"))

    with pytest.raises(ItemExists):
        store.keys.put(make_key("k1", "retired"))

    assert store.keys.all() == [make_key("k1")]
