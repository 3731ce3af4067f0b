"""SECURITY.md 41: every answer is Tollgate's own, whatever the method or content type.

Chalice answers a method a route does not list with its `MethodNotAllowedError` JSON, and
a content type a route does not list with `UnsupportedMediaType` (415), both without the
security headers. Every route of the app is requested here with every method API Gateway
routes and with odd content types.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from app import app
from chalicelib.deps import Deps
from chalicelib.tokens import access_token
from tests.support.oauth import Answer, Browser

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
CONTENT_TYPES = [
    None,
    "",
    "text/plain",
    "application/xml",
    "text/html; charset=utf-8",
    "multipart/form-data; boundary=x",
    "application/json",
    "application/x-www-form-urlencoded",
    "*/*",
]
PAGES = {
    "/authorize",
    "/logout",
    "/demo/callback",
    "/interaction/x/login",
    "/interaction/x/consent",
    "/interaction/x/cancel",
    "/interaction/x/signout",
    "/interaction/x/mfa",
    "/interaction/x/passkey",
    "/account/security",
}
# What each route serves; every other method must be refused by Tollgate itself.
SERVED = {
    "/authorize": {"GET", "POST"},
    "/token": {"POST"},
    "/revoke": {"POST"},
    "/par": {"POST"},
    "/introspect": {"POST"},
    "/interaction/x/login": {"GET", "POST"},
    "/interaction/x/consent": {"GET", "POST"},
    "/interaction/x/cancel": {"POST"},
    "/interaction/x/signout": {"POST"},
    "/interaction/x/mfa": {"GET", "POST"},
    "/interaction/x/passkey": {"POST"},
    "/account/security": {"GET", "POST"},
    "/userinfo": {"GET", "POST"},
    "/logout": {"GET", "POST"},
    "/.well-known/oauth-authorization-server": {"GET"},
    "/.well-known/openid-configuration": {"GET"},
    "/.well-known/oauth-protected-resource": {"GET"},
    "/jwks.json": {"GET"},
    "/demo/callback": {"GET"},
    "/static/tollgate.css": {"GET"},
    "/static/passkey.js": {"GET"},
    "/api/whoami": {"GET"},
    "/api/notes": {"GET", "POST"},
    "/register": {"POST"},
    "/register/x": {"DELETE", "GET", "PUT"},
}
# GETs that must succeed whatever Content-Type the request claims.
PLAIN_GETS = [
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/.well-known/oauth-protected-resource",
    "/jwks.json",
    "/static/tollgate.css",
    "/static/passkey.js",
    "/demo/callback",
    "/api/whoami",
]


def paths() -> list[str]:
    return sorted(
        p.replace("{interaction_id}", "x").replace("{client_id}", "x") for p in app.routes
    )


def test_every_route_is_listed_here() -> None:
    assert set(paths()) == set(SERVED)
    for path, methods in app.routes.items():
        assert set(methods) == set(METHODS), path  # each method reaches Tollgate


def bearer(deps: Deps) -> str:
    s = deps.settings
    token, _ = access_token.mint(
        deps.signer,
        issuer=s.issuer,
        audience=s.audience,
        sub="sub-alice",
        client_id="web",
        scopes=["openid", "notes:read", "notes:write"],
        now=deps.clock.now(),
        ttl=s.access_token_ttl,
    )
    return token


def chalice_body(answer: Answer) -> Any:
    try:
        body = json.loads(answer.body)
    except ValueError:
        return None
    return body if isinstance(body, dict) and {"Code", "Message"} & set(body) else None


def assert_tollgates_own(answer: Answer, path: str, method: str) -> None:
    where = (method, path, answer.status, answer.text[:200])
    assert answer.status not in (415, 500), where
    assert chalice_body(answer) is None, where
    h = answer.headers
    assert h.get("x-content-type-options") == "nosniff", where
    assert h.get("x-frame-options") == "DENY", where
    assert h.get("referrer-policy") == "no-referrer", where
    assert "frame-ancestors 'none'" in h.get("content-security-policy", ""), where


@pytest.mark.parametrize("path", sorted(SERVED))
def test_every_method_gets_tollgates_own_answer(browser: Browser, deps: Deps, path: str) -> None:
    token = bearer(deps)
    allowed = ", ".join(sorted(SERVED[path] | {"OPTIONS"}))
    for method in METHODS:
        for content_type in (None, "text/plain", "application/xml"):
            headers = {"Authorization": f"Bearer {token}"}
            if content_type is not None:
                headers["Content-Type"] = content_type
            answer = browser.request(method, path, body=b"x=1", headers=headers, cookies=False)
            assert_tollgates_own(answer, path, method)
            if method in SERVED[path]:
                assert answer.status != 405, (method, path)
                continue
            assert answer.headers["allow"] == allowed, (method, path)
            if method == "OPTIONS":
                assert answer.status == 204 and answer.body == b"", (method, path)
                continue
            assert answer.status == 405, (method, path, answer.status)
            kind = answer.headers.get("content-type", "")
            if method == "HEAD":
                assert answer.body == b""
            elif path in PAGES:
                assert kind.startswith("text/html") and "<!doctype html>" in answer.text
                assert answer.headers["cache-control"] == "no-store"
            else:
                assert kind == "application/json"
                assert answer.json() == {
                    "error": "invalid_request",
                    "error_description": "method not allowed",
                }


@pytest.mark.parametrize("path", PLAIN_GETS)
def test_a_get_with_any_content_type_is_served(browser: Browser, deps: Deps, path: str) -> None:
    token = bearer(deps)
    for content_type in CONTENT_TYPES:
        headers = {"Authorization": f"Bearer {token}"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        answer = browser.request("GET", path, headers=headers, cookies=False)
        assert_tollgates_own(answer, path, "GET")
        assert answer.status == 200, (path, content_type, answer.status, answer.text[:200])
