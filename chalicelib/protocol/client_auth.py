"""Client authentication at the token endpoint (RFC 6749 2.3.1; OAuth 2.1 2.4).

HTTP Basic credentials are form-urlencoded before base64 (RFC 6749 2.3.1), so a client_id
holding ':' arrives as '%3A'. Exactly one method per request.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_plus

from chalicelib.errors import InvalidClient, InvalidRequest
from chalicelib.ids import digest, same
from chalicelib.protocol.params import Params
from chalicelib.stores.models import Client
from chalicelib.web.http import HttpRequest


class BasicInvalidClient(InvalidClient):
    """invalid_client for a client that used HTTP Basic: 401 with WWW-Authenticate."""


@dataclass(frozen=True)
class Presented:
    method: str  # client_secret_basic | client_secret_post | none
    client_id: str
    secret: str | None


def presented(request: HttpRequest, params: Params) -> Presented:
    header = request.header("authorization")
    form_id = params.get("client_id")
    form_secret = params.get("client_secret")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise InvalidRequest("unsupported Authorization scheme at the token endpoint")
        if form_secret is not None:
            raise InvalidRequest("use one client authentication method, not two")
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BasicInvalidClient("malformed Basic credentials") from None
        raw_id, sep, raw_secret = decoded.partition(":")
        if not sep:
            raise BasicInvalidClient("malformed Basic credentials")
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if form_id is not None and form_id != client_id:
            raise InvalidRequest("client_id differs from the Basic credentials")
        return Presented("client_secret_basic", client_id, secret)
    if form_id is None:
        raise InvalidClient("client authentication is required", "no client_id")
    if form_secret is not None:
        return Presented("client_secret_post", form_id, form_secret)
    return Presented("none", form_id, None)


def authenticate(found: Client | None, credentials: Presented) -> Client:
    """The client, if the credentials prove it; invalid_client otherwise."""
    error = BasicInvalidClient if credentials.method == "client_secret_basic" else InvalidClient
    if found is None:
        raise error("client authentication failed", f"unknown client {credentials.client_id!r}")
    if found.auth_method != credentials.method:
        raise error(
            "client authentication failed",
            f"client uses {found.auth_method}, presented {credentials.method}",
        )
    if credentials.method == "none":
        return found
    stored = found.secret_hash or ""
    if credentials.secret is None or not stored or not same(digest(credentials.secret), stored):
        raise error("client authentication failed", "wrong secret")
    return found
