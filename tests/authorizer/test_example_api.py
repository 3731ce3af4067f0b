"""examples/protected-api: its routes, run through Tollgate's standalone authorizer (the Lambda
handler's class and the shared validation core) where API Gateway would call it; its route
policy file; and its CDK stack for plain API Gateway (synthesized offline)."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from chalice.app import Chalice
from chalice.local import ForbiddenError, LocalARNBuilder, NotAuthorizedError
from chalice.test import Client

from chalicelib.authorizer import config as configuration
from chalicelib.authorizer.errors import Unauthorized
from chalicelib.authorizer.keys import LocalKeys
from chalicelib.authorizer.lambda_handler import Authorizer
from tests.authorizer.gateway import allows
from tests.authorizer.tokens import NOW, KeyPair, access_claims, attacks

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "protected-api"
ISSUER = "https://tollgate.example.test"
AUDIENCE = "https://reports.example.test"
ARN = "arn:aws:lambda:eu-west-1:123456789012:function:tollgate-authorizer"


def load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example() -> Iterator[ModuleType]:
    """As `chalice deploy` imports it: the authorizer attached by ARN."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOLLGATE_AUTHORIZER_ARN", ARN)
        yield load("protected_api_example", EXAMPLE / "app.py")


class TollgateAtTheGateway:
    """Where API Gateway calls the authorizer in chalice's local gateway (which admits every
    request for a CustomAuthorizer): Tollgate's authorizer with a TOKEN event, the answer
    cached per token, API Gateway's 401/403, then the view with the authorizer's context."""

    def __init__(self, app: Chalice, authorizer: Authorizer) -> None:
        self.app = app
        self.authorizer = authorizer
        self.cache: dict[str, dict[str, Any]] = {}
        self.calls = 0

    def authorize(
        self, raw_path: str, event: dict[str, Any], context: Any
    ) -> tuple[dict[str, Any], Any]:
        method = event["requestContext"]["httpMethod"]
        entry = self.app.routes[event["requestContext"]["resourcePath"]].get(method)
        if entry is None or entry.authorizer is None:
            return event, context
        arn = LocalARNBuilder().build_arn(method, raw_path)
        headers = event.get("headers") or {}
        header = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        if header is None:
            raise NotAuthorizedError({}, b'{"message":"Unauthorized"}')
        answer = self.cache.get(header)
        if answer is None:
            self.calls += 1
            try:
                answer = self.authorizer(
                    {"type": "TOKEN", "authorizationToken": header, "methodArn": arn}
                )
            except Unauthorized:
                raise NotAuthorizedError({}, b'{"message":"Unauthorized"}') from None
            self.cache[header] = answer
        if not allows(answer["policyDocument"], arn):
            raise ForbiddenError({}, b'{"Message":"User is not authorized"}')
        event["requestContext"]["authorizer"] = {
            **answer["context"],
            "principalId": answer["principalId"],
        }
        return event, context


@pytest.fixture
def authorizer(ec_key: KeyPair) -> Authorizer:
    """Tollgate's authorizer as deployed for this API: its env, the example's routes.json."""
    cfg = configuration.from_env(
        {
            "TOLLGATE_ISSUER": ISSUER,
            "TOLLGATE_AUDIENCE": AUDIENCE,
            "TOLLGATE_ROUTE_POLICY": "routes.json",
        },
        base=EXAMPLE,
    )
    return Authorizer(cfg, keys=LocalKeys(ec_key.jwks), clock=lambda: NOW)


@pytest.fixture
def gateway(example: ModuleType, authorizer: Authorizer) -> Iterator[tuple[Client, Any]]:
    example.REPORTS.clear()
    shim = TollgateAtTheGateway(example.app, authorizer)
    with Client(example.app, project_dir=str(EXAMPLE)) as client:
        client.http._local_gateway._authorizer = shim  # type: ignore[assignment]  # the one seam
        yield client, shim


def bearer(key: KeyPair, scope: str, sub: str = "sub-alice") -> dict[str, str]:
    claims = access_claims(iss=ISSUER, aud=AUDIENCE, scope=scope, sub=sub, jti=f"{scope}{sub}")
    return {"Authorization": "Bearer " + key.token(claims)}


def test_routes_through_the_authorizer(gateway: tuple[Client, Any], ec_key: KeyPair) -> None:
    client, shim = gateway
    reader = bearer(ec_key, "reports:read")
    writer = bearer(ec_key, "reports:read reports:write")
    assert client.http.get("/health").json_body == {"ok": True}
    assert client.http.get("/profile").status_code == 401

    profile = client.http.get("/profile", headers=reader)
    assert profile.status_code == 200
    assert profile.json_body == {"sub": "sub-alice", "client_id": "web", "scopes": ["reports:read"]}
    assert client.http.get("/reports", headers=reader).json_body == {"reports": []}
    denied = client.http.post("/reports", headers=reader, body=b'{"title": "Q3"}')
    assert denied.status_code == 403

    created = client.http.post(
        "/reports",
        headers={**writer, "Content-Type": "application/json"},
        body=json.dumps({"title": "Q3"}).encode(),
    )
    assert created.status_code == 200, created.body
    report_id = created.json_body["id"]
    assert client.http.get(f"/reports/{report_id}", headers=reader).json_body["title"] == "Q3"
    other = bearer(ec_key, "reports:read", sub="sub-bob")
    assert client.http.get(f"/reports/{report_id}", headers=other).status_code == 404
    assert shim.calls == 3  # one authorizer call per token; the rest came from the cache


def test_attacks_never_reach_the_example(
    gateway: tuple[Client, Any], ec_key: KeyPair, rsa_key: KeyPair
) -> None:
    """SECURITY.md 21 for an API of one's own: every attack token is a 401."""
    client, _ = gateway
    tokens = attacks(ec_key, rsa_key, issuer=ISSUER, audience=AUDIENCE)
    for name, token in tokens.items():
        answer = client.http.get("/profile", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, name


def test_every_protected_route_is_in_the_policy(example: ModuleType) -> None:
    """A route behind the authorizer but missing from routes.json would be a 403 for all:
    each one is listed, and each listed route exists."""
    cfg = configuration.from_env(
        {"TOLLGATE_ISSUER": ISSUER, "TOLLGATE_ROUTE_POLICY": "routes.json"}, base=EXAMPLE
    )
    protected = {
        (method, path)
        for path, methods in example.app.routes.items()
        for method, entry in methods.items()
        if entry.authorizer is not None
    }
    assert ("GET", "/health") not in protected
    for method, path in protected:
        assert cfg.policy.needed(method, path.replace("{report_id}", "r1")) is not None
    listed = {(route.method, route.source.split(" ", 1)[1]) for route in cfg.policy.routes}
    assert listed == protected


def test_chalice_attaches_the_authorizer_by_arn(example: ModuleType) -> None:
    swagger = example.tollgate.to_swagger()["x-amazon-apigateway-authorizer"]
    assert swagger["type"] == "token"
    assert swagger["authorizerResultTtlInSeconds"] == 60  # TOLLGATE_AUTHORIZER_CACHE_TTL's default
    assert swagger["authorizerUri"] == (
        f"arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{ARN}/invocations"
    )


@pytest.mark.slow
def test_the_cdk_stack_synthesizes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain API Gateway via CDK: REQUEST authorizer on Authorization with a cache TTL, gateway
    responses with WWW-Authenticate, and an HTTP API authorizer with IAM responses."""
    monkeypatch.setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")
    monkeypatch.setenv("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
    from aws_cdk import App, Environment
    from aws_cdk.assertions import Match, Template

    stacks = load("protected_api_cdk", EXAMPLE / "cdk_stack.py")
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:tollgate-authorizer"
    app = App()
    stack = stacks.ProtectedApiStack(
        app,
        "ProtectedApi",
        authorizer_arn=arn,
        issuer="https://auth.example.com",
        cache_ttl=45,
        env=Environment(account="123456789012", region="eu-west-1"),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {
            "Type": "REQUEST",
            "IdentitySource": "method.request.header.Authorization",
            "AuthorizerResultTtlInSeconds": 45,
        },
    )
    responses = {
        r["Properties"]["StatusCode"]: r["Properties"]["ResponseParameters"]
        for r in template.find_resources("AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(responses) == {"401", "403", "503"}
    assert all(
        r["gatewayresponse.header.Cache-Control"] == "'no-store'" for r in responses.values()
    )
    assert responses["503"]["gatewayresponse.header.WWW-Authenticate"] == "'Bearer'"
    # RFC 9728 5.1: 401 and 403 name the API's metadata, at its own URL (id, region, stage).
    for status, challenge in (("401", "invalid_token"), ("403", "insufficient_scope")):
        joined = json.dumps(responses[status]["gatewayresponse.header.WWW-Authenticate"])
        assert f'Bearer error=\\"{challenge}\\", resource_metadata=\\"https://' in joined
        assert "TollgateRestApi" in joined and "prod/.well-known/oauth-protected-resource" in joined
    methods = template.find_resources("AWS::ApiGateway::Method")
    guarded = [m for m in methods.values() if m["Properties"]["AuthorizationType"] == "CUSTOM"]
    assert len(guarded) == 4
    open_ = [m for m in methods.values() if m["Properties"]["AuthorizationType"] == "NONE"]
    assert [m["Properties"]["HttpMethod"] for m in open_] == ["GET"]  # the metadata
    document = json.dumps(open_[0]["Properties"]["Integration"]["IntegrationResponses"])
    assert "https://auth.example.com" in document and "reports:write" in document
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {
            "AuthorizerType": "REQUEST",
            "IdentitySource": ["$request.header.Authorization"],
            "AuthorizerResultTtlInSeconds": 45,
            "EnableSimpleResponses": Match.absent(),
        },
    )
    assert len(template.find_resources("AWS::ApiGatewayV2::Route")) == 4
    authorizers = template.find_resources("AWS::ApiGateway::Authorizer")
    assert arn in json.dumps(authorizers)  # the REST authorizer invokes the function by ARN
    assert arn in json.dumps(template.find_resources("AWS::ApiGatewayV2::Authorizer"))
    assert template.find_resources("AWS::Lambda::Permission")  # API Gateway may invoke it


@pytest.mark.parametrize("name", ["protected-api", "mcp-server"])
def test_an_example_deployed_without_its_authorizer_arn_refuses_to_start(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SECURITY.md 55: on Lambda, with no TOLLGATE_AUTHORIZER_ARN, the app fails to import
    (API Gateway answers 5xx) instead of serving its routes unguarded."""
    monkeypatch.delenv("TOLLGATE_AUTHORIZER_ARN", raising=False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", f"{name}-dev")
    app_py = EXAMPLE.parent / name / "app.py"
    with pytest.raises(RuntimeError, match="TOLLGATE_AUTHORIZER_ARN"):
        load(f"{name.replace('-', '_')}_on_lambda", app_py)
