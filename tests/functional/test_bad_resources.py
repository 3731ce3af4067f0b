"""Bad `resource` values (RFC 8707 2) at every door that reads them, now that resources are
registered records (issue 12 item 1): each is invalid_target, never a 500, and changes no
stored state (SECURITY.md 34 and 49)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.models import Client
from tests.functional.flows import (
    Authorized,
    Unchanged,
    authorize_params,
    oauth_error,
    to_client,
    token,
)
from tests.support.oauth import REDIRECT, SECRET, Browser, basic, register_resource

MCP = "https://mcp.example.com/mcp"
BAD = [
    "https://unknown.example/mcp",  # well-formed, not registered
    MCP + "/",  # compared exactly
    MCP.upper(),
    MCP + "#tools",
    "mcp.example.com/mcp",
    "/mcp",
    "https://:443/mcp",
    "https://mcp.example.com/caf\u00e9",
    "https://mcp.example.com/a b",
    "https://mcp.example.com/\x00",
    "https://mcp.example.com/\u202e",
    "https://[::1/mcp",
    "https://mcp.example.com/" + "a" * 3000,
]


@pytest.fixture(autouse=True)
def registered(deps: Deps) -> None:
    register_resource(deps, MCP, ["tools:read"])
    deps.store.clients.create(
        Client(
            client_id="job",
            name="job",
            client_type="confidential",
            auth_method="client_secret_basic",
            redirect_uris=[REDIRECT],
            grant_types=["client_credentials"],
            scopes=["tools:read"],
            secret_hash=digest(SECRET),
            scope_policy="subset",
        )
    )


@pytest.mark.parametrize("bad", BAD)
def test_authorize(signed_in: Authorized, unchanged: Unchanged, bad: str) -> None:
    # Signed in with consent: a good request would store a grant and a code right away.
    unchanged.mark()
    query = [*authorize_params(), ("resource", bad)]
    params = to_client(signed_in.browser.get("/authorize?" + urlencode(query)))
    assert params["error"] == "invalid_target"
    assert "code" not in params
    unchanged.check()


@pytest.mark.parametrize("bad", BAD)
def test_client_credentials(browser: Browser, unchanged: Unchanged, bad: str) -> None:
    form = {"grant_type": "client_credentials", "resource": bad}
    oauth_error(token(browser, form, basic("job", SECRET)), "invalid_target")
    unchanged.check()


def test_too_many_resources(browser: Browser, unchanged: Unchanged) -> None:
    form = [("grant_type", "client_credentials"), *[("resource", MCP)] * 11]
    oauth_error(token(browser, form, basic("job", SECRET)), "invalid_target")
    unchanged.check()
