"""Client credentials grant (RFC 6749 4.4): a confidential client acting for itself.

The token's subject is the client. Scopes are limited to the client's allowed scopes; the
OpenID scopes make no sense without a person and are never granted here. No refresh token.
"""

from __future__ import annotations

from typing import Any

from chalicelib.deps import Deps
from chalicelib.errors import InvalidScope, UnauthorizedClient
from chalicelib.protocol import resource, scope
from chalicelib.protocol.params import Params
from chalicelib.stores.models import Client
from chalicelib.tokens import access_token

PERSON_SCOPES = frozenset({"openid", "offline_access", "profile", "email", "address", "phone"})


def issue(deps: Deps, client: Client, params: Params, jkt: str | None = None) -> dict[str, Any]:
    if client.is_public:
        raise UnauthorizedClient("public clients cannot use client_credentials")
    machine = [s for s in client.scopes if s not in PERSON_SCOPES]
    requested = scope.parse(params.get("scope"))
    if requested:
        refused = [s for s in requested if s not in machine]
        if refused:
            raise InvalidScope(scope.refused_description(refused), f"{refused}")
    granted = requested or machine
    settings = deps.settings
    asked = resource.parse(params.get_all("resource"))
    audiences = resource.check(asked, resource.allowed(client, settings.audience))
    token, _claims = access_token.mint(
        deps.signer,
        issuer=settings.issuer,
        audience=resource.audience(audiences, settings.audience),
        sub=client.client_id,
        client_id=client.client_id,
        scopes=granted,
        now=deps.clock.now(),
        ttl=settings.access_token_ttl,
        jkt=jkt,
    )
    return {
        "access_token": token,
        "token_type": "DPoP" if jkt else "Bearer",
        "expires_in": settings.access_token_ttl,
        "scope": scope.render(granted),
    }
