"""SECURITY.md item 17: secrets are long and random, stored only as hashes, compared safely."""

from __future__ import annotations

import base64
import hmac
import math
import re
import secrets
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib import ids
from chalicelib.protocol.pkce import s256
from tests.security.conftest import (
    PASSWORD,
    SECRET,
    Server,
    auth_params,
    dumps,
    raw_items,
)
from tests.support.oauth import action_of, basic, csrf_of

BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")
MIN_BITS = 128


def bits(value: str) -> float:
    """Upper bound on the entropy a base64url string can carry."""
    return len(value) * math.log2(64)


def assert_strong(value: str) -> None:
    assert BASE64URL.match(value), value
    assert bits(value) >= MIN_BITS, (len(value), value)
    assert len(value) >= 43, value


def test_new_secret_has_at_least_128_bits() -> None:
    """SECURITY.md 17; RFC 6749 10.10, RFC 6819 5.1.4.2.2: >= 128 bits, base64url."""
    samples = [ids.new_secret() for _ in range(200)]
    for value in samples:
        assert_strong(value)
        assert len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))) >= MIN_BITS // 8
    assert len(set(samples)) == len(samples)
    # 200 random 256-bit values use the whole alphabet; a counter or a clock would not.
    assert len(set("".join(samples))) >= 60


def test_new_id_has_at_least_128_bits() -> None:
    """SECURITY.md 17; RFC 6749 10.10: unguessable identifiers (interaction ids) too."""
    value = ids.new_id()
    assert BASE64URL.match(value)
    assert bits(value) >= MIN_BITS


def test_secrets_come_from_the_secrets_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """SECURITY.md 17; RFC 6749 10.10 (CSPRNG): new_secret draws from `secrets`, >= 16 bytes."""
    calls: list[int | None] = []
    real: Callable[[int | None], str] = secrets.token_urlsafe

    def spy(nbytes: int | None = None) -> str:
        calls.append(nbytes)
        return real(nbytes)

    monkeypatch.setattr("chalicelib.ids.secrets.token_urlsafe", spy)
    ids.new_secret()
    ids.new_id()
    # Two draws, or more when a draw starting with "-" was redrawn (SECURITY.md item 40).
    assert len(calls) >= 2
    assert all(n is not None and n >= MIN_BITS // 8 for n in calls), calls


def test_code_and_session_cookie_are_long_and_random(server: Server) -> None:
    """SECURITY.md 17; RFC 6749 10.10, RFC 6819 5.1.4.2.2: real codes and cookies, >= 128 bits."""
    first, second = server.sign_in("web"), server.sign_in("web", browser=server.browser())
    for flow in (first, second):
        assert_strong(flow.code)
        for name, value in flow.browser.cookies.items():
            assert "tollgate" in name
            assert_strong(value)
    assert first.code != second.code
    assert set(first.browser.cookies.values()).isdisjoint(second.browser.cookies.values())


def test_client_secrets_from_the_admin_tool_are_long_and_random(server: Server) -> None:
    """SECURITY.md 17; RFC 6749 2.3.1, 10.10: a generated client secret has >= 128 bits."""
    from chalicelib.admin.cli import build_parser

    made: list[str] = []
    for client_id in ("gen-1", "gen-2"):
        args = build_parser().parse_args(
            [
                "client",
                "create",
                "--name",
                "Generated",
                "--client-id",
                client_id,
                "--redirect-uri",
                "https://gen.example/cb",
            ]
        )
        result = args.handler(args, server.deps.store)
        secret: str = result.data["client_secret"]
        assert_strong(secret)
        made.append(secret)
        client = server.deps.store.clients.get(client_id)
        assert client is not None
        assert client.secret_hash == ids.digest(secret)
        assert secret not in " ".join(dumps(i) for i in raw_items(server.deps))
    assert made[0] != made[1]


def test_store_holds_only_hashes(server: Server) -> None:
    """SECURITY.md 17; RFC 6819 5.1.4.1.3, 5.1.4.2.2: no code, cookie, secret or password kept."""
    browser = server.browser()
    flow = server.sign_in("web", browser=browser)
    answer = server.redeem(flow)
    assert answer.status == 200
    post_flow = server.sign_in("post", browser=browser)
    assert server.redeem(post_flow).status == 200
    access_token: str = answer.json()["access_token"]
    assert len(browser.cookies) == 3  # session, browser binding, known device (item 32)
    secrets_seen = {
        "code": flow.code,
        "second code": post_flow.code,
        "client secret": SECRET,
        "password": PASSWORD,
        "access token": access_token,
        "id token": answer.json().get("id_token", access_token),
        "code verifier": flow.verifier or "",
        **{f"cookie {name}": value for name, value in browser.cookies.items()},
    }
    everything = "\n".join(dumps(item) for item in raw_items(server.deps))
    assert "CODE#" in everything and "SESSION#" in everything  # the scan sees the records
    for what, value in secrets_seen.items():
        assert value, what
        assert value not in everything, f"{what} is stored in the clear"
    # What is stored instead: the hashes.
    assert f"CODE#{ids.digest(flow.code)}" in everything
    assert ids.digest(SECRET) in everything


def test_stored_hash_is_sha256_of_the_secret() -> None:
    """SECURITY.md 17; RFC 6819 5.1.4.1.3: the stored form is a one-way hash of the secret."""
    value = ids.new_secret()
    stored = ids.digest(value)
    assert re.fullmatch(r"[0-9a-f]{64}", stored)
    assert value not in stored
    assert ids.digest(value) == stored
    assert ids.digest(value + "x") != stored


class CompareSpy:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, Any]] = []
        self.real = hmac.compare_digest

    def __call__(self, a: Any, b: Any) -> bool:
        self.calls.append((a, b))
        return self.real(a, b)

    def compared(self, value: str) -> bool:
        wanted = value.encode()
        return any(wanted in (a, b) for a, b in self.calls)


@pytest.fixture
def compare_spy(monkeypatch: pytest.MonkeyPatch) -> CompareSpy:
    spy = CompareSpy()
    monkeypatch.setattr("chalicelib.ids.hmac.compare_digest", spy)
    return spy


def test_client_secret_comparison_uses_compare_digest(
    server: Server, compare_spy: CompareSpy
) -> None:
    """SECURITY.md 17; RFC 6819 5.1.4.1.3: secrets compared with hmac.compare_digest."""
    answer = server.token(
        {"grant_type": "authorization_code", "code": "nope"},
        headers={"Authorization": basic("web", "wrong secret")},
    )
    assert answer.status == 401
    assert compare_spy.compared(ids.digest(SECRET))
    assert compare_spy.compared(ids.digest("wrong secret"))


def test_code_exchange_comparisons_use_compare_digest(server: Server) -> None:
    """SECURITY.md 17; RFC 7636 4.6, RFC 6819 5.1.4.1.3: PKCE and client checks, constant-time."""
    flow = server.sign_in("post")
    spy = CompareSpy()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("chalicelib.ids.hmac.compare_digest", spy)
        answer = server.redeem(flow)
    assert answer.status == 200, answer.text
    assert spy.compared(ids.digest(SECRET))
    assert flow.verifier is not None
    assert spy.compared(s256(flow.verifier))


def test_csrf_comparison_uses_compare_digest(server: Server) -> None:
    """SECURITY.md 17, 6; RFC 6819 5.1.4.1.3: the form token is compared in constant time."""
    browser = server.browser()
    page = browser.follow(server.authorize(browser, auth_params("web")))
    token = csrf_of(page.text)
    spy = CompareSpy()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("chalicelib.ids.hmac.compare_digest", spy)
        form = {"csrf": token, "username": "alice", "password": PASSWORD}
        answer = browser.post_form(action_of(page.text), form)
    assert answer.status == 303
    assert spy.compared(token)
