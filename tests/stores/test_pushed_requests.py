"""Pushed authorization requests in the table (RFC 9126, SECURITY.md 63): a request_uri is
taken once, by one conditional write; an expired one is gone."""

from __future__ import annotations

from chalicelib.clock import FakeClock
from chalicelib.stores.models import PushedRequest
from chalicelib.stores.repository import Store


def pushed(clock: FakeClock, handle_hash: str = "h" * 64) -> PushedRequest:
    params = {"client_id": ["web"], "scope": ["openid"], "resource": ["a", "b"]}
    return PushedRequest(handle_hash, "web", params, clock.now() + 60)


def test_a_pushed_request_is_taken_once(store: Store, clock: FakeClock) -> None:
    store.pushed.put(pushed(clock))

    first = store.pushed.take("h" * 64, "consumer-1")
    second = store.pushed.take("h" * 64, "consumer-2")

    assert first is not None
    assert first.params == {"client_id": ["web"], "scope": ["openid"], "resource": ["a", "b"]}
    assert first.consumed_by == "consumer-1"
    assert second is None  # SECURITY.md 63: single use


def test_an_expired_pushed_request_cannot_be_taken(store: Store, clock: FakeClock) -> None:
    store.pushed.put(pushed(clock))
    clock.advance(60)

    assert store.pushed.take("h" * 64, "consumer-1") is None


def test_an_unknown_request_uri_takes_nothing(store: Store, clock: FakeClock) -> None:
    store.pushed.put(pushed(clock))

    assert store.pushed.take("x" * 64, "consumer-1") is None
    assert store.pushed.take("h" * 64, "consumer-2") is not None
