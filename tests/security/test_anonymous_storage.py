"""SECURITY.md item 31: an anonymous request stores little.

Every anonymous GET /authorize with a valid client stores a pending authorization until
sign-in. What an attacker can put in it is bounded (state and nonce 512 characters,
login_hint 256; chalicelib/endpoints/authorization_request.py), and so is the number of
them one source address can make per window (TOLLGATE_AUTHORIZE_LIMIT_IP, IPv6 per /56):
past it, a 429 page and nothing stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.endpoints import authorization_request
from chalicelib.settings import SettingsError, load_settings
from chalicelib.stores.table import Item
from tests.security.conftest import Server, auth_params, authorize_path, raw_items
from tests.security.test_rate_limit import Addresses, addresses
from tests.support.oauth import pkce_pair, tollgate

__all__ = ["addresses"]  # the fixture, shared with test_rate_limit

LIMIT = 3
WINDOW = 300
ITEM_BOUND = 2048  # bytes: at most two DynamoDB write units (it was about 10.8 KB)


@pytest.fixture
def server() -> Iterator[Server]:
    with tollgate(authorize_limit_ip=LIMIT, authorize_window=WINDOW) as (deps, clock, http):
        yield Server(deps, clock, http)


def dynamodb_size(value: Any) -> int:
    """An item's size as DynamoDB bills it (names + values), rounded up a little."""
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int):
        return len(str(value)) // 2 + 2
    if isinstance(value, list):
        return 3 + sum(1 + dynamodb_size(v) for v in value)
    assert isinstance(value, dict), value
    return 3 + sum(len(k.encode("utf-8")) + 1 + dynamodb_size(v) for k, v in value.items())


def interactions(server: Server) -> list[Item]:
    return [i for i in raw_items(server.deps) if str(i["pk"]).startswith("INTERACTION#")]


def largest_request(**overrides: str) -> dict[str, str]:
    _, challenge = pkce_pair()
    widest = {
        "state": "s" * authorization_request.MAX_STATE,
        "nonce": "n" * authorization_request.MAX_NONCE,
        "login_hint": "h" * authorization_request.MAX_LOGIN_HINT,
        "scope": "openid profile email",
        "prompt": "login consent",
        "max_age": "9999999999",
    }
    return auth_params("web", challenge=challenge, **{**widest, **overrides})


def test_a_pending_authorization_at_every_maximum_is_small(server: Server) -> None:
    """SECURITY.md 31: every attacker-chosen parameter at its maximum length: the item stored
    stays under 2 KB (two write units)."""
    answer = server.default_browser.get(authorize_path(largest_request()))
    assert answer.status == 303, answer.text

    [stored] = interactions(server)
    assert stored["state"] == "s" * authorization_request.MAX_STATE
    size = sum(len(k) + dynamodb_size(v) for k, v in stored.items())
    assert size <= ITEM_BOUND, size


@pytest.mark.parametrize(
    ("name", "length"),
    [
        ("state", authorization_request.MAX_STATE + 1),
        ("nonce", authorization_request.MAX_NONCE + 1),
        ("login_hint", authorization_request.MAX_LOGIN_HINT + 1),
        ("nonce", 4096),
    ],
)
def test_longer_parameters_are_refused_and_nothing_is_stored(
    server: Server, name: str, length: int
) -> None:
    """SECURITY.md 31: one character over the documented maximum is invalid_request, sent
    back to the client; no pending authorization is stored."""
    answer = server.default_browser.get(authorize_path(largest_request(**{name: "x" * length})))
    assert answer.status == 303
    assert answer.location is not None and "error=invalid_request" in answer.location
    assert interactions(server) == []


def anonymous(server: Server) -> int:
    """One anonymous authorization request from a fresh browser: its status."""
    _, challenge = pkce_pair()
    return server.browser().get(authorize_path(auth_params("web", challenge=challenge))).status


def test_pending_authorizations_per_source_are_bounded(
    server: Server, addresses: Addresses
) -> None:
    """SECURITY.md 31: LIMIT per window from one address, then a 429 page with Retry-After and
    nothing stored; other addresses go on, and the next window starts afresh."""
    addresses.use("203.0.113.7")
    assert [anonymous(server) for _ in range(LIMIT)] == [303] * LIMIT

    _, challenge = pkce_pair()
    answer = server.browser().get(authorize_path(auth_params("web", challenge=challenge)))
    assert answer.status == 429
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["retry-after"] == str(WINDOW)
    assert answer.location is None
    assert "Too many sign-in requests" in answer.text
    assert len(interactions(server)) == LIMIT

    addresses.use("198.51.100.23")
    assert anonymous(server) == 303
    server.clock.advance(WINDOW)
    addresses.use("203.0.113.7")
    assert anonymous(server) == 303


def test_one_ipv6_56_is_one_source(server: Server, addresses: Addresses) -> None:
    """SECURITY.md 31 and 32: hopping through the /64s of one /56 does not reset the bound."""
    for net in range(0x100, 0x100 + LIMIT):
        addresses.use(f"2001:db8:1:{net:x}::1")
        assert anonymous(server) == 303
    addresses.use("2001:db8:1:1ff::1")
    assert anonymous(server) == 429
    addresses.use("2001:db8:1:200::1")
    assert anonymous(server) == 303


def test_a_signed_in_request_answered_at_once_is_not_counted(
    server: Server, addresses: Addresses
) -> None:
    """Only stored pending authorizations count: a signed-in user with consent gets codes."""
    addresses.use("203.0.113.7")
    for _ in range(LIMIT + 2):
        server.sign_in("web", browser=server.default_browser)


def test_the_bound_is_configurable() -> None:
    """SECURITY.md 31: TOLLGATE_AUTHORIZE_WINDOW (60 to 86400 s) and _LIMIT_IP, 300 / 300 s."""
    base = {"TOLLGATE_ISSUER": "https://auth.example.test", "TOLLGATE_TABLE": "t"}
    defaults = load_settings(base)
    assert (defaults.authorize_window, defaults.authorize_limit_ip) == (300, 300)
    env = {**base, "TOLLGATE_AUTHORIZE_WINDOW": "600", "TOLLGATE_AUTHORIZE_LIMIT_IP": "20"}
    assert (load_settings(env).authorize_window, load_settings(env).authorize_limit_ip) == (600, 20)
    with pytest.raises(SettingsError, match="TOLLGATE_AUTHORIZE_LIMIT_IP"):
        load_settings({**base, "TOLLGATE_AUTHORIZE_LIMIT_IP": "0"})
