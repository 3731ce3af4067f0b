"""private_key_jwt clients at /revoke and /introspect (RFC 7523 2.2 and 3; RFC 7009 2.1;
RFC 7662 2.1): the assertion may name the issuer, the token endpoint or the endpoint itself
as its audience, and is used once."""

from __future__ import annotations

import pytest

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.stores.models import Client
from tests.functional.flows import oauth_error, token
from tests.functional.revoking import claims_of, post
from tests.support.assertions import claims, client_key, form, jwks
from tests.support.oauth import ISSUER, Browser

KEY = client_key("pkj-1")


@pytest.fixture(autouse=True)
def pkj(deps: Deps) -> None:
    deps.store.clients.create(
        Client(
            client_id="pkj",
            name="Key client",
            client_type="confidential",
            auth_method="private_key_jwt",
            redirect_uris=[],
            grant_types=["client_credentials"],
            scopes=["notes:read"],
            jwks=jwks(KEY),
            may_introspect=True,
        )
    )


def assertion(clock: FakeClock, aud: str) -> str:
    return KEY.sign(claims("pkj", clock.now(), aud=aud))


def issued(browser: Browser, clock: FakeClock) -> str:
    answer = token(
        browser, form(assertion(clock, f"{ISSUER}/token"), grant_type="client_credentials")
    )
    assert answer.status == 200, answer.text
    value: str = answer.json()["access_token"]
    return value


@pytest.mark.parametrize("aud", ["/revoke", "/token", ""])
def test_a_key_client_revokes_its_token(
    browser: Browser, deps: Deps, clock: FakeClock, aud: str
) -> None:
    """RFC 7009 2.1 with RFC 7523 3: `aud` names this server (issuer, token endpoint, or
    the revocation endpoint)."""
    access = issued(browser, clock)
    answer = post(browser, "/revoke", form(assertion(clock, ISSUER + aud), token=access))
    assert answer.status == 200, answer.text
    assert deps.store.grants.is_jti_revoked(claims_of(access)["jti"])


def test_an_assertion_for_another_endpoint_or_replayed_is_refused(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    """SECURITY.md 19; RFC 7523 3: an assertion meant elsewhere, or used before, does not
    authenticate the client here."""
    access = issued(browser, clock)
    elsewhere = form(assertion(clock, f"{ISSUER}/userinfo"), token=access)
    oauth_error(post(browser, "/revoke", elsewhere), "invalid_client", 401)
    once = form(assertion(clock, f"{ISSUER}/introspect"), token=access)
    answer = post(browser, "/introspect", once)
    assert answer.status == 200, answer.text
    assert answer.json()["active"] is True
    oauth_error(post(browser, "/introspect", once), "invalid_client", 401)
    assert not deps.store.grants.is_jti_revoked(claims_of(access)["jti"])
