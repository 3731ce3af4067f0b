"""Routes behind Tollgate's built-in authorizer: the demo API (chalicelib/endpoints/demo_api.py).

The authorizer is Chalice's built-in kind (API Gateway calls it with the Authorization
header and the method ARN) over the shared core in chalicelib/authorizer. Its keys come
from this app's own signer (LocalKeys): the app holds them already, while fetching its own
/jwks.json would cost an API Gateway round trip and a second Lambda invocation on every key
reload (and, in `chalice local`, a request to itself from inside a request).

API Gateway turns a failure with the message "Unauthorized" into 401 and a policy that does
not cover the route into 403; their WWW-Authenticate headers are gateway responses
(infra/). `chalice local` and chalice.test.Client run the authorizer in-process but would
let an exception escape as a crash, so there the same answers are given directly as the
local gateway's own 401/403 errors, with their RFC 6750 challenges.

DPoP (RFC 9449 7, SECURITY.md 44 and 45): the authorizer reads the whole event, not just the
token (Chalice's built-in kind would hand it the token alone), so it is deployed as a
REQUEST authorizer (infra/chalice_app.py) and sees the `DPoP` header and the path. A
proof's htu is the route's URL under the issuer (the API is Tollgate's own, whose issuer is
its base URL, stage path included). API Gateway caches an answer per token: with a cache a
later request could skip its proof, so DPoP is accepted only while the cache is off
(TOLLGATE_AUTHORIZER_CACHE_TTL=0: the local stage, where no gateway caches; a deployed stage
chooses at packaging); with a cache, DPoP requests are refused.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from chalice.app import AuthRequest, Blueprint, ChaliceAuthorizer, Response

from chalicelib import deps as wiring
from chalicelib.authorizer import events, gate
from chalicelib.authorizer.errors import AuthorizerError, InvalidToken, Unauthorized
from chalicelib.authorizer.in_process import keys_for
from chalicelib.endpoints import demo_api
from chalicelib.web.adapter import refuse, run
from chalicelib.web.local_authorizer import local_gateway_error
from chalicelib.web.routes import ANY, METHODS

log = logging.getLogger("tollgate.authorizer")
protected = Blueprint(__name__)

# API Gateway caches an answer per token for this long, on every route (SECURITY.md 23): a
# token stays accepted up to this long past its exp or its grant's revocation. Read when the
# app is packaged (`chalice package`/`deploy`), as it becomes part of the API's definition.
# 60 by default: a Bearer API pays one authorizer call per token and minute. 0: no cache,
# every request is checked, DPoP ones with their own proof (SECURITY.md 45); above 0 DPoP
# requests are refused. The local stage sets 0 (.chalice/config.json).
CACHE_TTL = int(os.environ.get("TOLLGATE_AUTHORIZER_CACHE_TTL", "60"))


class EventRequest(AuthRequest):
    """Chalice's AuthRequest with the whole event: a REQUEST event's headers and path."""

    def __init__(self, event: dict[str, Any]) -> None:
        token = event.get("authorizationToken")
        if not isinstance(token, str):
            found = events.header(event, "authorization")
            token = found[0] if len(found) == 1 else ""
        super().__init__(str(event.get("type", "REQUEST")), token, str(event.get("methodArn")))
        self.event = event

    def path(self) -> str | None:
        """The route's path below the API's base (the stage or base path left out)."""
        context = self.event.get("requestContext") or {}
        # AWS: `path`; chalice local: only requestContext.path (it has no stage).
        path = self.event.get("path") or context.get("path")
        return path if isinstance(path, str) and path.startswith("/") else None


class RequestAuthorizer(ChaliceAuthorizer):
    """A built-in authorizer whose function gets the whole event (EventRequest)."""

    def _transform_event(self, event: dict[str, Any]) -> AuthRequest:
        return EventRequest(event)


def _rejection(error: AuthorizerError) -> Exception:
    local = local_gateway_error(error, _metadata_url())
    if local is not None:
        return local
    if isinstance(error, InvalidToken):
        return Unauthorized()
    return RuntimeError("authorizer unavailable")  # API Gateway: 500, never an allow


def _metadata_url() -> str:
    return demo_api.resource_metadata_url(wiring.get())


@protected.authorizer(ttl_seconds=CACHE_TTL)
def tollgate_authorizer(auth_request: AuthRequest) -> dict[str, Any]:
    deps = wiring.get()
    settings = deps.settings
    event = auth_request.event if isinstance(auth_request, EventRequest) else {}
    path = auth_request.path() if isinstance(auth_request, EventRequest) else None
    try:
        proof = events.proof(event)
        decision = gate.authorize(
            auth_request.token,
            auth_request.method_arn,
            keys=keys_for(deps),
            policy=demo_api.ROUTE_POLICY,
            issuer=settings.issuer,
            audience=settings.audience,
            now=deps.clock.now(),
            grants=deps.store.grants if settings.revocation_check else None,
            proof=proof,
            url=settings.endpoint(path) if path is not None and "headers" in event else None,
            replay=deps.store.dpop if CACHE_TTL == 0 else None,
        )
    except AuthorizerError as error:
        log.info("authorizer: %s %s", error.status, error.detail)
        raise _rejection(error) from None
    if not decision.allowed_here:
        denial = decision.denial()
        log.info("authorizer: %s %s", denial.status, denial.detail)
        # On AWS the policy itself makes the 403 (and is cached for the other routes).
        local = local_gateway_error(denial, _metadata_url())
        if local is not None:
            raise local
    return decision.response


# The decorator made a ChaliceAuthorizer; this one hands the function the whole event.
tollgate_authorizer.__class__ = RequestAuthorizer


def _others(taken: list[str]) -> list[str]:
    return [method for method in METHODS if method not in taken]


def _demo(endpoint: demo_api.Guarded) -> Response:
    request = protected.current_request
    principal = demo_api.Principal.from_context((request.context or {}).get("authorizer"))
    return run(lambda d, r: endpoint(d, r, principal), request, html=False)


@protected.route("/api/whoami", methods=["GET"], authorizer=tollgate_authorizer, content_types=ANY)
def whoami() -> Response:
    return _demo(demo_api.whoami)


@protected.route(
    "/api/notes", methods=["GET", "POST"], authorizer=tollgate_authorizer, content_types=ANY
)
def notes() -> Response:
    get = protected.current_request.method == "GET"
    return _demo(demo_api.list_notes if get else demo_api.create_note)


# The other methods need no token to be told they are not allowed: Tollgate's own 405 (and
# OPTIONS its 204), never Chalice's.
@protected.route("/api/whoami", methods=_others(["GET"]), content_types=ANY)
def whoami_other() -> Response:
    return refuse(protected.current_request, ["GET"], html=False)


@protected.route("/api/notes", methods=_others(["GET", "POST"]), content_types=ANY)
def notes_other() -> Response:
    return refuse(protected.current_request, ["GET", "POST"], html=False)
