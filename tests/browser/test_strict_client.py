"""A strict client no one here wrote: oauth4webapi (panva, pinned in tests/clients) asks for
`openid profile notes:read` with a `resource` naming an API, then calls UserInfo with the
access token it was given and validates that token as the API would (RFC 9068). Issue 16
item 1: UserInfo used to answer 401 because `aud` named only the API.

Node.js runs tests/clients/strict_client.mjs; the person's part (login, consent) is done by
Playwright in Debian's Chromium against `chalice local` on moto.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from chalicelib.admin import local
from chalicelib.ids import digest
from chalicelib.stores.models import Client, Resource
from tests.browser.conftest import CLIENTS, Stack
from tests.support.node_client import run_node_client

pytestmark = pytest.mark.browser

API = "https://api.example.test"
SECRET = "strict-client-secret-for-tests-only-0123456789"


@pytest.fixture(scope="module")
def strict_client(stack: Stack) -> Iterator[str]:
    """A confidential client that may ask for the API, a registered resource (RFC 8707)."""
    store = local.local_store(stack.moto_url)
    store.resources.create(Resource(uri=API, name="API", scopes=["notes:read"]))
    store.clients.create(
        Client(
            client_id="strict",
            name="Strict Client",
            client_type="confidential",
            auth_method="client_secret_basic",
            redirect_uris=[stack.creds.redirect_uri],
            grant_types=["authorization_code"],
            scopes=list(local.CLIENT_SCOPES),
            secret_hash=digest(SECRET),
            resources=[API],
        )
    )
    yield "strict"


def test_oauth4webapi_reads_userinfo_with_a_token_for_an_api(
    stack: Stack, browser: Browser, node: str, strict_client: str
) -> None:
    settings = {
        "issuer": stack.issuer,
        "client_id": strict_client,
        "client_secret": SECRET,
        "redirect_uri": stack.creds.redirect_uri,
        "scope": "openid profile notes:read",
        "resource": API,
    }
    result = run_node_client(
        node,
        CLIENTS / "strict_client.mjs",
        ("STRICT_CLIENT", settings),
        browser,
        stack,
        what="oauth4webapi",
    )

    # UserInfo answered, for the person the ID token names (oauth4webapi checked sub too).
    assert result["userinfo"]["sub"] == result["id_token"]["sub"]
    # The same token is the API's, as its resource server validates it.
    api = result["api"]
    assert API in api["aud"] and api["aud"][0] == API
    assert api["scope"] == "openid profile notes:read"
    assert api["client_id"] == strict_client
