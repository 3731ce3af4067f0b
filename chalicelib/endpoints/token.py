"""Token endpoint (RFC 6749 3.2 and 5): client authentication, then the grant by grant_type.

Every answer, success or error, carries Cache-Control: no-store and Pragma: no-cache
(SECURITY.md item 11).
"""

from __future__ import annotations

import logging

from chalicelib import grants
from chalicelib.deps import Deps
from chalicelib.errors import (
    InvalidRequest,
    OAuthError,
    TemporarilyUnavailable,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from chalicelib.protocol import client_auth
from chalicelib.protocol.params import Params
from chalicelib.stores.table import StoreUnavailable
from chalicelib.web.http import HttpRequest, HttpResponse

log = logging.getLogger("tollgate.token")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def handle(deps: Deps, request: HttpRequest) -> HttpResponse:
    try:
        try:
            return HttpResponse.json(_token(deps, request), headers=NO_STORE)
        except StoreUnavailable as down:
            raise TemporarilyUnavailable("try again shortly", str(down)) from down
    except OAuthError as error:
        log.info("token request refused: %s (%s)", error.error, error.detail)
        headers = dict(NO_STORE)
        if isinstance(error, client_auth.BasicInvalidClient):
            headers["WWW-Authenticate"] = 'Basic realm="tollgate", charset="UTF-8"'
        if error.status == 503:
            headers["Retry-After"] = "2"
        return HttpResponse.json(error.body(), status=error.status, headers=headers)


def _token(deps: Deps, request: HttpRequest) -> dict[str, object]:
    if request.method != "POST":
        raise InvalidRequest("the token endpoint accepts POST only")
    params = Params(request.form())
    params.reject_duplicates()
    presented = client_auth.presented(request, params)
    found = deps.store.get_client(presented.client_id)
    client = client_auth.authenticate(found, presented)
    grant_type = params.require("grant_type")
    grant = grants.GRANTS.get(grant_type)
    if grant is None:
        raise UnsupportedGrantType("unsupported grant_type", f"grant_type {grant_type!r}")
    if grant_type not in client.grant_types:
        raise UnauthorizedClient("this client may not use this grant type")
    return grant(deps, client, params)
