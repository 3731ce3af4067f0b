"""Pushed authorization requests (RFC 9126): the /par endpoint, and /authorize's use of the
request_uri it hands out.

At /par the client authenticates as at the token endpoint (every method, the same limits)
and its request is validated as /authorize validates one (endpoints/authorization_request.py);
the parameters are kept under the hash of a random request_uri for TOLLGATE_PAR_TTL seconds.
At /authorize the request_uri is taken once, by one conditional write: a second use, an
expired one, or one pushed by another client is invalid_request_uri. Besides client_id and
request_uri nothing may be sent (FAPI 2.0 5.3.3-6): the pushed parameters are the request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chalicelib.accounts import rate_limit
from chalicelib.deps import Deps
from chalicelib.endpoints import authorization_request, client_request, dpop_request
from chalicelib.endpoints.authorization_request import KNOWN
from chalicelib.errors import (
    InvalidRequest,
    InvalidRequestUri,
    OAuthError,
    PageError,
    TooManyRequests,
)
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.ids import digest, new_id, new_secret
from chalicelib.observability import audit
from chalicelib.protocol.params import Params
from chalicelib.stores.models import Client, PushedRequest

log = logging.getLogger("tollgate.par")

URN = "urn:ietf:params:oauth:request_uri:"
# What may accompany a request_uri at /authorize.
WITH_REQUEST_URI = frozenset({"client_id", "request_uri"})


def required(deps: Deps, client: Client) -> bool:
    """Must this client push its authorization requests (RFC 9126 5 and 6)?"""
    return (
        deps.settings.require_par or client.require_pushed_authorization_requests or client.is_fapi2
    )


def handle(deps: Deps, request: HttpRequest) -> HttpResponse:
    def work() -> HttpResponse:
        answer = HttpResponse.json(_push(deps, request), status=201)
        answer.headers.update(dpop_request.fresh_nonce(deps))
        return answer

    return client_request.answer(log, work)


def _push(deps: Deps, request: HttpRequest) -> dict[str, object]:
    params = client_request.form(request)
    client = client_request.authenticate(deps, request, params, "/par")
    if "request_uri" in params:
        raise InvalidRequest("request_uri must not be pushed")  # RFC 9126 2.1
    requested = params.get("redirect_uri")
    if requested is None and client.is_fapi2:
        raise InvalidRequest("redirect_uri is required")  # FAPI 2.0 5.3.2.2-6
    try:
        target = authorization_request.target_of(client, requested)
    except PageError as error:
        raise InvalidRequest("redirect_uri is not registered", error.detail) from None
    # Client authentication's own parameters and those /authorize ignores are not kept.
    kept = {k: v for k, v in request.form().items() if k in KNOWN and any(v)}
    kept["client_id"] = [client.client_id]
    # RFC 9449 10.1: a DPoP proof at /par binds the code to its key, as dpop_jkt would.
    proof = dpop_request.proof(deps, request, "/par")
    if proof is not None:
        if kept.get("dpop_jkt", [proof.jkt]) != [proof.jkt]:
            raise InvalidRequest("dpop_jkt is not the DPoP proof's key")
        kept["dpop_jkt"] = [proof.jkt]
    authorization_request.validate(deps, Params(kept), target)
    if client.is_public:
        # Anyone may push in a public client's name: what one source stores is bounded as
        # at /authorize (SECURITY.md item 31). A confidential client's pushes are its own.
        wait = rate_limit.for_authorize(deps, request.source_ip).failed()
        if wait is not None:
            raise TooManyRequests(wait, "pushed requests from one source")
    handle_ = new_secret()
    ttl = deps.settings.par_ttl
    deps.store.pushed.put(
        PushedRequest(digest(handle_), client.client_id, kept, deps.clock.now() + ttl)
    )
    audit.request_pushed(client.client_id)
    return {"request_uri": URN + handle_, "expires_in": ttl}


@dataclass(frozen=True)
class Taken:
    """The parameters /authorize goes on with, and the error it must answer instead, if any."""

    params: dict[str, list[str]]
    error: OAuthError | None = None


def take(deps: Deps, raw: dict[str, list[str]]) -> Taken | None:
    """The pushed request a request_uri names, used up; None when the request names none."""
    try:
        query = Params(raw)
        request_uri = query.get("request_uri")
        client_id = query.get("client_id")
    except OAuthError:
        return None  # repeated parameters: refused by the plain request's checks
    if request_uri is None or not request_uri.startswith(URN):
        return None  # not ours to look up (request_uri_not_supported later)
    # Without a usable pushed request, errors go where the client_id alone points to.
    bare = {"client_id": [client_id]} if client_id else {}
    pushed = deps.store.pushed.take(digest(request_uri.removeprefix(URN)), new_id())
    if pushed is None or pushed.client_id != client_id:
        reason = "unknown, expired or used" if pushed is None else "pushed by another client"
        audit.request_uri_refused(client_id, reason)
        return Taken(bare, InvalidRequestUri("request_uri is invalid or expired", reason))
    extra = sorted(name for name in raw if name not in WITH_REQUEST_URI and name in query)
    if extra:
        error = InvalidRequest("only client_id may accompany request_uri", f"also {extra}")
        return Taken(pushed.params, error)
    return Taken(pushed.params)
