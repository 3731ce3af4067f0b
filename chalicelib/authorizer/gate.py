"""From an Authorization header and a method ARN to an API Gateway authorizer answer.

Both authorizers call `authorize`: the built-in one of Tollgate's own app and the standalone
Lambda that other APIs attach by ARN. The answer is the same for every route of the API
(SECURITY.md 23): the principal, the flat-string context, and a policy allowing every route
the token's scopes allow. Whether the route at hand is among them only decides what the
caller shows when it is not (403 insufficient_scope).

DPoP (RFC 9449 7; chalicelib/authorizer/dpop_binding.py): a DPoP-bound token must come with
the DPoP scheme and a proof for this request's method (the method ARN's) and URL (the
caller's reconstruction of what the client called), checked after the token and its grant,
its jti recorded last (one conditional put). The answer is then still for every route, so
the caller must not let API Gateway cache it (SECURITY.md 45: cache TTL 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.authorizer import dpop_binding
from chalicelib.authorizer.errors import (
    AuthorizerError,
    AuthorizerUnavailable,
    InsufficientScope,
    InsufficientUserAuthentication,
    InvalidDpopProof,
    InvalidToken,
    RevokedToken,
)
from chalicelib.authorizer.keys import KeySource
from chalicelib.authorizer.policy import MethodArn, PolicyError, Route, RoutePolicy
from chalicelib.authorizer.validate import DEFAULT_LEEWAY, Claims, verify
from chalicelib.stores.failures import StoreUnavailable
from chalicelib.tokens.dpop import ReplayGuard

if TYPE_CHECKING:
    from chalicelib.stores.models import Grant  # the records load only where they are read


class Grants(Protocol):
    def get(self, grant_id: str) -> Grant | None: ...

    def is_jti_revoked(self, jti: str) -> bool: ...


def check_grant(grants: Grants, claims: Claims) -> None:
    """Revocation mode: the token's grant must still exist and be active (one GetItem), and
    the token itself must not have been revoked at /revoke (RFC 7009; one more GetItem).

    A token without a grant id (a machine client's) has no grant to revoke: only its own
    revocation is read. Nothing is read when the check is off (the caller skips this).
    """
    try:
        if claims.grant_id is not None:
            grant = grants.get(claims.grant_id)
            if grant is None or not grant.active:
                raise RevokedToken(f"grant {claims.grant_id} is revoked or gone")
            if grant.sub != claims.sub or grant.client_id != claims.client_id:
                raise InvalidToken(f"grant {claims.grant_id} belongs to someone else")
        if grants.is_jti_revoked(claims.jti):
            raise RevokedToken(f"token {claims.jti} was revoked")
    except StoreUnavailable as error:
        raise AuthorizerUnavailable(f"grant store: {error}") from None


def context(claims: Claims) -> dict[str, str]:
    """The authorizer context: flat strings only (API Gateway drops anything nested). With
    `acr` and `auth_time` when the token has them, for an API's own step-up checks."""
    out = {"sub": claims.sub, "client_id": claims.client_id, "scope": claims.scope}
    raw = claims.raw
    if "acr" in raw or "auth_time" in raw:
        for name in ("acr", "auth_time"):
            value = raw.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool):
                out[name] = str(value)
    return out


@dataclass(frozen=True, slots=True)
class Decision:
    claims: Claims
    response: dict[str, Any]  # principalId, policyDocument, context
    allowed_here: bool
    needed: frozenset[str] | None  # what the route at hand needs; None: no route matches
    route: Route | None = None  # the route at hand

    def insufficient_scope(self) -> InsufficientScope:
        needed = sorted(self.needed or ())
        missing = sorted(set(needed) - set(self.claims.scopes))
        return InsufficientScope(needed, f"needs {needed}, lacks {missing}")

    def denial(self) -> AuthorizerError:
        """Why the route at hand is refused: too weak a sign-in when the scopes are there
        (RFC 9470: 401 with acr_values/max_age), else the scopes (403)."""
        route = self.route
        if route is not None and self.claims.has_scopes(route.scopes):
            raw = self.claims.raw
            return InsufficientUserAuthentication(
                route.acr,
                route.max_age,
                f"acr {raw.get('acr')!r}, auth_time {raw.get('auth_time')!r} below {route.source}",
            )
        return self.insufficient_scope()


def authorize(
    authorization: str | None,
    method_arn: str,
    *,
    keys: KeySource,
    policy: RoutePolicy,
    issuer: str,
    audience: str,
    now: int,
    leeway: int = DEFAULT_LEEWAY,
    grants: Grants | None = None,
    proof: str | None = None,
    url: str | None = None,
    replay: ReplayGuard | None = None,
) -> Decision:
    """Validate the token (and its DPoP `proof` for the request at `url`, recorded in
    `replay`) and build the answer; InvalidToken (or MissingToken) when it is not valid,
    AuthorizerUnavailable when no decision can be made.

    A DPoP request is refused when `url` is None (a TOKEN authorizer sees no request) or
    `replay` is None (no replay guard: a proof could be used twice)."""
    try:
        arn = MethodArn.parse(method_arn)
    except PolicyError as error:
        raise AuthorizerUnavailable(str(error)) from None
    scheme, token = dpop_binding.presented(authorization)
    claims = verify(
        token,
        keys,
        issuer=issuer,
        audience=audience,
        leeway=leeway,
        now=now,
    )
    if grants is not None:
        check_grant(grants, claims)
    if scheme == dpop_binding.DPOP and (url is None or replay is None):
        missing = "the request's URL" if url is None else "a replay guard"
        raise InvalidDpopProof(f"this authorizer has no {missing}: DPoP is refused")
    dpop_binding.check(
        claims, scheme, token, proof, method=arn.method, url=url or "", now=now, guard=replay
    )
    raw = claims.raw
    verdict = policy.verdict(
        method_arn, claims.scopes, acr=raw.get("acr"), auth_time=raw.get("auth_time"), now=now
    )
    route = verdict.route
    return Decision(
        claims=claims,
        response={
            "principalId": claims.sub,
            "policyDocument": verdict.document,
            "context": context(claims),
        },
        allowed_here=verdict.allowed_here,
        needed=None if route is None else route.scopes,
        route=route,
    )
