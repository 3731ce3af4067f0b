"""Test helpers: an in-memory Tollgate, seeded clients and users, and a cookie-keeping driver."""

from __future__ import annotations

import base64
import functools
import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from chalice.test import Client as ChaliceClient

from chalicelib import deps as wiring
from chalicelib.accounts.passwords import hash_password
from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.settings import Settings
from chalicelib.stores.models import Client, Resource, User

ISSUER = "https://auth.example.test"
REDIRECT = "https://app.example/cb"
PASSWORD = "correct horse battery staple"
SECRET = "s3cret-for-tests-only-0123456789abcdef"


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"issuer": ISSUER, "table_name": "tollgate-test"}
    values.update(overrides)
    return Settings(**values)


def seed(deps: Deps) -> None:
    store = deps.store
    for client_id, name, auth_method in (
        ("web", "Example Web", "client_secret_basic"),
        ("post", "Post Client", "client_secret_post"),
        ("spa", "Example SPA", "none"),
    ):
        public = auth_method == "none"
        store.clients.create(
            Client(
                client_id=client_id,
                name=name,
                client_type="public" if public else "confidential",
                auth_method=auth_method,
                redirect_uris=[REDIRECT, "http://127.0.0.1/cb"] if public else [REDIRECT],
                grant_types=["authorization_code"],
                scopes=["openid", "profile", "email"],
                secret_hash=None if public else digest(SECRET),
            )
        )
    store.users.create(
        User(
            username="alice",
            sub="sub-alice",
            password_hash=password_hash(),
            name="Alice",
            email="alice@example.com",
        )
    )


def register_resource(
    deps: Deps, uri: str, scopes: list[str], token_ttl: int | None = None
) -> Resource:
    """A resource server, as `tollgate resource create` registers it."""
    registered = Resource(uri=uri, name=uri, scopes=scopes, token_ttl=token_ttl)
    deps.store.resources.create(registered)
    return registered


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def basic(client_id: str, secret: str) -> str:
    from urllib.parse import quote_plus

    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    set_cookies: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        import json

        return json.loads(self.body)

    @property
    def location(self) -> str | None:
        return self.headers.get("location")

    def location_params(self) -> dict[str, str]:
        assert self.location is not None
        return {k: v[0] for k, v in parse_qs(urlsplit(self.location).query).items()}


class Browser:
    """Drives the app through chalice.test.Client, keeping cookies like a browser.

    A URL may be a path (as API Gateway hands it to the app, the stage already removed) or
    an absolute URL under `issuer` (by default the running app's), as Tollgate writes them:
    then the issuer is taken off, as API Gateway takes off the stage. An absolute URL
    anywhere else is a test failure.
    """

    def __init__(self, http: ChaliceClient, issuer: str | None = None) -> None:
        self.http = http
        self.issuer = issuer or wiring.get().settings.issuer
        self.cookies: dict[str, str] = {}

    def app_path(self, url: str) -> str:
        """The path (and query) the app sees for `url`."""
        if url.startswith("/"):
            return url
        assert url.startswith(self.issuer + "/"), f"{url} is not under {self.issuer}"
        return url[len(self.issuer) :]

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str = b"",
        headers: dict[str, str] | None = None,
        cookies: bool = True,
    ) -> Answer:
        all_headers = dict(headers or {})
        if cookies and self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = body.encode("utf-8") if isinstance(body, str) else body
        raw = self.http.http.request(method, self.app_path(path), headers=all_headers, body=data)
        hdrs: dict[str, str] = {}
        for name, value in raw.headers.items():
            if name.lower() == "set-cookie":
                continue
            hdrs[name.lower()] = value
        set_cookies = _set_cookies(raw)
        for cookie in set_cookies:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in cookie:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return Answer(raw.status_code, hdrs, raw.body, set_cookies)

    def get(self, path: str, **kw: Any) -> Answer:
        return self.request("GET", path, **kw)

    def post_form(
        self, path: str, form: dict[str, str] | list[tuple[str, str]], **kw: Any
    ) -> Answer:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        headers.update(kw.pop("headers", {}))
        return self.request("POST", path, body=urlencode(form), headers=headers, **kw)

    def follow(self, answer: Answer) -> Answer:
        assert answer.location is not None, answer
        return self.get(answer.location)


def _set_cookies(raw: Any) -> list[str]:
    value = raw.headers.get("Set-Cookie") or raw.headers.get("set-cookie")
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [v.strip() for v in value.split(",") if "=" in v] if "Path=" in value else [value]


def csrf_of(page: str) -> str:
    import re

    match = re.search(r'name="csrf"\s+value="([^"]+)"|value="([^"]+)"\s+name="csrf"', page)
    assert match, "no csrf field on the page"
    return match.group(1) or match.group(2)


def action_of(page: str) -> str:
    import re

    match = re.search(r'<form[^>]*action="([^"]+)"', page)
    assert match, "no form on the page"
    return match.group(1).replace("&amp;", "&")


@contextmanager
def tollgate(**overrides: Any) -> Iterator[tuple[Deps, FakeClock, ChaliceClient]]:
    from app import app

    clock = FakeClock()
    deps = wiring.in_memory(settings(**overrides), clock)
    seed(deps)
    wiring.override(deps)
    try:
        with ChaliceClient(app) as http:
            yield deps, clock, http
    finally:
        wiring.override(None)
