"""A dynamic client the operator put under the FAPI 2.0 profile (`tollgate client update
--profile fapi2`) stays under its rules (SECURITY.md 64): an RFC 7592 update that breaks
them is refused as invalid_client_metadata and changes nothing; registration itself never
makes a fapi2 client."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest

from chalicelib.admin.cli import main
from chalicelib.deps import Deps
from tests.functional.flows import oauth_error
from tests.functional.registering import initial_token, manage, register
from tests.support.assertions import client_key, jwks
from tests.support.oauth import Browser

KEY = client_key("dyn-fapi", "ES256")
BANK = {
    "client_name": "Bank app",
    "redirect_uris": ["https://app.example/cb"],
    "token_endpoint_auth_method": "private_key_jwt",
    "grant_types": ["authorization_code"],
    "jwks": jwks(KEY),
    "id_token_signed_response_alg": "ES256",
    "dpop_bound_access_tokens": True,
    "scope": "openid",
}


@pytest.fixture
def fapi2(browser: Browser, deps: Deps) -> dict[str, Any]:
    """A compliant dynamic client, then put under the profile by the operator."""
    answer = register(browser, BANK, initial_token(deps.store))
    assert answer.status == 201, answer.text
    registered: dict[str, Any] = answer.json()
    argv = ["client", "update", registered["client_id"], "--profile", "fapi2"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(argv, store=deps.store) == 0
    deps.clients.reload(registered["client_id"])
    return registered


def test_a_compliant_update_keeps_the_profile(
    browser: Browser, deps: Deps, fapi2: dict[str, Any]
) -> None:
    doc = {**BANK, "client_id": fapi2["client_id"], "client_name": "Renamed"}
    assert manage(browser, "PUT", fapi2, doc).status == 200
    after = deps.store.clients.get(fapi2["client_id"])
    assert after is not None and (after.name, after.profile) == ("Renamed", "fapi2")


SECRET = {"token_endpoint_auth_method": "client_secret_basic", "jwks": None}
PUBLIC = {"token_endpoint_auth_method": "none", "jwks": None}


@pytest.mark.parametrize(
    "change",
    [
        SECRET,
        PUBLIC,
        {"id_token_signed_response_alg": "RS256"},
        {"redirect_uris": ["http://127.0.0.1:8400/cb"]},
    ],
    ids=["secret", "public", "rs256-id-tokens", "http-redirect-uri"],
)
def test_an_update_that_breaks_the_profile_is_refused(
    browser: Browser, deps: Deps, fapi2: dict[str, Any], change: dict[str, Any]
) -> None:
    """SECURITY.md 64: a fapi2 client authenticates with private_key_jwt only, its redirect
    URIs are https, its ID tokens ES256, whichever path changes its registration."""
    before = deps.store.clients.get(fapi2["client_id"])
    doc = {**BANK, "client_id": fapi2["client_id"], **change}
    doc = {name: value for name, value in doc.items() if value is not None}
    body = oauth_error(manage(browser, "PUT", fapi2, doc), "invalid_client_metadata")
    assert "fapi2" in body["error_description"]
    assert "client_secret" not in body
    assert deps.store.clients.get(fapi2["client_id"]) == before


def test_registration_never_makes_a_fapi2_client(browser: Browser, deps: Deps) -> None:
    """The profile is the operator's to set: a registration that asks for it gets none."""
    answer = register(browser, {**BANK, "profile": "fapi2"}, initial_token(deps.store))
    assert answer.status == 201, answer.text
    client = deps.store.clients.get(answer.json()["client_id"])
    assert client is not None and client.profile == ""
