"""Key rotation, step by step: next -> active -> retired -> expired (unpublished)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.clock import FakeClock
from chalicelib.stores.memory import MemoryTable
from chalicelib.stores.models import SigningKey
from chalicelib.stores.repository import Store
from chalicelib.stores.table import ConditionFailed
from chalicelib.tokens import keys
from chalicelib.tokens.rotation import Rotation, RotationRefused, rotate
from chalicelib.tokens.signer import (
    KEY_CACHE_TTL,
    MIN_NEXT_AGE,
    LocalSigner,
    publish_window,
    status,
)

LIFETIME = 600


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> Store:
    return Store(MemoryTable(clock))


def _rotate(store: Store, clock: FakeClock, alg: str = "ES256", **kw: Any) -> Rotation:
    now = clock.now()
    return rotate(store, alg, now, lambda state: keys.generate(alg, now, state=state), **kw)


def _kid(token: str) -> str:
    import jwt

    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


def _published(signer: LocalSigner) -> set[str]:
    return {k["kid"] for k in signer.jwks()["keys"]}


def _states(store: Store) -> dict[str, str]:
    return {k.kid: k.state for k in store.keys.all()}


def test_the_first_rotation_of_an_empty_table_makes_an_active_key(
    store: Store, clock: FakeClock
) -> None:
    step = _rotate(store, clock)
    assert (step.step, step.key.state) == ("first", "active")
    assert _states(store) == {step.key.kid: "active"}


def test_a_rotation_publishes_the_next_key_before_it_signs_and_a_later_one_activates_it(
    store: Store, clock: FakeClock
) -> None:
    signer = LocalSigner(store, clock, token_lifetime=LIFETIME)
    old = _kid(signer.sign({"n": 1}, alg="ES256", typ="at+jwt"))

    published = _rotate(store, clock)
    assert published.step == "published"
    new = published.key.kid
    clock.advance(KEY_CACHE_TTL)  # every container has re-read the key list
    assert {old, new} <= _published(signer)
    assert _kid(signer.sign({"n": 2}, alg="ES256", typ="at+jwt")) == old  # next never signs

    clock.advance(MIN_NEXT_AGE - KEY_CACHE_TTL)
    assert _kid(signer.sign({"n": 3}, alg="ES256", typ="at+jwt")) == old  # list re-read now
    activated = _rotate(store, clock)
    assert (activated.step, activated.key.kid) == ("activated", new)
    assert [k.kid for k in activated.retired] == [old]
    assert _states(store)[old] == "retired"
    assert _states(store)[new] == "active"

    # This container signs with the old key until its cached key list expires: fine, the
    # retired key is still published.
    assert _kid(signer.sign({"n": 4}, alg="ES256", typ="at+jwt")) == old
    clock.advance(KEY_CACHE_TTL)
    assert _kid(signer.sign({"n": 5}, alg="ES256", typ="at+jwt")) == new
    assert {old, new} <= _published(signer)


def test_a_retired_key_is_unpublished_once_its_last_token_has_expired(
    store: Store, clock: FakeClock
) -> None:
    signer = LocalSigner(store, clock, token_lifetime=LIFETIME)
    old = _kid(signer.sign({}, alg="ES256", typ="at+jwt"))
    _rotate(store, clock)
    clock.advance(MIN_NEXT_AGE)
    _rotate(store, clock)
    window = publish_window(LIFETIME, KEY_CACHE_TTL)
    assert window == LIFETIME + KEY_CACHE_TTL

    clock.advance(window - 1)
    assert old in _published(signer)
    clock.advance(1)
    assert old not in _published(signer)
    (retired,) = [k for k in store.keys.all() if k.kid == old]
    assert retired.state == "retired"  # the record stays; its derived state is expired
    assert status(retired, clock.now(), window) == "expired"


def test_activation_waits_until_verifiers_can_have_the_next_key(
    store: Store, clock: FakeClock
) -> None:
    _rotate(store, clock)
    waiting = _rotate(store, clock).key
    clock.advance(MIN_NEXT_AGE - 1)
    with pytest.raises(RotationRefused, match="rotate again in 1 s"):
        _rotate(store, clock)
    assert _states(store)[waiting.kid] == "next"
    assert _rotate(store, clock, force=True).step == "activated"


def test_each_algorithm_rotates_on_its_own(store: Store, clock: FakeClock) -> None:
    signer = LocalSigner(store, clock)
    signer.jwks()
    rsa_before = {k.kid for k in store.keys.all() if k.alg == "RS256"}
    _rotate(store, clock, "ES256")
    clock.advance(MIN_NEXT_AGE)
    _rotate(store, clock, "ES256")
    assert {k.kid for k in store.keys.all() if k.alg == "RS256"} == rsa_before
    assert {k.state for k in store.keys.all() if k.alg == "RS256"} == {"active"}


def test_an_interrupted_rotation_leaves_nothing_signing_twice(
    store: Store, clock: FakeClock
) -> None:
    """Two next keys (one rotation ran twice): the newest activates, the other retires."""
    first = _rotate(store, clock).key
    older = keys.generate("ES256", clock.now(), state="next")
    store.keys.put(older)
    clock.advance(1)
    newer = _rotate(store, clock, force=True)  # a next key exists: this activates it
    assert newer.key.kid == older.kid
    clock.advance(1)
    extra = keys.generate("ES256", clock.now(), state="next")
    store.keys.put(extra)
    clock.advance(MIN_NEXT_AGE)
    stray = keys.generate("ES256", clock.now() - MIN_NEXT_AGE - 1, state="next")
    store.keys.put(stray)
    done = _rotate(store, clock)
    assert done.key.kid == extra.kid
    assert sorted(k.kid for k in done.retired) == sorted([older.kid, stray.kid])
    assert [k for k, s in _states(store).items() if s == "active"] == [extra.kid]
    assert _states(store)[first.kid] == "retired"


def test_of_two_racing_activations_one_applies(store: Store, clock: FakeClock) -> None:
    _rotate(store, clock)
    _rotate(store, clock)
    stale: list[SigningKey] = store.keys.all()  # what both operators read
    clock.advance(MIN_NEXT_AGE)
    _rotate(store, clock)
    (waiting,) = [k for k in stale if k.state == "next"]
    (active,) = [k for k in stale if k.state == "active"]
    with pytest.raises(ConditionFailed):
        store.keys.set_states([(waiting, "active"), (active, "retired")], clock.now())
    assert sorted(_states(store).values()) == ["active", "retired"]


def test_the_wait_before_activation_covers_the_jwks_endpoint_s_cache(clock: FakeClock) -> None:
    """MIN_NEXT_AGE assumes what /jwks.json lets caches keep: the two must agree."""
    import re

    from chalicelib import deps as wiring
    from chalicelib.endpoints import jwks
    from chalicelib.http.message import HttpRequest
    from chalicelib.settings import Settings
    from chalicelib.tokens.signer import JWKS_MAX_AGE

    deps = wiring.in_memory(Settings(issuer="https://auth.example.test", table_name="t"), clock)
    answer = jwks.handle(deps, HttpRequest(method="GET", path="/jwks.json"))
    (max_age,) = re.findall(r"max-age=(\d+)", answer.headers["Cache-Control"])
    assert int(max_age) <= JWKS_MAX_AGE
    assert MIN_NEXT_AGE >= JWKS_MAX_AGE + KEY_CACHE_TTL
