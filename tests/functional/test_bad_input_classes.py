"""Whole classes of bad input at every door that reads them (issue 10 items 3, 8 and 10;
issue 17 items 1, 3, 4 and 6): JWS that nest, pad, mistype or hold numbers and strings a
token must not hold, as access tokens (UserInfo, introspection, revocation), as client
assertions (/token, /revoke, /introspect) and as ID token hints (/logout, /authorize);
non-ASCII Basic credentials; client ids no client can have.

Each gets its OAuth error (never a 500 or a 503) and changes no stored state (SECURITY.md
29 and 34). The attack
list is tests/authorizer/tokens.py `malformed`, which the authorizer tests share.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.deps import Deps
from chalicelib.stores.models import Client
from tests.authorizer.tokens import KeyPair, access_claims, jws, malformed
from tests.functional.flows import (
    Unchanged,
    authorize_path,
    error_page,
    oauth_error,
    to_client,
    token,
)
from tests.functional.revoking import post
from tests.support.assertions import claims, form
from tests.support.oauth import REDIRECT, SECRET, Answer, Browser, basic

KEY = KeyPair.ec("pkj-ec")
LONG_IDS = ["c" * 3000, "é" * 1500, "c" * 256, "a\x00b", "\u202eweb", "web\n"]


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
            jwks={"keys": [KEY.jwk]},
        )
    )


def invalid_client(answer: Answer, basic_challenge: bool = False) -> None:
    oauth_error(answer, "invalid_client", 401)
    assert ("www-authenticate" in answer.headers) is basic_challenge, answer.headers


# -- access tokens ---------------------------------------------------------------------------


def test_bad_access_tokens_at_userinfo_introspection_and_revocation(
    browser: Browser, deps: Deps, test_keys: tuple[KeyPair, KeyPair], unchanged: Unchanged
) -> None:
    ec_key, _ = test_keys
    s, now = deps.settings, deps.clock.now()
    header = {"alg": "ES256", "typ": "at+jwt", "kid": ec_key.kid}
    good = access_claims(iss=s.issuer, aud=s.audience, iat=now, exp=now + 300, scope="openid")
    web = basic("web", SECRET)
    assert post(browser, "/introspect", {"token": ec_key.token(good)}, web).json()["active"]

    for name, bad in malformed(ec_key, header, good).items():
        answer = browser.request(
            "GET", "/userinfo", headers={"Authorization": f"Bearer {bad}"}, cookies=False
        )
        assert answer.status == 401, (name, answer.status, answer.text)
        assert answer.json() == {"error": "invalid_token"}, name
        answer = post(browser, "/introspect", {"token": bad}, web)
        assert (answer.status, answer.json()) == (200, {"active": False}), name
        answer = post(browser, "/revoke", {"token": bad}, web)
        assert answer.status == 200, (name, answer.status, answer.text)
    unchanged.check()


# -- client assertions -----------------------------------------------------------------------


def signed(assertion_claims: dict[str, Any]) -> str:
    return jws({"alg": "ES256", "kid": KEY.kid}, assertion_claims, KEY.sign)


def bad_assertions(deps: Deps) -> dict[str, str]:
    # Fresh claims (a new jti): a variant wrongly accepted must not be refused as a replay.
    return malformed(KEY, {"alg": "ES256", "kid": KEY.kid}, claims("pkj", deps.clock.now()))


def test_bad_client_assertions_at_the_token_endpoint(
    browser: Browser, deps: Deps, unchanged: Unchanged
) -> None:
    good = signed(claims("pkj", deps.clock.now()))
    assert token(browser, form(good, grant_type="client_credentials")).status == 200
    unchanged.mark()
    for name, bad in bad_assertions(deps).items():
        answer = token(browser, form(bad, grant_type="client_credentials"))
        assert answer.status == 401, (name, answer.status, answer.text)
        invalid_client(answer)
    unchanged.check()


@pytest.mark.parametrize("path", ["/revoke", "/introspect"])
def test_bad_client_assertions_at_revocation_and_introspection(
    browser: Browser, deps: Deps, unchanged: Unchanged, path: str
) -> None:
    for name, bad in bad_assertions(deps).items():
        answer = post(browser, path, form(bad, token="x"))
        assert answer.status == 401, (name, answer.status, answer.text)
        invalid_client(answer)
    unchanged.check()


# -- ID token hints --------------------------------------------------------------------------


def bad_hints(deps: Deps, rsa_key: KeyPair) -> dict[str, str]:
    now = deps.clock.now()
    hint = {"iss": deps.settings.issuer, "sub": "sub-alice", "aud": "web", "iat": now}
    return malformed(rsa_key, {"alg": "RS256", "typ": "JWT", "kid": rsa_key.kid}, hint)


def test_bad_id_token_hints_at_logout(
    browser: Browser, deps: Deps, test_keys: tuple[KeyPair, KeyPair], unchanged: Unchanged
) -> None:
    """Issue 17 item 1: `{"alg": []}` was a 500, unauthenticated, at /logout."""
    for name, bad in bad_hints(deps, test_keys[1]).items():
        answer = browser.get("/logout?" + urlencode({"id_token_hint": bad}))
        assert answer.status == 400, (name, answer.status, answer.text)
        error_page(answer)
    unchanged.check()


def test_bad_id_token_hints_at_authorize(
    browser: Browser, deps: Deps, test_keys: tuple[KeyPair, KeyPair], unchanged: Unchanged
) -> None:
    for name, bad in bad_hints(deps, test_keys[1]).items():
        answer = browser.get(authorize_path(id_token_hint=bad))
        assert answer.status == 303, (name, answer.status, answer.text)
        assert to_client(answer)["error"] == "invalid_request", name
    unchanged.check()


# -- Basic credentials and client ids --------------------------------------------------------


BAD_BASIC = ["Basic é", "Basic \u4f8b\u3048", "Basic d2ViOnM=\xff", "Basic \u00a0d2ViOnM="]


@pytest.mark.parametrize("authorization", BAD_BASIC)
@pytest.mark.parametrize("path", ["/token", "/revoke", "/introspect"])
def test_non_ascii_basic_credentials_are_invalid_client(
    browser: Browser, unchanged: Unchanged, path: str, authorization: str
) -> None:
    """Issue 10 item 8: a 500 before."""
    fields = {"grant_type": "client_credentials"} if path == "/token" else {"token": "x"}
    answer = post(browser, path, fields, authorization)
    invalid_client(answer, basic_challenge=True)
    unchanged.check()


def _presented(client_id: str, how: str, deps: Deps) -> tuple[dict[str, str], str | None]:
    """(form fields, Authorization header) presenting `client_id` one way."""
    if how == "basic":
        return {}, basic(client_id, SECRET)
    if how == "post":
        return {"client_id": client_id, "client_secret": SECRET}, None
    if how == "none":
        return {"client_id": client_id}, None
    return form(signed(claims(client_id, deps.clock.now()))), None


@pytest.mark.parametrize("how", ["basic", "post", "none", "assertion sub"])
@pytest.mark.parametrize("path", ["/token", "/revoke", "/introspect"])
def test_client_ids_no_client_can_have_are_invalid_client(
    browser: Browser, deps: Deps, unchanged: Unchanged, path: str, how: str
) -> None:
    """Issue 17 item 6: a client_id over DynamoDB's key limit was a 503 (the in-memory table
    refuses such keys as DynamoDB does); every id is at most 255 visible ASCII characters."""
    # An assertion holds its client_id twice, base64url: over 4,096 characters the form
    # parameter itself is refused (invalid_request) before anything reads it.
    ids = [i for i in LONG_IDS if how != "assertion sub" or len(i) < 1000]
    for client_id in ids:
        fields, authorization = _presented(client_id, how, deps)
        extra: dict[str, Any] = (
            {"grant_type": "client_credentials"} if path == "/token" else {"token": "x"}
        )
        answer = post(browser, path, {**extra, **fields}, authorization)
        assert answer.status == 401, (client_id[:20], answer.status, answer.text)
        invalid_client(answer, basic_challenge=how == "basic")
    unchanged.check()


def test_client_ids_no_client_can_have_at_authorize_and_logout(
    browser: Browser, unchanged: Unchanged
) -> None:
    for client_id in LONG_IDS:
        error_page(browser.get(authorize_path(client_id=client_id)))
        query = {"client_id": client_id, "post_logout_redirect_uri": REDIRECT}
        error_page(browser.get("/logout?" + urlencode(query)))
    unchanged.check()
