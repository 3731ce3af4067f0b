"""SECURITY.md items 14-15: authorization codes are single use, short-lived and bound."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest

from chalicelib.endpoints import token
from chalicelib.http.message import HttpRequest
from chalicelib.ids import digest
from chalicelib.settings import SettingsError, load_settings
from chalicelib.stores.records import AlreadyUsed
from tests.security.conftest import REDIRECT, Flow, Server, claims_of, client_auth
from tests.support.oauth import Answer

PARALLEL = 50  # the issue asks for 50 parallel redemptions


def assert_invalid_grant(answer: Answer) -> None:
    assert answer.status == 400, (answer.status, answer.text)
    assert answer.json()["error"] == "invalid_grant", answer.text


def grant_id_of(answer: Answer) -> str:
    gid: str = claims_of(answer.json()["access_token"])["gid"]
    return gid


def grant_of_code(server: Server, flow: Flow) -> str:
    item = server.deps.store.table.get(f"CODE#{digest(flow.code)}", "CODE")
    assert item is not None
    return str(item["grant_id"])


# -- single use -------------------------------------------------------------------------------


def test_second_redemption_is_invalid_grant_and_revokes_the_grant(server: Server) -> None:
    """SECURITY.md 14; RFC 6749 4.1.2 and 10.5, RFC 9700 4.5: reuse revokes the grant."""
    flow = server.sign_in("web")
    first = server.redeem(flow)
    assert first.status == 200, first.text
    gid = grant_id_of(first)
    grant = server.deps.store.grants.get(gid)
    assert grant is not None and grant.revoked_at is None
    assert_invalid_grant(server.redeem(flow))
    grant = server.deps.store.grants.get(gid)
    assert grant is not None
    assert grant.revoked_at is not None
    assert not grant.active


def test_third_redemption_is_still_refused(server: Server) -> None:
    """SECURITY.md 14; RFC 6749 4.1.2: a code never comes back to life."""
    flow = server.sign_in("web")
    assert server.redeem(flow).status == 200
    for _ in range(2):
        assert_invalid_grant(server.redeem(flow))


def test_reuse_of_code_from_another_grant_leaves_other_grants_alone(server: Server) -> None:
    """SECURITY.md 14; RFC 9700 4.5: only the grant the reused code belongs to is revoked."""
    first, second = server.sign_in("web"), server.sign_in("web")
    gid_first = grant_id_of(server.redeem(first))
    gid_second = grant_id_of(server.redeem(second))
    assert gid_first != gid_second
    assert_invalid_grant(server.redeem(first))
    revoked, untouched = (
        server.deps.store.grants.get(gid_first),
        server.deps.store.grants.get(gid_second),
    )
    assert revoked is not None and revoked.revoked_at is not None
    assert untouched is not None and untouched.revoked_at is None


# -- lifetime ---------------------------------------------------------------------------------


def test_code_works_at_59_seconds(server: Server) -> None:
    """SECURITY.md 14; RFC 6749 4.1.2 (short lifetime), default 60 s: still valid before."""
    flow = server.sign_in("web")
    server.clock.advance(59)
    assert server.redeem(flow).status == 200


def test_code_expires_after_60_seconds(server: Server) -> None:
    """SECURITY.md 14; RFC 6749 4.1.2 ("maximum ... of 10 minutes"), default 60 s."""
    flow = server.sign_in("web")
    server.clock.advance(61)
    assert_invalid_grant(server.redeem(flow))


def test_default_code_lifetime_is_60_seconds(server: Server) -> None:
    """SECURITY.md 14; RFC 6749 4.1.2: the stored expiry is exactly 60 s after issue."""
    issued = server.clock.now()
    flow = server.sign_in("web")
    item = server.deps.store.table.get(f"CODE#{digest(flow.code)}", "CODE")
    assert item is not None
    assert item["expires_at"] == issued + 60
    assert item["ttl"] == issued + 60


BASE_ENV = {"TOLLGATE_ISSUER": "https://auth.example.test", "TOLLGATE_TABLE": "t"}


@pytest.mark.parametrize("value", ["601", "3600", "0", "-1", "86400"])
def test_settings_refuse_code_lifetimes_outside_10_minutes(value: str) -> None:
    """SECURITY.md 14; RFC 6749 4.1.2: TOLLGATE_CODE_TTL above 600 s is a settings error."""
    with pytest.raises(SettingsError):
        load_settings({**BASE_ENV, "TOLLGATE_CODE_TTL": value})


@pytest.mark.parametrize(("value", "expected"), [(None, 60), ("1", 1), ("600", 600)])
def test_settings_accept_code_lifetimes_up_to_10_minutes(value: str | None, expected: int) -> None:
    """SECURITY.md 14; RFC 6749 4.1.2: the default is 60 s and 600 s is the ceiling."""
    env = dict(BASE_ENV)
    if value is not None:
        env["TOLLGATE_CODE_TTL"] = value
    assert load_settings(env).code_ttl == expected


# -- bindings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("thief", ["post", "spa"])
def test_code_is_bound_to_its_client(server: Server, thief: str) -> None:
    """SECURITY.md 14, 15; RFC 6749 4.1.3, 10.5: client B cannot redeem client A's code."""
    flow = server.sign_in("web")
    answer = server.redeem(flow, client_id=thief)
    assert_invalid_grant(answer)
    assert "access_token" not in answer.json()


@pytest.mark.parametrize("thief", ["post", "spa"])
def test_a_used_code_presented_by_another_client_revokes_nothing(
    server: Server, thief: str
) -> None:
    """SECURITY.md 14, 15 (issue 16): the client is checked before the reuse check. A public
    client authenticates with its id alone, so a leaked, already used code must not let
    anyone revoke its owner's grant; a reuse by the code's own client still revokes."""
    flow = server.sign_in("web")
    first = server.redeem(flow)
    assert first.status == 200, first.text
    gid = grant_id_of(first)

    assert_invalid_grant(server.redeem(flow, client_id=thief))

    grant = server.deps.store.grants.get(gid)
    assert grant is not None and grant.active
    assert_invalid_grant(server.redeem(flow))
    grant = server.deps.store.grants.get(gid)
    assert grant is not None and grant.revoked_reason == "code reuse"


def test_public_clients_code_is_bound_to_it(server: Server) -> None:
    """SECURITY.md 15; RFC 6749 4.1.3: a confidential client cannot take a public client's code."""
    flow = server.sign_in("spa")
    assert_invalid_grant(server.redeem(flow, client_id="web"))


@pytest.mark.parametrize(
    "other_uri",
    [
        "http://127.0.0.1/cb",  # registered for spa, but not the one used
        "https://app.example/cb/",
        "https://evil.example/cb",
    ],
)
def test_code_is_bound_to_its_redirect_uri(server: Server, other_uri: str) -> None:
    """SECURITY.md 14; RFC 6749 4.1.3: redirect_uri must be identical to the request's."""
    flow = server.sign_in("spa", redirect_uri=REDIRECT)
    assert_invalid_grant(server.redeem(flow, redirect_uri=other_uri))


def test_code_needs_the_redirect_uri_it_was_requested_with(server: Server) -> None:
    """SECURITY.md 14; RFC 6749 4.1.3: redirect_uri is REQUIRED when the request had one."""
    flow = server.sign_in("web")
    assert_invalid_grant(server.redeem(flow, omit=("redirect_uri",)))


def test_loopback_code_is_bound_to_its_port(server: Server) -> None:
    """SECURITY.md 14; RFC 6749 4.1.3, RFC 8252 7.3: the port used is part of the binding."""
    flow = server.sign_in("spa", redirect_uri="http://127.0.0.1:54321/cb")
    assert_invalid_grant(server.redeem(flow, redirect_uri="http://127.0.0.1:54322/cb"))


def test_code_is_bound_to_its_pkce_challenge(server: Server) -> None:
    """SECURITY.md 14; RFC 7636 4.6: the verifier of another authorization does not fit."""
    first, second = server.sign_in("spa"), server.sign_in("spa")
    assert_invalid_grant(server.redeem(first, verifier=second.verifier))
    assert server.redeem(second).status == 200


# -- concurrency and retries ------------------------------------------------------------------


def test_parallel_redemptions_exactly_one_succeeds(server: Server) -> None:
    """SECURITY.md 14; RFC 6749 4.1.2, RFC 9700 4.5: a race of N redemptions has one winner."""
    flow = server.sign_in("web")
    headers, fields = client_auth("web")
    body = urlencode(
        {
            "grant_type": "authorization_code",
            "code": flow.code,
            "redirect_uri": REDIRECT,
            "code_verifier": flow.verifier or "",
            **fields,
        }
    ).encode()
    request = HttpRequest(
        method="POST",
        path="/token",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            **{k.lower(): v for k, v in headers.items()},
        },
        body=body,
    )
    barrier = threading.Barrier(PARALLEL)

    def attempt(_: int) -> tuple[int, str]:
        barrier.wait()
        response = token.handle(server.deps, request)
        return response.status, response.body

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        results = list(pool.map(attempt, range(PARALLEL)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [400] * (PARALLEL - 1), statuses
    assert all('"invalid_grant"' in body for status, body in results if status == 400)


def test_retried_claim_by_the_same_consumer_is_not_reuse(server: Server) -> None:
    """SECURITY.md 14; RFC 9700 4.5: a retried write whose first answer was lost is no attack."""
    flow = server.sign_in("web")
    store = server.deps.store
    first = store.codes.get(digest(flow.code))
    assert first is not None
    store.codes.redeem(first, "consumer-1", None, server.clock.now())
    store.codes.redeem(first, "consumer-1", None, server.clock.now())
    again = store.codes.get(digest(flow.code))
    assert again is not None and again.consumed_by == "consumer-1"
    grant = store.grants.get(first.grant_id)
    assert grant is not None and grant.revoked_at is None
    with pytest.raises(AlreadyUsed) as reused:
        store.codes.redeem(first, "consumer-2", None, server.clock.now())
    assert reused.value.record.grant_id == first.grant_id


def test_unknown_code_is_not_reuse(server: Server) -> None:
    """SECURITY.md 14; RFC 6749 5.2: a code never issued is invalid_grant and revokes nothing."""
    flow = server.sign_in("web")
    assert server.deps.store.codes.get(digest("never-issued")) is None
    forged = Flow("x" * 43, flow.verifier, "web", REDIRECT, "", flow.browser)
    assert_invalid_grant(server.redeem(forged))
    assert server.redeem(flow).status == 200


def test_expired_code_is_not_reuse(server: Server) -> None:
    """SECURITY.md 14, 24, 35; RFC 6749 4.1.2: an expired code is refused and creates no
    grant (a grant exists only once its code is redeemed)."""
    flow = server.sign_in("web")
    gid = grant_of_code(server, flow)
    server.clock.advance(61)
    assert_invalid_grant(server.redeem(flow))
    assert server.deps.store.grants.get(gid) is None
