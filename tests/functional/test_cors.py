"""SECURITY.md 42: CORS on exactly /token, /revoke, /userinfo, /jwks.json and the discovery
documents (chalicelib/http/cors.py).

The seeded public client "spa" has redirect URIs on https://app.example and
http://127.0.0.1; the confidential "web" only on https://app.example.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from chalicelib.deps import Deps
from chalicelib.http.cors import origin_of
from tests.functional.flows import FORM, Authorized, oauth_error, redeem, sign_in
from tests.support.oauth import REDIRECT, SECRET, Answer, Browser, basic

APP = "https://app.example"
LOOPBACK = "http://127.0.0.1"
EVIL = "https://evil.example"
PUBLIC = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
PUBLIC += ["/jwks.json", "/.well-known/oauth-protected-resource"]
NEVER = [
    "/authorize?client_id=web&response_type=code&scope=openid",
    "/interaction/x/login",
    "/interaction/x/consent",
    "/logout",
    "/introspect",
    "/demo/callback",
    "/static/tollgate.css",
    "/api/whoami",
]


def cors_headers(answer: Answer) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k.startswith("access-control-")}


def varies_by_origin(answer: Answer) -> bool:
    return "origin" in {v.strip().lower() for v in answer.headers.get("vary", "").split(",")}


def preflight(browser: Browser, path: str, origin: str, method: str = "POST") -> Answer:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type",
    }
    return browser.request("OPTIONS", path, headers=headers, cookies=False)


def exchange(done: Authorized, origin: str | None) -> Answer:
    form = {
        "grant_type": "authorization_code",
        "code": done.code,
        "redirect_uri": REDIRECT,
        "client_id": done.client_id,
        "code_verifier": done.verifier or "",
    }
    headers = dict(FORM)
    if origin is not None:
        headers["Origin"] = origin
    return done.browser.request("POST", "/token", body=urlencode(form), headers=headers)


def post(browser: Browser, path: str, form: dict[str, str], origin: str | None) -> Answer:
    headers = dict(FORM)
    if origin is not None:
        headers["Origin"] = origin
    return browser.request("POST", path, body=urlencode(form), headers=headers, cookies=False)


@pytest.mark.parametrize(
    ("uri", "origin"),
    [
        ("https://app.example/cb", "https://app.example"),
        ("https://APP.example:443/cb?x=1", "https://app.example"),
        ("http://127.0.0.1:8080/cb", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:80/cb", "http://127.0.0.1"),
        ("http://[::1]:3000/cb", "http://[::1]:3000"),
        ("com.example.app:/cb", None),
        ("https://app.example:99999/cb", None),
    ],
)
def test_origin_of_a_redirect_uri(uri: str, origin: str | None) -> None:
    """The origin as a browser serializes it in `Origin`: lower-case host, no default port."""
    assert origin_of(uri) == origin


@pytest.mark.parametrize("path", PUBLIC)
def test_public_documents_allow_any_origin(browser: Browser, path: str) -> None:
    for headers in ({"Origin": EVIL}, {}):
        answer = browser.request("GET", path, headers=headers, cookies=False)
        assert answer.status == 200
        assert cors_headers(answer) == {"access-control-allow-origin": "*"}
    answer = preflight(browser, path, EVIL, "GET")
    assert answer.status == 204 and answer.body == b""
    assert cors_headers(answer) == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET",
        "access-control-allow-headers": "Authorization, Content-Type, DPoP, MCP-Protocol-Version",
        "access-control-max-age": "600",
    }
    assert answer.headers["x-content-type-options"] == "nosniff"  # Tollgate's own answer


@pytest.mark.parametrize(("path", "methods"), [("/token", "POST"), ("/revoke", "POST")])
def test_client_endpoints_answer_any_preflight_for_their_methods(
    browser: Browser, path: str, methods: str
) -> None:
    """The preflight has no body, so no client: the origin is enforced on the request."""
    answer = preflight(browser, path, EVIL)
    assert answer.status == 204
    assert cors_headers(answer) == {
        "access-control-allow-origin": EVIL,
        "access-control-allow-methods": methods,
        "access-control-allow-headers": "Authorization, Content-Type, DPoP, MCP-Protocol-Version",
        "access-control-max-age": "600",
    }
    assert varies_by_origin(answer)
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    # A method the endpoint does not take gets no CORS permission.
    assert cors_headers(preflight(browser, path, APP, "PUT")) == {}


def test_userinfo_preflight_allows_get_and_post(browser: Browser) -> None:
    answer = preflight(browser, "/userinfo", APP, "GET")
    assert answer.headers["access-control-allow-methods"] == "GET, POST"
    assert answer.headers["access-control-allow-origin"] == APP


def test_token_allows_the_clients_own_origins(browser: Browser) -> None:
    for origin in (APP, LOOPBACK):
        answer = exchange(sign_in(browser, client_id="spa"), origin)
        assert answer.status == 200, answer.text
        assert answer.headers["access-control-allow-origin"] == origin
        assert "WWW-Authenticate" in answer.headers["access-control-expose-headers"]
        # A browser client using DPoP (RFC 9449 8) reads the server's next nonce.
        assert "DPoP-Nonce" in answer.headers["access-control-expose-headers"]
        assert varies_by_origin(answer)


def test_token_without_origin_has_no_cors_but_varies(browser: Browser) -> None:
    answer = exchange(sign_in(browser, client_id="spa"), None)
    assert answer.status == 200
    assert cors_headers(answer) == {}
    assert varies_by_origin(answer)


@pytest.mark.parametrize("origin", [EVIL, "https://app.example:8443", "http://app.example", "null"])
def test_token_refuses_a_foreign_origin_before_the_grant(browser: Browser, origin: str) -> None:
    done = sign_in(browser, client_id="spa")
    refused = exchange(done, origin)
    assert oauth_error(refused, "invalid_request")["error_description"] == (
        "this origin may not make requests for this client"
    )
    assert cors_headers(refused) == {}
    assert varies_by_origin(refused)
    assert exchange(done, None).status == 200  # the code was not spent by the refusal


def test_token_errors_after_the_origin_check_are_readable(browser: Browser) -> None:
    done = sign_in(browser, client_id="spa")
    assert exchange(done, APP).status == 200
    again = exchange(done, APP)  # a reused code
    oauth_error(again, "invalid_grant")
    assert again.headers["access-control-allow-origin"] == APP


def test_unknown_client_gets_no_cors(browser: Browser) -> None:
    form = {"grant_type": "authorization_code", "code": "x", "client_id": "nobody"}
    answer = post(browser, "/token", form, APP)
    oauth_error(answer, "invalid_client", 401)
    assert cors_headers(answer) == {}


def test_confidential_client_origin_is_its_redirect_uris(browser: Browser) -> None:
    done = sign_in(browser, client_id="web")
    assert redeem(done).status == 200
    done = sign_in(browser, client_id="web")
    form = {"grant_type": "authorization_code", "code": done.code, "redirect_uri": REDIRECT}
    form["code_verifier"] = done.verifier or ""
    headers = {**FORM, "Authorization": basic("web", SECRET), "Origin": LOOPBACK}
    answer = browser.request("POST", "/token", body=urlencode(form), headers=headers)
    oauth_error(answer, "invalid_request")  # "web" has no redirect URI on 127.0.0.1


def test_revoke_origin_is_enforced(browser: Browser) -> None:
    tokens = exchange(sign_in(browser, client_id="spa"), None).json()
    form = {"token": tokens["access_token"], "client_id": "spa"}
    refused = post(browser, "/revoke", form, EVIL)
    oauth_error(refused, "invalid_request")
    assert cors_headers(refused) == {} and varies_by_origin(refused)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert browser.request("GET", "/userinfo", headers=bearer, cookies=False).status == 200
    done = post(browser, "/revoke", form, APP)
    assert done.status == 200
    assert done.headers["access-control-allow-origin"] == APP and varies_by_origin(done)
    assert browser.request("GET", "/userinfo", headers=bearer, cookies=False).status == 401


def test_userinfo_origin_is_the_tokens_client(browser: Browser, deps: Deps) -> None:
    tokens = redeem(sign_in(browser, client_id="web")).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    allowed = browser.request("GET", "/userinfo", headers={**bearer, "Origin": APP})
    assert allowed.status == 200
    assert allowed.headers["access-control-allow-origin"] == APP and varies_by_origin(allowed)
    refused = browser.request("GET", "/userinfo", headers={**bearer, "Origin": LOOPBACK})
    oauth_error(refused, "invalid_request")
    assert cors_headers(refused) == {} and varies_by_origin(refused)
    plain = browser.request("GET", "/userinfo", headers=bearer)
    assert plain.status == 200 and cors_headers(plain) == {} and varies_by_origin(plain)
    invalid = browser.request(
        "GET", "/userinfo", headers={"Authorization": "Bearer x", "Origin": APP}
    )
    assert invalid.status == 401 and cors_headers(invalid) == {}


@pytest.mark.parametrize("path", NEVER)
def test_never_cors_elsewhere(browser: Browser, path: str) -> None:
    """RFC 9700 2.6 for /authorize; the pages, /logout and /introspect are no SPA's calls."""
    bare = path.split("?", maxsplit=1)[0]
    for method in ("GET", "POST"):
        answer = browser.request(method, path, headers={"Origin": APP}, cookies=False)
        assert cors_headers(answer) == {}, (method, path, answer.headers)
    for method in ("GET", "POST"):
        answer = preflight(browser, bare, APP, method)
        assert answer.status == 204, (path, answer.status)
        assert cors_headers(answer) == {}, (path, answer.headers)
        assert not varies_by_origin(answer)
