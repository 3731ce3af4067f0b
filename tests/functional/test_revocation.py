"""Token revocation at POST /revoke (RFC 7009), through chalice.test.Client.

Refresh tokens revoke their grant; access tokens are revoked by jti; unknown, invalid,
expired and other clients' tokens are answered 200 with nothing done; client
authentication is the token endpoint's.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from chalicelib.authorizer.errors import InvalidToken
from chalicelib.authorizer.gate import check_grant
from chalicelib.authorizer.in_process import keys_for
from chalicelib.authorizer.validate import verify
from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.ids import digest, new_secret
from chalicelib.tokens import lookup
from tests.authorizer.tokens import KeyPair, access_claims
from tests.functional.flows import Unchanged, oauth_error, redeem, sign_in, snapshot, token
from tests.functional.revoking import (
    add_clients,
    claims_of,
    credentials,
    introspected,
    machine_token,
    minted,
    post,
    refresh,
    revoke,
    user_tokens,
)
from tests.support.oauth import ISSUER, REDIRECT, SECRET, Answer, Browser, basic, tollgate


@pytest.fixture(autouse=True)
def clients(deps: Deps) -> None:
    add_clients(deps)


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def revoked(answer: Answer) -> None:
    """RFC 7009 2.2: 200, whatever was (or was not) revoked; never cached."""
    assert answer.status == 200, answer.text
    assert answer.body == b""
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["pragma"] == "no-cache"


def userinfo(browser: Browser, bearer: str) -> Answer:
    headers = {"Authorization": f"Bearer {bearer}"}
    return browser.request("GET", "/userinfo", headers=headers, cookies=False)


def grant_of(deps: Deps, refresh_token: str) -> str:
    record = deps.store.refresh.get(digest(refresh_token))
    assert record is not None
    return record.grant_id


# -- refresh tokens: the grant goes ---------------------------------------------------------


def test_revoking_a_refresh_token_revokes_its_grant(browser: Browser, deps: Deps) -> None:
    """SECURITY.md 26; RFC 7009 2.1: a revoked refresh token cannot be used again, and the
    access tokens of its grant stop wherever grants are checked (UserInfo, introspection)."""
    tokens = user_tokens(browser)
    assert userinfo(browser, tokens["access_token"]).status == 200

    revoked(revoke(browser, tokens["refresh_token"]))

    grant = deps.store.grants.get(grant_of(deps, tokens["refresh_token"]))
    assert grant is not None and grant.revoked_at is not None
    assert grant.revoked_reason == "revoked by the client (RFC 7009)"
    oauth_error(refresh(browser, tokens["refresh_token"]), "invalid_grant")
    assert userinfo(browser, tokens["access_token"]).status == 401
    assert introspected(browser, tokens["access_token"]) == {"active": False}


def test_revoking_a_rotated_refresh_token_ends_the_grant_too(browser: Browser) -> None:
    """RFC 7009 2.1: the client wants the grant ended; an old token of it is proof enough
    that the grant is its own, and the current refresh token dies with it."""
    first = user_tokens(browser)["refresh_token"]
    current = refresh(browser, first).json()["refresh_token"]
    revoked(revoke(browser, first))
    oauth_error(refresh(browser, current), "invalid_grant")


def test_a_client_secret_post_client_revokes(browser: Browser) -> None:
    """RFC 7009 2.1: the client authenticates as at the token endpoint, any of its methods."""
    tokens = user_tokens(browser, client_id="rt2")
    revoked(revoke(browser, tokens["refresh_token"], client_id="rt2"))
    oauth_error(refresh(browser, tokens["refresh_token"], client_id="rt2"), "invalid_grant")


# -- access tokens: the jti is recorded -------------------------------------------------------


def test_revoking_an_access_token_records_its_jti(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    """RFC 7009 2.1: the access token stops at UserInfo at once; its grant and refresh
    token live on ("MAY" revoke them: Tollgate does not)."""
    tokens = user_tokens(browser)
    jti = claims_of(tokens["access_token"])["jti"]
    assert not deps.store.grants.is_jti_revoked(jti)

    revoked(revoke(browser, tokens["access_token"]))

    assert deps.store.grants.is_jti_revoked(jti)
    assert userinfo(browser, tokens["access_token"]).status == 401
    assert introspected(browser, tokens["access_token"]) == {"active": False}
    renewed = refresh(browser, tokens["refresh_token"])
    assert renewed.status == 200, renewed.text
    assert userinfo(browser, renewed.json()["access_token"]).status == 200


def test_a_revoked_jti_outlives_every_validators_leeway(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    """SECURITY.md 24: the record expires only when no validator accepts the token anyway.
    An authorizer may allow up to 300 s of leeway after exp (TOLLGATE_LEEWAY); a record
    gone at exp would let the revoked token through during that leeway."""
    issued = user_tokens(browser)["access_token"]
    exp = claims_of(issued)["exp"]
    revoked(revoke(browser, issued))

    clock.advance(exp + lookup.MAX_LEEWAY - 1 - clock.now())
    claims = verify(
        issued, keys_for(deps), issuer=ISSUER, audience=ISSUER, leeway=300, now=clock.now()
    )
    with pytest.raises(InvalidToken, match="revoked"):
        check_grant(deps.store.grants, claims)
    clock.advance(1)
    assert not deps.store.grants.is_jti_revoked(claims.jti)  # expired item: absent on read


def test_an_access_token_revoked_with_the_wrong_hint_is_revoked(
    browser: Browser, deps: Deps
) -> None:
    """RFC 7009 2.1: a wrong hint extends the search to every token type."""
    tokens = user_tokens(browser)
    revoked(revoke(browser, tokens["access_token"], token_type_hint="refresh_token"))
    assert deps.store.grants.is_jti_revoked(claims_of(tokens["access_token"])["jti"])
    revoked(revoke(browser, tokens["refresh_token"], token_type_hint="access_token"))
    grant = deps.store.grants.get(grant_of(deps, tokens["refresh_token"]))
    assert grant is not None and not grant.active


@pytest.mark.parametrize("hint", ["id_token", "urn:ietf:params:oauth:token-type:jwt", "x"])
def test_an_unknown_hint_is_ignored(browser: Browser, deps: Deps, hint: str) -> None:
    """RFC 7009 2.1 (the server MAY ignore the hint) and 2.2.1: unsupported_token_type is
    for token types the server cannot revoke; both kinds of Tollgate token can be."""
    tokens = user_tokens(browser)
    revoked(revoke(browser, tokens["access_token"], token_type_hint=hint))
    assert deps.store.grants.is_jti_revoked(claims_of(tokens["access_token"])["jti"])
    revoked(revoke(browser, tokens["refresh_token"], token_type_hint=hint))
    grant = deps.store.grants.get(grant_of(deps, tokens["refresh_token"]))
    assert grant is not None and not grant.active


def test_a_machine_clients_token_can_be_revoked(browser: Browser, deps: Deps) -> None:
    """RFC 7009 2.1: a client_credentials token has no grant; its jti is what is revoked."""
    issued = machine_token(browser)
    assert introspected(browser, issued)["active"] is True
    revoked(revoke(browser, issued, client_id="m2m"))
    assert deps.store.grants.is_jti_revoked(claims_of(issued)["jti"])
    assert introspected(browser, issued) == {"active": False}


def test_a_public_client_revokes_its_own_token(browser: Browser, deps: Deps) -> None:
    """RFC 7009 5: a public client identifies itself by client_id alone."""
    done = sign_in(browser, client_id="spa")
    issued = redeem(done).json()["access_token"]
    revoked(revoke(browser, issued, client_id="spa"))
    assert deps.store.grants.is_jti_revoked(claims_of(issued)["jti"])


# -- nothing to revoke: 200, nothing changed --------------------------------------------------


def test_unknown_and_invalid_tokens_get_200_and_change_nothing(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    """RFC 7009 2.2: "invalid tokens do not cause an error response"; SECURITY.md 26: and
    nothing is written for them."""
    tokens = user_tokens(browser, scope="openid offline_access")
    # Our key id, another key: only the signature is wrong.
    stranger = KeyPair.ec(json.loads(_b64(tokens["access_token"].split(".")[0]))["kid"])
    foreign_issuer = minted(deps, issuer="https://evil.example")
    unchanged = Unchanged(deps)
    for presented in (
        new_secret(),  # shaped like a refresh token, unknown
        "x" * 129,
        "not.a.jwt",
        "a.b.c.d.e",
        stranger.token(access_claims(client_id="rt")),  # our shape, not our key
        foreign_issuer,
        tokens["id_token"],  # typ JWT: not an access token
    ):
        revoked(revoke(browser, presented))
    unchanged.check()


def test_an_access_token_expired_beyond_every_leeway_is_a_no_op(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    """RFC 7009 2.2: revoking an expired token succeeds; nothing needs recording."""
    issued = user_tokens(browser)["access_token"]
    clock.advance(claims_of(issued)["exp"] + lookup.MAX_LEEWAY - clock.now())
    unchanged = Unchanged(deps)
    revoked(revoke(browser, issued))
    unchanged.check()


def test_an_expired_access_token_within_the_leeway_is_still_recorded(
    browser: Browser, deps: Deps, clock: FakeClock
) -> None:
    """SECURITY.md 24 and 26: a token an authorizer may still accept (exp < now < exp +
    leeway) is revoked, not waved off as expired."""
    issued = user_tokens(browser)["access_token"]
    clock.advance(claims_of(issued)["exp"] + 10 - clock.now())
    revoked(revoke(browser, issued))
    assert deps.store.grants.is_jti_revoked(claims_of(issued)["jti"])


def test_another_clients_tokens_are_left_alone(browser: Browser, deps: Deps) -> None:
    """SECURITY.md 15 and RFC 7009 2.1: only the client a token was issued to may revoke
    it. The other client gets the answer an unknown token gets (no oracle for stolen
    tokens), and nothing changes."""
    tokens = user_tokens(browser)
    unchanged = Unchanged(deps)
    for presented in (tokens["refresh_token"], tokens["access_token"]):
        revoked(revoke(browser, presented, client_id="rt2"))
        revoked(revoke(browser, presented, client_id="m2m"))
    unchanged.check()
    assert refresh(browser, tokens["refresh_token"]).status == 200


def test_an_audience_other_than_the_default_is_revocable(browser: Browser, deps: Deps) -> None:
    """RFC 8707 tokens name other audiences: revocation does not depend on `aud`."""
    issued = minted(deps, audience="https://api.example.test")
    revoked(revoke(browser, issued))
    assert deps.store.grants.is_jti_revoked(claims_of(issued)["jti"])


# -- client authentication and request errors ------------------------------------------------


def without_counters(items: dict[tuple[str, str], Any]) -> dict[tuple[str, str], Any]:
    """The table without its counters (RATE#), which sign-ins and failures write."""
    return {k: v for k, v in items.items() if not k[0].startswith("RATE#")}


def test_client_authentication_is_required(browser: Browser, deps: Deps) -> None:
    """SECURITY.md 12; RFC 7009 2.1: no client, an unknown client, a wrong secret:
    invalid_client, 401, and the token stays."""
    tokens = user_tokens(browser)
    before = snapshot(deps)
    body = {"token": tokens["refresh_token"]}
    for answer in (
        post(browser, "/revoke", body),
        post(browser, "/revoke", {**body, "client_id": "nobody"}),
        post(browser, "/revoke", {**body, "client_id": "rt2", "client_secret": "wrong"}),
        post(browser, "/revoke", {**body, "client_id": "rt"}),  # rt has a secret
    ):
        oauth_error(answer, "invalid_client", 401)
        assert "www-authenticate" not in answer.headers
        assert answer.headers["cache-control"] == "no-store"
    # Only the brute-force counters (SECURITY.md 18) count the failures.
    after = snapshot(deps)
    assert without_counters(after) == without_counters(before)


def test_wrong_basic_credentials_get_a_basic_challenge(browser: Browser, deps: Deps) -> None:
    """SECURITY.md 12; RFC 6749 5.2: invalid_client to HTTP Basic is 401 with
    WWW-Authenticate."""
    tokens = user_tokens(browser)
    answer = post(browser, "/revoke", {"token": tokens["refresh_token"]}, basic("rt", "wrong"))
    oauth_error(answer, "invalid_client", 401)
    assert answer.headers["www-authenticate"].startswith("Basic ")
    assert answer.headers["cache-control"] == "no-store"
    assert refresh(browser, tokens["refresh_token"]).status == 200


def test_two_authentication_methods_or_repeated_parameters_are_refused(
    browser: Browser, deps: Deps
) -> None:
    """SECURITY.md 12: two methods at once, or a parameter twice: invalid_request."""
    tokens = user_tokens(browser)
    both = {"token": tokens["refresh_token"], "client_secret": SECRET}
    oauth_error(post(browser, "/revoke", both, basic("rt", SECRET)), "invalid_request")
    twice = [("token", tokens["refresh_token"]), ("token", "other")]
    oauth_error(post(browser, "/revoke", twice, basic("rt", SECRET)), "invalid_request")
    unread = [("token", tokens["refresh_token"]), ("scope", "a"), ("scope", "b")]
    oauth_error(post(browser, "/revoke", unread, basic("rt", SECRET)), "invalid_request")
    assert refresh(browser, tokens["refresh_token"]).status == 200


def test_a_missing_token_is_invalid_request(browser: Browser) -> None:
    """RFC 7009 2.1: `token` is REQUIRED; RFC 7009 2.2.1 invalid_request, never cached."""
    fields, header = credentials("rt")
    answer = post(browser, "/revoke", {"token_type_hint": "refresh_token", **fields}, header)
    oauth_error(answer, "invalid_request")
    assert answer.headers["cache-control"] == "no-store"


def test_a_json_body_is_invalid_request(browser: Browser) -> None:
    """RFC 7009 2.1: the request is application/x-www-form-urlencoded."""
    headers = {"Content-Type": "application/json", "Authorization": basic("rt", SECRET)}
    answer = browser.request("POST", "/revoke", body=b'{"token": "x"}', headers=headers)
    oauth_error(answer, "invalid_request")


def test_failed_authentications_here_count_toward_the_brute_force_limit(
    browser: Browser, deps: Deps
) -> None:
    """SECURITY.md 18: /revoke is no side door for guessing a client's secret: it shares
    the token endpoint's failure counters, and failures past the limit are answered 429 at
    both endpoints (the right secret still works: see tests/security/test_rate_limit.py)."""
    limit = deps.settings.client_auth_limit_client_ip
    for _ in range(limit):
        wrong = post(browser, "/revoke", {"token": "t"}, basic("rt", "wrong"))
        oauth_error(wrong, "invalid_client", 401)
    blocked = post(browser, "/revoke", {"token": "t"}, basic("rt", "wrong"))
    oauth_error(blocked, "invalid_client", 429)
    assert int(blocked.headers["retry-after"]) > 0
    form = {"grant_type": "refresh_token", "refresh_token": "t"}
    oauth_error(token(browser, form, basic("rt", "wrong")), "invalid_client", 429)
    assert post(browser, "/revoke", {"token": "t"}, basic("rt", SECRET)).status == 200


def test_code_reuse_shows_in_introspection(browser: Browser) -> None:
    """SECURITY.md 14: a second redemption revokes the grant, and introspection reports the
    access token already issued for it inactive."""
    done = sign_in(browser, client_id="rt", scope="openid offline_access")
    form = {
        "grant_type": "authorization_code",
        "code": done.code,
        "redirect_uri": REDIRECT,
        "code_verifier": done.verifier or "",
    }
    first = token(browser, form, basic("rt", SECRET)).json()
    assert introspected(browser, first["access_token"])["active"] is True
    oauth_error(token(browser, form, basic("rt", SECRET)), "invalid_grant")
    assert introspected(browser, first["access_token"]) == {"active": False}
    assert introspected(browser, first["refresh_token"]) == {"active": False}


def test_discovery_advertises_revocation(browser: Browser) -> None:
    """RFC 8414 2: revocation_endpoint and its authentication methods, which answer."""
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        doc = browser.get(path).json()
        assert doc["revocation_endpoint"] == f"{ISSUER}/revoke"
        assert (
            doc["revocation_endpoint_auth_methods_supported"]
            == (doc["token_endpoint_auth_methods_supported"])
        )
        assert "none" in doc["revocation_endpoint_auth_methods_supported"]
    oauth_error(post(browser, "/revoke", {"token": "t"}), "invalid_client", 401)


# -- the built-in authorizer ------------------------------------------------------------------


def whoami(browser: Browser, bearer: str) -> Answer:
    headers = {"Authorization": f"Bearer {bearer}"}
    return browser.request("GET", "/api/whoami", headers=headers, cookies=False)


@pytest.mark.parametrize("check", [True, False])
def test_the_revocation_check_refuses_a_revoked_access_token(check: bool) -> None:
    """README "Revocation"; RFC 7009 2: with TOLLGATE_REVOCATION_CHECK on, an access token
    revoked at /revoke is refused by the authorizer at once (here a machine token, which has
    no grant to revoke); with it off, it passes until it expires."""
    with tollgate(revocation_check=check) as (deps, _clock, http):
        add_clients(deps)
        browser = Browser(http)
        issued = machine_token(browser)
        assert whoami(browser, issued).status == 200
        revoked(revoke(browser, issued, client_id="m2m"))
        answer = whoami(browser, issued)
        if check:
            assert answer.status == 401, answer.text
            assert answer.headers["www-authenticate"] == (
                'Bearer error="invalid_token", error_description="the access token was revoked", '
                f'resource_metadata="{ISSUER}/.well-known/oauth-protected-resource"'
            )
        else:
            assert answer.status == 200, answer.text
