"""SECURITY.md items 63 and 47: a DPoP proof sent with a pushed authorization request binds
the code to its key, as `dpop_jkt` does (RFC 9449 10.1); a bad proof at /par stores nothing."""

from __future__ import annotations

import pytest

from tests.security.conftest import ISSUER, REDIRECT, VERIFIER, Server, auth_params
from tests.security.test_par import credentials, post, pushed_items, request_uri, to_client
from tests.support.dpop import dpop_key
from tests.support.oauth import Answer


def _signed_in_code(server: Server, uri: str, client_id: str = "web") -> str:
    browser = server.default_browser
    answer = server.authorize(browser, {"client_id": client_id, "request_uri": uri})
    return to_client(server.finish(browser, answer))["code"][0]


def _redeem(server: Server, code: str, proof: str | None) -> Answer:
    headers, auth = credentials(server, "web")
    fields = {"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER}
    fields["redirect_uri"] = REDIRECT
    if proof is not None:
        headers = {**headers, "DPoP": proof}
    return post(server, "/token", {**fields, **auth}, headers)


def test_a_proof_at_par_binds_the_code_to_its_key(server: Server) -> None:
    """SECURITY.md 63 and 47: as dpop_jkt would; another key or none is invalid_grant."""
    key, other = dpop_key(), dpop_key(name="other")
    headers, auth = credentials(server, "web")
    proof = key.proof("POST", f"{ISSUER}/par", server.clock.now())
    pushed = post(server, "/par", {**auth_params("web"), **auth}, {**headers, "DPoP": proof})
    code = _signed_in_code(server, request_uri(pushed))
    token_url = f"{ISSUER}/token"

    assert _redeem(server, code, None).json()["error"] == "invalid_grant"
    wrong = _redeem(server, code, other.proof("POST", token_url, server.clock.now()))
    assert wrong.json()["error"] == "invalid_grant"
    right = _redeem(server, code, key.proof("POST", token_url, server.clock.now()))
    assert right.status == 200 and right.json()["token_type"] == "DPoP", right.text


@pytest.mark.parametrize("case", ["another-url", "dpop_jkt-of-another-key"])
def test_a_bad_proof_at_par_stores_nothing(server: Server, case: str) -> None:
    key, other = dpop_key(), dpop_key(name="other")
    headers, auth = credentials(server, "web")
    url = f"{ISSUER}/token" if case == "another-url" else f"{ISSUER}/par"
    fields = auth_params("web")
    if case != "another-url":
        fields["dpop_jkt"] = other.jkt
    proof = key.proof("POST", url, server.clock.now())

    answer = post(server, "/par", {**fields, **auth}, {**headers, "DPoP": proof})

    expected = "invalid_dpop_proof" if case == "another-url" else "invalid_request"
    assert answer.status == 400 and answer.json()["error"] == expected, answer.text
    assert pushed_items(server) == []
