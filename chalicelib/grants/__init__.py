"""Token endpoint grants, dispatched by grant_type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.deps import Deps
from chalicelib.grants import authorization_code, client_credentials, refresh_token
from chalicelib.protocol.params import Params
from chalicelib.stores.models import Client

# The last argument is the thumbprint of the request's DPoP key (RFC 9449), or None.
Grant = Callable[[Deps, Client, Params, str | None], dict[str, Any]]

GRANTS: dict[str, Grant] = {
    "authorization_code": authorization_code.exchange,
    "refresh_token": refresh_token.refresh,
    "client_credentials": client_credentials.issue,
}
