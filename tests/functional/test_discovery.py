"""Discovery documents, the JWKS and the stylesheet."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.flows import authorize_path, path_of
from tests.support.oauth import ISSUER, Browser, tollgate

DOCUMENTS = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def fetch(browser: Browser, path: str) -> dict[str, Any]:
    answer = browser.get(path)
    assert answer.status == 200, (answer.status, answer.text)
    assert answer.headers["content-type"].startswith("application/")
    assert answer.headers["content-type"].split(";")[0].endswith("json")
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.parametrize("path", DOCUMENTS)
def test_metadata_describes_this_server(browser: Browser, path: str) -> None:
    doc = fetch(browser, path)

    assert doc["issuer"] == ISSUER
    assert doc["authorization_endpoint"] == f"{ISSUER}/authorize"
    assert doc["token_endpoint"] == f"{ISSUER}/token"
    assert doc["jwks_uri"] == f"{ISSUER}/jwks.json"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["response_types_supported"] == ["code"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert sorted(doc["token_endpoint_auth_methods_supported"]) == sorted(
        ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    )
    assert len(doc["token_endpoint_auth_methods_supported"]) == 4
    assert doc["token_endpoint_auth_signing_alg_values_supported"] == ["ES256", "RS256"]
    assert "authorization_code" in doc["grant_types_supported"]
    assert "implicit" not in doc["grant_types_supported"]
    assert "password" not in doc["grant_types_supported"]


def test_openid_configuration_adds_the_oidc_members(browser: Browser) -> None:
    oauth = fetch(browser, DOCUMENTS[0])
    oidc = fetch(browser, DOCUMENTS[1])

    assert oidc["subject_types_supported"] == ["public"]
    assert "id_token_signing_alg_values_supported" in oidc
    for name, value in oauth.items():
        assert oidc[name] == value, name


@pytest.mark.parametrize("path", DOCUMENTS)
def test_advertised_endpoints_answer(browser: Browser, path: str) -> None:
    doc = fetch(browser, path)

    keys = fetch(browser, path_of(doc["jwks_uri"]))["keys"]
    assert keys
    authorize = browser.get(path_of(doc["authorization_endpoint"]) + "?client_id=web")
    assert authorize.status == 303
    assert authorize.location_params()["error"] == "invalid_request"  # no response_type
    token = browser.request(
        "POST",
        path_of(doc["token_endpoint"]),
        body=b"grant_type=authorization_code",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert token.json()["error"] == "invalid_client"


def test_issuer_with_a_path_is_used_exactly() -> None:
    issuer = "https://login.example.test/tenant-a"
    with tollgate(issuer=issuer) as (_deps, _clock, http):
        browser = Browser(http)
        for path in DOCUMENTS:
            doc = fetch(browser, path)
            assert doc["issuer"] == issuer
            assert doc["authorization_endpoint"] == f"{issuer}/authorize"
            assert doc["token_endpoint"] == f"{issuer}/token"
            assert doc["jwks_uri"] == f"{issuer}/jwks.json"


def test_jwks_publishes_only_public_members(browser: Browser) -> None:
    answer = browser.get("/jwks.json")
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/jwk-set+json"
    keys = answer.json()["keys"]

    assert keys
    for key in keys:
        assert not PRIVATE_MEMBERS & set(key), key
        assert key["kty"] in {"EC", "RSA"}
        assert key["use"] == "sig"
        assert key["alg"] in {"ES256", "RS256"}
        assert key["kid"]
    kids = [key["kid"] for key in keys]
    assert len(kids) == len(set(kids))
    assert any(key["alg"] == "ES256" for key in keys)


def test_jwks_is_stable_between_requests(browser: Browser) -> None:
    first = browser.get("/jwks.json").json()
    second = browser.get("/jwks.json").json()

    assert first == second


def test_stylesheet_is_served_as_css(browser: Browser) -> None:
    answer = browser.get("/static/tollgate.css")

    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/css")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert b"{" in answer.body
    assert b"<html" not in answer.body


def test_login_page_links_the_stylesheet(browser: Browser) -> None:
    page = browser.follow(browser.get(authorize_path(scope="openid")))

    assert page.status == 200
    assert f'<link rel="stylesheet" href="{ISSUER}/static/tollgate.css">' in page.text
