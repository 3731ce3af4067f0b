"""Standalone API Gateway Lambda authorizer for Tollgate's access tokens (RFC 9068, RFC 6750).

Handler: `chalicelib.authorizer.lambda_handler.handler`. Attach it by ARN to:
- a REST API, as a REQUEST authorizer with identity source
  `method.request.header.Authorization` (or as a TOKEN authorizer: both events are read);
- an HTTP API, with payload format 1.0 or 2.0 and simple responses OFF: only an IAM policy
  makes the per-token cache correct across routes (SECURITY.md 23).

DPoP (RFC 9449 7): `Authorization: DPoP <token>` with a `DPoP` proof header needs a REQUEST
event (a TOKEN event carries no other header: DPoP is then refused) and TOLLGATE_TABLE
(the replay guard: one conditional PutItem per DPoP request, SECURITY.md 45). The proof's
htu is compared with the URL the client called: TOLLGATE_API_URL plus the resource path, or
https:// + Host + the path API Gateway received (REST: requestContext.path, which holds the
stage on the execute-api domain and the base path on a custom domain; HTTP API: rawPath).
API Gateway caches an authorizer's answer per identity source: an API that accepts DPoP
must run its authorizer with caching off (TTL 0), or a cached allow would skip the proof
of a later request (README, "DPoP at the edge").

Answers: a missing or invalid token fails with "Unauthorized" (API Gateway: 401); a valid
one gets the policy of every route its scopes allow, and API Gateway answers 403 on the
others; when the keys (or the grant store) cannot be read the call fails (500, never an
allow). Configuration: chalicelib/authorizer/config.py.

The import path is the standard library, cryptography's EC and RSA verification and project
code: never boto3, PyJWT or cryptography.x509 (tests/authorizer/test_cold_start.py holds the
exact set). Only the optional revocation check and DPoP's replay guard load botocore, on
their first use.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.authorizer import config as configuration
from chalicelib.authorizer import events, validate
from chalicelib.authorizer.errors import AuthorizerUnavailable, InvalidToken, Unauthorized
from chalicelib.authorizer.gate import Decision, Grants, authorize
from chalicelib.authorizer.keys import JwksFetcher, KeySource
from chalicelib.tokens import dpop

if TYPE_CHECKING:
    from chalicelib.stores.repository import Store

log = logging.getLogger("tollgate.authorizer")

# Lambda runs the init phase at full speed before the first event: load the crypto now.
validate.preload()


class AuthorizerFailed(Exception):
    """No decision could be made (API Gateway answers 500); the cause is in the log."""


def _authorization(event: Mapping[str, Any]) -> str | None:
    """The Authorization header of a TOKEN or REQUEST event (REST, HTTP API 1.0 and 2.0)."""
    if event.get("type") == "TOKEN":
        token = event.get("authorizationToken")
        return token if isinstance(token, str) else None
    multi = event.get("multiValueHeaders") or {}
    for name, values in multi.items():
        if name.lower() == "authorization" and isinstance(values, list) and len(values) > 1:
            raise InvalidToken("more than one Authorization header")
    headers = event.get("headers") or {}
    found = [v for k, v in headers.items() if k.lower() == "authorization"]
    if len(found) > 1:
        raise InvalidToken("more than one Authorization header")
    return found[0] if found and isinstance(found[0], str) else None


def _scheme(authorization: str | None) -> str:
    return (authorization or "").strip().split(" ", 1)[0].lower()


def _method_arn(event: Mapping[str, Any]) -> str:
    arn = event.get("methodArn") or event.get("routeArn")
    if not isinstance(arn, str):
        raise AuthorizerUnavailable("the event has no methodArn or routeArn")
    return arn


def _store(cfg: configuration.AuthorizerConfig) -> Store:
    """The table, over the lean DynamoDB client: loaded only for the revocation check or a
    DPoP request."""
    from chalicelib.clock import SystemClock
    from chalicelib.stores.dynamodb import DynamoTable
    from chalicelib.stores.dynamodb_http import DynamoHttpClient
    from chalicelib.stores.repository import Store

    client = DynamoHttpClient(cfg.region, cfg.endpoint_url)
    return Store(DynamoTable(client, cfg.table_name, SystemClock()))


class Authorizer:
    """One container's authorizer: configuration, cached keys and (optionally) the grants."""

    def __init__(
        self,
        cfg: configuration.AuthorizerConfig,
        keys: KeySource | None = None,
        grants: Grants | None = None,
        clock: Callable[[], float] = time.time,
        replay: dpop.ReplayGuard | None = None,
    ) -> None:
        self.config = cfg
        self.keys = keys or JwksFetcher(
            cfg.issuer,
            cfg.jwks_uri,
            max_age=cfg.jwks_max_age,
            min_refetch_interval=cfg.jwks_min_refetch,
        )
        self._grants = grants
        self._replay = replay
        self._clock = clock

    def _grant_check(self) -> Grants | None:
        if not self.config.revocation_check:
            return None
        if self._grants is None:
            self._grants = _store(self.config).grants
        return self._grants

    def _replay_guard(self) -> dpop.ReplayGuard | None:
        """The used proofs' table, for a DPoP request only (a Bearer one loads nothing)."""
        if self._replay is None and self.config.table_name:
            self._replay = _store(self.config).dpop
        return self._replay

    def decide(self, event: Mapping[str, Any]) -> Decision:
        """The decision, or the AuthorizerError that says why there is none."""
        cfg = self.config
        authorization = _authorization(event)
        proof = events.proof(event)
        # The URL and the replay guard matter to a DPoP request only: a Bearer one skips both.
        dpop_request = proof is not None or _scheme(authorization) == "dpop"
        return authorize(
            authorization,
            _method_arn(event),
            keys=self.keys,
            policy=cfg.policy,
            issuer=cfg.issuer,
            audience=cfg.audience,
            now=int(self._clock()),
            leeway=cfg.leeway,
            grants=self._grant_check(),
            proof=proof,
            url=events.request_url(event, cfg.api_url) if dpop_request else None,
            replay=self._replay_guard() if proof is not None else None,
        )

    def __call__(self, event: Mapping[str, Any]) -> dict[str, Any]:
        try:
            decision = self.decide(event)
        except AuthorizerUnavailable as error:
            log.error("authorizer unavailable: %s", error.detail)
            raise AuthorizerFailed("authorizer unavailable") from None
        except InvalidToken as error:
            log.info("unauthorized: %s", error.detail)
            raise Unauthorized from None
        if not decision.allowed_here and log.isEnabledFor(logging.INFO):
            log.info("forbidden: %s", decision.denial().detail)
        return decision.response


_current: Authorizer | None = None


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """The Lambda entry point."""
    global _current
    if _current is None:
        _current = Authorizer(configuration.from_env())
    return _current(event)


def reset(authorizer: Authorizer | None = None) -> None:
    """Replace the container's authorizer (tests), or clear it so the next call rebuilds."""
    global _current
    _current = authorizer
