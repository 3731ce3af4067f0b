"""Token endpoint (RFC 6749 3.2 and 5): client authentication, then the grant by grant_type.

Every answer, success or error, carries Cache-Control: no-store and Pragma: no-cache
(SECURITY.md item 11).

Brute force (SECURITY.md item 18, chalicelib/accounts/rate_limit.py): failed client
authentications are counted per client_id and source address; past a limit, the client is
refused before its credentials are checked with HTTP 429, Retry-After and
`{"error": "invalid_client", "error_description": "too many failed attempts"}`.
RFC 6749 5.2 has no error code for this. invalid_client keeps clients that read only the
code right (their authentication was refused: do not retry it blindly); the status 429
(RFC 6585) and Retry-After tell the rest that it is temporary and when to come back. A 401
would invite the client to retry at once with the same credentials, and
temporarily_unavailable (503) would blame the server for the client's own failures.
"""

from __future__ import annotations

import logging

from chalicelib import grants
from chalicelib.accounts import rate_limit
from chalicelib.deps import Deps
from chalicelib.errors import (
    InvalidClient,
    InvalidRequest,
    OAuthError,
    TemporarilyUnavailable,
    TooManyAttempts,
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
        if isinstance(error, TooManyAttempts):
            headers["Retry-After"] = str(error.retry_after)
        return HttpResponse.json(error.body(), status=error.status, headers=headers)


def _token(deps: Deps, request: HttpRequest) -> dict[str, object]:
    if request.method != "POST":
        raise InvalidRequest("the token endpoint accepts POST only")
    params = Params(request.form())
    params.reject_duplicates()
    presented = client_auth.presented(request, params)
    # SECURITY.md item 18: a client_id or address with too many recent failures is refused
    # before its credentials are looked at, even correct ones.
    limiter = rate_limit.for_client(deps, presented.client_id, request.source_ip)
    wait = limiter.blocked()
    if wait is not None:
        raise TooManyAttempts(wait, f"client {presented.client_id!r} rate-limited")
    found = deps.store.get_client(presented.client_id)
    try:
        client = client_auth.authenticate(found, presented, client_auth.AssertionCheck.at(deps))
    except InvalidClient:
        limiter.failed()
        raise
    grant_type = params.require("grant_type")
    grant = grants.GRANTS.get(grant_type)
    if grant is None:
        raise UnsupportedGrantType("unsupported grant_type", f"grant_type {grant_type!r}")
    if grant_type not in client.grant_types:
        raise UnauthorizedClient("this client may not use this grant type")
    return grant(deps, client, params)
