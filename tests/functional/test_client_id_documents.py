"""Client ID Metadata Documents: an https URL as client_id at /authorize and /token, read
from a local HTTPS server whose CA only this test trusts (SECURITY.md 52, 53)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.models import METADATA_DOCUMENT
from tests.functional.flows import authorize_path, error_page, redeem, sign_in, token
from tests.support.document_server import DocumentServer, document_server
from tests.support.logs import captured
from tests.support.oauth import Browser, tollgate


@pytest.fixture
def docs(tmp_path: Path) -> Iterator[DocumentServer]:
    with document_server(tmp_path) as server:
        yield server


@pytest.fixture
def running(docs: DocumentServer) -> Iterator[tuple[Deps, Browser]]:
    with tollgate(document_ca_bundle=docs.ca_file, document_allow_private=True) as (deps, _c, http):
        yield deps, Browser(http)


def test_discovery_advertises_metadata_documents(running: tuple[Deps, Browser]) -> None:
    _deps, browser = running
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        assert browser.get(path).json()["client_id_metadata_document_supported"] is True


def test_a_document_client_signs_in_and_refreshes(
    running: tuple[Deps, Browser], docs: DocumentServer
) -> None:
    deps, browser = running
    url = docs.document("/mcp/client.json", scope="openid profile offline_access")
    with captured() as lines:
        done = sign_in(browser, client_id=url, scope="openid profile offline_access")
        tokens = redeem(done)
    assert tokens.status == 200, tokens.text
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens.json()["refresh_token"],
        "client_id": url,
    }
    assert token(browser, form).status == 200
    assert docs.requests == ["/mcp/client.json"]  # fetched once: cached since
    [fetched] = lines.audit("document.fetched")
    assert fetched["client_id"] == url and fetched["outcome"] == "success"
    cached = deps.store.client_documents.get(url)
    assert cached is not None and cached.origin == METADATA_DOCUMENT and cached.is_public
    assert cached.scope_policy == "subset"


@pytest.mark.parametrize(
    ("cache_control", "lifetime"),
    [
        ("max-age=600", 600),
        ("max-age=5", 300),
        ("no-store", 300),
        ("max-age=999999", 86400),
        ("", 300),
    ],
)
def test_the_cache_follows_http_caching_within_bounds(
    running: tuple[Deps, Browser], docs: DocumentServer, cache_control: str, lifetime: int
) -> None:
    deps, browser = running
    url = docs.document("/c.json", cache=cache_control)
    browser.get(authorize_path(client_id=url))
    item = deps.store.table.get(f"CIMD#{digest(url)}", "CIMD")
    assert item is not None and item["ttl"] == deps.clock.now() + lifetime
    deps.clock.advance(lifetime)  # type: ignore[attr-defined]
    deps.clients.reload(url)
    assert docs.requests == ["/c.json", "/c.json"]  # expired: fetched again


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": "https://127.0.0.1/other.json"},
        {"client_secret": "s3cret"},
        {"client_secret_expires_at": 0},
        {"token_endpoint_auth_method": "private_key_jwt"},
        {"token_endpoint_auth_method": "client_secret_basic"},
        {"redirect_uris": ["http://evil.example/cb"]},
        {"redirect_uris": None},
        {"grant_types": ["client_credentials"]},
        {"jwks_uri": "https://127.0.0.1/jwks"},
    ],
)
def test_a_document_that_breaks_the_rules_names_no_client(
    running: tuple[Deps, Browser], docs: DocumentServer, change: dict[str, Any]
) -> None:
    deps, browser = running
    url = docs.document("/bad.json", **change)
    with captured() as lines:
        text = error_page(browser.get(authorize_path(client_id=url)))
    assert "Unknown application" in text
    [refused] = lines.audit("document.fetched")
    assert refused["outcome"] == "failure" and refused["client_id"] == url
    assert deps.store.client_documents.get(url) is None


@pytest.mark.parametrize(
    "client_id",
    [
        "https://127.0.0.1/",
        "https://127.0.0.1",
        "https://127.0.0.1/a/../b.json",
        "https://127.0.0.1/./b.json",
        "https://user@127.0.0.1/b.json",
        "http://127.0.0.1/b.json",
    ],
)
def test_urls_the_draft_forbids_are_never_fetched(
    running: tuple[Deps, Browser], docs: DocumentServer, client_id: str
) -> None:
    _deps, browser = running
    error_page(browser.get(authorize_path(client_id=client_id)))
    assert docs.requests == []


def test_an_unregistered_redirect_uri_is_refused(
    running: tuple[Deps, Browser], docs: DocumentServer
) -> None:
    _deps, browser = running
    url = docs.document("/c.json")
    path = authorize_path(client_id=url, redirect_uri="https://evil.example/cb")
    assert "Invalid redirect" in error_page(browser.get(path))


def test_documents_off_means_a_url_is_an_unknown_client(docs: DocumentServer) -> None:
    with tollgate(
        metadata_documents=False, document_ca_bundle=docs.ca_file, document_allow_private=True
    ) as (_deps, _clock, http):
        browser = Browser(http)
        doc = browser.get("/.well-known/oauth-authorization-server").json()
        assert "client_id_metadata_document_supported" not in doc
        url = docs.document("/c.json")
        error_page(browser.get(authorize_path(client_id=url)))
    assert docs.requests == []


def test_fetches_are_limited_per_source_address(docs: DocumentServer) -> None:
    """SECURITY.md 53: each source may cause only so many fetches per window."""
    with tollgate(
        document_limit_ip=2, document_ca_bundle=docs.ca_file, document_allow_private=True
    ) as (_deps, _clock, http):
        browser = Browser(http)
        for n in range(3):
            browser.get(authorize_path(client_id=docs.document(f"/c{n}.json")))
    assert docs.requests == ["/c0.json", "/c1.json"]
