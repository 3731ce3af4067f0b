"""Tests mirroring the OpenID Foundation conformance suite's Basic OP and Config OP plans.

One test per module, named after it (`oidcc-...`), run against an in-memory Tollgate
through chalice.test.Client. The suite's own checks are restated from its module
descriptions; where a module needs a browser step (log in, consent), the test drives the
same pages a person would.
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.models import Client
from tests.functional.flows import (
    authorize_path,
    finish,
    oauth_error,
    sign_in,
    to_client,
    token,
)
from tests.support.oauth import ISSUER, REDIRECT, SECRET, Answer, Browser, basic, pkce_pair

ADDRESS = {"street_address": "1 Main St", "locality": "Springfield", "country": "US"}


def _register(deps: Deps, client_id: str) -> None:
    deps.store.clients.create(
        Client(
            client_id=client_id,
            name="Conformance Client",
            client_type="confidential",
            auth_method="client_secret_basic",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            scopes=["openid", "profile", "email", "address", "phone", "offline_access"],
            secret_hash=digest(SECRET),
        )
    )


@pytest.fixture(autouse=True)
def conformance_client(deps: Deps, clock: FakeClock) -> None:
    """The suite's client: confidential, with refresh tokens; alice with every claim."""
    clock.advance(int(time.time()) - clock.now())  # real time, so PyJWT's own checks apply
    for client_id in ("oidcc", "oidcc2"):
        _register(deps, client_id)
    user = deps.store.users.get("alice")
    assert user is not None
    user.email_verified = True
    user.claims = {
        "given_name": "Alice",
        "family_name": "Liddell",
        "address": ADDRESS,
        "phone_number": "+1 555 0100",
    }
    deps.store.users.save(user)


def _redeem(browser: Browser, code: str, verifier: str | None, client: str = "oidcc") -> Answer:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    if verifier:
        form["code_verifier"] = verifier
    return token(browser, form, basic(client, SECRET))


def _login(browser: Browser, scope: str = "openid", **extra: str) -> dict[str, str]:
    verifier, challenge = pkce_pair()
    started = browser.get(
        authorize_path(client_id="oidcc", scope=scope, challenge=challenge, **extra)
    )
    params = to_client(finish(browser, started))
    params["verifier"] = verifier
    return params


def _tokens(browser: Browser, scope: str = "openid", **extra: str) -> dict[str, Any]:
    params = _login(browser, scope, **extra)
    answer = _redeem(browser, params["code"], params["verifier"])
    assert answer.status == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _jwks(browser: Browser) -> jwt.PyJWKSet:
    return jwt.PyJWKSet.from_dict(browser.get("/jwks.json").json())


def _id_token(browser: Browser, body: dict[str, Any], nonce: str | None = None) -> dict[str, Any]:
    """Validate an ID token the way OIDC Core 3.1.3.7 tells a relying party to."""
    raw = body["id_token"]
    header = jwt.get_unverified_header(raw)
    assert header["alg"] == "RS256"
    key = _jwks(browser)[header["kid"]].key
    claims: dict[str, Any] = jwt.decode(
        raw,
        key,
        algorithms=["RS256"],
        audience="oidcc",
        issuer=ISSUER,
        leeway=120,  # tests move the fake clock up to a minute ahead of real time
        options={"require": ["iss", "sub", "aud", "exp", "iat", "auth_time"]},
    )
    assert claims["azp"] == "oidcc"
    if nonce is not None:
        assert claims["nonce"] == nonce
    else:
        assert "nonce" not in claims
    digest_half = hashlib.sha256(body["access_token"].encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest_half).rstrip(b"=").decode()
    return claims


def _userinfo(browser: Browser, access_token: str, how: str = "get") -> Answer:
    if how == "get":
        return browser.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    if how == "post-header":
        return browser.request(
            "POST", "/userinfo", headers={"Authorization": f"Bearer {access_token}"}
        )
    return browser.post_form("/userinfo", {"access_token": access_token})


# -- Basic OP ---------------------------------------------------------------------------------


def test_oidcc_server(browser: Browser) -> None:
    body = _tokens(browser, nonce="n-0S6_WzA2Mj")
    claims = _id_token(browser, body, nonce="n-0S6_WzA2Mj")
    assert claims["amr"] == ["pwd"]
    assert "sid" in claims
    assert body["token_type"] == "Bearer"


def test_oidcc_response_type_missing(browser: Browser) -> None:
    answer = browser.get(authorize_path(client_id="oidcc", scope="openid", response_type=None))
    params = to_client(answer)
    assert params["error"] == "invalid_request"
    assert params["state"] == "st-123"


def test_oidcc_idtoken_signature(browser: Browser) -> None:
    body = _tokens(browser)
    header = jwt.get_unverified_header(body["id_token"])
    assert header["alg"] == "RS256"
    # A tampered signature is rejected by the published key.
    head, payload, signature = body["id_token"].split(".")
    tampered = f"{head}.{payload}.{'A' * len(signature)}"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            tampered, _jwks(browser)[header["kid"]].key, algorithms=["RS256"], audience="oidcc"
        )


@pytest.mark.parametrize("how", ["get", "post-header", "post-body"])
def test_oidcc_userinfo(browser: Browser, how: str) -> None:
    body = _tokens(browser, "openid profile")
    answer = _userinfo(browser, body["access_token"], how)
    assert answer.status == 200, answer.text
    info = answer.json()
    assert info["sub"] == _id_token(browser, body)["sub"]
    assert info["name"] == "Alice"
    assert answer.headers["cache-control"] == "no-store"


def test_oidcc_userinfo_rejects_a_bad_token(browser: Browser) -> None:
    answer = _userinfo(browser, "not-a-token")
    assert answer.status == 401
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    missing = browser.get("/userinfo")
    assert missing.status == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")


def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(browser: Browser) -> None:
    _id_token(browser, _tokens(browser), nonce=None)


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("openid profile", {"name", "given_name", "family_name"}),
        ("openid email", {"email", "email_verified"}),
        ("openid address", {"address"}),
        ("openid phone", {"phone_number", "phone_number_verified"}),
        (
            "openid profile email address phone",
            {
                "name",
                "given_name",
                "family_name",
                "email",
                "email_verified",
                "address",
                "phone_number",
                "phone_number_verified",
            },
        ),
    ],
    ids=["scope-profile", "scope-email", "scope-address", "scope-phone", "scope-all"],
)
def test_oidcc_scope(browser: Browser, scope: str, expected: set[str]) -> None:
    body = _tokens(browser, scope)
    info = _userinfo(browser, body["access_token"]).json()
    assert set(info) - {"sub"} == expected
    if "address" in expected:
        assert info["address"] == ADDRESS


def test_oidcc_alternate_happy_flow(browser: Browser) -> None:
    """Different parameter and scope order, a second sign-in: the same result."""
    verifier, challenge = pkce_pair()
    pairs = [
        ("scope", "email openid"),
        ("code_challenge_method", "S256"),
        ("redirect_uri", REDIRECT),
        ("state", "st-123"),
        ("code_challenge", challenge),
        ("response_type", "code"),
        ("client_id", "oidcc"),
    ]
    params = to_client(finish(browser, browser.get("/authorize?" + urlencode(pairs))))
    body = _redeem(browser, params["code"], verifier).json()
    assert set(body["scope"].split()) == {"openid", "email"}
    _id_token(browser, body)


@pytest.mark.parametrize("display", ["page", "popup"])
def test_oidcc_display(browser: Browser, display: str) -> None:
    _id_token(browser, _tokens(browser, display=display))


def test_oidcc_prompt_login(browser: Browser, clock: FakeClock) -> None:
    first = _id_token(browser, _tokens(browser))
    clock.advance(2)
    verifier, challenge = pkce_pair()
    started = browser.get(
        authorize_path(client_id="oidcc", scope="openid", prompt="login", challenge=challenge)
    )
    assert started.location is not None and started.location.endswith("/login")
    params = to_client(finish(browser, started))
    again = _id_token(browser, _redeem(browser, params["code"], verifier).json())
    assert again["auth_time"] >= first["auth_time"] + 2


def test_oidcc_prompt_none_not_logged_in(browser: Browser) -> None:
    """SECURITY.md 10; OIDC Core 3.1.2.6: prompt=none without a session -> login_required."""
    answer = browser.get(authorize_path(client_id="oidcc", scope="openid", prompt="none"))
    assert to_client(answer)["error"] == "login_required"


def test_oidcc_prompt_none_logged_in(browser: Browser) -> None:
    _tokens(browser)
    verifier, challenge = pkce_pair()
    answer = browser.get(
        authorize_path(client_id="oidcc", scope="openid", prompt="none", challenge=challenge)
    )
    body = _redeem(browser, to_client(answer)["code"], verifier).json()
    _id_token(browser, body)


def test_oidcc_max_age_1(browser: Browser, clock: FakeClock) -> None:
    """SECURITY.md 10; OIDC Core 3.1.2.1: max_age forces a fresh login; auth_time present."""
    first = _id_token(browser, _tokens(browser))
    clock.advance(2)
    again = _id_token(browser, _tokens(browser, max_age="1"))  # _tokens logs in again
    assert again["auth_time"] >= first["auth_time"] + 2


def test_oidcc_max_age_10000(browser: Browser, clock: FakeClock) -> None:
    first = _id_token(browser, _tokens(browser))
    clock.advance(2)
    verifier, challenge = pkce_pair()
    answer = browser.get(
        authorize_path(client_id="oidcc", scope="openid", max_age="10000", challenge=challenge)
    )
    again = _id_token(browser, _redeem(browser, to_client(answer)["code"], verifier).json())
    assert again["auth_time"] == first["auth_time"]  # no new login, auth_time present


def test_oidcc_ensure_request_with_unknown_parameter_succeeds(browser: Browser) -> None:
    _id_token(browser, _tokens(browser, extra_param="bogus", another="x"))


def test_oidcc_id_token_hint(browser: Browser) -> None:
    first = _tokens(browser)
    verifier, challenge = pkce_pair()
    answer = browser.get(
        authorize_path(
            client_id="oidcc",
            scope="openid",
            prompt="none",
            id_token_hint=first["id_token"],
            challenge=challenge,
        )
    )
    again = _id_token(browser, _redeem(browser, to_client(answer)["code"], verifier).json())
    assert again["sub"] == _id_token(browser, first)["sub"]


def test_oidcc_login_hint(browser: Browser) -> None:
    started = browser.get(
        authorize_path(
            client_id="oidcc", scope="openid", login_hint="alice", challenge=pkce_pair()[1]
        )
    )
    page = browser.follow(started)
    assert 'value="alice"' in page.text


@pytest.mark.parametrize(
    "extra",
    [{"ui_locales": "se"}, {"claims_locales": "se"}, {"acr_values": "1 2"}],
    ids=["ui-locales", "claims-locales", "ensure-request-with-acr-values-succeeds"],
)
def test_oidcc_accepted_parameters(browser: Browser, extra: dict[str, str]) -> None:
    _id_token(browser, _tokens(browser, **extra))


def test_oidcc_codereuse(browser: Browser) -> None:
    params = _login(browser)
    assert _redeem(browser, params["code"], params["verifier"]).status == 200
    oauth_error(_redeem(browser, params["code"], params["verifier"]), "invalid_grant")


def test_oidcc_codereuse_30seconds(browser: Browser, clock: FakeClock) -> None:
    """The second use, 30 s later, revokes what the first use issued."""
    params = _login(browser, "openid profile")
    first = _redeem(browser, params["code"], params["verifier"]).json()
    assert _userinfo(browser, first["access_token"]).status == 200
    clock.advance(30)
    oauth_error(_redeem(browser, params["code"], params["verifier"]), "invalid_grant")
    assert _userinfo(browser, first["access_token"]).status == 401


def test_oidcc_ensure_registered_redirect_uri(browser: Browser) -> None:
    answer = browser.get(
        authorize_path(
            client_id="oidcc", scope="openid", redirect_uri="https://app.example/unregistered"
        )
    )
    assert answer.status == 400
    assert answer.location is None
    assert answer.headers["content-type"].startswith("text/html")


def test_oidcc_ensure_post_request_succeeds(browser: Browser) -> None:
    verifier, challenge = pkce_pair()
    form = {
        "client_id": "oidcc",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid",
        "state": "st-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params = to_client(finish(browser, browser.post_form("/authorize", form)))
    _id_token(browser, _redeem(browser, params["code"], verifier).json())


def test_oidcc_server_client_secret_post(browser: Browser) -> None:
    done = sign_in(browser, client_id="post", scope="openid")
    form = {
        "grant_type": "authorization_code",
        "code": done.code,
        "redirect_uri": REDIRECT,
        "code_verifier": done.verifier or "",
        "client_id": "post",
        "client_secret": SECRET,
    }
    answer = token(browser, form)
    assert answer.status == 200, answer.text
    assert "id_token" in answer.json()


def test_oidcc_ensure_request_with_valid_pkce_succeeds(browser: Browser) -> None:
    params = _login(browser)
    assert _redeem(browser, params["code"], params["verifier"]).status == 200


def test_oidcc_refresh_token(browser: Browser) -> None:
    body = _tokens(browser, "openid offline_access")
    answer = token(
        browser,
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        basic("oidcc", SECRET),
    )
    assert answer.status == 200, answer.text
    refreshed = answer.json()
    claims = _id_token(browser, refreshed)
    assert claims["sub"] == _id_token(browser, body)["sub"]
    assert refreshed["refresh_token"] != body["refresh_token"]
    # Another client cannot use it (the suite registers a second client for this).
    other = token(
        browser,
        {"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
        basic("oidcc2", SECRET),
    )
    oauth_error(other, "invalid_grant")


@pytest.mark.parametrize("name", ["request", "request_uri"])
def test_oidcc_request_objects_are_refused_as_unsupported(browser: Browser, name: str) -> None:
    answer = browser.get(authorize_path(client_id="oidcc", scope="openid", **{name: "x.y.z"}))
    assert to_client(answer)["error"] == f"{name}_not_supported"


# -- Config OP --------------------------------------------------------------------------------


def test_oidcc_discovery_endpoint_verification(browser: Browser) -> None:
    doc = browser.get("/.well-known/openid-configuration").json()
    assert doc["issuer"] == ISSUER
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
    ):
        assert doc[name].startswith(ISSUER + "/"), name
    assert doc["response_types_supported"] == ["code"]
    assert doc["subject_types_supported"] == ["public"]
    assert doc["id_token_signing_alg_values_supported"][0] == "RS256"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert {"openid", "profile", "email", "offline_access"} <= set(doc["scopes_supported"])
    assert {"authorization_code", "refresh_token"} <= set(doc["grant_types_supported"])
    assert {"sub", "name", "email", "address", "phone_number"} <= set(doc["claims_supported"])
    assert set(doc["token_endpoint_auth_methods_supported"]) >= {
        "client_secret_basic",
        "client_secret_post",
    }
    assert doc["request_parameter_supported"] is False
    keys = browser.get(doc["jwks_uri"].removeprefix(ISSUER)).json()["keys"]
    assert {k["kty"] for k in keys} >= {"RSA", "EC"}
    assert len({k["kid"] for k in keys}) == len(keys)
