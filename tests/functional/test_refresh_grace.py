"""The refresh grace window, an explicit setting (TOLLGATE_REFRESH_GRACE, here 30 s), for
confidential clients only: a lost answer may be retried, and the voided successor it leaves
behind, if ever presented, shows that two parties hold the chain and revokes the grant.

SECURITY.md 28; RFC 9700 4.14.2.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.models import Client
from tests.functional.conftest import Env
from tests.functional.flows import oauth_error, sign_in, token
from tests.support.oauth import REDIRECT, SECRET, Answer, Browser, basic, tollgate

GRACE = 30


@pytest.fixture
def env() -> Iterator[Env]:
    with tollgate(refresh_grace=GRACE) as running:
        for client_id, public in (("rt", False), ("pub", True)):
            running[0].store.clients.create(
                Client(
                    client_id=client_id,
                    name=client_id,
                    client_type="public" if public else "confidential",
                    auth_method="none" if public else "client_secret_basic",
                    redirect_uris=[REDIRECT],
                    grant_types=["authorization_code", "refresh_token"],
                    scopes=["openid", "offline_access"],
                    secret_hash=None if public else digest(SECRET),
                )
            )
        yield running


def _auth(client_id: str) -> tuple[dict[str, str], str | None]:
    return (
        ({"client_id": client_id}, None) if client_id == "pub" else ({}, basic(client_id, SECRET))
    )


def _tokens(browser: Browser, client_id: str = "rt") -> str:
    done = sign_in(browser, client_id=client_id, scope="openid offline_access")
    fields, header = _auth(client_id)
    form = {
        "grant_type": "authorization_code",
        "code": done.code,
        "redirect_uri": REDIRECT,
        "code_verifier": done.verifier or "",
        **fields,
    }
    answer = token(browser, form, header)
    assert answer.status == 200, answer.text
    body: dict[str, Any] = answer.json()
    return str(body["refresh_token"])


def _refresh(browser: Browser, rt: str, client_id: str = "rt") -> Answer:
    fields, header = _auth(client_id)
    return token(browser, {"grant_type": "refresh_token", "refresh_token": rt, **fields}, header)


def _grant_active(deps: Deps, rt: str) -> bool:
    record = deps.store.refresh.get(digest(rt))
    assert record is not None
    grant = deps.store.grants.get(record.grant_id)
    assert grant is not None
    return grant.active


def test_a_lost_answer_can_be_retried_within_the_window(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    first = _tokens(browser)
    lost = _refresh(browser, first).json()["refresh_token"]
    clock.advance(GRACE - 1)
    retried = _refresh(browser, first)
    assert retried.status == 200, retried.text
    current = retried.json()["refresh_token"]
    assert current not in (first, lost)
    assert _grant_active(deps, first)
    assert _refresh(browser, current).status == 200


def test_presenting_the_voided_successor_revokes_the_grant(browser: Browser, deps: Deps) -> None:
    """The race of issue 10: the client rotates RT0 to RT1, an attacker replays RT0 within
    the window and gets RT2, which voids RT1; when the client then presents RT1, the grant
    is revoked, and the attacker's RT2 dies with it."""
    rt0 = _tokens(browser)
    rt1 = _refresh(browser, rt0).json()["refresh_token"]
    replayed = _refresh(browser, rt0)
    assert replayed.status == 200, replayed.text
    rt2 = replayed.json()["refresh_token"]

    body = oauth_error(_refresh(browser, rt1), "invalid_grant")

    assert body["error_description"] == "invalid refresh token"
    record = deps.store.refresh.get(digest(rt0))
    assert record is not None
    grant = deps.store.grants.get(record.grant_id)
    assert grant is not None and grant.revoked_reason == "refresh token reuse"
    oauth_error(_refresh(browser, rt2), "invalid_grant")


def test_after_the_window_a_replay_revokes_the_grant(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    first = _tokens(browser)
    second = _refresh(browser, first).json()["refresh_token"]
    clock.advance(GRACE + 1)
    oauth_error(_refresh(browser, first), "invalid_grant")
    assert not _grant_active(deps, first)
    oauth_error(_refresh(browser, second), "invalid_grant")


def test_a_public_client_gets_no_grace(browser: Browser, deps: Deps) -> None:
    """Anyone can present a public client's token in its name: a replay is always reuse."""
    first = _tokens(browser, "pub")
    second = _refresh(browser, first, "pub")
    assert second.status == 200, second.text
    oauth_error(_refresh(browser, first, "pub"), "invalid_grant")
    assert not _grant_active(deps, first)
    oauth_error(_refresh(browser, second.json()["refresh_token"], "pub"), "invalid_grant")
