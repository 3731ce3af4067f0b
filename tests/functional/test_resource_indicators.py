"""Resource indicators (RFC 8707): `resource` at /authorize and /token selects the audience."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import jwt
import pytest

from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.models import Client
from tests.functional.flows import authorize_path, finish, oauth_error, to_client, token
from tests.support.oauth import ISSUER, REDIRECT, SECRET, Browser, basic, pkce_pair

NOTES = "https://notes.example/api"
BILLING = "https://billing.example/api"


@pytest.fixture(autouse=True)
def clients(deps: Deps) -> None:
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


def _code(browser: Browser, *resources: str) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    path = authorize_path(client_id="aud", scope="openid offline_access", challenge=challenge)
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
    assert _aud(body["access_token"]) == ISSUER


def test_one_resource_becomes_the_audience(browser: Browser) -> None:
    body = _redeem(browser, *_code(browser, NOTES)).json()
    assert _aud(body["access_token"]) == NOTES


def test_several_resources_and_narrowing_at_the_token_endpoint(browser: Browser) -> None:
    code, verifier = _code(browser, NOTES, BILLING)
    body = _redeem(browser, code, verifier, BILLING).json()
    assert _aud(body["access_token"]) == BILLING
    # A refresh may ask for any authorized resource, and all of them without one.
    refresh = body["refresh_token"]
    answer = token(
        browser,
        [("grant_type", "refresh_token"), ("refresh_token", refresh), ("resource", NOTES)],
        basic("aud", SECRET),
    )
    assert _aud(answer.json()["access_token"]) == NOTES
    again = token(
        browser,
        {"grant_type": "refresh_token", "refresh_token": answer.json()["refresh_token"]},
        basic("aud", SECRET),
    )
    assert _aud(again.json()["access_token"]) == [NOTES, BILLING]


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
