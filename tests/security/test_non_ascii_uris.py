"""Issue 17 item 2: redirect URIs with non-ASCII characters. Registration refuses them with
a message that says why and what to register instead; and no answer ever carries a
non-ASCII byte (or a control character) in a header, even for a URI stored before this rule
(`chalicelib/http/headers.py` encodes every header value as it leaves)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from chalicelib.admin.cli import main
from chalicelib.clock import FakeClock
from chalicelib.protocol.redirect_uri import InvalidRedirectUri, validate_registration
from chalicelib.stores.memory import MemoryTable
from chalicelib.stores.models import Client
from chalicelib.stores.repository import Store
from tests.security.conftest import Server, auth_params, authorize_path
from tests.support.oauth import Answer

LEGACY = "https://例え.jp/cb?tag=é"
LEGACY_LOGOUT = "https://例え.jp/bye"
NON_ASCII = [
    ("https://例え.jp/cb", "https://xn--r8jz45g.jp/cb"),
    ("https://app.example/café", "https://app.example/caf%C3%A9"),
    ("https://app.example/cb?x=ü", "https://app.example/cb?x=%C3%BC"),
    ("https://app.example/cb\u00a0", "https://app.example/cb%C2%A0"),
    ("com.example.app:/ré", "com.example.app:/r%C3%A9"),
]


@pytest.mark.parametrize(("uri", "ascii_form"), NON_ASCII)
def test_registration_refuses_non_ascii_and_says_what_to_register(
    uri: str, ascii_form: str
) -> None:
    with pytest.raises(InvalidRedirectUri) as refused:
        validate_registration(uri)
    assert "must be ASCII" in str(refused.value)
    assert repr(ascii_form) in str(refused.value)
    assert validate_registration(ascii_form) == ascii_form


@pytest.mark.parametrize("option", ["--redirect-uri", "--post-logout-redirect-uri"])
def test_the_command_line_refuses_non_ascii_uris(
    option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(MemoryTable(FakeClock()))
    argv = ["client", "create", "--name", "X", "--redirect-uri", "https://app.example/cb"]
    assert main([*argv, option, "https://例え.jp/cb"], store=store) == 2
    err = capsys.readouterr().err
    assert "must be ASCII" in err and "xn--r8jz45g.jp" in err
    assert store.clients.all() == []


def _all_headers_ascii(answer: Answer) -> None:
    for name, value in [*answer.headers.items(), *(("set-cookie", c) for c in answer.set_cookies)]:
        assert value.isascii() and value.isprintable(), (name, value)


@pytest.fixture
def legacy(server: Server) -> Server:
    """A client registered before the rule, with non-ASCII URIs stored as they were typed."""
    server.deps.store.clients.create(
        Client(
            client_id="legacy",
            name="Legacy",
            client_type="public",
            auth_method="none",
            redirect_uris=[LEGACY],
            grant_types=["authorization_code"],
            scopes=["openid"],
            post_logout_redirect_uris=[LEGACY_LOGOUT],
        )
    )
    return server


def test_a_stored_non_ascii_uri_never_reaches_a_header_raw(legacy: Server) -> None:
    browser = legacy.browser()
    params = auth_params("legacy", redirect_uri=LEGACY, challenge="E" * 43)
    started = browser.get(authorize_path(params))
    assert started.status == 303, started.text
    _all_headers_ascii(started)
    login = browser.follow(started)  # its CSP form-action names the client's origin
    assert login.status == 200, login.text
    _all_headers_ascii(login)
    assert "https://%E4%BE%8B%E3%81%88.jp" in login.headers["content-security-policy"]

    refused = browser.get(authorize_path({**params, "response_type": "token"}))
    assert refused.status == 303, refused.text
    _all_headers_ascii(refused)  # the error redirect to the client
    assert refused.location is not None
    assert refused.location.startswith("https://%E4%BE%8B%E3%81%88.jp/cb?tag=%C3%A9")

    query = {"client_id": "legacy", "post_logout_redirect_uri": LEGACY_LOGOUT}
    signed_out = browser.get("/logout?" + urlencode(query))
    assert signed_out.status == 303, signed_out.text
    _all_headers_ascii(signed_out)
    assert signed_out.location == "https://%E4%BE%8B%E3%81%88.jp/bye"
