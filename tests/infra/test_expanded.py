"""What CloudFormation deploys: each stage's template after the SAM transform.

`chalice package` writes SAM; CloudFormation expands it before creating anything. These
tests read the expansion (infra/lint.py, as `make synth` does): one stage and no other, the
RFC 6750 gateway responses inside the API's body, nothing left behind by `make destroy`, and
cfn-lint silent on both forms.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.api import METADATA_TEMPLATE
from tests.infra.conftest import Expanded, Synthesized

RETAINED = {"Retain", "RetainExceptOnCreate", "Snapshot"}


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


@pytest.fixture(params=["dev", "prod"])
def stage(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def template(expanded: Expanded, stage: str) -> dict[str, Any]:
    chosen: dict[str, Any] = getattr(expanded, stage)
    return chosen


def test_the_only_stage_is_the_configured_one(template: dict[str, Any], stage: str) -> None:
    """SAM's implicit "Stage" stage (a Deployment's StageName) would be a second public
    stage without the configured one's throttling."""
    stages = of_type(template, "AWS::ApiGateway::Stage")
    assert [s["Properties"]["StageName"] for s in stages.values()] == [stage]
    (logical,) = stages
    (settings,) = stages[logical]["Properties"]["MethodSettings"]
    assert settings["ResourcePath"] == "/*"
    assert settings["ThrottlingRateLimit"] == (100 if stage == "dev" else 50)
    deployments = of_type(template, "AWS::ApiGateway::Deployment").values()
    assert len(deployments) == 1
    assert all("StageName" not in d["Properties"] for d in deployments)
    for mapping in of_type(template, "AWS::ApiGateway::BasePathMapping").values():
        assert mapping["Properties"]["Stage"] == {"Ref": logical}


def test_the_gateway_s_own_answers_are_rfc_6750_challenges_inside_the_api(
    template: dict[str, Any], stage: str
) -> None:
    """In the body: a body change would drop separate GatewayResponse resources, and API
    Gateway would answer its defaults. With a custom domain (prod here) 401 and 403 also
    name the RFC 9728 metadata."""
    (api,) = of_type(template, "AWS::ApiGateway::RestApi").values()
    responses = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    metadata = ""
    url = "https://auth.example.com/.well-known/oauth-protected-resource"
    if stage == "prod":
        metadata = f', resource_metadata="{url}"'
    expected = {
        "UNAUTHORIZED": (
            "401",
            f'\'Bearer error="invalid_token"{metadata}, DPoP error="invalid_token", '
            'algs="ES256 RS256 PS256 EdDSA"\'',
            "invalid_token",
        ),
        "ACCESS_DENIED": (
            "403",
            f"'Bearer error=\"insufficient_scope\"{metadata}'",
            "insufficient_scope",
        ),
        "AUTHORIZER_FAILURE": ("503", "'Bearer'", "temporarily_unavailable"),
    }
    assert set(responses) == set(expected)
    for kind, (status, challenge, error) in expected.items():
        response = responses[kind]
        assert response["statusCode"] == status
        headers = response["responseParameters"]
        assert headers["gatewayresponse.header.WWW-Authenticate"] == challenge
        assert headers["gatewayresponse.header.Cache-Control"] == "'no-store'"
        body = {"error": error}
        if status != "503":
            # Without a custom domain the body names it from the request's host and stage:
            # a header value cannot be built from them (infra/api.py).
            body["resource_metadata"] = url if stage == "prod" else METADATA_TEMPLATE
        assert json.loads(response["responseTemplates"]["application/json"]) == body
    assert responses["AUTHORIZER_FAILURE"]["responseParameters"][
        "gatewayresponse.header.Retry-After"
    ] == ("'5'")


@pytest.mark.parametrize("which", ["dev", "prod", "example"])
def test_the_body_s_responses_are_also_resources_with_the_same_content(
    expanded: Expanded, which: str
) -> None:
    """For tools that replay a template without reading API bodies (moto): each response
    of the body is also an AWS::ApiGateway::GatewayResponse of this API, identical, so that
    a body overwrite on AWS re-puts exactly what they hold (infra/api.py)."""
    template: dict[str, Any] = getattr(expanded, which)
    (logical, api) = of_type(template, "AWS::ApiGateway::RestApi").popitem()
    in_body = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    beside = {
        resource["Properties"]["ResponseType"]: resource["Properties"]
        for resource in of_type(template, "AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(beside) == set(in_body) == {"UNAUTHORIZED", "ACCESS_DENIED", "AUTHORIZER_FAILURE"}
    for kind, response in in_body.items():
        assert beside[kind] == {
            "RestApiId": {"Ref": logical},
            "ResponseType": kind,
            "StatusCode": response["statusCode"],
            "ResponseParameters": response["responseParameters"],
            "ResponseTemplates": response["responseTemplates"],
        }


@pytest.mark.parametrize("which", ["dev", "prod", "example"])
def test_only_the_body_s_own_responses_are_beside_it(expanded: Expanded, which: str) -> None:
    """cfn-lint W3660 is ignored on the API (it reports it there, for any resource that
    changes a body's API): the gateway responses above must be the only such resources."""
    template: dict[str, Any] = getattr(expanded, which)
    (_, api) = of_type(template, "AWS::ApiGateway::RestApi").popitem()
    assert api["Metadata"]["cfn-lint"] == {"config": {"ignore_checks": ["W3660"]}}
    mixing = ("Method", "Model", "Resource", "GatewayResponse", "RequestValidator", "Authorizer")
    beside = {
        name: resource["Type"]
        for name, resource in template["Resources"].items()
        if resource["Type"] in {f"AWS::ApiGateway::{kind}" for kind in mixing}
    }
    assert set(beside.values()) == {"AWS::ApiGateway::GatewayResponse"}
    assert len(beside) == 3


def _retained(template: dict[str, Any]) -> set[str]:
    return {
        resource["Type"]
        for resource in template["Resources"].values()
        if {resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")} & RETAINED
    }


def test_destroying_a_non_prod_stage_leaves_nothing_behind(expanded: Expanded) -> None:
    assert _retained(expanded.dev) == set()
    (layer,) = of_type(expanded.dev, "AWS::Lambda::LayerVersion").values()
    assert layer["DeletionPolicy"] == "Delete"


def test_prod_keeps_only_its_data(expanded: Expanded) -> None:
    """The table and the signing keys; not the dependency layer, which has no state."""
    assert _retained(expanded.prod) == {"AWS::DynamoDB::Table", "AWS::KMS::Key"}


def test_cfn_lint_accepts_both_templates_before_and_after_the_transform(
    synthesized: Synthesized,
) -> None:
    from infra.lint import IGNORED, lint

    assert set(IGNORED) == {"W3005"}  # each one explained where it is ignored
    for path in (synthesized.dev_path, synthesized.prod_path):
        assert lint(path) == [], path
        assert path.with_name(path.name.replace(".template", ".expanded")).exists()


def test_the_built_in_authorizer_is_a_request_authorizer_cached_per_token(
    template: dict[str, Any],
) -> None:
    """SECURITY.md 45: it sees the DPoP header and the path (a REQUEST authorizer). Packaged
    by default with a 60 s cache keyed on the Authorization header, under which it refuses
    DPoP (tests/functional/test_dpop_demo_api.py)."""
    (api,) = of_type(template, "AWS::ApiGateway::RestApi").values()
    definitions = api["Properties"]["Body"]["securityDefinitions"]
    authorizer = definitions["tollgate_authorizer"]["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "request"
    assert authorizer["authorizerResultTtlInSeconds"] == 60
    assert authorizer["identitySource"] == "method.request.header.Authorization"


def test_packaged_without_a_cache_the_authorizer_has_no_identity_source() -> None:
    """TOLLGATE_AUTHORIZER_CACHE_TTL=0 (the DPoP configuration): API Gateway calls it on
    every request, whatever headers it has (SECURITY.md 45)."""
    from infra.chalice_app import API, request_authorizers

    def one(ttl: int) -> dict[str, Any]:
        spec = {"type": "token", "authorizerResultTtlInSeconds": ttl}
        body = {"securityDefinitions": {"a": {"x-amazon-apigateway-authorizer": spec}}}
        template = {"Resources": {"Api": {"Type": API, "Properties": {"DefinitionBody": body}}}}
        assert request_authorizers(template) == ["a"]
        return spec

    assert one(0) == {"type": "request", "authorizerResultTtlInSeconds": 0}
    assert one(60)["identitySource"] == "method.request.header.Authorization"
