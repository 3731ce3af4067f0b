"""The consent page marks a client the operator did not register and shows where the
answer goes, and where its metadata document came from (SECURITY.md 54)."""

from __future__ import annotations

from pathlib import Path

from chalicelib.http.pages import consent_page
from tests.functional.flows import authorize_path, submit_login
from tests.functional.registering import NATIVE, register
from tests.support.document_server import document_server
from tests.support.oauth import Answer, Browser, settings, tollgate

NOTE = "Not verified by the operator of this server."


def consent(browser: Browser, client_id: str, redirect_uri: str) -> Answer:
    started = browser.get(authorize_path(client_id=client_id, redirect_uri=redirect_uri))
    answer = submit_login(browser, browser.follow(started))
    page = browser.follow(answer)
    assert page.status == 200 and "/consent" in (answer.location or ""), page.text
    return page


def test_the_operators_client_is_not_marked(browser: Browser) -> None:
    page = consent(browser, "web", "https://app.example/cb")
    assert NOTE not in page.text and 'id="unverified"' not in page.text


def test_a_dynamic_client_is_marked_with_its_redirect_host(browser: Browser) -> None:
    doc = {
        **NATIVE,
        "client_name": "Claude",
        "redirect_uris": ["https://claude-ai.evil.example/cb"],
    }
    client_id = register(browser, doc).json()["client_id"]
    page = consent(browser, client_id, "https://claude-ai.evil.example/cb").text
    assert NOTE in page
    assert 'Allowing sends you to <strong class="host">claude-ai.evil.example</strong>' in page
    assert "Its details come from" not in page


def test_a_native_client_shows_its_loopback_host(browser: Browser) -> None:
    client_id = register(browser, NATIVE).json()["client_id"]
    page = consent(browser, client_id, "http://localhost:33418/callback").text
    assert NOTE in page and '<strong class="host">localhost:33418</strong>' in page


def test_a_metadata_document_client_shows_the_documents_host(tmp_path: Path) -> None:
    with (
        document_server(tmp_path) as docs,
        tollgate(document_ca_bundle=docs.ca_file, document_allow_private=True) as (_d, _c, http),
    ):
        url = docs.document("/client.json", client_name="claude.ai")
        page = consent(Browser(http), url, "https://app.example/cb").text
    assert NOTE in page
    assert 'Its details come from <strong class="host">127.0.0.1</strong>' in page
    assert 'sends you to <strong class="host">app.example</strong>' in page


def test_hosts_are_escaped() -> None:
    html = consent_page(
        settings=settings(),
        client_name="x",
        action="/a",
        csrf="c",
        username="alice",
        scopes=[],
        return_host="<b>",
        unverified=("&",),
    )
    assert '<strong class="host">&lt;b&gt;</strong>' in html
    assert '<strong class="host">&amp;</strong>' in html
