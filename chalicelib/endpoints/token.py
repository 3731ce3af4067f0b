"""Token endpoint (RFC 6749 3.2 and 5): client authentication, then the grant by grant_type.

Every answer, success or error, carries Cache-Control: no-store and Pragma: no-cache
(SECURITY.md item 11).

Client authentication is shared with revocation and introspection
(chalicelib/endpoints/client_request.py). Brute force (SECURITY.md item 18): failed client
authentications are counted per client_id and source address; a failure past a limit is
answered HTTP 429, Retry-After and
`{"error": "invalid_client", "error_description": "too many failed attempts"}`.
RFC 6749 5.2 has no error code for this. invalid_client keeps clients that read only the
code right (their authentication was refused: do not retry it blindly); the status 429
(RFC 6585) and Retry-After tell the rest that it is temporary and when to come back. A 401
would invite the client to retry at once with the same credentials, and
temporarily_unavailable (503) would blame the server for the client's own failures.

DPoP (RFC 9449 5): a `DPoP` header is verified after client authentication (a stranger's
proofs cost no write) and before the grant, which binds what it issues to the proof's key
(chalicelib/endpoints/dpop_request.py). A client registered with dpop_bound_access_tokens
must send one (SECURITY.md 46). With nonces on, every answer carries a DPoP-Nonce.
"""

from __future__ import annotations

import logging

from chalicelib import grants
from chalicelib.deps import Deps
from chalicelib.endpoints import client_request, dpop_request
from chalicelib.errors import InvalidDpopProof, UnauthorizedClient, UnsupportedGrantType
from chalicelib.http import cors
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.observability import audit

log = logging.getLogger("tollgate.token")


def handle(deps: Deps, request: HttpRequest) -> HttpResponse:
    origin = cors.ClientOrigin(request)

    def work() -> HttpResponse:
        return HttpResponse.json(_token(deps, request, origin))

    response = client_request.answer(log, work)
    if request.header("dpop") is not None and "DPoP-Nonce" not in response.headers:
        response.headers.update(dpop_request.fresh_nonce(deps))
    return origin.apply(response)


def _token(deps: Deps, request: HttpRequest, origin: cors.ClientOrigin) -> dict[str, object]:
    params = client_request.form(request)
    client = client_request.authenticate(deps, request, params, "/token")
    # A browser's request from a page the client does not own is refused before the grant.
    origin.check(client.client_id, client.redirect_uris)
    grant_type = params.require("grant_type")
    grant = grants.GRANTS.get(grant_type)
    if grant is None:
        raise UnsupportedGrantType("unsupported grant_type", f"grant_type {grant_type!r}")
    if grant_type not in client.grant_types:
        raise UnauthorizedClient("this client may not use this grant type")
    proof = dpop_request.proof(deps, request, "/token", client.client_id)
    if proof is None and client.dpop_bound_access_tokens:
        raise InvalidDpopProof("this client must send a DPoP proof", "dpop_bound_access_tokens")
    body = grant(deps, client, params, proof.jkt if proof else None)
    audit.token_issued(grant_type, client.client_id)
    if client.unused_expires_at is not None:
        _first_use(deps, client.client_id)
    return body


def _first_use(deps: Deps, client_id: str) -> None:
    """A dynamic client's first token: it no longer expires unused (SECURITY.md 53). Read
    afresh, so that a cached copy never overwrites a newer registration."""
    fresh = deps.store.clients.get(client_id)
    if fresh is not None and fresh.unused_expires_at is not None:
        deps.store.clients.mark_used(fresh)
    deps.clients.reload(client_id)
