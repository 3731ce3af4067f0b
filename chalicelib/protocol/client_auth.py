"""Client authentication at the token endpoint (RFC 6749 2.3.1; OAuth 2.1 2.4; RFC 7523 2.2).

HTTP Basic credentials are form-urlencoded before base64 (RFC 6749 2.3.1), so a client_id
holding ':' arrives as '%3A'. A JWT client assertion (private_key_jwt, RFC 7523 2.2 and
OIDC Core 9) is checked by chalicelib/protocol/client_assertion.py and used once.
Exactly one method per request: two at once is invalid_request (SECURITY.md 12).

A client that holds a secret may send it either way, whichever method it registered: RFC
6749 2.3.1 says the server MUST support HTTP Basic for such clients, and clients send what
their library sends (the MCP TypeScript SDK sends Basic to a client registered for
client_secret_post). The registered method is what the client prefers; a public client and a
private_key_jwt client still authenticate only as registered.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from chalicelib.errors import InvalidClient, InvalidRequest
from chalicelib.http.message import HttpRequest
from chalicelib.ids import digest, is_client_id, new_id, same
from chalicelib.protocol import client_assertion
from chalicelib.protocol.params import Params
from chalicelib.stores.models import Client
from chalicelib.stores.records import AssertionReplayed
from chalicelib.stores.repository import Store

if TYPE_CHECKING:
    from chalicelib.deps import Deps

PRIVATE_KEY_JWT = "private_key_jwt"
SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post"})


class BasicInvalidClient(InvalidClient):
    """invalid_client for a client that used HTTP Basic: 401 with WWW-Authenticate."""


@dataclass(frozen=True)
class Presented:
    method: str  # client_secret_basic | client_secret_post | private_key_jwt | none
    client_id: str
    secret: str | None
    assertion: str | None = None


@dataclass(frozen=True)
class AssertionCheck:
    """What judging a client assertion needs: the names of this server, the time, and the
    store that remembers each assertion's jti."""

    audiences: frozenset[str]
    now: int
    store: Store
    issuer: str = ""

    @classmethod
    def at(cls, deps: Deps, path: str = "/token") -> AssertionCheck:
        """For an endpoint at `path`: `aud` may name the issuer, the token endpoint or it."""
        s = deps.settings
        names = frozenset({s.issuer, s.endpoint("/token"), s.endpoint(path)})
        return cls(audiences=names, now=deps.clock.now(), store=deps.store, issuer=s.issuer)


def _assertion(params: Params, header: str | None, form_secret: str | None) -> Presented | None:
    assertion = params.get("client_assertion")
    assertion_type = params.get("client_assertion_type")
    if assertion is None and assertion_type is None:
        return None
    if header is not None or form_secret is not None:
        raise InvalidRequest("use one client authentication method, not two")
    if assertion is None or assertion_type is None:
        raise InvalidRequest("client_assertion and client_assertion_type go together")
    if assertion_type != client_assertion.JWT_BEARER:
        raise InvalidClient(
            "unsupported client_assertion_type", f"client_assertion_type {assertion_type!r}"
        )
    client_id = params.get("client_id")
    if client_id is None:
        try:
            client_id = client_assertion.claimed_client(assertion)
        except client_assertion.BadAssertion as error:
            raise InvalidClient("client authentication failed", str(error)) from None
    return _bounded(Presented(PRIVATE_KEY_JWT, client_id, None, assertion))


def presented(request: HttpRequest, params: Params) -> Presented:
    header = request.header("authorization")
    form_id = params.get("client_id")
    form_secret = params.get("client_secret")
    jwt_bearer = _assertion(params, header, form_secret)
    if jwt_bearer is not None:
        return jwt_bearer
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise InvalidRequest("unsupported Authorization scheme at the token endpoint")
        if form_secret is not None:
            raise InvalidRequest("use one client authentication method, not two")
        try:
            # A str with non-ASCII characters raises ValueError, not binascii.Error.
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise BasicInvalidClient("malformed Basic credentials") from None
        raw_id, sep, raw_secret = decoded.partition(":")
        if not sep:
            raise BasicInvalidClient("malformed Basic credentials")
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if form_id is not None and form_id != client_id:
            raise InvalidRequest("client_id differs from the Basic credentials")
        return _bounded(Presented("client_secret_basic", client_id, secret))
    if form_id is None:
        raise InvalidClient("client authentication is required", "no client_id")
    if form_secret is not None:
        return _bounded(Presented("client_secret_post", form_id, form_secret))
    return _bounded(Presented("none", form_id, None))


def _bounded(credentials: Presented) -> Presented:
    """Refuse a client_id no client can have (RFC 6749 A.1, at most MAX_CLIENT_ID visible
    ASCII characters) before anything is looked up or counted under it (issue 17 item 6)."""
    if not is_client_id(credentials.client_id):
        error = BasicInvalidClient if credentials.method == "client_secret_basic" else InvalidClient
        raise error("client authentication failed", "malformed client_id")
    return credentials


def authenticate(
    found: Client | None, credentials: Presented, assertions: AssertionCheck | None = None
) -> Client:
    """The client, if the credentials prove it; invalid_client otherwise.

    A client assertion is only accepted where the caller says how to judge it (`assertions`).
    """
    error = BasicInvalidClient if credentials.method == "client_secret_basic" else InvalidClient
    if found is None:
        raise error("client authentication failed", f"unknown client {credentials.client_id!r}")
    either_secret = {found.auth_method, credentials.method} <= SECRET_METHODS
    if found.auth_method != credentials.method and not either_secret:
        raise error(
            "client authentication failed",
            f"client uses {found.auth_method}, presented {credentials.method}",
        )
    if credentials.method == "none":
        return found
    if credentials.method == PRIVATE_KEY_JWT:
        return _by_assertion(found, credentials, assertions)
    stored = found.secret_hash or ""
    if credentials.secret is None or not stored or not same(digest(credentials.secret), stored):
        raise error("client authentication failed", "wrong secret")
    return found


def _by_assertion(found: Client, credentials: Presented, check: AssertionCheck | None) -> Client:
    if check is None or credentials.assertion is None:
        raise InvalidClient("client authentication failed", "no assertion check at this endpoint")
    try:
        verified = client_assertion.verify(
            credentials.assertion,
            found.client_id,
            found.jwks,
            audiences=check.audiences,
            now=check.now,
            fapi2_issuer=check.issuer if found.is_fapi2 else None,
        )
    except client_assertion.BadAssertion as bad:
        raise InvalidClient("client authentication failed", f"client assertion: {bad}") from None
    # Remembered while it could still be accepted: until exp plus the leeway.
    until = verified.expires_at + client_assertion.LEEWAY
    try:
        check.store.assertions.use(found.client_id, verified.jti, until, consumer=new_id())
    except AssertionReplayed:
        raise InvalidClient(
            "client authentication failed", f"client assertion jti {verified.jti!r} replayed"
        ) from None
    return found
