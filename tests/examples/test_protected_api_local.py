"""README "Protect your own API", as a new user runs it: Tollgate locally, the example API
under its own `chalice local` pointed at it with two settings, a token for the API asked
for by its URI (RFC 8707). The authorizer is really enforced there (SECURITY.md 55): a
garbage token used to get 200 with an empty sub."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.admin import local
from chalicelib.ids import digest
from chalicelib.stores.models import Client, Resource
from tests.support.local_stack import Stack, example_api, free_port

pytestmark = pytest.mark.slow

SECRET = "reports-job-secret-for-tests-only-0123456789"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
JSON = {"Content-Type": "application/json"}


def fetch(
    url: str, *, token: str | None = None, data: bytes | None = None, **headers: str
) -> tuple[int, dict[str, str], Any]:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with OPENER.open(request, timeout=30) as answer:
            status, got, body = answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        status, got, body = error.code, dict(error.headers), error.read()
    return status, {k.lower(): v for k, v in got.items()}, json.loads(body) if body else None


@pytest.fixture(scope="module")
def api(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    audience = f"http://127.0.0.1:{port}/"
    env = {"TOLLGATE_ISSUER": stack.issuer, "TOLLGATE_AUDIENCE": audience}
    log = Path(tmp_path_factory.mktemp("api")) / "chalice.log"
    with example_api("protected-api", port, env, log, ready="/health") as url:
        yield url


def client_token(stack: Stack, audience: str, scope: str, client_id: str = "reports") -> str:
    """A machine client registered for the API (`tollgate client create --resource`), which
    is registered as a resource first (`tollgate resource create --uri ... --scope ...`)."""
    store = local.local_store(stack.moto_url)
    if store.resources.get(audience) is None:
        scopes = ["reports:read", "reports:write"]
        store.resources.create(Resource(uri=audience, name="Reports API", scopes=scopes))
    if store.clients.get(client_id) is None:
        store.clients.create(
            Client(
                client_id=client_id,
                name="Reports job",
                client_type="confidential",
                auth_method="client_secret_post",
                redirect_uris=[],
                grant_types=["client_credentials"],
                scopes=["reports:read", "reports:write"],
                secret_hash=digest(SECRET),
                resources=[audience],
            )
        )
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": SECRET,
        "scope": scope,
        "resource": audience,
    }
    status, _, body = fetch(f"{stack.issuer}/token", data=urllib.parse.urlencode(form).encode())
    assert status == 200, body
    token: str = body["access_token"]
    return token


def test_the_example_api_enforces_the_authorizer_locally(stack: Stack, api: str) -> None:
    """SECURITY.md 55: under chalice local a bad token is a 401, a token without the route's
    scope a 403, each with the challenge that names the API's metadata."""
    metadata = f'resource_metadata="{api}/.well-known/oauth-protected-resource"'
    status, headers, body = fetch(f"{api}/profile", token="garbage")
    assert (status, body) == (401, {"error": "invalid_token"})
    assert headers["www-authenticate"] == f'Bearer error="invalid_token", {metadata}'
    assert fetch(f"{api}/profile")[0] == 401  # no token at all

    reader = client_token(stack, f"{api}/", "reports:read")
    status, _, body = fetch(f"{api}/profile", token=reader)
    assert status == 200
    assert body["scopes"] == ["reports:read"] and body["sub"] == "reports"
    assert fetch(f"{api}/reports", token=reader)[:3:2] == (200, {"reports": []})
    status, headers, body = fetch(f"{api}/reports", token=reader, data=b'{"title": "Q3"}', **JSON)
    assert (status, body) == (403, {"error": "insufficient_scope"})
    assert headers["www-authenticate"] == (
        f'Bearer error="insufficient_scope", scope="reports:write", {metadata}'
    )
    writer = client_token(stack, f"{api}/", "reports:read reports:write")
    status, _, body = fetch(f"{api}/reports", token=writer, data=b'{"title": "Q3"}', **JSON)
    assert status == 200 and body["title"] == "Q3"


def test_a_token_for_another_audience_is_refused(stack: Stack, api: str) -> None:
    """The audience setting (TOLLGATE_AUDIENCE, the API's URI): a token for another API
    with the same scope names does not open this one."""
    other_api = "https://reports.elsewhere.example/"
    elsewhere = client_token(stack, other_api, "reports:read", client_id="other")
    status, _, body = fetch(f"{api}/profile", token=elsewhere)
    assert (status, body) == (401, {"error": "invalid_token"})


def test_the_example_publishes_its_protected_resource_metadata(stack: Stack, api: str) -> None:
    status, _, body = fetch(f"{api}/.well-known/oauth-protected-resource")
    assert status == 200
    assert body == {
        "resource": f"{api}/",
        "authorization_servers": [stack.issuer],
        "scopes_supported": ["reports:read", "reports:write"],
        "bearer_methods_supported": ["header"],
    }
