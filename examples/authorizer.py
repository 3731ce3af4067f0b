"""Tollgate's authorizer for an example API (examples/protected-api, examples/mcp-server):
one place for the choice both make.

- Deployed (`make deploy-example`, infra/example.py), TOLLGATE_AUTHORIZER_ARN names the
  example's authorizer function: API Gateway calls it, and caches its answer per token for
  TOLLGATE_AUTHORIZER_CACHE_TTL seconds (60), on every route (the policy covers them all).
  Both are read when the app is imported: by `chalice package`, and in the function.
  infra/example.py puts this module into the example's package.
- Under `chalice local`, which would let every request through an authorizer attached by ARN,
  Tollgate's standalone authorizer runs in-process instead (chalicelib/web/local_authorizer.py,
  configured from the same TOLLGATE_* settings); deployed without an ARN, the app refuses to
  start rather than serve unguarded.
"""

from __future__ import annotations

import os
from pathlib import Path

from chalice.app import Chalice, ChaliceAuthorizer, CustomAuthorizer

NAME = "tollgate"


def invocation_uri(function_arn: str) -> str:
    region = function_arn.split(":")[3]
    return (
        f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


def tollgate_authorizer(app: Chalice, base: Path) -> CustomAuthorizer | ChaliceAuthorizer:
    """The authorizer for the routes of `app`, whose route policy is `base`/routes.json."""
    arn = os.environ.get("TOLLGATE_AUTHORIZER_ARN", "")
    if arn:
        return CustomAuthorizer(
            NAME,
            authorizer_uri=invocation_uri(arn),
            ttl_seconds=int(os.environ.get("TOLLGATE_AUTHORIZER_CACHE_TTL", "60")),
            header="Authorization",
        )
    from chalicelib.web.local_authorizer import standalone

    return standalone(app, base, name=NAME)
