"""Token introspection at POST /introspect (RFC 7662), through chalice.test.Client.

A resource server registered with may_introspect ("rs") sees every token; another client only
its own; everything else, and every token that is not live, is `{"active": false}`.
"""

from __future__ import annotations

import pytest

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.ids import digest, new_secret
from tests.authorizer.tokens import KeyPair, access_claims
from tests.functional.flows import oauth_error
from tests.functional.revoking import (
    add_clients,
    claims_of,
    credentials,
    introspect,
    introspected,
    machine_token,
    minted,
    post,
    refresh,
    revoke,
    user_tokens,
)
from tests.support.oauth import ISSUER, SECRET, Browser, basic

INACTIVE = {"active": False}


@pytest.fixture(autouse=True)
def clients(deps: Deps) -> None:
    add_clients(deps)


# -- active tokens --------------------------------------------------------------------------


def test_an_active_access_token_is_described_by_its_claims(browser: Browser) -> None:
    """RFC 7662 2.2: active, scope, client_id, sub, aud, iss, exp, iat, jti and token_type,
    each as in the token; never cached (RFC 7662 4)."""
    issued = user_tokens(browser)["access_token"]
    claims = claims_of(issued)
    assert introspected(browser, issued) == {
        "active": True,
        "scope": "openid offline_access notes:read",
        "client_id": "rt",
        "sub": "sub-alice",
        "aud": [ISSUER, f"{ISSUER}/userinfo"],  # openid: UserInfo is named too
        "iss": ISSUER,
        "exp": claims["exp"],
        "iat": claims["iat"],
        "jti": claims["jti"],
        "token_type": "Bearer",
    }


def test_an_active_refresh_token_is_described(browser: Browser, deps: Deps) -> None:
    """RFC 7662 2.2: a refresh token's scope, client_id, sub, exp, iat; token_type names
    what it is."""
    tokens = user_tokens(browser)
    record = deps.store.refresh.get(digest(tokens["refresh_token"]))
    assert record is not None
    assert introspected(browser, tokens["refresh_token"]) == {
        "active": True,
        "scope": "openid offline_access notes:read",
        "client_id": "rt",
        "sub": "sub-alice",
        "exp": record.expires_at,
        "iat": record.issued_at,
        "token_type": "refresh_token",
    }


def test_a_machine_token_is_active(browser: Browser) -> None:
    """RFC 7662 2.2: a client_credentials token's subject is the client."""
    body = introspected(browser, machine_token(browser))
    assert body["active"] is True
    assert (body["sub"], body["client_id"], body["scope"]) == ("m2m", "m2m", "notes:read")


def test_another_audience_is_reported_as_issued(browser: Browser, deps: Deps) -> None:
    """RFC 7662 2.2 `aud`; RFC 8707: a token for another API is still Tollgate's token."""
    issued = minted(deps, audience="https://api.example.test")
    body = introspected(browser, issued)
    assert body["active"] is True
    assert body["aud"] == "https://api.example.test"
    several = ["https://notes.example.test", "https://files.example.test"]
    body = introspected(browser, minted(deps, audience=several))
    assert body["active"] is True
    assert body["aud"] == several


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "id_token", "nonsense"])
def test_any_hint_finds_both_kinds(browser: Browser, hint: str) -> None:
    """RFC 7662 2.1: a wrong hint extends the search; an unknown one is ignored."""
    tokens = user_tokens(browser)
    for presented in (tokens["access_token"], tokens["refresh_token"]):
        assert introspected(browser, presented, token_type_hint=hint)["active"] is True


# -- who may see what -------------------------------------------------------------------------


def test_a_client_sees_its_own_tokens_only(browser: Browser) -> None:
    """RFC 7662 2.2 and 4 (token scanning): a client without may_introspect learns nothing
    about another client's tokens, not even that they are live."""
    tokens = user_tokens(browser)
    for presented in (tokens["access_token"], tokens["refresh_token"]):
        assert introspected(browser, presented, client_id="rt")["active"] is True
        assert introspected(browser, presented, client_id="rt2") == INACTIVE
        assert introspected(browser, presented, client_id="m2m") == INACTIVE
        assert introspected(browser, presented, client_id="rs")["active"] is True


def test_a_public_client_cannot_introspect(browser: Browser) -> None:
    """RFC 7662 2.1: the endpoint "MUST also require some form of authorization"; a
    client_id alone is none."""
    issued = user_tokens(browser)["access_token"]
    answer = post(browser, "/introspect", {"token": issued, "client_id": "spa"})
    body = oauth_error(answer, "invalid_client", 401)
    assert "active" not in body
    assert answer.headers["cache-control"] == "no-store"


def test_client_authentication_is_required(browser: Browser) -> None:
    """SECURITY.md 12; RFC 7662 2.3: bad credentials are 401 invalid_client (with a Basic
    challenge to HTTP Basic), and say nothing about the token."""
    issued = user_tokens(browser)["access_token"]
    for answer in (
        post(browser, "/introspect", {"token": issued}),
        post(browser, "/introspect", {"token": issued, "client_id": "rs"}),
        post(browser, "/introspect", {"token": issued, "client_id": "rt2", "client_secret": "x"}),
    ):
        body = oauth_error(answer, "invalid_client", 401)
        assert "active" not in body
        assert "www-authenticate" not in answer.headers
    basic_answer = post(browser, "/introspect", {"token": issued}, basic("rs", "wrong"))
    oauth_error(basic_answer, "invalid_client", 401)
    assert basic_answer.headers["www-authenticate"].startswith("Basic ")


def test_a_missing_token_is_invalid_request(browser: Browser) -> None:
    """RFC 7662 2.1: `token` is REQUIRED."""
    fields, header = credentials("rs")
    oauth_error(post(browser, "/introspect", fields, header), "invalid_request")


def test_repeated_parameters_are_refused(browser: Browser) -> None:
    """SECURITY.md 12: a parameter twice is invalid_request, not a guess at which one."""
    twice = [("token", "a"), ("token", "b")]
    answer = post(browser, "/introspect", twice, basic("rs", SECRET))
    oauth_error(answer, "invalid_request")


# -- inactive tokens ----------------------------------------------------------------------------


def test_an_expired_access_token_is_inactive_at_exp(browser: Browser, clock: FakeClock) -> None:
    """SECURITY.md 24; RFC 7662 2.2: no leeway here, the issuer's clock is the judge."""
    issued = user_tokens(browser)["access_token"]
    clock.advance(claims_of(issued)["exp"] - 1 - clock.now())
    assert introspected(browser, issued)["active"] is True
    clock.advance(1)
    assert introspected(browser, issued) == INACTIVE


def test_an_expired_refresh_token_is_inactive(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    """SECURITY.md 24: an expired item DynamoDB has not deleted yet is still expired."""
    rt = user_tokens(browser)["refresh_token"]
    clock.advance(deps.settings.refresh_token_ttl)
    assert introspected(browser, rt) == INACTIVE


def test_a_rotated_refresh_token_is_inactive(browser: Browser) -> None:
    """SECURITY.md 16; RFC 7662 2.2: a refresh token that was used is spent; its successor
    is the active one."""
    first = user_tokens(browser)["refresh_token"]
    second = refresh(browser, first).json()["refresh_token"]
    assert introspected(browser, first) == INACTIVE
    assert introspected(browser, second)["active"] is True


def test_revoked_tokens_are_inactive(browser: Browser) -> None:
    """RFC 7662 2.2 "has not been revoked": a revoked grant ends both kinds of token; a
    revoked access token ends only itself."""
    a = user_tokens(browser)
    revoke(browser, a["access_token"])
    assert introspected(browser, a["access_token"]) == INACTIVE
    assert introspected(browser, a["refresh_token"])["active"] is True
    b = user_tokens(browser)
    revoke(browser, b["refresh_token"])
    assert introspected(browser, b["access_token"]) == INACTIVE
    assert introspected(browser, b["refresh_token"]) == INACTIVE


def test_unknown_malformed_and_foreign_tokens_are_inactive(browser: Browser, deps: Deps) -> None:
    """RFC 7662 2.2: anything that is not a live token of this server is `active: false`
    and nothing else (no error, no hint why)."""
    stranger = KeyPair.ec("stranger")
    for presented in (
        new_secret(),
        "x" * 129,
        "a.b.c",
        "a.b.c.d.e",
        "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.",
        minted(deps, issuer="https://evil.example"),
        stranger.token(access_claims(client_id="rt")),
        user_tokens(browser, scope="openid offline_access")["id_token"],
    ):
        assert introspected(browser, presented) == INACTIVE


def test_a_deleted_grant_makes_its_token_inactive(browser: Browser, deps: Deps) -> None:
    """RFC 7662 2.2: a token whose grant is gone (or belongs to someone else) is not live."""
    issued = minted(deps, grant_id="no-such-grant")
    assert introspected(browser, issued) == INACTIVE


def test_discovery_advertises_introspection(browser: Browser) -> None:
    """RFC 8414 2: introspection_endpoint, and methods that authenticate (never "none")."""
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        doc = browser.get(path).json()
        assert doc["introspection_endpoint"] == f"{ISSUER}/introspect"
        methods = doc["introspection_endpoint_auth_methods_supported"]
        assert "client_secret_basic" in methods
        assert "none" not in methods
    answer = introspect(browser, "t")
    assert answer.status == 200
    assert answer.json() == INACTIVE
