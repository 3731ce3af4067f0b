"""Properties of the client-facing endpoints: /token (client assertions and Basic headers
included), /revoke, /introspect and /par. Whatever arrives: never a 5xx, never a traceback or a
framework's own body, only ASCII headers, and a refused request changes no stored state."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.protocol.client_assertion import JWT_BEARER
from tests.properties.conftest import KEY, Running
from tests.properties.strategies import (
    CONTENT_TYPES,
    basic_header,
    encoded,
    form_body,
    judge,
    jws,
    mutated,
)
from tests.support.assertions import claims

TOKEN_NAMES = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "scope",
    "resource",
]
CLIENT_NAMES = [*TOKEN_NAMES, "token", "token_type_hint"]


def _assertion_form(assertion: str, extra: str) -> bytes:
    fields = f"client_assertion_type={encoded(JWT_BEARER)}&client_assertion={encoded(assertion)}"
    return f"{extra}&{fields}".encode()


def _post(running: Running, path: str, body: bytes, content_type: str, auth: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    if auth is not None:
        headers["Authorization"] = auth
    answer = running.browser.request("POST", path, body=body, headers=headers, cookies=False)
    judge(answer, running.unchanged)


@given(
    body=form_body(TOKEN_NAMES),
    content_type=CONTENT_TYPES,
    auth=st.none() | basic_header(),
)
def test_the_token_endpoint(
    running: Running, body: bytes, content_type: str, auth: str | None
) -> None:
    _post(running, "/token", body, content_type, auth)


def _signed(running: Running) -> str:
    from tests.authorizer.tokens import jws as sign

    now = running.deps.clock.now()
    return sign({"alg": "ES256", "kid": KEY.kid}, claims("pkj", now), KEY.sign)


@given(data=st.data(), grant=st.sampled_from(["client_credentials", "x", ""]))
def test_client_assertions_at_the_token_endpoint(
    running: Running, data: st.DataObject, grant: str
) -> None:
    assertion = data.draw(mutated(_signed(running)) | jws())
    body = _assertion_form(assertion, f"grant_type={grant}")
    _post(running, "/token", body, "application/x-www-form-urlencoded", None)


@given(
    path=st.sampled_from(["/revoke", "/introspect"]),
    body=form_body(CLIENT_NAMES),
    content_type=CONTENT_TYPES,
    auth=st.none() | basic_header(),
)
def test_revocation_and_introspection(
    running: Running, path: str, body: bytes, content_type: str, auth: str | None
) -> None:
    _post(running, path, body, content_type, auth)


@given(data=st.data(), path=st.sampled_from(["/revoke", "/introspect"]))
def test_tokens_and_assertions_at_revocation_and_introspection(
    running: Running, data: st.DataObject, path: str
) -> None:
    token = data.draw(mutated(_signed(running)) | jws())
    assertion = data.draw(mutated(_signed(running)) | jws())
    body = _assertion_form(assertion, f"token={encoded(token)}")
    _post(running, path, body, "application/x-www-form-urlencoded", None)


PAR_NAMES = [
    "client_id",
    "client_secret",
    "response_type",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "request_uri",
    "request",
    "prompt",
    "max_age",
    "resource",
]


@given(body=form_body(PAR_NAMES), content_type=CONTENT_TYPES, auth=st.none() | basic_header())
def test_the_pushed_authorization_request_endpoint(
    running: Running, body: bytes, content_type: str, auth: str | None
) -> None:
    """SECURITY.md 63: a refused push stores nothing."""
    _post(running, "/par", body, content_type, auth)
