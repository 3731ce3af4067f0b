"""Route policies and the IAM policy returned to API Gateway (SECURITY.md 23)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.authorizer import gate
from chalicelib.authorizer.keys import LocalKeys
from chalicelib.authorizer.policy import (
    MethodArn,
    PolicyError,
    RoutePolicy,
    glob_match,
    iam_policy,
    parse_route,
    policy_allows,
)
from tests.authorizer.gateway import API, Gateway, allows
from tests.authorizer.gateway import Authorizer as GatewayAuthorizer
from tests.authorizer.tokens import AUDIENCE, ISSUER, NOW, KeyPair, access_claims

NOTES = {
    "GET /api/whoami": [],
    "GET /api/notes": ["notes:read"],
    "GET /api/notes/{id}": ["notes:read"],
    "POST /api/notes": ["notes:write"],
    "DELETE /api/notes/{id}": ["notes:write", "notes:admin"],
}


@pytest.fixture
def policy() -> RoutePolicy:
    return RoutePolicy.from_mapping(NOTES)


def arn(method: str, path: str, stage: str = "prod") -> str:
    return f"{API}/{stage}/{method}{path}"


# -- routes -----------------------------------------------------------------------------------


def test_parse_route() -> None:
    route = parse_route("get /api/notes/{id}/tags/{rest+}", ["notes:read"])
    assert (route.method, route.path, route.scopes) == (
        "GET",
        "/api/notes/*/tags/*",
        frozenset({"notes:read"}),
    )
    assert parse_route("ANY /x", []).method == "*"
    assert parse_route("* /x", []).method == "*"


@pytest.mark.parametrize(
    ("pattern", "scopes"),
    [
        ("FETCH /x", []),
        ("GET x", []),
        ("GET", []),
        ("GET /a b", []),
        ("GET /x?y=1", []),
        ("GET /x#f", []),
        ("GET /{unclosed", []),
        ("GET /{a-b}", []),
        ("GET /x", "notes:read"),
        ("GET /x", ["notes read"]),
        ("GET /x", ['say"hi']),
        ("GET /x", [1]),
        ("GET /" + "a" * 300, []),
    ],
)
def test_malformed_routes_are_refused(pattern: str, scopes: Any) -> None:
    with pytest.raises(PolicyError):
        parse_route(pattern, scopes)


def test_matching(policy: RoutePolicy) -> None:
    assert policy.needed("GET", "/api/whoami") == frozenset()
    assert policy.needed("GET", "/api/notes/42") == frozenset({"notes:read"})
    assert policy.needed("DELETE", "/api/notes/42") == frozenset({"notes:write", "notes:admin"})
    assert policy.needed("PUT", "/api/notes/42") is None
    assert policy.needed("GET", "/api/other") is None
    assert glob_match("/api/*", "/api/a/b")  # IAM's * crosses /
    assert not glob_match("/api/notes", "/api/notes/1")


@pytest.mark.parametrize(
    "doc",
    [
        {"GET /notes/*": ["notes:read"], "GET /notes/admin": ["admin"]},
        {"ANY /notes": ["a"], "GET /notes": ["b"]},
        {"GET /*": [], "GET /admin": ["admin"]},
        {"GET /a/{x}/c": ["a"], "GET /a/b/{y}": ["b"]},
    ],
)
def test_overlapping_routes_with_different_scopes_are_refused(doc: dict[str, Any]) -> None:
    """SECURITY.md 23: IAM allows the union, so the laxer of two overlapping routes would win."""
    with pytest.raises(PolicyError, match="can match the same request"):
        RoutePolicy.from_mapping(doc)


def test_overlap_with_the_same_scopes_or_other_methods_is_fine() -> None:
    RoutePolicy.from_mapping({"GET /notes/*": ["r"], "GET /notes/x": ["r"], "POST /notes/x": []})
    RoutePolicy.from_mapping({"GET /a/*/c": ["a"], "GET /a/*/d": ["b"]})


def test_load_json_text_or_a_file(tmp_path: Path) -> None:
    text = json.dumps(NOTES)
    assert len(RoutePolicy.load(text).routes) == 5
    (tmp_path / "routes.json").write_text(text)
    assert len(RoutePolicy.load("routes.json", base=tmp_path).routes) == 5
    assert len(RoutePolicy.load(str(tmp_path / "routes.json")).routes) == 5


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"GET /a": [], "GET /a": ["x"]}', "twice"),
        ("{not json", "not JSON"),
        ('{"GET /a": []', "not JSON"),
        ("missing.json", "cannot read"),
    ],
)
def test_load_refuses(value: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=message):
        RoutePolicy.load(value, base=tmp_path)


def test_an_empty_policy_allows_nothing() -> None:
    """The deployed authorizer's default (SECURITY.md 55): every route refused to every token."""
    policy = RoutePolicy.load("{}")
    assert policy.allowed(["notes:read", "api"]) == []
    assert policy.needed("GET", "/anything") is None
    with pytest.raises(PolicyError, match="a JSON object"):
        RoutePolicy.from_mapping(["GET /a"])


def test_too_many_routes() -> None:
    with pytest.raises(PolicyError, match="at most"):
        RoutePolicy.from_mapping({f"GET /r{n}": [] for n in range(101)})


# -- ARNs and the IAM policy --------------------------------------------------------------------


def test_method_arn() -> None:
    parsed = MethodArn.parse(arn("GET", "/api/notes/1"))
    assert (parsed.api_id, parsed.stage, parsed.method, parsed.path) == (
        "a1b2c3d4e5",
        "prod",
        "GET",
        "/api/notes/1",
    )
    assert str(parsed) == arn("GET", "/api/notes/1")
    assert MethodArn.parse(f"{API}/prod/GET/").path == "/"
    v2 = MethodArn.parse(f"{API}/$default/POST/notes")
    assert (v2.stage, v2.method, v2.path) == ("$default", "POST", "/notes")


@pytest.mark.parametrize(
    "value",
    ["", "arn:aws:lambda:eu-west-1:1:function:x", f"{API}", f"{API}/prod", f"{API}//GET/x", "x"],
)
def test_malformed_method_arns(value: str) -> None:
    with pytest.raises(PolicyError):
        MethodArn.parse(value)


def test_the_policy_allows_every_route_the_scopes_allow(policy: RoutePolicy) -> None:
    here = MethodArn.parse(arn("GET", "/api/notes"))
    document = iam_policy(here, policy.allowed(["notes:read"]))
    assert document["Statement"] == [
        {
            "Action": "execute-api:Invoke",
            "Effect": "Allow",
            "Resource": [
                f"{API}/prod/GET/api/notes",
                f"{API}/prod/GET/api/notes/*",
                f"{API}/prod/GET/api/whoami",
            ],
        }
    ]
    for method, path, expected in [
        ("GET", "/api/notes", True),
        ("GET", "/api/notes/7", True),
        ("GET", "/api/whoami", True),
        ("POST", "/api/notes", False),
        ("DELETE", "/api/notes/7", False),
        ("GET", "/api/other", False),
    ]:
        assert policy_allows(document, arn(method, path)) is expected
        assert allows(document, arn(method, path)) is expected  # chalice's matcher agrees
    assert not policy_allows(document, arn("GET", "/api/notes", stage="dev"))


def test_no_allowed_route_means_an_explicit_deny() -> None:
    document = iam_policy(MethodArn.parse(arn("GET", "/x")), [])
    assert document["Statement"][0]["Effect"] == "Deny"
    assert not policy_allows(document, arn("GET", "/x"))
    assert not allows(document, arn("GET", "/x"))


def test_a_deny_wins() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Resource": f"{API}/prod/*"},
            {"Effect": "Deny", "Resource": [f"{API}/prod/GET/secret"]},
        ]
    }
    assert policy_allows(document, arn("GET", "/open"))
    assert not policy_allows(document, arn("GET", "/secret"))


# -- SECURITY.md 23: one answer, cached per token, serves every route ----------------------------


def authorizer(keys: LocalKeys, policy: RoutePolicy) -> GatewayAuthorizer:
    def call(event: dict[str, Any]) -> dict[str, Any]:
        return gate.authorize(
            event["headers"].get("Authorization"),
            event["methodArn"],
            keys=keys,
            policy=policy,
            issuer=ISSUER,
            audience=AUDIENCE,
            now=NOW,
        ).response

    return call


def test_one_token_on_route_a_then_route_b_within_the_cache_ttl(
    ec_key: KeyPair, keys: LocalKeys, policy: RoutePolicy
) -> None:
    """SECURITY.md 23: accepted on A, then on B from the cache; denied where scopes fall short."""
    gateway = Gateway(authorizer(keys, policy), ttl=300)
    reader = "Bearer " + ec_key.token(access_claims(scope="notes:read"))
    assert gateway.request("GET", "/api/notes", reader)[0] == 200
    assert gateway.request("GET", "/api/notes/9", reader)[0] == 200
    assert gateway.request("GET", "/api/whoami", reader)[0] == 200
    assert gateway.request("POST", "/api/notes", reader)[0] == 403
    assert gateway.request("DELETE", "/api/notes/9", reader)[0] == 403
    assert gateway.calls == 1  # every answer after the first came from the cache

    writer = "Bearer " + ec_key.token(access_claims(scope="notes:write", jti="j2"))
    assert gateway.request("GET", "/api/notes", writer)[0] == 403  # first call: denied here...
    assert gateway.request("POST", "/api/notes", writer)[0] == 200  # ...yet B is allowed
    assert gateway.request("GET", "/api/whoami", writer)[0] == 200
    assert gateway.calls == 2


def test_context_is_flat_strings(ec_key: KeyPair, keys: LocalKeys, policy: RoutePolicy) -> None:
    gateway = Gateway(authorizer(keys, policy))
    token = ec_key.token(access_claims(scope="notes:read notes:write"))
    status, context = gateway.request("GET", "/api/whoami", "Bearer " + token)
    assert status == 200
    assert context == {"sub": "sub-alice", "client_id": "web", "scope": "notes:read notes:write"}


def test_the_cache_check_can_fail(ec_key: KeyPair, keys: LocalKeys, policy: RoutePolicy) -> None:
    """The scenario above catches a policy naming only the route at hand."""
    correct = authorizer(keys, policy)

    def route_only(event: dict[str, Any]) -> dict[str, Any]:
        answer = correct(event)
        answer["policyDocument"] = iam_policy(MethodArn.parse(event["methodArn"]), [])
        answer["policyDocument"]["Statement"][0].update(
            Effect="Allow", Resource=[event["methodArn"]]
        )
        return answer

    gateway = Gateway(route_only, ttl=300)
    token = "Bearer " + ec_key.token(access_claims(scope="notes:read"))
    assert gateway.request("GET", "/api/notes", token)[0] == 200
    assert gateway.request("GET", "/api/whoami", token)[0] == 403  # wrongly denied


def test_verdicts_are_kept_per_routes_allowed_and_method_arn() -> None:
    """A warm authorizer builds each IAM document once; what it keeps is what it would build."""
    policy = RoutePolicy.from_mapping(NOTES)
    arn = "arn:aws:execute-api:eu-west-1:1:api/prod/GET/api/notes/7"
    reader = policy.verdict(arn, ("notes:read",))
    assert policy.verdict(arn, ("notes:read",)) is reader  # kept, not rebuilt
    assert reader.document == iam_policy(MethodArn.parse(arn), policy.allowed(["notes:read"]))
    assert reader.allowed_here
    nobody = policy.verdict(arn, ())
    assert not nobody.allowed_here
    assert nobody.document == iam_policy(MethodArn.parse(arn), policy.allowed([]))
    other_stage = policy.verdict(arn.replace("/prod/", "/dev/"), ("notes:read",))
    assert all("/dev/" in r for r in other_stage.document["Statement"][0]["Resource"])


def test_verdicts_of_routes_with_max_age_follow_the_clock() -> None:
    """A route that needs a recent sign-in is judged at every call, never from what was kept."""
    policy = RoutePolicy.from_mapping({"POST /api/pay": {"scopes": ["pay"], "max_age": 300}})
    arn = "arn:aws:execute-api:eu-west-1:1:api/prod/POST/api/pay"
    assert policy.verdict(arn, ("pay",), auth_time=NOW, now=NOW + 300).allowed_here
    assert not policy.verdict(arn, ("pay",), auth_time=NOW, now=NOW + 301).allowed_here
    assert policy.verdict(arn, ("pay",), auth_time=NOW, now=NOW + 10).allowed_here


STEP_UP = {
    "GET /api/notes": ["notes:read"],
    "ANY /api/pay/{id+}": {"scopes": ["pay"], "acr": "urn:tollgate:mfa", "max_age": 600},
    "POST /api/keys": {"scopes": [], "acr": "phr"},
    "DELETE /api/notes/{id}": {"scopes": ["notes:write"], "max_age": 0},
}


def test_a_policy_written_out_reads_back_the_same() -> None:
    """SECURITY.md 62: what infra writes into TOLLGATE_ROUTE_POLICY keeps each route's
    acr and max_age (scopes alone stay a list)."""
    policy = RoutePolicy.from_mapping(STEP_UP)
    again = RoutePolicy.load(policy.as_json())
    assert [(r.source, r.need) for r in again.routes] == [(r.source, r.need) for r in policy.routes]
    assert [r.method + " " + r.path for r in again.routes] == [
        r.method + " " + r.path for r in policy.routes
    ]
    assert json.loads(policy.as_json())["GET /api/notes"] == ["notes:read"]
    assert RoutePolicy.from_mapping({}).as_json() == "{}"
