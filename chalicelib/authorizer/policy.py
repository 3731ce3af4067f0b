"""Routes to scopes, and the IAM policy an API Gateway authorizer returns (SECURITY.md 23).

A route policy maps route patterns to the scopes they need, all of them:

    {"GET /api/whoami": [], "GET /api/notes": ["notes:read"], "POST /api/notes/{id}": [...]}

A pattern is a method (or `*`/`ANY`) and a path in which `*` and `{param}` match any
characters, `/` included (IAM's own wildcard). An empty list means any valid token; an
empty document allows nothing.

A route may also require how the user signed in (RFC 9470 step-up, SECURITY.md item 62):

    {"POST /api/payments": {"scopes": ["pay"], "acr": "urn:tollgate:mfa", "max_age": 600}}

`acr` is a level of chalicelib/protocol/acr.py (a higher level meets a lower one) and
`max_age` the most seconds since the token's `auth_time`. A token below either is allowed
no such route; the route at hand answers 401 insufficient_user_authentication.

API Gateway caches an authorizer's answer per token and uses it for every route of the
API, so the policy returned must not depend on the route at hand: it allows every route
the token's scopes allow, and nothing else. For that to mean what the document says, two
patterns that can match the same request must need the same scopes; IAM takes the union of
Allow statements, so the laxer of two overlapping patterns would silently win. Such a
document is refused when it is loaded.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import InvalidScope
from chalicelib.protocol import acr as levels
from chalicelib.protocol import scope as scope_syntax

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*"})
MAX_ROUTES = 100
MAX_KEPT = 512  # verdicts (and scope sets) a policy keeps; all are dropped when it is full
MAX_PATH = 256
ACTION = "execute-api:Invoke"
_PARAM = re.compile(r"\{[A-Za-z0-9_]+\+?\}")
_PATH = re.compile(r"^/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$")


class PolicyError(ValueError):
    """The route policy document (or a method ARN) is malformed."""


@functools.lru_cache(maxsize=1024)
def _regex(glob: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in glob.split("*")) + "$", re.S)


def glob_match(glob: str, text: str) -> bool:
    """IAM resource matching: `*` is any run of characters (including none and `/`)."""
    return _regex(glob).fullmatch(text) is not None


def globs_intersect(a: str, b: str) -> bool:
    """Whether some string matches both globs (each `*` matches any run of characters)."""
    head_a, head_b = a.split("*", 1)[0], b.split("*", 1)[0]
    tail_a, tail_b = a.rsplit("*", 1)[-1], b.rsplit("*", 1)[-1]
    if not (head_a.startswith(head_b) or head_b.startswith(head_a)):
        return False  # the literal beginnings already differ (the common, cheap case)
    if not (tail_a.endswith(tail_b) or tail_b.endswith(tail_a)):
        return False
    n, m = len(a), len(b)
    # meet[i][j]: some string matches both a[i:] and b[j:]
    meet = [[False] * (m + 1) for _ in range(n + 1)]
    meet[n][m] = True
    for i in range(n, -1, -1):
        for j in range(m, -1, -1):
            if i == n and j == m:
                continue
            if i < n and a[i] == "*":
                meet[i][j] = meet[i + 1][j] or (j < m and meet[i][j + 1])
            elif j < m and b[j] == "*":
                meet[i][j] = meet[i][j + 1] or (i < n and meet[i + 1][j])
            else:
                meet[i][j] = i < n and j < m and a[i] == b[j] and meet[i + 1][j + 1]
    return meet[0][0]


@dataclass(frozen=True)
class Route:
    method: str  # an HTTP method or "*"
    path: str  # a glob over the request path
    scopes: frozenset[str]
    source: str  # the pattern as written, for messages
    acr: str | None = None  # the least level the sign-in must have proved
    max_age: int | None = None  # the most seconds since the sign-in

    @property
    def need(self) -> tuple[frozenset[str], str | None, int | None]:
        return self.scopes, self.acr, self.max_age

    def authenticated(self, acr: object, auth_time: object, now: int) -> bool:
        """Whether a token's `acr` and `auth_time` claims meet this route's requirement."""
        if self.acr is not None and not levels.meets(acr, self.acr):
            return False
        if self.max_age is not None:
            if not isinstance(auth_time, int) or isinstance(auth_time, bool):
                return False
            return now - auth_time <= self.max_age
        return True

    def as_json(self) -> list[str] | dict[str, Any]:
        """This route's value as `_requirement` reads it back: its scopes, or with `acr` and
        `max_age` the object form (a deployed authorizer must get all of it: item 62)."""
        scopes = sorted(self.scopes)
        if self.acr is None and self.max_age is None:
            return scopes
        value: dict[str, Any] = {"scopes": scopes}
        if self.acr is not None:
            value["acr"] = self.acr
        if self.max_age is not None:
            value["max_age"] = self.max_age
        return value

    def matches(self, method: str, path: str) -> bool:
        return self.method in {"*", method} and glob_match(self.path, path)

    def overlaps(self, other: Route) -> bool:
        methods = self.method == other.method or "*" in {self.method, other.method}
        return methods and globs_intersect(self.path, other.path)


def _requirement(pattern: str, value: object) -> tuple[object, str | None, int | None]:
    """A route's value: a list of scopes, or {"scopes": [...], "acr": ..., "max_age": ...}."""
    if not isinstance(value, Mapping):
        return value, None, None
    unknown = set(value) - {"scopes", "acr", "max_age"}
    if unknown:
        raise PolicyError(f"{pattern!r}: unknown members {sorted(unknown)}")
    acr, max_age = value.get("acr"), value.get("max_age")
    if acr is not None and acr not in levels.LEVELS:
        raise PolicyError(f"{pattern!r}: acr must be one of {sorted(levels.LEVELS)}")
    if max_age is not None and (
        not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 0
    ):
        raise PolicyError(f"{pattern!r}: max_age is a number of seconds")
    return value.get("scopes", []), acr, max_age


def parse_route(pattern: str, value: object) -> Route:
    scopes, acr, max_age = _requirement(pattern, value)
    method, _, path = pattern.strip().partition(" ")
    method = "*" if method.upper() == "ANY" else method.upper()
    path = path.strip()
    if method not in METHODS:
        raise PolicyError(f"{pattern!r}: unknown method {method!r}")
    glob = _PARAM.sub("*", path)
    if "{" in glob or "}" in glob:
        raise PolicyError(f"{pattern!r}: a path parameter is written {{name}} or {{name+}}")
    if len(path) > MAX_PATH or not _PATH.fullmatch(glob):
        raise PolicyError(f"{pattern!r}: a path starts with / and has no spaces, ? or #")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise PolicyError(f"{pattern!r}: scopes must be a list of strings")
    for name in scopes:
        try:
            if scope_syntax.parse(name) != [name]:
                raise InvalidScope("not one scope token")
        except InvalidScope:
            raise PolicyError(f"{pattern!r}: {name!r} is not a scope") from None
    return Route(method, glob, frozenset(scopes), pattern.strip(), acr, max_age)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise PolicyError(f"route {name!r} appears twice")
        out[name] = value
    return out


@dataclass(frozen=True)
class Verdict:
    """What a token's routes mean for one request: the IAM document (shared by every answer
    it fits: never modified), whether it allows the request's method ARN, and its route."""

    document: dict[str, Any]
    allowed_here: bool
    route: Route | None


class RoutePolicy:
    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = tuple(routes)
        # Routes with max_age depend on the clock: their scope sets are judged every time.
        self._timed = any(route.max_age is not None for route in self.routes)
        self._allowed: dict[tuple[tuple[str, ...], str | None], tuple[int, ...]] = {}
        self._verdicts: dict[tuple[str, tuple[int, ...]], Verdict] = {}
        if len(self.routes) > MAX_ROUTES:
            raise PolicyError(f"{len(self.routes)} routes (at most {MAX_ROUTES})")
        for n, first in enumerate(self.routes):
            for second in self.routes[n + 1 :]:
                if first.need != second.need and first.overlaps(second):
                    raise PolicyError(
                        f"{first.source!r} and {second.source!r} can match the same request "
                        "but need different scopes (or acr, max_age); IAM would allow it "
                        "with the laxer one"
                    )

    @classmethod
    def from_mapping(cls, doc: object) -> RoutePolicy:
        if not isinstance(doc, Mapping):
            raise PolicyError("a route policy is a JSON object")
        # {} is a policy too: it allows no route to anyone (a deployed authorizer's default).
        return cls(parse_route(str(pattern), scopes) for pattern, scopes in doc.items())

    @classmethod
    def load(cls, value: str, base: str | os.PathLike[str] | None = None) -> RoutePolicy:
        """From JSON text, or from a JSON file at a path (relative to `base`). os.path, not
        pathlib: the standalone authorizer's cold start loads no pathlib."""
        text = value.strip()
        if not text.startswith("{"):
            path = text
            if not os.path.isabs(path) and base is not None:
                path = os.path.join(base, path)
            try:
                with open(path, encoding="utf-8") as document:
                    text = document.read()
            except OSError as error:
                raise PolicyError(f"cannot read the route policy {path!r}: {error}") from None
        try:
            doc = json.loads(text, object_pairs_hook=_no_duplicates)
        except ValueError as error:
            if isinstance(error, PolicyError):
                raise
            raise PolicyError(f"the route policy is not JSON: {error}") from None
        return cls.from_mapping(doc)

    def as_json(self) -> str:
        """The policy as a document `load` reads back the same (TOLLGATE_ROUTE_POLICY)."""
        document = {route.source: route.as_json() for route in self.routes}
        return json.dumps(document, separators=(",", ":"))

    def scopes(self) -> frozenset[str]:
        """Every scope some route asks for (the API's scopes_supported, RFC 9728)."""
        return frozenset(name for route in self.routes for name in route.scopes)

    def needed(self, method: str, path: str) -> frozenset[str] | None:
        """The scopes a request needs, or None when no route allows it to anyone."""
        route = self.route(method, path)
        return None if route is None else route.scopes

    def route(self, method: str, path: str) -> Route | None:
        """The route a request matches (overlapping routes need the same), or None."""
        return next((r for r in self.routes if r.matches(method, path)), None)

    def allowed(
        self,
        scopes: Iterable[str],
        *,
        acr: object = None,
        auth_time: object = None,
        now: int = 0,
    ) -> list[Route]:
        """The routes a token's scopes allow and its `acr`/`auth_time` meet."""
        held = set(scopes)
        return [
            route
            for route in self.routes
            if route.scopes <= held and route.authenticated(acr, auth_time, now)
        ]

    def _allowed_indexes(
        self, scopes: tuple[str, ...], acr: object, auth_time: object, now: int
    ) -> tuple[int, ...]:
        def judge() -> tuple[int, ...]:
            held = set(scopes)
            return tuple(
                n
                for n, route in enumerate(self.routes)
                if route.scopes <= held and route.authenticated(acr, auth_time, now)
            )

        if self._timed or not (acr is None or isinstance(acr, str)):
            return judge()
        key = (scopes, acr)
        found = self._allowed.get(key)
        if found is None:
            if len(self._allowed) >= MAX_KEPT:
                self._allowed.clear()
            found = self._allowed[key] = judge()
        return found

    def verdict(
        self,
        method_arn: str,
        scopes: tuple[str, ...],
        *,
        acr: object = None,
        auth_time: object = None,
        now: int = 0,
    ) -> Verdict:
        """The IAM document allowing exactly the routes a token's scopes (and sign-in)
        allow, and what it says of this request. A warm authorizer builds each document
        once per (routes allowed, method ARN), and never serialises it again."""
        allowed = self._allowed_indexes(scopes, acr, auth_time, now)
        key = (method_arn, allowed)
        found = self._verdicts.get(key)
        if found is None:
            arn = MethodArn.parse(method_arn)
            document = iam_policy(arn, (self.routes[n] for n in allowed))
            route = self.route(arn.method, arn.path)
            found = Verdict(document, policy_allows(document, method_arn), route)
            if len(self._verdicts) >= MAX_KEPT:
                self._verdicts.clear()
            self._verdicts[key] = found
        return found


@functools.lru_cache(maxsize=MAX_KEPT)
def _parse_arn(arn: str) -> MethodArn:
    head = arn.split(":", 5)
    if len(head) != 6 or head[0] != "arn" or head[2] != "execute-api":
        raise PolicyError(f"not an execute-api ARN: {arn[:200]!r}")
    resource = head[5].split("/", 3)
    if len(resource) != 4 or not all(resource[:3]):
        raise PolicyError(f"not a method ARN: {arn[:200]!r}")
    api_id, stage, method, rest = resource
    return MethodArn(":".join(head[:5]), api_id, stage, method, "/" + rest)


@dataclass(frozen=True)
class MethodArn:
    """arn:<partition>:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>"""

    prefix: str  # up to and including the account
    api_id: str
    stage: str
    method: str
    path: str  # with its leading /

    @staticmethod
    def parse(arn: str) -> MethodArn:
        """The parts of a method ARN (each ARN parsed once per container: they repeat)."""
        return _parse_arn(arn)

    @property
    def base(self) -> str:
        return f"{self.prefix}:{self.api_id}/{self.stage}"

    def resource(self, method: str, path: str) -> str:
        return f"{self.base}/{method}/{path[1:]}"

    def __str__(self) -> str:
        return self.resource(self.method, self.path)


def iam_policy(arn: MethodArn, routes: Iterable[Route]) -> dict[str, Any]:
    """Allow exactly these routes on this API and stage; with none, deny everything."""
    resources = sorted({arn.resource(route.method, route.path) for route in routes})
    statement: dict[str, Any] = (
        {"Action": ACTION, "Effect": "Allow", "Resource": resources}
        if resources
        else {"Action": ACTION, "Effect": "Deny", "Resource": [f"{arn.base}/*"]}
    )
    return {"Version": "2012-10-17", "Statement": [statement]}


def policy_allows(document: Mapping[str, Any], arn: str) -> bool:
    """How API Gateway judges a request ARN against a policy: a Deny wins, else any Allow."""
    allowed = False
    for statement in document.get("Statement", []):
        resources = statement.get("Resource", [])
        if isinstance(resources, str):
            resources = [resources]
        if not any(glob_match(resource, arn) for resource in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed
