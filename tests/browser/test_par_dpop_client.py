"""oauth4webapi (panva, pinned in tests/clients) as a FAPI 2.0-style client: private_key_jwt,
a pushed authorization request, DPoP-bound tokens and a refresh against `chalice local`; its
token reaches the demo API through the authorizer with a fresh proof per request, while a
replayed proof and the same token as Bearer are refused (issue 14 item 5; SECURITY.md 63).

Node.js runs tests/clients/par_dpop_client.mjs; the person's part (login, consent) is done
by Playwright in Debian's Chromium.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from chalicelib.admin import local
from chalicelib.stores.models import Client
from tests.browser.conftest import CLIENTS, Stack
from tests.support.assertions import client_key, jwks
from tests.support.node_client import run_node_client

pytestmark = pytest.mark.browser

KEY = client_key("o4w-par-dpop")


@pytest.fixture(scope="module")
def par_client(stack: Stack) -> str:
    """A private_key_jwt client that must push its requests and bind its tokens to DPoP."""
    store = local.local_store(stack.moto_url)
    store.clients.create(
        Client(
            client_id="o4w-par",
            name="oauth4webapi PAR",
            client_type="confidential",
            auth_method="private_key_jwt",
            redirect_uris=[stack.creds.redirect_uri],
            grant_types=["authorization_code", "refresh_token"],
            scopes=[*local.CLIENT_SCOPES, "offline_access"],
            jwks=jwks(KEY),
            require_pushed_authorization_requests=True,
            dpop_bound_access_tokens=True,
        )
    )
    return "o4w-par"


def test_oauth4webapi_par_dpop_refresh_and_the_api(
    stack: Stack, browser: Browser, node: str, par_client: str
) -> None:
    settings = {
        "issuer": stack.issuer,
        "client_id": par_client,
        "private_jwk": KEY.private_jwk(),
        "redirect_uri": stack.creds.redirect_uri,
        "scope": "openid offline_access notes:read",
        "api": f"{stack.issuer}/api/whoami",
    }

    def pushed_only(authorize: str) -> None:
        # FAPI 2.0 5.3.3-6: the browser carries client_id and request_uri, nothing else.
        assert sorted(k.split("=")[0] for k in authorize.split("?")[1].split("&")) == [
            "client_id",
            "request_uri",
        ]

    result = run_node_client(
        node,
        CLIENTS / "par_dpop_client.mjs",
        ("PAR_DPOP_CLIENT", settings),
        browser,
        stack,
        what="oauth4webapi",
        check_authorize=pushed_only,
    )

    assert result["api"] == [200, 200]  # code, PAR, refresh, then the API (a proof each)
    assert result["dpop"], "the server advertises no DPoP algorithms"
    assert result["token_type"].lower() == "dpop"
    assert result["refreshed_token_type"].lower() == "dpop"
    assert result["replayed"] == 401, result
    assert result["replayed_challenge"].startswith("DPoP ")
    assert result["as_bearer"] == 401, result
