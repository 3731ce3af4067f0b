"""Tollgate's authorizers as `chalice local` runs them, with API Gateway's answers.

`chalice local` runs only built-in authorizers (`@app.authorizer`): an authorizer attached by
ARN (`CustomAuthorizer`) is not run at all, and every request goes through. `standalone`
gives an API of one's own (examples/protected-api, examples/mcp-server) Tollgate's
standalone authorizer as a built-in one, configured from the same TOLLGATE_* environment as
the deployed function, so that the API enforces its route policy locally too.

Locally an exception escaping an authorizer would crash the request, so refusals are given
as the local gateway's own 401/403 answers, with the RFC 6750 challenges and the RFC 9728
`resource_metadata` that gateway responses give them on AWS.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalice.app import AuthRequest, Chalice, ChaliceAuthorizer

from chalicelib.authorizer.errors import AuthorizerError

if TYPE_CHECKING:
    from chalicelib.authorizer.lambda_handler import Authorizer

log = logging.getLogger("tollgate.authorizer")


def local_gateway_error(error: AuthorizerError, resource_metadata: str | None) -> Exception | None:
    """The error as the local gateway's own answer, or None when running on AWS."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return None
    try:
        from chalice.local import LocalGatewayException
    except ImportError:  # the Lambda package holds only chalice.app
        return None
    headers = {
        "Content-Type": "application/json",
        "Cache-Control": "no-store",
        "WWW-Authenticate": error.www_authenticate(resource_metadata),
    }
    body = json.dumps(error.body(), separators=(",", ":")).encode()
    answer = LocalGatewayException(headers, body)
    answer.CODE = error.status
    return answer


def standalone(
    app: Chalice, base: Path, env: Mapping[str, str] | None = None, name: str = "tollgate"
) -> ChaliceAuthorizer:
    """Register Tollgate's standalone authorizer on `app` as a built-in authorizer, for
    `chalice local` only. Its settings are the deployed function's (TOLLGATE_ISSUER,
    TOLLGATE_AUDIENCE, ...); TOLLGATE_ROUTE_POLICY defaults to `routes.json` in `base`."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        # Deployed without TOLLGATE_AUTHORIZER_ARN: refuse to start rather than run unguarded.
        raise RuntimeError("deploy with TOLLGATE_AUTHORIZER_ARN set (README: Protect your API)")
    values = dict(os.environ if env is None else env)
    values.setdefault("TOLLGATE_ROUTE_POLICY", "routes.json")
    current: list[Authorizer] = []

    def authorizer() -> Authorizer:
        # Loaded on first use: Tollgate's own app imports this module for local_gateway_error,
        # and its cold start loads no crypto (tests/unit/test_cold_start.py).
        from chalicelib.authorizer import config as configuration
        from chalicelib.authorizer.lambda_handler import Authorizer

        if not current:  # the first request: the local Tollgate is up by then
            current.append(Authorizer(configuration.from_env(values, base=base)))
        return current[0]

    def check(auth_request: AuthRequest) -> dict[str, Any]:
        gate = authorizer()
        metadata = gate.config.resource_metadata
        try:
            event = {
                "type": "TOKEN",
                "authorizationToken": auth_request.token,
                "methodArn": auth_request.method_arn,
            }
            decision = gate.decide(event)
        except AuthorizerError as error:
            log.info("authorizer: %s %s", error.status, error.detail)
            raise local_gateway_error(error, metadata) or error from None
        if not decision.allowed_here:
            refusal = decision.insufficient_scope()
            log.info("authorizer: 403 %s", refusal.detail)
            raise local_gateway_error(refusal, metadata) or refusal
        return decision.response

    check.__name__ = name
    registered: ChaliceAuthorizer = app.authorizer(name=name)(check)
    return registered
