"""Resource indicators (RFC 8707): `resource` at /authorize and /token selects the audience.

A token that grants `openid` also names UserInfo (its URL, last in `aud`; issue 16 item 1)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import jwt
import pytest

from chalicelib.authorizer.errors import InvalidToken
from chalicelib.authorizer.in_process import keys_for
from chalicelib.authorizer.validate import Claims, verify
from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.models import Client
from tests.functional.flows import authorize_path, finish, oauth_error, to_client, token
from tests.support.oauth import (
    ISSUER,
    REDIRECT,
    SECRET,
    Answer,
    Browser,
    basic,
    pkce_pair,
    register_resource,
)

NOTES = "https://notes.example/api"
USERINFO = f"{ISSUER}/userinfo"
BILLING = "https://billing.example/api"


@pytest.fixture(autouse=True)
def clients(deps: Deps) -> None:
    register_resource(deps, NOTES, ["notes:read"])
    register_resource(deps, BILLING, ["notes:read"])
    for client_id, grants in (
        ("aud", ["authorization_code", "refresh_token"]),
        ("job", ["client_credentials"]),
    ):
        deps.store.clients.create(
            Client(
                client_id=client_id,
                name=client_id,
                client_type="confidential",
                auth_method="client_secret_basic",
                redirect_uris=[REDIRECT],
                grant_types=grants,
                scopes=["openid", "offline_access", "notes:read"],
                secret_hash=digest(SECRET),
                resources=[NOTES, BILLING],
            )
        )


def _aud(access_token: str) -> Any:
    return jwt.decode(access_token, options={"verify_signature": False})["aud"]


def _code(
    browser: Browser, *resources: str, scope: str = "openid offline_access"
) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    path = authorize_path(client_id="aud", scope=scope, challenge=challenge)
    path += "".join(f"&resource={quote(r, safe='')}" for r in resources)
    return to_client(finish(browser, browser.get(path)))["code"], verifier


def _redeem(browser: Browser, code: str, verifier: str, *resources: str) -> Any:
    form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
        *[("resource", r) for r in resources],
    ]
    return token(browser, form, basic("aud", SECRET))


def test_without_resource_the_default_audience_applies(browser: Browser) -> None:
    body = _redeem(browser, *_code(browser)).json()
    assert _aud(body["access_token"]) == [ISSUER, USERINFO]


def test_one_resource_becomes_the_audience(browser: Browser) -> None:
    body = _redeem(browser, *_code(browser, NOTES)).json()
    assert _aud(body["access_token"]) == [NOTES, USERINFO]


def test_several_resources_and_narrowing_at_the_token_endpoint(browser: Browser) -> None:
    code, verifier = _code(browser, NOTES, BILLING)
    body = _redeem(browser, code, verifier, BILLING).json()
    assert _aud(body["access_token"]) == [BILLING, USERINFO]
    # A refresh may ask for any authorized resource, and all of them without one.
    refresh = body["refresh_token"]
    answer = token(
        browser,
        [("grant_type", "refresh_token"), ("refresh_token", refresh), ("resource", NOTES)],
        basic("aud", SECRET),
    )
    assert _aud(answer.json()["access_token"]) == [NOTES, USERINFO]
    again = token(
        browser,
        {"grant_type": "refresh_token", "refresh_token": answer.json()["refresh_token"]},
        basic("aud", SECRET),
    )
    assert _aud(again.json()["access_token"]) == [NOTES, BILLING, USERINFO]


def test_the_token_endpoint_cannot_widen_the_audience(browser: Browser) -> None:
    code, verifier = _code(browser, NOTES)
    oauth_error(_redeem(browser, code, verifier, BILLING), "invalid_target")


@pytest.mark.parametrize(
    "bad", ["https://evil.example/api", "not-a-uri", f"{NOTES}#frag", "/relative"]
)
def test_resources_the_client_may_not_ask_for_are_refused(browser: Browser, bad: str) -> None:
    _verifier, challenge = pkce_pair()
    path = authorize_path(client_id="aud", scope="openid", challenge=challenge)
    answer = browser.get(f"{path}&resource={quote(bad, safe='')}")
    assert to_client(answer)["error"] == "invalid_target"


def test_client_credentials_with_a_resource(browser: Browser) -> None:
    form = {"grant_type": "client_credentials", "scope": "notes:read", "resource": NOTES}
    answer = token(browser, form, basic("job", SECRET))
    assert _aud(answer.json()["access_token"]) == NOTES
    form["resource"] = "https://evil.example/"
    oauth_error(token(browser, form, basic("job", SECRET)), "invalid_target")


def _verify(deps: Deps, access_token: str, audience: str) -> Claims:
    """The authorizer core every API uses, for `audience`."""
    return verify(
        access_token,
        keys_for(deps),
        issuer=ISSUER,
        audience=audience,
        now=deps.clock.now(),
    )


def _userinfo(browser: Browser, access_token: str) -> Answer:
    headers = {"Authorization": f"Bearer {access_token}"}
    return browser.request("GET", "/userinfo", headers=headers, cookies=False)


def test_an_openid_token_for_an_api_also_reads_userinfo(browser: Browser, deps: Deps) -> None:
    """Issue 16.1: `openid profile notes:read` with resource=NOTES. The API's authorizer and
    UserInfo both accept the one token; the deployment's default API does not."""
    code, verifier = _code(browser, NOTES, scope="openid notes:read")
    access = _redeem(browser, code, verifier).json()["access_token"]
    assert _aud(access) == [NOTES, USERINFO]
    answer = _userinfo(browser, access)
    assert answer.status == 200, answer.text
    assert answer.json()["sub"] == "sub-alice"
    assert _verify(deps, access, NOTES).scopes == ("openid", "notes:read")
    with pytest.raises(InvalidToken):
        _verify(deps, access, ISSUER)  # the default audience was not asked for


def test_without_openid_no_userinfo_audience_and_userinfo_refuses(
    browser: Browser, deps: Deps
) -> None:
    """UserInfo reads only tokens naming it: an API's token without openid does not."""
    code, verifier = _code(browser, NOTES, scope="notes:read")
    access = _redeem(browser, code, verifier).json()["access_token"]
    assert _aud(access) == NOTES
    answer = _userinfo(browser, access)
    assert answer.status == 401
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    form = {"grant_type": "client_credentials", "scope": "notes:read", "resource": NOTES}
    machine = token(browser, form, basic("job", SECRET)).json()["access_token"]
    assert _aud(machine) == NOTES
    assert _userinfo(browser, machine).status == 401


def test_a_token_for_the_default_audience_alone_is_not_for_userinfo(
    browser: Browser, deps: Deps
) -> None:
    """A token naming only the default API (as issued before this rule) is refused, even
    with the openid scope: UserInfo's audience is its own URL."""
    code, verifier = _code(browser)
    access = _redeem(browser, code, verifier).json()["access_token"]
    assert _userinfo(browser, access).status == 200
    claims = jwt.decode(access, options={"verify_signature": False})
    claims["aud"] = ISSUER
    forged = deps.signer.sign(claims, alg="ES256", typ="at+jwt")
    assert _userinfo(browser, forged).status == 401
