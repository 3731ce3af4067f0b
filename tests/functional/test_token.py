"""The token endpoint: code exchange for each client authentication method, and its errors."""

from __future__ import annotations

import base64
import time
from dataclasses import replace
from typing import Any

import jwt
import pytest

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.models import Client
from tests.functional.flows import (
    Authorized,
    kinds,
    oauth_error,
    redeem,
    sign_in,
    token,
)
from tests.support.oauth import ISSUER, REDIRECT, SECRET, Answer, Browser, basic, pkce_pair

AUTHORIZATION_CODE = "authorization_code"


def ok(answer: Answer) -> dict[str, Any]:
    assert answer.status == 200, (answer.status, answer.text)
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["pragma"] == "no-cache"
    body: dict[str, Any] = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert isinstance(body["access_token"], str)
    assert body["access_token"].count(".") == 2
    return body


def refused(answer: Answer, error: str, status: int = 400) -> dict[str, Any]:
    body = oauth_error(answer, error, status)
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["pragma"] == "no-cache"
    return body


def code_form(done: Authorized, **extra: str) -> dict[str, str]:
    form = {"grant_type": AUTHORIZATION_CODE, "code": done.code, "redirect_uri": REDIRECT}
    if done.verifier is not None:
        form["code_verifier"] = done.verifier
    form.update(extra)
    return form


def code_is_unused(deps: Deps, code: str) -> bool:
    item = deps.store.table.get(f"CODE#{digest(code)}", "CODE")
    return item is not None and "consumed_by" not in item


# -- successful exchanges -------------------------------------------------------------------


def test_client_secret_basic_exchange(signed_in: Authorized) -> None:
    body = ok(redeem(signed_in))

    assert body["scope"] == "openid profile"


def test_client_secret_post_exchange(browser: Browser) -> None:
    done = sign_in(browser, client_id="post", scope="email")
    form = code_form(done, client_id="post", client_secret=SECRET)

    body = ok(token(browser, form))
    assert body["scope"] == "email"


def test_public_client_exchange_with_pkce(browser: Browser) -> None:
    done = sign_in(browser, client_id="spa", scope="openid")
    assert done.verifier is not None

    body = ok(token(browser, code_form(done, client_id="spa")))
    assert body["scope"] == "openid"


def test_access_token_is_an_at_jwt_verifiable_with_the_jwks(
    browser: Browser, clock: FakeClock
) -> None:
    """SECURITY.md 20; RFC 9068 2.1 and 2.2: typ at+jwt, with iss, sub, aud, client_id,
    scope, iat, exp and jti."""
    # Real time on the fake clock, so PyJWT's own exp/iat checks apply unchanged.
    clock.advance(int(time.time()) - clock.now())
    done = sign_in(browser)
    access = ok(redeem(done))["access_token"]

    header = jwt.get_unverified_header(access)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    jwks = browser.get("/jwks.json").json()
    by_kid = {k["kid"]: k for k in jwks["keys"]}
    assert header["kid"] in by_kid
    key = jwt.PyJWK.from_dict(by_kid[header["kid"]])
    keyset = jwt.PyJWKSet.from_dict(jwks)
    assert keyset[header["kid"]].key_id == key.key_id

    claims = jwt.decode(
        access,
        key=key,
        algorithms=["ES256"],
        audience=ISSUER,
        issuer=ISSUER,
        options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
    )
    assert claims["iss"] == ISSUER
    assert claims["sub"] == "sub-alice"
    assert claims["aud"] == [ISSUER, f"{ISSUER}/userinfo"]  # openid: UserInfo too
    assert claims["client_id"] == "web"
    assert claims["scope"] == "openid profile"
    assert claims["iat"] == clock.now()
    assert claims["exp"] == claims["iat"] + 300
    assert isinstance(claims["jti"], str)
    assert claims["jti"]


def test_access_token_does_not_verify_with_a_tampered_payload(signed_in: Authorized) -> None:
    access = ok(redeem(signed_in))["access_token"]
    jwks = signed_in.browser.get("/jwks.json").json()
    header_b64, payload_b64, signature = access.split(".")
    payload = base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4))
    forged = payload.replace(b'"sub":"sub-alice"', b'"sub":"sub-admin"')
    assert forged != payload
    forged_b64 = base64.urlsafe_b64encode(forged).rstrip(b"=").decode()
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(access)["kid"]]

    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            f"{header_b64}.{forged_b64}.{signature}",
            key=key,
            algorithms=["ES256"],
            audience=ISSUER,
            options={"verify_exp": False, "verify_iat": False},
        )


def test_each_token_has_its_own_jti(browser: Browser) -> None:
    first = sign_in(browser)
    second = sign_in(browser)
    tokens = [ok(redeem(done))["access_token"] for done in (first, second)]
    ids = {jwt.decode(t, options={"verify_signature": False})["jti"] for t in tokens}

    assert len(ids) == 2


# -- request and client errors ----------------------------------------------------------------


def test_missing_grant_type(signed_in: Authorized) -> None:
    form = code_form(signed_in)
    del form["grant_type"]

    refused(token(signed_in.browser, form, basic("web", SECRET)), "invalid_request")


def test_unsupported_grant_type(signed_in: Authorized) -> None:
    form = code_form(signed_in, grant_type="password")

    refused(token(signed_in.browser, form, basic("web", SECRET)), "unsupported_grant_type")


def test_client_not_allowed_the_grant_is_unauthorized_client(browser: Browser, deps: Deps) -> None:
    deps.store.clients.create(
        Client(
            client_id="machine",
            name="Machine",
            client_type="confidential",
            auth_method="client_secret_basic",
            redirect_uris=[REDIRECT],
            grant_types=["client_credentials"],
            scopes=["openid"],
            secret_hash=digest(SECRET),
        )
    )
    form = {"grant_type": AUTHORIZATION_CODE, "code": "x" * 43, "redirect_uri": REDIRECT}

    refused(token(browser, form, basic("machine", SECRET)), "unauthorized_client")


def test_unknown_client_with_basic_is_invalid_client_401(signed_in: Authorized) -> None:
    answer = token(signed_in.browser, code_form(signed_in), basic("nobody", SECRET))

    refused(answer, "invalid_client", 401)
    assert answer.headers["www-authenticate"].startswith("Basic ")


def test_unknown_client_with_post_is_invalid_client_401(signed_in: Authorized) -> None:
    form = code_form(signed_in, client_id="nobody", client_secret=SECRET)

    refused(token(signed_in.browser, form), "invalid_client", 401)


def test_no_client_authentication_is_invalid_client(signed_in: Authorized) -> None:
    refused(token(signed_in.browser, code_form(signed_in)), "invalid_client", 401)


def test_wrong_secret_basic(signed_in: Authorized, deps: Deps) -> None:
    answer = token(signed_in.browser, code_form(signed_in), basic("web", SECRET + "x"))

    refused(answer, "invalid_client", 401)
    assert "www-authenticate" in answer.headers
    # Client authentication comes first: the code is not burnt by a failed attempt.
    assert code_is_unused(deps, signed_in.code)
    ok(redeem(signed_in))


def test_wrong_secret_post(browser: Browser) -> None:
    done = sign_in(browser, client_id="post")
    form = code_form(done, client_id="post", client_secret="wrong")

    refused(token(browser, form), "invalid_client", 401)


def test_public_client_presenting_a_secret_is_invalid_client(browser: Browser) -> None:
    done = sign_in(browser, client_id="spa")
    form = code_form(done, client_id="spa", client_secret=SECRET)

    refused(token(browser, form), "invalid_client", 401)


def test_confidential_client_without_secret_is_invalid_client(signed_in: Authorized) -> None:
    refused(token(signed_in.browser, code_form(signed_in, client_id="web")), "invalid_client", 401)


def test_basic_and_post_secret_together_is_invalid_request(signed_in: Authorized) -> None:
    form = code_form(signed_in, client_secret=SECRET)

    refused(token(signed_in.browser, form, basic("web", SECRET)), "invalid_request")


def test_form_client_id_differing_from_basic_is_invalid_request(signed_in: Authorized) -> None:
    form = code_form(signed_in, client_id="post")

    refused(token(signed_in.browser, form, basic("web", SECRET)), "invalid_request")


def test_non_basic_authorization_scheme_is_invalid_request(signed_in: Authorized) -> None:
    answer = token(signed_in.browser, code_form(signed_in), "Bearer abc")

    refused(answer, "invalid_request")


# -- grant errors -----------------------------------------------------------------------------


def test_missing_code(signed_in: Authorized) -> None:
    form = code_form(signed_in)
    del form["code"]

    refused(token(signed_in.browser, form, basic("web", SECRET)), "invalid_request")


def test_empty_code_is_missing(signed_in: Authorized) -> None:
    form = code_form(signed_in, code="")

    refused(token(signed_in.browser, form, basic("web", SECRET)), "invalid_request")


def test_unknown_code(signed_in: Authorized, deps: Deps) -> None:
    before = kinds(deps)
    form = code_form(signed_in, code="A" * 43)

    refused(token(signed_in.browser, form, basic("web", SECRET)), "invalid_grant")
    assert kinds(deps) == before
    assert code_is_unused(deps, signed_in.code)


def test_oversized_code(signed_in: Authorized) -> None:
    form = code_form(signed_in, code="A" * 129)

    refused(token(signed_in.browser, form, basic("web", SECRET)), "invalid_grant")


def test_code_is_single_use_and_reuse_revokes_the_grant(signed_in: Authorized, deps: Deps) -> None:
    ok(redeem(signed_in))

    refused(redeem(signed_in), "invalid_grant")
    item = deps.store.table.get(f"CODE#{digest(signed_in.code)}", "CODE")
    assert item is not None
    grant = deps.store.grants.get(str(item["grant_id"]))
    assert grant is not None
    assert not grant.active


def test_expired_code(signed_in: Authorized, clock: FakeClock) -> None:
    clock.advance(61)

    refused(redeem(signed_in), "invalid_grant")


def test_code_of_another_client(browser: Browser) -> None:
    done = sign_in(browser, client_id="post")
    form = code_form(done)

    refused(token(browser, form, basic("web", SECRET)), "invalid_grant")


def test_redirect_uri_mismatch(signed_in: Authorized) -> None:
    form = code_form(signed_in, redirect_uri=REDIRECT + "/other")

    refused(token(signed_in.browser, form, basic("web", SECRET)), "invalid_grant")


def test_redirect_uri_missing_when_it_was_sent(signed_in: Authorized) -> None:
    form = code_form(signed_in)
    del form["redirect_uri"]

    refused(token(signed_in.browser, form, basic("web", SECRET)), "invalid_grant")


def test_wrong_code_verifier(signed_in: Authorized) -> None:
    other, _ = pkce_pair()
    form = code_form(signed_in, code_verifier=other)

    refused(token(signed_in.browser, form, basic("web", SECRET)), "invalid_grant")


def test_missing_code_verifier(signed_in: Authorized) -> None:
    form = code_form(signed_in)
    del form["code_verifier"]

    refused(token(signed_in.browser, form, basic("web", SECRET)), "invalid_grant")


def test_code_verifier_without_challenge(browser: Browser, deps: Deps) -> None:
    """A client allowed to leave PKCE out (SECURITY.md 36) left it out: a verifier now is a
    downgrade attempt (RFC 9700 4.8.2)."""
    web = deps.store.clients.get("web")
    assert web is not None
    deps.store.clients.create(replace(web, client_id="legacy", pkce_required=False))
    done = sign_in(browser, client_id="legacy", scope="openid", pkce=False, nonce="n-1")
    verifier, _ = pkce_pair()
    form = code_form(done, code_verifier=verifier)

    refused(token(browser, form, basic("legacy", SECRET)), "invalid_grant")


def test_get_token_is_refused_without_a_token(browser: Browser, deps: Deps) -> None:
    before = kinds(deps)
    answer = browser.get("/token?grant_type=authorization_code&code=x&client_id=spa")

    assert 400 <= answer.status < 500, (answer.status, answer.text)
    assert b"access_token" not in answer.body
    assert kinds(deps) == before
