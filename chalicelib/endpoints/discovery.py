"""Authorization server metadata (RFC 8414) and OpenID Provider metadata (OIDC Discovery 1.0).

Only what exists is advertised; the issuer comes from settings and matches exactly.
"""

from __future__ import annotations

from typing import Any

from chalicelib.accounts import mfa
from chalicelib.deps import Deps
from chalicelib.grants import GRANTS
from chalicelib.http import cors
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.protocol import claims, client_assertion
from chalicelib.stores.models import AUTH_METHODS
from chalicelib.tokens import dpop

CACHE = {"Cache-Control": "public, max-age=300"}


def metadata(deps: Deps) -> dict[str, Any]:
    s = deps.settings
    doc: dict[str, Any] = {
        "issuer": s.issuer,
        "authorization_endpoint": s.endpoint("/authorize"),
        "token_endpoint": s.endpoint("/token"),
        "jwks_uri": s.endpoint("/jwks.json"),
        "scopes_supported": scopes_supported(deps),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": sorted(GRANTS),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        # RFC 8414 2: the same client authentication as at the token endpoint; introspection
        # needs a confidential client (chalicelib/endpoints/introspection.py).
        "revocation_endpoint": s.endpoint("/revoke"),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "introspection_endpoint": s.endpoint("/introspect"),
        "introspection_endpoint_auth_methods_supported": [m for m in AUTH_METHODS if m != "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": list(client_assertion.ALGORITHMS),
        "introspection_endpoint_auth_signing_alg_values_supported": list(
            client_assertion.ALGORITHMS
        ),
        # private_key_jwt assertions (chalicelib/protocol/client_assertion.py).
        "token_endpoint_auth_signing_alg_values_supported": list(client_assertion.ALGORITHMS),
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "prompt_values_supported": ["none", "login", "consent"],
        # RFC 9449 5.1: DPoP proofs at /token, UserInfo and the authorizers.
        "dpop_signing_alg_values_supported": list(dpop.ALGORITHMS),
        # RFC 9126 5: the same client authentication as at the token endpoint.
        "pushed_authorization_request_endpoint": s.endpoint("/par"),
        "require_pushed_authorization_requests": s.require_par,
    }
    if s.registration != "off":
        doc["registration_endpoint"] = s.endpoint("/register")  # RFC 7591 3, RFC 8414 2
    if s.metadata_documents:
        # draft-ietf-oauth-client-id-metadata-document: https URLs are client ids.
        doc["client_id_metadata_document_supported"] = True
    return doc


def scopes_supported(deps: Deps) -> list[str]:
    """The stage's scopes (TOLLGATE_SCOPES) and those the registered resources define."""
    out = list(deps.settings.scopes)
    for registered in deps.resources.all().values():
        out.extend(s for s in registered.scopes if s not in out)
    return out


def oauth_metadata(deps: Deps, request: HttpRequest) -> HttpResponse:
    return cors.public(HttpResponse.json(metadata(deps), headers=CACHE))


def openid_configuration(deps: Deps, request: HttpRequest) -> HttpResponse:
    s = deps.settings
    doc = metadata(deps)
    doc.update(
        {
            "userinfo_endpoint": s.endpoint("/userinfo"),
            "end_session_endpoint": s.endpoint("/logout"),
            "subject_types_supported": ["public"],
            # RS256 first: OpenID Connect Discovery requires it to be offered.
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "claims_supported": claims.supported(),
            "claims_parameter_supported": False,
            "acr_values_supported": list(mfa.SUPPORTED),
            "display_values_supported": ["page", "popup", "touch", "wap"],
        }
    )
    return cors.public(HttpResponse.json(doc, headers=CACHE))
