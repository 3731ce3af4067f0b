"""Token introspection (RFC 7662): POST /introspect with `token` and optionally
`token_type_hint`.

The caller authenticates as a confidential client, as at the token endpoint; a public
client cannot authenticate, so it gets invalid_client (RFC 7662 2.1: the endpoint "MUST
also require some form of authorization"; 4: token scanning). A client registered with
`may_introspect` (a resource server: `tollgate client create --introspect`) may introspect
every token; any other client only the tokens issued to it.

The answer is `{"active": false}` and nothing more for a token that is expired, revoked
(its grant, or itself at /revoke), unknown, malformed, not Tollgate's, or that the caller
may not see (RFC 7662 2.2: no hint of why). Time is judged without leeway: this clock is
the issuer's. An active access token is described by its claims (RFC 7662 2.2) with
token_type Bearer, or DPoP with `cnf.jkt` for a DPoP-bound one (RFC 9449 6.2); an active
refresh token (unexpired, not yet rotated, its grant active) by its scope, client_id, sub,
exp and iat, with token_type refresh_token.
"""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.authorizer.errors import InvalidToken
from chalicelib.authorizer.gate import check_grant
from chalicelib.authorizer.validate import Claims
from chalicelib.deps import Deps
from chalicelib.endpoints import client_request
from chalicelib.errors import InvalidClient
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.ids import same
from chalicelib.observability import audit
from chalicelib.stores.models import Client, RefreshToken
from chalicelib.tokens import lookup

PATH = "/introspect"
log = logging.getLogger("tollgate.introspection")

INACTIVE: dict[str, Any] = {"active": False}


def handle(deps: Deps, request: HttpRequest) -> HttpResponse:
    return client_request.answer(log, lambda: _introspect(deps, request))


def _introspect(deps: Deps, request: HttpRequest) -> HttpResponse:
    params = client_request.form(request)
    client = client_request.authenticate(deps, request, params, PATH)
    if client.is_public:
        raise InvalidClient("introspection needs client authentication", "public client")
    token = params.require("token")
    found = lookup.find(deps, token, params.get("token_type_hint"), leeway=0)
    body = _describe(deps, client, found)
    audit.token_introspected(client.client_id, body["active"] is True, body.get("token_type"))
    return HttpResponse.json(body)


def _describe(deps: Deps, client: Client, found: Claims | RefreshToken | None) -> dict[str, Any]:
    if found is None:
        return INACTIVE
    if not _may_see(client, found.client_id):
        log.info("client %s may not introspect a token of %s", client.client_id, found.client_id)
        return INACTIVE
    if isinstance(found, RefreshToken):
        return _refresh(deps, found)
    return _access(deps, found)


def _may_see(client: Client, owner: str) -> bool:
    return client.may_introspect or same(client.client_id, owner)


def _access(deps: Deps, claims: Claims) -> dict[str, Any]:
    try:
        check_grant(deps.store.grants, claims)  # AuthorizerUnavailable: 503
    except InvalidToken:
        return INACTIVE
    body: dict[str, Any] = {
        "active": True,
        "scope": claims.scope,
        "client_id": claims.client_id,
        "sub": claims.sub,
        "aud": claims.raw["aud"],
        "iss": claims.issuer,
        "exp": claims.expires_at,
        "iat": claims.issued_at,
        "jti": claims.jti,
        "token_type": "Bearer",
    }
    if claims.jkt is not None:
        body.update({"token_type": "DPoP", "cnf": {"jkt": claims.jkt}})
    return body


def _refresh(deps: Deps, record: RefreshToken) -> dict[str, Any]:
    if record.consumed_by is not None:
        return INACTIVE  # rotated: its successor is the live one
    grant = deps.store.grants.get(record.grant_id)
    if grant is None or not grant.active:
        return INACTIVE
    return {
        "active": True,
        "scope": " ".join(record.scopes),
        "client_id": record.client_id,
        "sub": record.sub,
        "exp": record.expires_at,
        "iat": record.issued_at,
        "token_type": "refresh_token",
    }
