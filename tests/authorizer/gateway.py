"""API Gateway's side of a Lambda authorizer, as far as the tests need it: the REQUEST or
TOKEN event, the answer cache shared by every route of the API (SECURITY.md 23), keyed on the
identity source's values (the Authorization header, or more headers: SECURITY.md 45), and
the 401/403/500 it answers. Resources are matched with chalice's own ARN matcher, so the
policy is judged by code other than ours."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice.local import ARNMatcher

from chalicelib.authorizer.errors import Unauthorized

API = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5"
Authorizer = Callable[[dict[str, Any]], dict[str, Any]]


def rest_event(
    method: str,
    path: str,
    authorization: str | None,
    stage: str = "prod",
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": authorization} if authorization is not None else {}
    headers.update(extra or {})
    return {
        "type": "REQUEST",
        "methodArn": f"{API}/{stage}/{method}{path}",
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Host": "api.example.test", **headers},
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "requestContext": {"stage": stage, "httpMethod": method, "path": f"/{stage}{path}"},
    }


def token_event(method: str, path: str, authorization: str, stage: str = "prod") -> dict[str, Any]:
    return {
        "type": "TOKEN",
        "authorizationToken": authorization,
        "methodArn": f"{API}/{stage}/{method}{path}",
    }


def http_api_event(
    method: str, path: str, authorization: str | None, extra: dict[str, str] | None = None
) -> dict[str, Any]:
    """HTTP API, payload format 2.0 (lower-case headers, routeArn)."""
    headers = {"authorization": authorization} if authorization is not None else {}
    headers.update({k.lower(): v for k, v in (extra or {}).items()})
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"{API}/$default/{method}{path}",
        "identitySource": [authorization] if authorization else [],
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "headers": {"host": "api.example.test", **headers},
        "requestContext": {"http": {"method": method, "path": path}},
    }


def allows(document: dict[str, Any], arn: str) -> bool:
    statements = document["Statement"]
    for statement in statements:
        assert statement["Action"] == "execute-api:Invoke"
        if statement["Effect"] == "Deny" and ARNMatcher(arn).does_any_resource_match(
            statement["Resource"]
        ):
            return False
    allowed = [r for s in statements if s["Effect"] == "Allow" for r in s["Resource"]]
    return ARNMatcher(arn).does_any_resource_match(allowed)


@dataclass
class Gateway:
    authorizer: Authorizer
    ttl: int = 300
    now: int = 0
    calls: int = 0
    cache: dict[tuple[str, ...], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # The identity source: the headers the cache is keyed on. With caching on, API Gateway
    # answers 401 without calling the authorizer when one of them is missing.
    identity: tuple[str, ...] = ("Authorization",)

    def request(
        self,
        method: str,
        path: str,
        authorization: str | None,
        extra: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any] | None]:
        """(status, authorizer context) of one request, as API Gateway would answer it."""
        headers = {"Authorization": authorization or "", **(extra or {})}
        key = tuple(headers.get(name, "") for name in self.identity)
        if not authorization or (self.ttl and not all(key)):
            return 401, None  # the identity source is missing: the authorizer is not called
        event = rest_event(method, path, authorization, extra=extra)
        cached = self.cache.get(key) if self.ttl else None
        if cached is None or cached[0] <= self.now:
            self.calls += 1
            try:
                answer = self.authorizer(event)
            except Unauthorized:
                return 401, None
            except Exception:
                return 500, None
            if self.ttl:
                self.cache[key] = (self.now + self.ttl, answer)
        else:
            answer = cached[1]
        assert all(isinstance(v, str) for v in answer["context"].values()), answer["context"]
        if allows(answer["policyDocument"], event["methodArn"]):
            return 200, answer["context"]
        return 403, None
