"""Client-authenticated requests besides the token endpoint's: revocation (RFC 7009 2.1) and
introspection (RFC 7662 2.1).

The client authenticates exactly as at the token endpoint (RFC 6749 2.3.1; RFC 7523 2.2):
the same methods, one at a time, and the same brute-force limits (SECURITY.md 12 and 18), so
that these endpoints are no side door for guessing a client's secret. Every answer carries
Cache-Control: no-store and Pragma: no-cache. Errors are RFC 6749 5.2 JSON; invalid_client
to a client that used HTTP Basic is a 401 with WWW-Authenticate. A store or key outage is
503 temporarily_unavailable with Retry-After, never a success that did not happen
(SECURITY.md 25 and 26).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from chalicelib.accounts import rate_limit
from chalicelib.authorizer.errors import AuthorizerUnavailable
from chalicelib.deps import Deps
from chalicelib.errors import (
    InvalidClient,
    InvalidRequest,
    OAuthError,
    TemporarilyUnavailable,
    TooManyAttempts,
    TooManyRequests,
    UseDpopNonce,
)
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.observability import audit, logs
from chalicelib.protocol import client_auth
from chalicelib.protocol.params import Params
from chalicelib.stores.models import Client
from chalicelib.stores.table import StoreUnavailable

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def form(request: HttpRequest) -> Params:
    """The urlencoded POST body; every parameter at most once."""
    if request.method != "POST":
        raise InvalidRequest("this endpoint accepts POST only")
    params = Params(request.form())
    params.reject_duplicates()
    return params


def authenticate(deps: Deps, request: HttpRequest, params: Params, path: str) -> Client:
    """The client the request's credentials prove (the token endpoint's rules). A client
    assertion may name the issuer, the token endpoint or this endpoint (`path`) as `aud`.

    Brute force (SECURITY.md 18): only failures are counted, after the credentials were
    checked. Client credentials are 256-bit secrets or signed assertions, so guessing them
    is hopeless; what the limit must not do is let a stranger lock a client out by failing
    in its name. So correct credentials always pass, at no extra cost, and a failure past
    the limit is answered 429 (with Retry-After) instead of 401.
    """
    presented = client_auth.presented(request, params)
    check = client_auth.AssertionCheck.at(deps, path)
    cached = deps.clients.is_cached(presented.client_id)
    found = deps.clients.get(presented.client_id)
    try:
        try:
            client = client_auth.authenticate(found, presented, check)
        except InvalidClient:
            # A rotated secret or new keys must work at once, not after the cache expires:
            # before refusing, read the client once more. At most one read per failure, and
            # failures are limited below, so this is no lever against the table.
            if not cached:
                raise
            fresh = deps.clients.reload(presented.client_id)
            if fresh == found:
                raise
            client = client_auth.authenticate(fresh, presented, check)
    except InvalidClient as error:
        wait = rate_limit.for_client(deps, presented.client_id, request.source_ip).failed()
        audit.client_auth_failed(
            presented.client_id, presented.method, error.detail, wait is not None
        )
        if wait is not None:
            raise TooManyAttempts(wait, f"client {presented.client_id!r} rate-limited") from None
        raise
    logs.note(client_id=client.client_id)
    return client


def error_response(error: OAuthError) -> HttpResponse:
    headers = dict(NO_STORE)
    if isinstance(error, client_auth.BasicInvalidClient):
        headers["WWW-Authenticate"] = 'Basic realm="tollgate", charset="UTF-8"'
    if isinstance(error, UseDpopNonce):
        headers["DPoP-Nonce"] = error.nonce
    if isinstance(error, TooManyAttempts | TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    elif error.status == 503:
        headers["Retry-After"] = str(TemporarilyUnavailable.retry_after)
    return HttpResponse.json(error.body(), status=error.status, headers=headers)


def answer(log: logging.Logger, work: Callable[[], HttpResponse]) -> HttpResponse:
    """Run the endpoint's work; its answer or its error, never cached."""
    try:
        try:
            response = work()
        except (StoreUnavailable, AuthorizerUnavailable) as down:
            raise TemporarilyUnavailable("try again shortly", str(down)) from down
    except OAuthError as error:
        log.info("request refused: %s (%s)", error.error, error.detail)
        return error_response(error)
    response.headers.update(NO_STORE)
    return response
