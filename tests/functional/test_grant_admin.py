"""An admin ends a user's authorization of a client (Store.consents.revoke, the store call of
`tollgate grant revoke --user U --client C`): its tokens stop and consent is asked again."""

from __future__ import annotations

import pytest

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from tests.functional.flows import authorize_path, oauth_error, step_of
from tests.functional.revoking import (
    add_clients,
    introspected,
    refresh,
    user_tokens,
)
from tests.functional.test_revocation import userinfo
from tests.support.oauth import Browser


@pytest.fixture(autouse=True)
def clients(deps: Deps) -> None:
    add_clients(deps)


def test_revoking_consent_ends_the_grants_tokens_and_asks_consent_again(
    browser: Browser, deps: Deps
) -> None:
    tokens = user_tokens(browser, client_id="rt")
    other = user_tokens(browser, client_id="rt2")  # another client of the same user
    assert userinfo(browser, tokens["access_token"]).status == 200
    assert introspected(browser, tokens["access_token"])["active"] is True
    [grant] = [g for g in deps.store.grants.list_for("sub-alice") if g.client_id == "rt"]

    revoked = deps.store.consents.revoke("sub-alice", "rt", deps.clock.now(), "consent revoked")

    assert revoked == [grant.grant_id]
    oauth_error(refresh(browser, tokens["refresh_token"]), "invalid_grant")
    assert userinfo(browser, tokens["access_token"]).status == 401
    assert introspected(browser, tokens["access_token"]) == {"active": False}
    assert introspected(browser, tokens["refresh_token"]) == {"active": False}
    # Still signed in, but the consent is gone: the next authorization asks for it.
    path = authorize_path(client_id="rt", scope="openid offline_access notes:read")
    assert step_of(browser.get(path)) == "consent"
    # The other client's authorization is untouched.
    assert userinfo(browser, other["access_token"]).status == 200
    assert refresh(browser, other["refresh_token"], client_id="rt2").status == 200


def test_a_new_authorization_after_revocation_is_a_new_active_grant(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    first = user_tokens(browser)
    deps.store.consents.revoke("sub-alice", "rt", clock.now(), "consent revoked")
    clock.advance(60)  # the index sorts grants by creation time

    second = user_tokens(browser)  # consents again

    assert refresh(browser, second["refresh_token"]).status == 200
    oauth_error(refresh(browser, first["refresh_token"]), "invalid_grant")
    grants = [g for g in deps.store.grants.list_for("sub-alice") if g.client_id == "rt"]
    assert [g.active for g in grants] == [False, True]
    assert deps.store.consents.get("sub-alice", "rt") is not None
