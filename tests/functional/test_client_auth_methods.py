"""Client authentication as clients send it (issue 12 item 6; RFC 6749 2.3.1): a client
that holds a secret may send it with HTTP Basic or in the body, whichever method it
registered. Two methods at once are still refused, and public and private_key_jwt clients
still authenticate only as registered (SECURITY.md 12)."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import pytest
from chalice.test import Client as ChaliceClient

from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.models import Client
from tests.authorizer.tokens import KeyPair
from tests.functional.flows import Authorized, oauth_error, sign_in, token
from tests.support.oauth import REDIRECT, SECRET, Browser, basic


def _code_form(done: Authorized, **extra: str) -> dict[str, str]:
    assert done.verifier is not None
    return {
        "grant_type": "authorization_code",
        "code": done.code,
        "redirect_uri": REDIRECT,
        "code_verifier": done.verifier,
        **extra,
    }


def test_the_typescript_sdks_basic_to_a_client_secret_post_client(
    browser: Browser, http: ChaliceClient
) -> None:
    """The MCP TypeScript SDK (1.32.2) sends HTTP Basic, client_id and secret each
    form-urlencoded (RFC 6749 2.3.1), to a client registered for client_secret_post, with
    the client_id in the body as well. A plain HTTP request, as the SDK makes it."""
    done = sign_in(browser, client_id="post")
    credentials = base64.b64encode(f"post:{SECRET}".encode()).decode()
    answer = http.http.request(
        "POST",
        "/token",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "Authorization": f"Basic {credentials}",
        },
        body=urlencode(_code_form(done, client_id="post")).encode(),
    )
    assert answer.status_code == 200, answer.body
    body = json.loads(answer.body)
    assert body["token_type"] == "Bearer" and body["access_token"]


def test_a_client_secret_basic_client_may_send_its_secret_in_the_body(browser: Browser) -> None:
    done = sign_in(browser, client_id="web")
    answer = token(browser, _code_form(done, client_id="web", client_secret=SECRET))
    assert answer.status == 200, answer.text


@pytest.mark.parametrize("client_id", ["web", "post"])
def test_a_wrong_secret_is_refused_either_way(browser: Browser, client_id: str) -> None:
    done = sign_in(browser, client_id=client_id)
    answer = token(browser, _code_form(done), basic(client_id, "wrong"))
    oauth_error(answer, "invalid_client", 401)
    assert answer.headers["www-authenticate"].startswith("Basic ")
    body = _code_form(done, client_id=client_id, client_secret="wrong")
    oauth_error(token(browser, body), "invalid_client", 401)
    # Refused attempts spend nothing: the right secret still redeems the code.
    assert token(browser, _code_form(done), basic(client_id, SECRET)).status == 200


@pytest.mark.parametrize("client_id", ["web", "post"])
def test_two_methods_at_once_are_still_refused(browser: Browser, client_id: str) -> None:
    done = sign_in(browser, client_id=client_id)
    form = _code_form(done, client_id=client_id, client_secret=SECRET)
    oauth_error(token(browser, form, basic(client_id, SECRET)), "invalid_request")


def test_a_public_client_still_cannot_send_a_secret(browser: Browser) -> None:
    done = sign_in(browser, client_id="spa")
    answer = token(browser, _code_form(done), basic("spa", SECRET))
    oauth_error(answer, "invalid_client", 401)


def test_a_client_secret_client_still_needs_its_secret(browser: Browser) -> None:
    done = sign_in(browser, client_id="post")
    oauth_error(token(browser, _code_form(done, client_id="post")), "invalid_client", 401)


def test_revocation_takes_either_way_too(browser: Browser) -> None:
    """/revoke and /introspect authenticate clients as the token endpoint does."""
    done = sign_in(browser, client_id="post")
    issued = token(browser, _code_form(done, client_id="post", client_secret=SECRET)).json()
    form = {"token": issued["access_token"]}
    headers = {"Authorization": basic("post", SECRET)}
    assert browser.post_form("/revoke", form, headers=headers, cookies=False).status == 200


def test_a_private_key_jwt_client_is_never_judged_by_a_secret(browser: Browser, deps: Deps) -> None:
    """Even a record that still holds a secret's hash (from before it moved to keys)."""
    deps.store.clients.create(
        Client(
            client_id="keyed",
            name="keyed",
            client_type="confidential",
            auth_method="private_key_jwt",
            redirect_uris=[],
            grant_types=["client_credentials"],
            scopes=["notes:read"],
            jwks={"keys": [KeyPair.ec("keyed-ec").jwk]},
            secret_hash=digest(SECRET),
        )
    )
    form = {"grant_type": "client_credentials"}
    oauth_error(token(browser, form, basic("keyed", SECRET)), "invalid_client", 401)
    form.update(client_id="keyed", client_secret=SECRET)
    oauth_error(token(browser, form), "invalid_client", 401)
