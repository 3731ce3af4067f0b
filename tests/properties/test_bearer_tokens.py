"""Properties of every reader of access tokens: UserInfo, the built-in authorizer (the demo
API) and the standalone Lambda authorizer. Real tokens with a segment mutated, padded or
respelled, and JWS of odd JSON (nesting, numbers, surrogates, types): never a 5xx or a crash,
only 401 (or Unauthorized), and nothing stored changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import deps as wiring
from chalicelib.authorizer.config import AuthorizerConfig
from chalicelib.authorizer.errors import Unauthorized
from chalicelib.authorizer.keys import LocalKeys
from chalicelib.authorizer.lambda_handler import Authorizer
from chalicelib.authorizer.policy import RoutePolicy
from tests.authorizer.gateway import rest_event
from tests.authorizer.tokens import AUDIENCE, ISSUER, NOW, KeyPair, StaticSigner, access_claims
from tests.properties.conftest import Running
from tests.properties.strategies import encoded, judge, jws, mutated

EC, RSA = KeyPair.ec("prop-issuer-ec"), KeyPair.rsa("prop-issuer-rsa")


@pytest.fixture(scope="module")
def issuing(running: Running) -> Iterator[str]:
    """The app signs with EC and RSA; a valid token with every scope the routes need."""
    wiring.override(dataclasses.replace(running.deps, signer=StaticSigner(EC, RSA)))
    s, now = running.deps.settings, running.deps.clock.now()
    scope = "openid notes:read notes:write"
    yield EC.token(
        access_claims(
            iss=s.issuer,
            aud=[s.audience, s.userinfo_audience],
            iat=now,
            exp=now + 3600,
            scope=scope,
        )
    )
    wiring.override(running.deps)


@given(
    data=st.data(),
    door=st.sampled_from(
        [("GET", "/userinfo"), ("POST", "/userinfo"), ("GET", "/api/whoami"), ("GET", "/api/notes")]
    ),
)
def test_userinfo_and_the_built_in_authorizer(
    running: Running, issuing: str, data: st.DataObject, door: tuple[str, str]
) -> None:
    token = data.draw(mutated(issuing) | jws())
    method, path = door
    if method == "POST":
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        body = f"access_token={encoded(token)}".encode()
    else:
        headers, body = {"Authorization": f"Bearer {token}"}, b""
    answer = running.browser.request(method, path, body=body, headers=headers, cookies=False)
    judge(answer, running.unchanged)
    if token != issuing:
        assert answer.status == 401, (token, answer.status, answer.text)


STANDALONE = Authorizer(
    AuthorizerConfig(
        issuer=ISSUER, audience=AUDIENCE, policy=RoutePolicy.from_mapping({"GET /notes": []})
    ),
    keys=LocalKeys(lambda: EC.jwks(RSA)),
    clock=lambda: NOW,
)
GOOD = EC.token(access_claims())


@given(data=st.data(), scheme=st.sampled_from(["Bearer ", "bearer  ", "Bearer\t", ""]))
def test_the_standalone_authorizer(data: st.DataObject, scheme: str) -> None:
    token = data.draw(mutated(GOOD) | jws())
    try:
        answer = STANDALONE(rest_event("GET", "/notes", scheme + token))
    except Unauthorized:
        return
    assert (scheme, token) == ("Bearer ", GOOD), answer
