"""SECURITY.md item 5: PKCE with S256 only, checked strictly at the token endpoint."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace

import pytest

from tests.security.conftest import Flow, Server, auth_params, authorize_path, query_of
from tests.support.oauth import Answer, pkce_pair


def opted_out(server: Server) -> str:
    """A confidential client registered with pkce_required false (`--allow-no-pkce`)."""
    web = server.deps.store.clients.get("web")
    assert web is not None
    server.deps.store.clients.create(replace(web, client_id="legacy", pkce_required=False))
    return "legacy"


def assert_invalid_grant(answer: Answer) -> None:
    assert answer.status == 400, (answer.status, answer.text)
    assert answer.json()["error"] == "invalid_grant", answer.text
    assert "access_token" not in answer.json()


def s256(verifier: str) -> str:
    """RFC 7636 4.2, computed here (UTF-8, so malformed verifiers get a challenge too)."""
    digest = hashlib.sha256(verifier.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def flow_with_verifier(server: Server, verifier: str, client_id: str = "spa") -> Flow:
    """A sign-in whose challenge is the S256 of `verifier`, however malformed it is."""
    challenge = s256(verifier)
    browser = server.default_browser
    params = auth_params(client_id, challenge=challenge)
    answer = server.finish(browser, server.authorize(browser, params))
    assert answer.location is not None
    code = query_of(answer.location)["code"][0]
    return Flow(code, verifier, client_id, params["redirect_uri"], answer.location, browser)


@pytest.mark.parametrize("client_id", ["spa", "web"])
@pytest.mark.parametrize("method", ["plain", "PLAIN", "s256", "S384", "", None])
def test_only_s256_is_accepted(server: Server, client_id: str, method: str | None) -> None:
    """SECURITY.md 5; RFC 7636 4.3 and 4.4.1, OAuth 2.1 4.1.1: plain and the rest are refused."""
    verifier, challenge = pkce_pair()
    params = auth_params(client_id, challenge=verifier if method == "plain" else challenge)
    if method is None:
        del params["code_challenge_method"]  # RFC 7636 4.3: absent means plain
    else:
        params["code_challenge_method"] = method
    answer = server.default_browser.get(authorize_path(params))
    assert answer.location is not None
    found = query_of(answer.location)
    assert found.get("error") == ["invalid_request"], answer.location
    assert server.codes() == []


def test_public_client_without_challenge_is_refused(server: Server) -> None:
    """SECURITY.md 5; OAuth 2.1 4.1.1, RFC 9700 2.1.1: a public client must use PKCE."""
    answer = server.default_browser.get(authorize_path(auth_params("spa", challenge=None)))
    assert answer.location is not None
    assert query_of(answer.location).get("error") == ["invalid_request"]
    assert server.codes() == []


@pytest.mark.parametrize("challenge", ["short", "A" * 42, "A" * 44, "A" * 42 + "=", "A" * 42 + "+"])
def test_malformed_challenge_is_refused(server: Server, challenge: str) -> None:
    """SECURITY.md 5; RFC 7636 4.2: an S256 challenge is 43 base64url characters."""
    params = auth_params("spa")
    params.update(code_challenge=challenge, code_challenge_method="S256")
    answer = server.default_browser.get(authorize_path(params))
    assert answer.location is not None
    assert query_of(answer.location).get("error") == ["invalid_request"]


@pytest.mark.parametrize("client_id", ["spa", "web"])
def test_right_verifier_works(server: Server, client_id: str) -> None:
    """SECURITY.md 5; RFC 7636 4.6: the matching verifier redeems the code (control case)."""
    flow = server.sign_in(client_id)
    answer = server.redeem(flow)
    assert answer.status == 200, answer.text


@pytest.mark.parametrize("client_id", ["spa", "web"])
def test_wrong_verifier_is_invalid_grant(server: Server, client_id: str) -> None:
    """SECURITY.md 5; RFC 7636 4.6: a verifier of another pair -> invalid_grant."""
    flow = server.sign_in(client_id)
    other, _ = pkce_pair()
    assert_invalid_grant(server.redeem(flow, verifier=other))


@pytest.mark.parametrize("client_id", ["spa", "web"])
def test_missing_verifier_is_invalid_grant(server: Server, client_id: str) -> None:
    """SECURITY.md 5; RFC 7636 4.5 and 4.6: a challenge was sent, so a verifier is required."""
    flow = server.sign_in(client_id)
    assert_invalid_grant(server.redeem(flow, omit=("code_verifier",)))


def test_verifier_without_challenge_is_invalid_grant(server: Server) -> None:
    """SECURITY.md 5; RFC 9700 4.8.2 (PKCE downgrade): a verifier where no challenge was sent
    (by a client allowed to leave PKCE out, SECURITY.md 36)."""
    flow = server.sign_in(opted_out(server), pkce=False, scope="openid", nonce="n-1")
    verifier, _ = pkce_pair()
    assert_invalid_grant(server.redeem(flow, verifier=verifier))


@pytest.mark.parametrize(
    "verifier",
    [
        "a" * 42,
        "a" * 129,
        "a" * 42 + "!",
        "a" * 42 + "+",
        "a" * 42 + "/",
        "a" * 42 + "=",
        "a" * 42 + " ",
        "a" * 42 + "é",
    ],
    ids=["42-chars", "129-chars", "bang", "plus", "slash", "equals", "space", "non-ascii"],
)
def test_malformed_verifier_is_invalid_grant(server: Server, verifier: str) -> None:
    """SECURITY.md 5; RFC 7636 4.1: 43-128 unreserved characters, even if S256 would match."""
    flow = flow_with_verifier(server, verifier)
    assert_invalid_grant(server.redeem(flow))


@pytest.mark.parametrize("length", [43, 128])
def test_verifier_length_bounds_are_inclusive(server: Server, length: int) -> None:
    """SECURITY.md 5; RFC 7636 4.1: 43 and 128 characters, all unreserved kinds (control)."""
    verifier = ("Az09-._~" * 20)[:length]
    flow = flow_with_verifier(server, verifier)
    answer = server.redeem(flow)
    assert answer.status == 200, answer.text
