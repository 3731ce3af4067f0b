"""SECURITY.md items 1-3: redirect URIs are matched exactly and checked before any redirect."""

from __future__ import annotations

import pytest

from chalicelib.protocol.redirect_uri import InvalidRedirectUri, matches, validate_registration
from tests.security.conftest import REDIRECT, Server, auth_params, authorize_path, query_of
from tests.support.oauth import Answer, pkce_pair

# Registered for "web": https://app.example/cb. None of these is that URI.
NEAR_MISSES = [
    "https://app.example/cb/",
    "HTTPS://app.example/cb",
    "https://APP.example/cb",
    "https://app.example/cb?x=1",
    "https://app.example/cb#f",
    "https://app.example/cbx",
    "https://app.example/cb/../cb",
    "https://app.example/cb/%2E%2E/cb",
    "https://app.example/%2E%2E/cb",
    "https://app.example/cb/%252E%252E/cb",
    "https://app.example/%252E%252E/cb",
    "https://app.example.evil/cb",
    # Beyond the list in SECURITY.md: other spellings of the same or a nearby place.
    "http://app.example/cb",
    "https://app.example:443/cb",
    "https://app.example./cb",
    "https://user@app.example/cb",
    "https://app.example@evil.example/cb",
    "https://app.example/cb?",
    "https://app.example/Cb",
    "https://app.example//cb",
    "https://app.example/cb%20",
    " https://app.example/cb",
]

# Registered for "spa": http://127.0.0.1/cb. Only the port may differ.
LOOPBACK_NEAR_MISSES = [
    "http://127.0.0.1/cb/",
    "http://127.0.0.1:54321/cbx",
    "http://127.0.0.1:54321/cb?x=1",
    "http://localhost/cb",
    "http://[::1]/cb",
    "https://127.0.0.1/cb",
    "http://127.0.0.1.evil.example/cb",
    "http://127.0.0.1:54321@evil.example/cb",
    "http://evil.example@127.0.0.1:54321/cb",
    "http://127.0.0.1:abc/cb",
    "HTTP://127.0.0.1:54321/cb",
    # SECURITY.md 39: a port is 1 to 65535, one spelling each.
    "http://127.0.0.1:99999/cb",
    "http://127.0.0.1:65536/cb",
    "http://127.0.0.1:0/cb",
    "http://127.0.0.1:09999/cb",
    "http://127.0.0.1:00080/cb",
    "http://127.0.0.1:/cb",
    "http://127.0.0.1:+80/cb",
    "http://127.0.0.1:٨٠/cb",
]


def assert_error_page(answer: Answer) -> None:
    """An HTML error page for the person, never a redirect (RFC 6749 4.1.2.1)."""
    assert 400 <= answer.status < 500, (answer.status, answer.text)
    assert answer.location is None, answer.location
    assert answer.headers["content-type"].startswith("text/html"), answer.headers
    assert "<!doctype html>" in answer.text.lower()
    # The page must not turn into a way to reach the unregistered URI either.
    assert "code=" not in answer.text


@pytest.mark.parametrize("uri", NEAR_MISSES)
def test_unregistered_redirect_uri_gets_error_page(server: Server, uri: str) -> None:
    """SECURITY.md 1, 3; RFC 9700 4.1.3, RFC 6749 3.1.2.3 and 4.1.2.1: exact match only."""
    answer = server.default_browser.get(authorize_path(auth_params("web", redirect_uri=uri)))
    assert_error_page(answer)
    assert server.codes() == []


@pytest.mark.parametrize("uri", NEAR_MISSES)
def test_unregistered_redirect_uri_with_other_errors_still_no_redirect(
    server: Server, uri: str
) -> None:
    """SECURITY.md 1, 3; RFC 6749 4.1.2.1: a bad redirect_uri wins over every later error."""
    params = auth_params("web", redirect_uri=uri, response_type="token", scope="admin")
    assert_error_page(server.default_browser.get(authorize_path(params)))


@pytest.mark.parametrize("uri", LOOPBACK_NEAR_MISSES)
def test_loopback_only_port_may_vary(server: Server, uri: str) -> None:
    """SECURITY.md 1; RFC 8252 7.3, RFC 9700 4.1.3: loopback URIs differ in the port only."""
    _, challenge = pkce_pair()
    params = auth_params("spa", redirect_uri=uri, challenge=challenge)
    assert_error_page(server.default_browser.get(authorize_path(params)))


def test_registered_uri_proceeds(server: Server) -> None:
    """SECURITY.md 1; RFC 6749 3.1.2.3: the exact registered URI is accepted (control case)."""
    answer = server.default_browser.get(authorize_path(auth_params("web")))
    assert answer.status == 303
    assert answer.location is not None
    assert answer.location.endswith("/login")


@pytest.mark.parametrize("port", ["54321", "1", "65535"])
def test_loopback_port_may_vary(server: Server, port: str) -> None:
    """SECURITY.md 1; RFC 8252 7.3: any port on the registered loopback URI, code goes there."""
    uri = f"http://127.0.0.1:{port}/cb"
    flow = server.sign_in("spa", redirect_uri=uri)
    assert flow.location.startswith(f"{uri}?"), flow.location
    redeemed = server.redeem(flow)
    assert redeemed.status == 200, redeemed.text


def test_unknown_client_gets_error_page(server: Server) -> None:
    """SECURITY.md 3; RFC 6749 4.1.2.1: an unknown client_id is never redirected to."""
    answer = server.default_browser.get(authorize_path(auth_params("no-such-client")))
    assert_error_page(answer)


def test_missing_client_id_gets_error_page(server: Server) -> None:
    """SECURITY.md 3; RFC 6749 4.1.2.1: no client_id, no redirect."""
    params = auth_params("web")
    del params["client_id"]
    assert_error_page(server.default_browser.get(authorize_path(params)))


def test_missing_redirect_uri_with_several_registered_gets_error_page(server: Server) -> None:
    """SECURITY.md 3; RFC 6749 3.1.2.3: with several registered URIs one must be named."""
    _, challenge = pkce_pair()
    params = auth_params("spa", redirect_uri=None, challenge=challenge)
    assert_error_page(server.default_browser.get(authorize_path(params)))


def test_missing_redirect_uri_with_one_registered_uses_it(server: Server) -> None:
    """SECURITY.md 3; RFC 6749 3.1.2.3: with one registered URI it may be left out."""
    flow = server.sign_in("web", redirect_uri=None)
    assert flow.location.startswith(f"{REDIRECT}?")
    assert server.redeem(flow).status == 200


def test_repeated_redirect_uri_gets_error_page(server: Server) -> None:
    """SECURITY.md 3; RFC 6749 3.1: a repeated redirect_uri is not a proven target."""
    params = [*auth_params("web").items(), ("redirect_uri", "https://evil.example/cb")]
    assert_error_page(server.default_browser.get(authorize_path(params)))


def test_repeated_client_id_gets_error_page(server: Server) -> None:
    """SECURITY.md 3; RFC 6749 3.1: a repeated client_id is not a proven client."""
    params = [*auth_params("web").items(), ("client_id", "spa")]
    assert_error_page(server.default_browser.get(authorize_path(params)))


def test_unregistered_uri_via_post_gets_error_page(server: Server) -> None:
    """SECURITY.md 1, 3; OIDC Core 3.1.2.1: the POST form of the request is checked the same."""
    params = auth_params("web", redirect_uri="https://evil.example/cb")
    assert_error_page(server.default_browser.post_form("/authorize", params))


# -- registration (item 2) ------------------------------------------------------------------

REFUSED_REGISTRATIONS = [
    "https://app.example/cb#frag",
    "https://app.example/cb#",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "javascript://app.example/%0Aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "DATA:text/html;base64,PHNjcmlwdD4=",
    "vbscript:msgbox(1)",
    "http://app.example/cb",
    "http://localhost.evil.example/cb",
    "http://127.0.0.1.evil.example/cb",
    "http://127.0.0.1@evil.example/cb",
    "http://evil.example@127.0.0.1/cb",
    " https://app.example/cb",
    "https://app.example/c b",
    "https://app.example/cb\n",
    "",
    # SECURITY.md 39: ASCII only; ports 1 to 65535 without leading zeros.
    "https://app.exämple/cb",
    "https://app.example/cb?n=é",
    "http://127.0.0.1:99999/cb",
    "http://127.0.0.1:65536/cb",
    "http://127.0.0.1:09999/cb",
    "http://127.0.0.1:0/cb",
    "http://[::1]:00080/cb",
    "https://app.example:0/cb",
    "https://app.example:08443/cb",
    "https://app.example:/cb",
]

ACCEPTED_REGISTRATIONS = [
    "https://app.example/cb",
    "https://app.example:8443/oauth/callback?tenant=1",
    "http://127.0.0.1/cb",
    "http://127.0.0.1:8080/cb",
    "http://127.0.0.1:65535/cb",
    "http://127.0.0.1:1/cb",
    "http://[::1]/cb",
    "http://[::1]:8080/cb",
    "com.example.app:/oauth2redirect",
]


@pytest.mark.parametrize("uri", REFUSED_REGISTRATIONS)
def test_registration_refuses_unsafe_redirect_uris(uri: str) -> None:
    """SECURITY.md 2; RFC 6749 3.1.2, RFC 9700 4.1.3 and 2.6, RFC 8252 7.3 and 8.3."""
    with pytest.raises(InvalidRedirectUri):
        validate_registration(uri)


@pytest.mark.parametrize("uri", ACCEPTED_REGISTRATIONS)
def test_registration_accepts_https_and_loopback(uri: str) -> None:
    """SECURITY.md 2; RFC 6749 3.1.2.1, RFC 8252 7.1 and 7.3: https, loopback http, app schemes."""
    assert validate_registration(uri) == uri


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("https://*.example/cb", "wildcards are not supported"),
        ("https://app.example/*", "wildcards are not supported"),
        ("com.example.app:/cb/*", "wildcards are not supported"),
        ("https://@app.example/cb", "user name or password"),
        ("https://:pw@app.example/cb", "must not contain credentials"),
        ("https://app..example/cb", "not a host name"),
        ("https://-app.example/cb", "not a host name"),
        ("https://%61pp.example/cb", "not a host name"),
        ("https://app.example:99999/cb", "not a port number"),
        ("https://app.example:0/cb", "not a port number"),
        ("https:///cb", "needs a host"),
    ],
)
def test_registrations_that_could_never_match_say_why(uri: str, why: str) -> None:
    """Issue 16 item 4: matching is exact (SECURITY.md 1; RFC 9700 2.1), so a pattern or an
    address no browser can be sent to is refused when registered, with the reason."""
    with pytest.raises(InvalidRedirectUri, match=why):
        validate_registration(uri)


@pytest.mark.parametrize(
    "uri",
    ["https://app_x.example/cb", "https://app.example./cb", "https://[2001:db8::1]:8443/cb"],
)
def test_unusual_but_reachable_hosts_are_accepted(uri: str) -> None:
    assert validate_registration(uri) == uri


@pytest.mark.parametrize(
    ("requested", "allowed"),
    [
        ("http://127.0.0.1:65535/cb", True),
        ("http://127.0.0.1:1/cb", True),
        ("http://127.0.0.1/cb", True),
        ("http://127.0.0.1:65536/cb", False),
        ("http://127.0.0.1:99999/cb", False),
        ("http://127.0.0.1:09999/cb", False),
        ("http://127.0.0.1:0/cb", False),
        ("http://127.0.0.1:123456/cb", False),
    ],
)
def test_loopback_ports_are_range_checked_when_matching(requested: str, allowed: bool) -> None:
    """SECURITY.md 39; RFC 8252 7.3: the port that may vary is still a port, one spelling each
    (a registered port-less loopback URI, as for "spa")."""
    assert matches(["http://127.0.0.1/cb"], requested) is allowed
    assert matches(["http://127.0.0.1:8080/cb"], requested) is allowed


def test_response_headers_stay_ascii_with_non_ascii_input(server: Server) -> None:
    """SECURITY.md 39: state is echoed byte for byte, but percent-encoded: the Location of a
    code and of an error redirect carries no non-ASCII byte (nor a line break)."""
    state = "é✓\u202e\r\nX-Injected: 1"
    flow = server.sign_in("web", state=state)
    assert flow.location.isascii() and "\n" not in flow.location
    assert query_of(flow.location)["state"] == [state]
    error = server.default_browser.get(authorize_path(auth_params("web", state=state, scope="")))
    assert error.location is not None and error.location.isascii()
    assert query_of(error.location)["state"] == [state]
    assert all(value.isascii() for value in error.headers.values())


def test_code_goes_exactly_to_registered_uri(server: Server) -> None:
    """SECURITY.md 1; RFC 6749 4.1.2: the code is appended to the registered URI, nothing else."""
    flow = server.sign_in("web")
    assert flow.location.split("?", 1)[0] == REDIRECT
    assert set(flow.params) == {"code", "state", "iss"}
    assert query_of(flow.location)["state"] == ["st4te"]
