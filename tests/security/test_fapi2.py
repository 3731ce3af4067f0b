"""SECURITY.md item 64: a client registered with the FAPI 2.0 Security Profile (docs/fapi2.md).

Its requests must be pushed, with redirect_uri and PKCE S256; it authenticates only with
private_key_jwt, ES256, `aud` the issuer as a string; its codes live at most 60 seconds; a
registration that breaks the profile is refused.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from chalicelib.admin.args import UsageError
from chalicelib.admin.registration import check
from chalicelib.ids import digest
from chalicelib.settings import SettingsError, load_settings
from chalicelib.stores.models import Client
from tests.security.conftest import (
    ISSUER,
    REDIRECT,
    VERIFIER,
    Server,
    auth_params,
    claims_of,
)
from tests.security.test_par import KEY, post, push, request_uri, to_client
from tests.support.assertions import TOKEN_ENDPOINT, ClientKey, client_key, form, jwks
from tests.support.assertions import claims as assertion_claims
from tests.support.dpop import dpop_key
from tests.support.oauth import Answer, tollgate

RSA = client_key("fapi-rsa", "RS256")


def fapi_client(**changes: Any) -> Client:
    client = Client(
        client_id="fapi",
        name="Fapi",
        client_type="confidential",
        auth_method="private_key_jwt",
        redirect_uris=[REDIRECT],
        grant_types=["authorization_code", "refresh_token"],
        scopes=["openid", "profile", "offline_access"],
        jwks=jwks(KEY, RSA),
        id_token_signed_response_alg="ES256",
        profile="fapi2",
        dpop_bound_access_tokens=True,
    )
    return dataclasses.replace(client, **changes)


@pytest.fixture
def fapi(server: Server) -> Server:
    server.deps.store.clients.create(fapi_client())
    return server


def signed_in_code(server: Server) -> str:
    uri = request_uri(push(server, "fapi"))
    answer = server.authorize(server.default_browser, {"client_id": "fapi", "request_uri": uri})
    final = server.finish(server.default_browser, answer)
    params = to_client(final)
    assert params["iss"] == [ISSUER]  # FAPI 2.0 5.3.2.2-7 (RFC 9207)
    return params["code"][0]


def redeem(
    server: Server, code: str, key: ClientKey = KEY, dpop: str | None = None, **assertion: Any
) -> Answer:
    claims = assertion_claims("fapi", server.clock.now(), **{"aud": ISSUER, **assertion})
    fields = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": VERIFIER,
        "redirect_uri": REDIRECT,
    }
    headers = {} if dpop is None else {"DPoP": dpop}
    return post(server, "/token", {**fields, **form(key.sign(claims), client_id="fapi")}, headers)


def test_a_fapi2_client_completes_code_with_par(fapi: Server) -> None:
    proof = dpop_key().proof("POST", f"{ISSUER}/token", fapi.clock.now())
    answer = redeem(fapi, signed_in_code(fapi), dpop=proof)
    assert answer.status == 200, answer.text


def test_a_plain_request_of_a_fapi2_client_is_refused(fapi: Server) -> None:
    answer = fapi.authorize(fapi.default_browser, auth_params("fapi"))
    assert to_client(answer)["error"] == ["invalid_request"]


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"redirect_uri": None}, "redirect_uri is required"),
        ({"code_challenge": None, "code_challenge_method": None}, "code_challenge is required"),
    ],
    ids=["no-redirect-uri", "no-pkce"],
)
def test_a_fapi2_push_needs_redirect_uri_and_pkce(
    fapi: Server, overrides: dict[str, Any], why: str
) -> None:
    answer = push(fapi, "fapi", **overrides)
    assert answer.status == 400
    assert answer.json()["error"] == "invalid_request"
    assert why in answer.json()["error_description"]


@pytest.mark.parametrize(
    "assertion",
    [{"aud": TOKEN_ENDPOINT}, {"aud": [ISSUER]}, {"aud": f"{ISSUER}/par"}],
    ids=["token-endpoint", "array", "par-endpoint"],
)
def test_a_fapi2_assertion_names_only_the_issuer_as_a_string(
    fapi: Server, assertion: dict[str, Any]
) -> None:
    answer = redeem(fapi, signed_in_code(fapi), **assertion)
    assert answer.status == 401 and answer.json()["error"] == "invalid_client", answer.text


def test_a_fapi2_assertion_signed_rs256_is_refused(fapi: Server) -> None:
    answer = redeem(fapi, signed_in_code(fapi), key=RSA)
    assert answer.status == 401 and answer.json()["error"] == "invalid_client"


def test_a_fapi2_code_lives_at_most_60_seconds() -> None:
    with tollgate(code_ttl=600) as (deps, clock, http):
        server = Server(deps, clock, http)
        deps.store.clients.create(fapi_client())
        code = signed_in_code(server)
        web_code = server.sign_in("web").code
        stored = deps.store.codes.get(digest(code))
        web = deps.store.codes.get(digest(web_code))
    assert stored is not None and web is not None
    assert stored.expires_at - clock.now() == 60
    assert web.expires_at - clock.now() == 600


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"auth_method": "client_secret_basic", "jwks": None, "secret_hash": "x"},
            "private_key_jwt",
        ),
        ({"auth_method": "none", "client_type": "public", "jwks": None}, "private_key_jwt"),
        ({"pkce_required": False}, "PKCE"),
        ({"redirect_uris": ["http://127.0.0.1/cb"]}, "https"),
        ({"id_token_signed_response_alg": "RS256"}, "ES256"),
        ({"dpop_bound_access_tokens": False}, "dpop-required"),
    ],
    ids=["secret", "public", "no-pkce", "http", "rs256-id-token", "no-dpop"],
)
def test_a_registration_that_breaks_the_profile_is_refused(
    changes: dict[str, Any], message: str
) -> None:
    check(fapi_client())  # the profile's own client passes
    with pytest.raises(UsageError, match=message):
        check(fapi_client(**changes))


@pytest.mark.parametrize("ttl", ["9", "600"])
def test_the_request_uri_lifetime_stays_below_600_seconds(ttl: str) -> None:
    env = {"TOLLGATE_ISSUER": ISSUER, "TOLLGATE_TABLE": "t", "TOLLGATE_PAR_TTL": ttl}
    assert load_settings({**env, "TOLLGATE_PAR_TTL": "599"}).par_ttl == 599
    with pytest.raises(SettingsError):
        load_settings(env)


def test_a_fapi2_token_request_without_a_dpop_proof_is_refused(fapi: Server) -> None:
    """FAPI 2.0 5.3.2.1-4: only sender-constrained access tokens."""
    answer = redeem(fapi, signed_in_code(fapi))
    assert answer.status == 400 and answer.json()["error"] == "invalid_dpop_proof", answer.text


def test_a_fapi2_client_gets_dpop_bound_tokens(fapi: Server) -> None:
    key = dpop_key()
    code = signed_in_code(fapi)
    proof = key.proof("POST", f"{ISSUER}/token", fapi.clock.now())
    answer = redeem(fapi, code, dpop=proof)
    assert answer.status == 200, answer.text
    assert answer.json()["token_type"] == "DPoP"
    assert claims_of(answer.json()["access_token"])["cnf"] == {"jkt": key.jkt}
