"""A relying party that no one here wrote: Authlib's OpenID Connect client (its Flask
integration, with discovery) signs a user in against `chalice local` on moto's DynamoDB.

Authlib reads the discovery document, builds the authorization request (state, nonce,
PKCE S256), redeems the code with client_secret_basic, and validates the ID token with its
own checks (signature against the published JWKS, iss, aud, exp, iat, nonce, at_hash);
then it calls UserInfo. The person's part (login form, consent form) is done over HTTP by
requests, reading the pages as a browser would.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from authlib.integrations.flask_client import OAuth
from flask import Flask, session

from tests.browser.conftest import Stack

pytestmark = pytest.mark.slow


def _form(page: str) -> tuple[str, dict[str, str]]:
    action = re.search(r'<form[^>]*action="([^"]+)"', page)
    assert action is not None, page
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    return action.group(1).replace("&amp;", "&"), fields


def _sign_in_as_a_person(stack: Stack, authorization_url: str) -> str:
    """Follow the authorization URL like a browser; the URL the browser is sent back to."""
    person = requests.Session()
    person.trust_env = False  # loopback only, never a proxy
    answer = person.get(authorization_url, allow_redirects=True, timeout=10)
    assert answer.url.endswith("/login"), answer.url
    action, fields = _form(answer.text)
    fields.update(username=stack.creds.username, password=stack.creds.password)
    answer = person.post(
        urljoin(answer.url, action), data=fields, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 303, answer.text
    location = urljoin(answer.url, answer.headers["Location"])
    if not location.endswith("/consent"):
        return location  # consent was given before: straight back to the client
    answer = person.get(location, timeout=10)
    action, fields = _form(answer.text)
    fields["decision"] = "allow"
    answer = person.post(
        urljoin(answer.url, action), data=fields, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["Location"])


def _relying_party(stack: Stack) -> tuple[Flask, Any]:
    app = Flask(__name__)
    app.secret_key = "test-only"
    oauth = OAuth(app)
    client: Any = oauth.register(
        "tollgate",
        client_id=stack.creds.web_client_id,
        client_secret=stack.creds.web_client_secret,
        server_metadata_url=f"{stack.issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
    )
    return app, client


def _start(stack: Stack, app: Flask, client: Any) -> tuple[str, dict[str, Any]]:
    """Authlib's authorization request, and the Flask session that remembers it."""
    with app.test_request_context("/login"):
        started = client.authorize_redirect(stack.creds.redirect_uri)
        remembered = dict(session)
    url: str = started.headers["Location"]
    assert url.startswith(f"{stack.issuer}/authorize?")
    assert "nonce=" in url and "code_challenge=" in url and "state=" in url
    return url, remembered


def test_authlib_signs_in_and_validates_the_id_token(stack: Stack) -> None:
    app, client = _relying_party(stack)
    authorization_url, remembered = _start(stack, app, client)
    callback = _sign_in_as_a_person(stack, authorization_url)
    redirect_uri = stack.creds.redirect_uri
    assert callback.startswith(redirect_uri + "?")

    with app.test_request_context("/demo/callback" + callback[len(redirect_uri) :]):
        session.update(remembered)
        token = client.authorize_access_token()  # redeems the code, validates the ID token
        userinfo = client.userinfo(token=token)

    claims = token["userinfo"]  # the ID token's claims, as Authlib validated them
    assert claims["iss"] == stack.issuer
    assert claims["aud"] == stack.creds.web_client_id
    assert claims["amr"] == ["pwd"]
    assert "auth_time" in claims and "at_hash" in claims
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["email"] == "demo@example.com"
    assert userinfo["name"] == "Demo User"


def test_authlib_refuses_an_id_token_for_another_nonce(stack: Stack) -> None:
    """The library's checks are really on: with the nonce it remembered changed, it refuses."""
    app, client = _relying_party(stack)
    authorization_url, remembered = _start(stack, app, client)
    callback = _sign_in_as_a_person(stack, authorization_url)
    changed = 0
    for value in remembered.values():
        if isinstance(value, dict) and "nonce" in value.get("data", {}):
            value["data"]["nonce"] = "another-nonce"
            changed += 1
    assert changed == 1
    redirect_uri = stack.creds.redirect_uri
    with app.test_request_context("/demo/callback" + callback[len(redirect_uri) :]):
        session.update(remembered)
        with pytest.raises(Exception, match="nonce"):
            client.authorize_access_token()
