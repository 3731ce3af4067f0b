"""Refresh tokens: issued per grant types and offline_access, rotated on every use, reuse
revokes the grant at once (strict by default; the grace window is in test_refresh_grace.py).

SECURITY.md 16, 28; RFC 6749 6; RFC 9700 4.14.2; OIDC Core 11 (offline_access).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.endpoints import token as token_endpoint
from chalicelib.http.message import FORM, HttpRequest
from chalicelib.ids import digest
from chalicelib.stores.models import Client
from tests.functional.flows import oauth_error, sign_in, token
from tests.support.oauth import REDIRECT, SECRET, Answer, Browser, basic


@pytest.fixture(autouse=True)
def clients(deps: Deps) -> None:
    for client_id in ("rt", "rt2"):
        deps.store.clients.create(
            Client(
                client_id=client_id,
                name=f"Refreshing {client_id}",
                client_type="confidential",
                auth_method="client_secret_basic",
                redirect_uris=[REDIRECT],
                grant_types=["authorization_code", "refresh_token"],
                scopes=["openid", "profile", "email", "offline_access", "notes:read"],
                secret_hash=digest(SECRET),
            )
        )


def _tokens(browser: Browser, scope: str, client_id: str = "rt") -> dict[str, Any]:
    done = sign_in(browser, client_id=client_id, scope=scope)
    form = {
        "grant_type": "authorization_code",
        "code": done.code,
        "redirect_uri": REDIRECT,
        "code_verifier": done.verifier or "",
    }
    answer = token(browser, form, basic(client_id, SECRET))
    assert answer.status == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _refresh(browser: Browser, rt: str, client_id: str = "rt", **extra: str) -> Answer:
    form = {"grant_type": "refresh_token", "refresh_token": rt, **extra}
    return token(browser, form, basic(client_id, SECRET))


def _grant_id(deps: Deps, rt: str) -> str:
    record = deps.store.refresh.get(digest(rt))
    assert record is not None
    return record.grant_id


def test_offline_access_brings_a_refresh_token(browser: Browser) -> None:
    body = _tokens(browser, "openid offline_access")
    assert len(body["refresh_token"]) >= 43
    assert "id_token" in body


def test_no_offline_access_no_refresh_token_for_openid(browser: Browser) -> None:
    body = _tokens(browser, "openid profile")
    assert "refresh_token" not in body


def test_plain_oauth_client_with_the_grant_gets_one(browser: Browser) -> None:
    body = _tokens(browser, "notes:read")
    assert "refresh_token" in body
    assert "id_token" not in body


def test_client_without_the_grant_never_gets_one(browser: Browser) -> None:
    done = sign_in(browser, client_id="web", scope="openid profile")
    form = {
        "grant_type": "authorization_code",
        "code": done.code,
        "redirect_uri": REDIRECT,
        "code_verifier": done.verifier or "",
    }
    answer = token(browser, form, basic("web", SECRET))
    assert "refresh_token" not in answer.json()


def test_every_use_rotates(browser: Browser) -> None:
    first = _tokens(browser, "openid offline_access profile")["refresh_token"]
    answer = _refresh(browser, first)
    assert answer.status == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["refresh_token"] != first
    assert body["token_type"] == "Bearer"
    assert set(body["scope"].split()) == {"openid", "offline_access", "profile"}
    assert "id_token" in body
    again = _refresh(browser, body["refresh_token"])
    assert again.status == 200


def test_a_rotated_token_presented_again_is_refused_at_once_and_revokes_the_grant(
    browser: Browser, deps: Deps
) -> None:
    """SECURITY.md 16, 28: strict by default: replaying a rotated token, even a second
    after its rotation, is invalid_grant and the whole grant is revoked."""
    assert deps.settings.refresh_grace == 0
    first = _tokens(browser, "openid offline_access")["refresh_token"]
    second = _refresh(browser, first).json()["refresh_token"]
    oauth_error(_refresh(browser, first), "invalid_grant")
    grant = deps.store.grants.get(_grant_id(deps, first))
    assert grant is not None and grant.revoked_at is not None
    assert grant.revoked_reason == "refresh token reuse"
    # The legitimate holder's current token dies with the grant.
    oauth_error(_refresh(browser, second), "invalid_grant")


def test_reuse_after_the_successor_was_used_revokes(browser: Browser, deps: Deps) -> None:
    first = _tokens(browser, "openid offline_access")["refresh_token"]
    second = _refresh(browser, first).json()["refresh_token"]
    third = _refresh(browser, second).json()["refresh_token"]
    oauth_error(_refresh(browser, first), "invalid_grant")
    oauth_error(_refresh(browser, third), "invalid_grant")


def test_scope_can_narrow_but_never_widen(browser: Browser) -> None:
    rt = _tokens(browser, "openid offline_access profile")["refresh_token"]
    narrowed = _refresh(browser, rt, scope="openid")
    assert narrowed.status == 200
    body = narrowed.json()
    assert body["scope"] == "openid"
    # The successor keeps the original scopes: a later refresh may ask for all of them.
    full = _refresh(browser, body["refresh_token"])
    assert set(full.json()["scope"].split()) == {"openid", "offline_access", "profile"}
    widened = _refresh(browser, full.json()["refresh_token"], scope="openid email")
    oauth_error(widened, "invalid_scope")


def test_another_client_cannot_use_it(browser: Browser, deps: Deps) -> None:
    """SECURITY.md 15: client B cannot redeem client A's refresh token."""
    rt = _tokens(browser, "openid offline_access")["refresh_token"]
    oauth_error(_refresh(browser, rt, client_id="rt2"), "invalid_grant")
    record = deps.store.refresh.get(digest(rt))
    assert record is not None and record.consumed_by is None  # untouched for its owner
    assert _refresh(browser, rt).status == 200


def test_expired_refresh_tokens_are_refused(browser: Browser, deps: Deps, clock: FakeClock) -> None:
    rt = _tokens(browser, "openid offline_access")["refresh_token"]
    clock.advance(deps.settings.refresh_token_ttl)
    oauth_error(_refresh(browser, rt), "invalid_grant")


def test_code_reuse_kills_the_refresh_token(browser: Browser, deps: Deps) -> None:
    """SECURITY.md 14: a second redemption revokes the grant and its refresh tokens."""
    done = sign_in(browser, client_id="rt", scope="openid offline_access")
    form = {
        "grant_type": "authorization_code",
        "code": done.code,
        "redirect_uri": REDIRECT,
        "code_verifier": done.verifier or "",
    }
    rt = token(browser, form, basic("rt", SECRET)).json()["refresh_token"]
    oauth_error(token(browser, form, basic("rt", SECRET)), "invalid_grant")
    oauth_error(_refresh(browser, rt), "invalid_grant")


def test_unknown_and_malformed_refresh_tokens(browser: Browser) -> None:
    oauth_error(_refresh(browser, "nope"), "invalid_grant")
    oauth_error(_refresh(browser, "x" * 500), "invalid_grant")
    missing = token(browser, {"grant_type": "refresh_token"}, basic("rt", SECRET))
    oauth_error(missing, "invalid_request")


def test_parallel_uses_leave_exactly_one_live_token(browser: Browser, deps: Deps) -> None:
    """50 concurrent refreshes of one token: at the end the grant has one usable token.

    The threads call the endpoint directly: chalice.test.Client swaps os.environ per
    request, which is not safe across threads.
    """
    rt = _tokens(browser, "openid offline_access")["refresh_token"]
    body = urlencode({"grant_type": "refresh_token", "refresh_token": rt}).encode()
    request = HttpRequest(
        method="POST",
        path="/token",
        headers={"content-type": FORM, "authorization": basic("rt", SECRET)},
        body=body,
    )
    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(lambda _: token_endpoint.handle(deps, request).status, range(50)))
    assert set(statuses) <= {200, 400}
    assert 200 in statuses
    grant_id = _grant_id(deps, rt)
    live = [
        item
        for item in deps.store.table.scan_prefix("RT#")
        if item["grant_id"] == grant_id and "consumed_by" not in item
    ]
    assert len(live) == 1
