"""SECURITY.md item 4: once client and redirect URI are proven, errors go back to the client."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from chalicelib.errors import InvalidRequest, InvalidScope, OAuthError, clean_description
from tests.security.conftest import ISSUER, REDIRECT, Server, auth_params, authorize_path, query_of
from tests.support.oauth import Answer, pkce_pair

ODD_STATE = "a b+c/%&=é~"
CHALLENGE = pkce_pair()[1]

# (client_id, overrides of the request, expected error). None removes a parameter.
CASES: list[tuple[str, dict[str, str | None], str]] = [
    ("web", {"response_type": "token"}, "unsupported_response_type"),
    ("web", {"response_type": "code id_token"}, "unsupported_response_type"),
    ("web", {"response_type": None}, "invalid_request"),
    ("web", {"scope": "openid admin"}, "invalid_scope"),
    ("web", {"scope": None}, "invalid_request"),
    ("spa", {"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ("spa", {"code_challenge_method": "plain"}, "invalid_request"),
    ("web", {"code_challenge_method": "plain"}, "invalid_request"),
    ("spa", {"code_challenge_method": None}, "invalid_request"),
    ("web", {"prompt": "none"}, "login_required"),
    ("spa", {"prompt": "none"}, "login_required"),
    ("web", {"prompt": "bogus"}, "invalid_request"),
    ("web", {"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
    ("web", {"request_uri": "https://evil.example/r"}, "request_uri_not_supported"),
    ("web", {"response_mode": "fragment"}, "invalid_request"),
    ("web", {"max_age": "-1"}, "invalid_request"),
]


def request_for(client_id: str, overrides: dict[str, str | None]) -> dict[str, str]:
    params = auth_params(client_id, state=ODD_STATE, challenge=CHALLENGE)
    for name, value in overrides.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    return params


def assert_error_redirect(answer: Answer, error: str, state: str | None = ODD_STATE) -> None:
    assert answer.status in (302, 303), (answer.status, answer.text)
    location = answer.location
    assert location is not None
    assert location.split("?", 1)[0] == REDIRECT, location
    assert urlsplit(location).fragment == ""
    params = query_of(location)
    assert params["error"] == [error], params
    assert params["iss"] == [ISSUER]
    if state is None:
        assert "state" not in params
    else:
        assert params["state"] == [state]
    assert "code" not in params


@pytest.mark.parametrize(("client_id", "overrides", "error"), CASES)
def test_error_redirects_with_state_and_iss(
    server: Server, client_id: str, overrides: dict[str, str | None], error: str
) -> None:
    """SECURITY.md 4; RFC 6749 4.1.2.1, RFC 9207 2, RFC 7636 4.4.1: error, state and iss."""
    answer = server.default_browser.get(authorize_path(request_for(client_id, overrides)))
    assert_error_redirect(answer, error)
    assert server.codes() == []


@pytest.mark.parametrize(("client_id", "overrides", "error"), CASES[:4])
def test_error_redirects_for_post_requests_too(
    server: Server, client_id: str, overrides: dict[str, str | None], error: str
) -> None:
    """SECURITY.md 4; OIDC Core 3.1.2.1 (POST), RFC 9207 2: same answer for a form POST."""
    answer = server.default_browser.post_form("/authorize", request_for(client_id, overrides))
    assert_error_redirect(answer, error)


@pytest.mark.parametrize(
    "state", ["x", "  ", "%41", "a&state=b", "<script>", "日本語", "a\u00a0b", "+", "=", "#frag"]
)
def test_state_is_echoed_byte_for_byte(server: Server, state: str) -> None:
    """SECURITY.md 4; RFC 6749 4.1.2.1: state comes back exactly as sent."""
    params = auth_params("web", state=state, response_type="token")
    answer = server.default_browser.get(authorize_path(params))
    assert_error_redirect(answer, "unsupported_response_type", state)


def test_no_state_sent_none_returned(server: Server) -> None:
    """SECURITY.md 4; RFC 6749 4.1.2.1: state is echoed only when the client sent one."""
    params = auth_params("web", state=None, response_type="token")
    answer = server.default_browser.get(authorize_path(params))
    assert_error_redirect(answer, "unsupported_response_type", state=None)


def test_state_is_echoed_on_success_too(server: Server) -> None:
    """SECURITY.md 4; RFC 6749 4.1.2, RFC 9207 2: the code response carries state and iss."""
    flow = server.sign_in("web", state=ODD_STATE)
    assert flow.params["state"] == [ODD_STATE]
    assert flow.params["iss"] == [ISSUER]


def test_registered_query_is_kept_on_error(server: Server) -> None:
    """SECURITY.md 4; RFC 6749 3.1.2: the registered URI's own query stays, error is added."""
    from chalicelib.ids import digest
    from chalicelib.stores.models import Client

    uri = "https://app.example/cb?tenant=7"
    server.deps.store.clients.create(
        Client(
            client_id="tenant",
            name="Tenant",
            client_type="confidential",
            auth_method="client_secret_basic",
            redirect_uris=[uri],
            grant_types=["authorization_code"],
            scopes=["openid"],
            secret_hash=digest("x" * 43),
        )
    )
    params = auth_params("tenant", redirect_uri=uri, state=ODD_STATE, scope="admin")
    answer = server.default_browser.get(authorize_path(params))
    assert answer.location is not None
    assert answer.location.startswith(f"{uri}&"), answer.location
    found = query_of(answer.location)
    assert found["tenant"] == ["7"]
    assert found["error"] == ["invalid_scope"]
    assert found["state"] == [ODD_STATE]


# Inputs carrying CR, LF and TAB into every parameter an error could talk about.
DIRTY: list[dict[str, str | None]] = [
    {"response_type": "code\r\nSet-Cookie: x=1"},
    {"response_type": "token\tid_token"},
    {"scope": "openid\r\nadmin"},
    {"scope": "openid\tadmin"},
    {"scope": "openid admin\n"},
    {"prompt": "none\r\nlogin"},
    {"prompt": "bogus\t"},
    {"code_challenge_method": "plain\r\n"},
    {"code_challenge": "x\r\ny"},
    {"max_age": "1\n"},
    {"response_mode": "query\r\n"},
]


@pytest.mark.parametrize("overrides", DIRTY)
def test_error_description_never_holds_control_characters(
    server: Server, overrides: dict[str, str | None]
) -> None:
    """SECURITY.md 4; RFC 6749 4.1.2.1 (error_description charset %x20-21 / %x23-5B / %x5D-7E)."""
    answer = server.default_browser.get(authorize_path(request_for("web", overrides)))
    location = answer.location
    assert location is not None, answer.text
    assert not set(location) & {"\r", "\n", "\t"}
    params = query_of(location)
    assert "error" in params
    for description in params.get("error_description", []):
        assert not set(description) & {"\r", "\n", "\t"}, description
        assert all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in description)


@pytest.mark.parametrize("error_class", [InvalidRequest, InvalidScope, OAuthError])
def test_descriptions_are_cleaned_at_the_source(error_class: type[OAuthError]) -> None:
    """SECURITY.md 4; RFC 6749 4.1.2.1 and 5.2: even a description built from input is clean."""
    error = error_class('bad value\r\nSet-Cookie: a=b\tx"y\\z\x00é')
    description = error.body()["error_description"]
    assert not set(description) & {"\r", "\n", "\t", '"', "\\", "\x00", "é"}
    assert description.startswith("bad value")
    assert clean_description("a\r\nb") == "a  b"
