"""The token endpoint when DynamoDB is throttled: 503 temporarily_unavailable with
Retry-After, nothing half-written, nothing already granted lost (SECURITY.md 25; the
issue's "a throttled DynamoDB call returns 503 and leaves state unchanged").

Runs the app on DynamoDB (moto) with the throttle of tests/functional/test_revocation_faults.py.
"""

from __future__ import annotations

from chalicelib.ids import digest
from tests.functional.flows import authorize_path, finish, to_client, token
from tests.functional.test_revocation_faults import Running, a_refresh_token, running
from tests.support.oauth import REDIRECT, SECRET, Answer, basic, pkce_pair

__all__ = ["running"]


def _unavailable(answer: Answer) -> None:
    assert answer.status == 503, (answer.status, answer.text)
    assert answer.json()["error"] == "temporarily_unavailable"
    assert answer.headers["retry-after"]
    assert answer.headers["cache-control"] == "no-store"
    assert "access_token" not in answer.text


def _snapshot(run: Running) -> list[dict[str, object]]:
    run.deps.signer.jwks()  # the signing keys exist first: their creation is no change here
    out = run.client.scan(TableName="tollgate-faults")
    items: list[dict[str, object]] = out["Items"]
    return sorted(items, key=lambda i: (str(i["pk"]), str(i["sk"])))


def test_a_throttled_code_redemption_leaves_the_code_usable(running: Running) -> None:
    verifier, challenge = pkce_pair()
    path = authorize_path(client_id="rt", scope="openid offline_access", challenge=challenge)
    code = to_client(finish(running.browser, running.browser.get(path)))["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    before = _snapshot(running)
    hook = running.throttle("TransactWriteItems")
    hook.on = True
    _unavailable(token(running.browser, form, basic("rt", SECRET)))
    assert hook.refused == ["TransactWriteItems"]
    assert _snapshot(running) == before  # no code consumed, no refresh token written
    hook.on = False
    retried = token(running.browser, form, basic("rt", SECRET))
    assert retried.status == 200, retried.text  # not mistaken for reuse
    assert "refresh_token" in retried.json()


def test_a_throttled_rotation_leaves_the_refresh_token_usable(running: Running) -> None:
    presented, grant_id = a_refresh_token(running.deps)
    form = {"grant_type": "refresh_token", "refresh_token": presented}
    before = _snapshot(running)
    hook = running.throttle("TransactWriteItems")
    hook.on = True
    _unavailable(token(running.browser, form, basic("rt", SECRET)))
    assert _snapshot(running) == before
    hook.on = False
    assert token(running.browser, form, basic("rt", SECRET)).status == 200
    grant = running.deps.store.grants.get(grant_id)
    assert grant is not None and grant.active
    old = running.deps.store.refresh.get(digest(presented))
    assert old is not None and old.consumed_by is not None


def test_a_throttled_read_is_503_not_invalid_grant(running: Running) -> None:
    presented, _grant_id = a_refresh_token(running.deps)
    form = {"grant_type": "refresh_token", "refresh_token": presented}
    hook = running.throttle("GetItem", touching='"RT#')
    hook.on = True
    _unavailable(token(running.browser, form, basic("rt", SECRET)))
    hook.on = False
    assert token(running.browser, form, basic("rt", SECRET)).status == 200
