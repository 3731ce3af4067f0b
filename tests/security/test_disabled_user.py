"""A disabled user has no way in, and enabling her again brings nothing back (SECURITY.md
items 27 and 33; issue 10 finding 1).

`tollgate user disable` (run through the CLI's main() against the running server's store)
revokes her grants and ends her sessions; redeeming a code and rotating a refresh token
also check, in their own transaction, that she is enabled. Each way in is tried: the SSO
session, a code issued before the disable, refresh, introspection of both tokens, UserInfo,
the authorizer's revocation check, and the demo API behind the built-in authorizer (with
TOLLGATE_REVOCATION_CHECK on; without it an API accepts an access token until its `exp`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.admin.cli import main
from chalicelib.authorizer.errors import InvalidToken
from chalicelib.authorizer.gate import authorize
from chalicelib.authorizer.in_process import keys_for
from chalicelib.deps import Deps
from chalicelib.endpoints.demo_api import ROUTE_POLICY
from chalicelib.ids import digest
from tests.functional.flows import (
    authorize_path,
    oauth_error,
    sign_in,
    step_of,
    to_client,
    token,
)
from tests.functional.revoking import (
    USER_SCOPES,
    add_clients,
    credentials,
    introspected,
    refresh,
    user_tokens,
)
from tests.support.oauth import ISSUER, REDIRECT, Answer, Browser, tollgate

ARN = "arn:aws:execute-api:us-east-1:123456789012:api1/api/GET/api/notes"


@pytest.fixture
def env() -> Iterator[tuple[Deps, Browser]]:
    """A server with the revocation check on, the revoking tests' clients, one browser."""
    with tollgate(revocation_check=True) as (deps, _clock, http):
        add_clients(deps)
        yield deps, Browser(http)


def admin(deps: Deps, *argv: str) -> None:
    assert main(["--json", *argv], store=deps.store) == 0


def api(browser: Browser, path: str, access_token: str) -> Answer:
    return browser.get(path, headers={"Authorization": f"Bearer {access_token}"}, cookies=False)


def gate(deps: Deps, access_token: str) -> None:
    """The authorizer in revocation mode (the same check as the standalone Lambda's)."""
    authorize(
        f"Bearer {access_token}",
        ARN,
        keys=keys_for(deps),
        policy=ROUTE_POLICY,
        issuer=ISSUER,
        audience=deps.settings.audience,
        now=deps.clock.now(),
        grants=deps.store.grants,
    )


def unredeemed_code(browser: Browser) -> dict[str, str]:
    """A code issued to "rt" through single sign-on, not redeemed yet."""
    done = sign_in(browser, client_id="rt", scope=USER_SCOPES)
    fields, _ = credentials("rt")
    return {
        "grant_type": "authorization_code",
        "code": done.code,
        "redirect_uri": REDIRECT,
        "code_verifier": done.verifier or "",
        **fields,
    }


def assert_no_way_in(
    deps: Deps, browser: Browser, tokens: dict[str, Any], code_form: dict[str, str]
) -> None:
    # The SSO session is gone: a silent request needs a login, a normal one asks for it.
    silent = to_client(
        browser.get(authorize_path(client_id="rt", scope=USER_SCOPES, prompt="none"))
    )
    assert silent["error"] == "login_required"
    assert step_of(browser.get(authorize_path(client_id="rt", scope=USER_SCOPES))) == "login"
    assert deps.store.sessions.list_for("sub-alice") == []
    # A code issued before the disable is not exchanged, and creates no grant.
    oauth_error(token(browser, code_form, credentials("rt")[1]), "invalid_grant")
    code = deps.store.codes.get(digest(code_form["code"]))
    assert code is not None and deps.store.grants.get(code.grant_id) is None
    # Refresh, introspection of both tokens, UserInfo, the authorizer, the demo API.
    oauth_error(refresh(browser, tokens["refresh_token"]), "invalid_grant")
    assert introspected(browser, tokens["access_token"]) == {"active": False}
    assert introspected(browser, tokens["refresh_token"]) == {"active": False}
    assert api(browser, "/userinfo", tokens["access_token"]).status == 401
    with pytest.raises(InvalidToken):
        gate(deps, tokens["access_token"])
    assert api(browser, "/api/whoami", tokens["access_token"]).status == 401


def test_disable_closes_every_way_in_and_enable_reopens_none(env: tuple[Deps, Browser]) -> None:
    """SECURITY.md 27, 33."""
    deps, browser = env
    tokens = user_tokens(browser)
    code_form = unredeemed_code(browser)
    # Before: every path lets her in.
    assert api(browser, "/userinfo", tokens["access_token"]).status == 200
    assert api(browser, "/api/whoami", tokens["access_token"]).status == 200
    gate(deps, tokens["access_token"])
    assert introspected(browser, tokens["refresh_token"])["active"] is True

    admin(deps, "user", "disable", "alice")
    assert_no_way_in(deps, browser, tokens, code_form)

    admin(deps, "user", "enable", "alice")
    assert_no_way_in(deps, browser, tokens, code_form)

    # Enabled, she signs in again and gets new tokens that work.
    fresh = user_tokens(browser)
    assert api(browser, "/userinfo", fresh["access_token"]).status == 200
    assert refresh(browser, fresh["refresh_token"]).status == 200


def test_a_disable_that_races_an_exchange_is_caught_by_the_exchange(
    env: tuple[Deps, Browser],
) -> None:
    """SECURITY.md 27: the user is disabled without the CLI's revocations (the moment
    between its two steps): the exchange and the refresh refuse by themselves."""
    deps, browser = env
    tokens = user_tokens(browser)
    code_form = unredeemed_code(browser)
    user = deps.store.users.get("alice")
    assert user is not None
    user.disabled = True
    deps.store.users.save(user)

    oauth_error(token(browser, code_form, credentials("rt")[1]), "invalid_grant")
    oauth_error(refresh(browser, tokens["refresh_token"]), "invalid_grant")
    assert api(browser, "/userinfo", tokens["access_token"]).status == 401


def test_a_new_password_ends_the_sessions(env: tuple[Deps, Browser]) -> None:
    """SECURITY.md 33: after `user set-password` the old browser session gets no code."""
    deps, browser = env
    sign_in(browser, client_id="rt", scope=USER_SCOPES)
    assert "code" in to_client(
        browser.get(authorize_path(client_id="rt", scope=USER_SCOPES, prompt="none"))
    )

    admin(deps, "user", "set-password", "alice", "--password", "a new password for alice")

    silent = to_client(
        browser.get(authorize_path(client_id="rt", scope=USER_SCOPES, prompt="none"))
    )
    assert silent["error"] == "login_required"
