"""Helpers for the revocation (RFC 7009) and introspection (RFC 7662) tests: the clients
they need, tokens from the real flows, and the two endpoints' requests."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.models import Client
from chalicelib.tokens import access_token
from tests.functional.flows import FORM, sign_in, token
from tests.support.oauth import REDIRECT, SECRET, Answer, Browser, basic

USER_SCOPES = "openid offline_access notes:read"

# client_id -> (auth method, grant types, may_introspect)
CLIENTS: dict[str, tuple[str, list[str], bool]] = {
    "rt": ("client_secret_basic", ["authorization_code", "refresh_token"], False),
    "rt2": ("client_secret_post", ["authorization_code", "refresh_token"], False),
    "m2m": ("client_secret_basic", ["client_credentials"], False),
    "rs": ("client_secret_basic", ["client_credentials"], True),
}


def add_clients(deps: Deps) -> None:
    for client_id, (method, grant_types, may_introspect) in CLIENTS.items():
        deps.store.clients.create(
            Client(
                client_id=client_id,
                name=f"Client {client_id}",
                client_type="confidential",
                auth_method=method,
                redirect_uris=[REDIRECT],
                grant_types=grant_types,
                scopes=["openid", "profile", "offline_access", "notes:read"],
                secret_hash=digest(SECRET),
                may_introspect=may_introspect,
            )
        )


def credentials(client_id: str) -> tuple[dict[str, str], str | None]:
    """(form fields, Authorization header) authenticating `client_id` its registered way."""
    method = CLIENTS[client_id][0] if client_id in CLIENTS else "client_secret_basic"
    if client_id == "spa":
        return {"client_id": "spa"}, None
    if method == "client_secret_post":
        return {"client_id": client_id, "client_secret": SECRET}, None
    return {}, basic(client_id, SECRET)


def user_tokens(
    browser: Browser, client_id: str = "rt", scope: str = USER_SCOPES
) -> dict[str, Any]:
    """alice's tokens for `client_id`, through /authorize and /token."""
    done = sign_in(browser, client_id=client_id, scope=scope)
    form = {
        "grant_type": "authorization_code",
        "code": done.code,
        "redirect_uri": REDIRECT,
        "code_verifier": done.verifier or "",
    }
    fields, header = credentials(client_id)
    answer = token(browser, {**form, **fields}, header)
    assert answer.status == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def machine_token(browser: Browser, client_id: str = "m2m") -> str:
    answer = token(browser, {"grant_type": "client_credentials"}, basic(client_id, SECRET))
    assert answer.status == 200, answer.text
    issued: str = answer.json()["access_token"]
    return issued


def refresh(browser: Browser, refresh_token: str, client_id: str = "rt") -> Answer:
    fields, header = credentials(client_id)
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **fields}
    return token(browser, form, header)


def post(
    browser: Browser,
    path: str,
    form: dict[str, str] | list[tuple[str, str]],
    authorization: str | None = None,
) -> Answer:
    headers = dict(FORM)
    if authorization is not None:
        headers["Authorization"] = authorization
    body = urlencode(form).encode()
    return browser.request("POST", path, body=body, headers=headers, cookies=False)


def revoke(browser: Browser, presented: str, client_id: str = "rt", **extra: str) -> Answer:
    fields, header = credentials(client_id)
    return post(browser, "/revoke", {"token": presented, **extra, **fields}, header)


def introspect(browser: Browser, presented: str, client_id: str = "rs", **extra: str) -> Answer:
    fields, header = credentials(client_id)
    return post(browser, "/introspect", {"token": presented, **extra, **fields}, header)


def introspected(browser: Browser, presented: str, client_id: str = "rs", **extra: str) -> Any:
    answer = introspect(browser, presented, client_id, **extra)
    assert answer.status == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["pragma"] == "no-cache"
    assert answer.headers["content-type"].startswith("application/json")
    return answer.json()


def claims_of(jwt: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (the tests' own tokens)."""
    payload = jwt.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def minted(
    deps: Deps, *, issuer: str | None = None, audience: str | list[str] | None = None, **kw: Any
) -> str:
    """An access token signed by Tollgate's own signer, with any issuer or audience."""
    s = deps.settings
    values: dict[str, Any] = {
        "sub": "sub-alice",
        "client_id": "rt",
        "scopes": ["notes:read"],
        "now": deps.clock.now(),
        "ttl": s.access_token_ttl,
    }
    values.update(kw)
    issued, _ = access_token.mint(
        deps.signer, issuer=issuer or s.issuer, audience=audience or s.audience, **values
    )
    return issued
