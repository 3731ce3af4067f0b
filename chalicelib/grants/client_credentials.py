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


def issue(deps: Deps, client: Client, params: Params, jkt: str | None = None) -> dict[str, Any]:
    if client.is_public:
        raise UnauthorizedClient("public clients cannot use client_credentials")
    settings = deps.settings
    asked = resource.parse(params.get_all("resource"))
    registry = resource.Registry.of(deps, asked)
    audiences = registry.permitted(client, asked)
    machine = [s for s in registry.grantable(client, audiences) if s not in scope.OIDC_SCOPES]
    requested = scope.parse(params.get("scope"))
    granted = scope.grant(requested, machine, client.scope_policy) if requested else machine
    if not granted:
        raise InvalidScope("this client has no scope for the requested resource")
    ttl = registry.token_ttl(audiences, settings.access_token_ttl)
    token, _claims = access_token.mint(
        deps.signer,
        issuer=settings.issuer,
        audience=resource.audience(audiences, settings.audience),
        sub=client.client_id,
        client_id=client.client_id,
        scopes=granted,
        now=deps.clock.now(),
        ttl=ttl,
        jkt=jkt,
    )
    return {
        "access_token": token,
        "token_type": "DPoP" if jkt else "Bearer",
        "expires_in": ttl,
        "scope": scope.render(granted),
    }
