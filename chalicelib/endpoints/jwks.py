"""JSON Web Key Set (RFC 7517 5): the public keys that verify Tollgate's tokens."""

from __future__ import annotations

from chalicelib.deps import Deps
from chalicelib.http import cors
from chalicelib.http.message import HttpRequest, HttpResponse


def handle(deps: Deps, request: HttpRequest) -> HttpResponse:
    # Short cache: a key published as "next" must reach verifiers before it signs anything.
    headers = {"Cache-Control": "public, max-age=300", "Content-Type": "application/jwk-set+json"}
    return cors.public(HttpResponse.json(deps.signer.jwks(), headers=headers))
