"""`make deploy-example EXAMPLE=mcp-server`: the example's stack beside the dev stage,
synthesized offline (tests/infra/conftest.py) and asserted as CloudFormation will read it.

The wiring a hand deployment got wrong or left out (README "An MCP server", before): the
authorizer attached to every route of the example's routes.json, with that policy and the
API's own URL as audience; the permission for this API's authorizers to invoke it; the
gateway responses; the example's environment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.authorizer.metadata import WELL_KNOWN
from chalicelib.authorizer.policy import RoutePolicy
from infra import example as example_stack
from infra import outputs
from infra.api import METADATA_TEMPLATE
from infra.config import ROOT
from tests.infra.conftest import API_URL as STAGE_API_URL
from tests.infra.conftest import EXAMPLE_API_URL, DevTemplates, Synthesized

EXAMPLE = ROOT / "examples" / "mcp-server"
AUTHORIZER_NAME = "tollgate-dev-mcp-server-authorizer"
# The API's own URL as the template spells it (the API's id is known once it exists).
API_URL: list[Any] = [
    "https://",
    {"Ref": "RestAPI"},
    ".execute-api.",
    {"Ref": "AWS::Region"},
    ".",
    {"Ref": "AWS::URLSuffix"},
    "/dev",
]


def joined(*tail: str) -> dict[str, Any]:
    """The API's URL followed by `tail`, as the CDK joins it."""
    parts = [*API_URL[:-1], API_URL[-1] + "".join(tail)]
    return {"Fn::Join": ["", parts]}


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def authorizer_function(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (logical, resource)
        for logical, resource in resources(template, "AWS::Lambda::Function").items()
        if resource["Properties"]["FunctionName"] == AUTHORIZER_NAME
    ]
    return found


def body(template: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    return found


def test_the_example_api_is_the_example_s_and_only_its(synthesized: Synthesized) -> None:
    """chalice imports a project's app as `app`: the stage's, packaged first in the same
    process, must not be packaged again as the example's."""
    paths = set(body(synthesized.example)["paths"])
    assert paths == {"/mcp", WELL_KNOWN, f"{WELL_KNOWN}/mcp"}
    functions = resources(synthesized.example, "AWS::Serverless::Function")
    assert {f["Properties"]["FunctionName"] for f in functions.values()} == {
        "tollgate-dev-mcp-server-APIHandler"
    }


def test_every_route_of_routes_json_is_behind_the_example_s_authorizer(
    synthesized: Synthesized,
) -> None:
    policy = json.loads((EXAMPLE / "routes.json").read_text(encoding="utf-8"))
    definition = body(synthesized.example)
    for route in policy:
        method, path = route.split(" ", 1)
        assert definition["paths"][path][method.lower()]["security"] == [{"tollgate": []}], route
    # The metadata is served without a token (RFC 9728).
    for path in (WELL_KNOWN, f"{WELL_KNOWN}/mcp"):
        assert "security" not in definition["paths"][path]["get"]
    authorizer = definition["securityDefinitions"]["tollgate"]["x-amazon-apigateway-authorizer"]
    assert authorizer["authorizerUri"] == {
        "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/"
        "functions/arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
        f"{AUTHORIZER_NAME}/invocations"
    }
    assert authorizer["type"] == "request"
    assert authorizer["identitySource"] == "method.request.header.Authorization"
    authorizer_function(synthesized.example)  # the function that URI names is in the stack


def test_only_this_api_s_authorizers_may_invoke_the_authorizer(synthesized: Synthesized) -> None:
    logical, _ = authorizer_function(synthesized.example)
    permissions = [
        p["Properties"]
        for p in resources(synthesized.example, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Ref": logical}
    ]
    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": logical},
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":execute-api:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":",
                        {"Ref": "RestAPI"},
                        "/authorizers/*",
                    ],
                ]
            },
        }
    ]


def test_the_authorizer_has_the_example_s_policy_and_audience(synthesized: Synthesized) -> None:
    _, function = authorizer_function(synthesized.example)
    env = function["Properties"]["Environment"]["Variables"]
    policy = json.loads((EXAMPLE / "routes.json").read_text(encoding="utf-8"))
    assert json.loads(env["TOLLGATE_ROUTE_POLICY"]) == policy
    assert env["TOLLGATE_AUDIENCE"] == joined("/mcp")
    assert env["TOLLGATE_RESOURCE_METADATA"] == joined(WELL_KNOWN)
    issuer = {"Fn::ImportValue": "tollgate-dev-issuer"}
    assert env["TOLLGATE_ISSUER"] == issuer
    assert env["TOLLGATE_JWKS_URI"] == {"Fn::Join": ["", [issuer, "/jwks.json"]]}
    assert env["TOLLGATE_TABLE"] == "tollgate-dev"
    # SECURITY.md 45: told the cache of the example's authorizer, which is on: no DPoP.
    assert env["TOLLGATE_AUTHORIZER_CACHE_TTL"] == "60"
    assert function["Properties"]["Handler"] == "chalicelib.authorizer.lambda_handler.handler"
    # The stage exports the issuer under that name.
    exported = synthesized.dev["Outputs"]["IssuerUrl"]
    assert exported["Export"] == {"Name": "tollgate-dev-issuer"}


def test_the_example_function_gets_its_settings(synthesized: Synthesized) -> None:
    (function,) = resources(synthesized.example, "AWS::Serverless::Function").values()
    env = function["Properties"]["Environment"]["Variables"]
    assert env == {
        "TOLLGATE_AUTHORIZER_ARN": {
            "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
            + AUTHORIZER_NAME
        },
        "TOLLGATE_ISSUER": {"Fn::ImportValue": "tollgate-dev-issuer"},
        "TOLLGATE_AUDIENCE": joined("/mcp"),
    }


def test_the_gateway_answers_name_the_metadata_and_the_scope(synthesized: Synthesized) -> None:
    responses = synthesized.example["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    unauthorized, denied, failure = (
        responses[kind] for kind in ("UNAUTHORIZED", "ACCESS_DENIED", "AUTHORIZER_FAILURE")
    )
    assert (unauthorized["StatusCode"], denied["StatusCode"], failure["StatusCode"]) == (
        "401",
        "403",
        "503",
    )
    assert denied["ResponseParameters"]["Headers"]["WWW-Authenticate"] == (
        '\'Bearer error="insufficient_scope", scope="notes:read"\''
    )
    for response in (unauthorized, denied):
        template = json.loads(response["ResponseTemplates"]["application/json"])
        assert template["resource_metadata"] == METADATA_TEMPLATE
    assert json.loads(denied["ResponseTemplates"]["application/json"])["scope"] == "notes:read"
    assert failure["ResponseParameters"]["Headers"]["Retry-After"] == "'5'"


def test_given_its_url_the_example_s_challenges_name_the_metadata(with_urls: DevTemplates) -> None:
    """What an MCP client reads on a bare execute-api URL, where the host root's well-known
    URL is out of reach: the 401's resource_metadata (README "An MCP server")."""
    url = EXAMPLE_API_URL + WELL_KNOWN
    resources_ = with_urls.example["Resources"]
    responses = resources_["RestAPI"]["Properties"]["GatewayResponses"]
    unauthorized = responses["UNAUTHORIZED"]["ResponseParameters"]["Headers"]
    assert unauthorized["WWW-Authenticate"].startswith(
        f'\'Bearer error="invalid_token", resource_metadata="{url}", DPoP '
    )
    assert responses["ACCESS_DENIED"]["ResponseParameters"]["Headers"]["WWW-Authenticate"] == (
        f'\'Bearer error="insufficient_scope", scope="notes:read", resource_metadata="{url}"\''
    )
    beside = resources_["GatewayResponseUnauthorized"]["Properties"]["ResponseParameters"]
    assert beside["gatewayresponse.header.WWW-Authenticate"] == unauthorized["WWW-Authenticate"]
    # The stage's URL is the stage's: each API names its own metadata.
    assert STAGE_API_URL not in json.dumps(with_urls.example)


def test_the_roles_may_write_their_logs_and_the_authorizer_dpop_proofs(
    synthesized: Synthesized,
) -> None:
    statements = {
        statement["Sid"]: statement
        for policy in resources(synthesized.example, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Sid"] != "OwnLogs"
    }
    assert list(statements) == ["DpopProofs"]
    dpop = statements["DpopProofs"]
    assert dpop["Action"] == ["dynamodb:PutItem", "dynamodb:GetItem"] or dpop["Action"] == [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
    ]
    assert dpop["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["DPOP#*"]}}
    assert "table/tollgate-dev" in json.dumps(dpop["Resource"])


def test_cfn_lint_accepts_the_example_before_and_after_the_transform(
    synthesized: Synthesized,
) -> None:
    from infra.lint import lint

    assert lint(synthesized.example_path) == []


def test_the_deploy_summary_says_what_to_register(tmp_path: Path) -> None:
    values = {
        "ApiUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/dev",
        "ResourceUri": "https://abc.execute-api.eu-west-1.amazonaws.com/dev/mcp",
        "AuthorizerArn": "arn:aws:lambda:eu-west-1:1:function:tollgate-dev-mcp-server-authorizer",
    }
    text = outputs.render({"tollgate-dev-mcp-server": values}, "tollgate-dev-mcp-server")
    assert f"resource create --uri {values['ResourceUri']}" in text


def test_the_package_holds_the_shared_authorizer_wiring(synthesized: Synthesized) -> None:
    """app.py imports examples.authorizer: the package must hold it (nothing else of the
    project), with its bytecode."""
    import zipfile

    archive = synthesized.example_stack.chalice.package_dir / "deployment.zip"
    names = set(zipfile.ZipFile(archive).namelist())
    assert {"app.py", "examples/__init__.py", "examples/authorizer.py"} <= names
    # Its RFC 9728 metadata names the scopes of routes.json, read beside app.py at run time
    # (a deployed example answered its metadata URL with 500 without it).
    packaged = zipfile.ZipFile(archive).read("routes.json")
    assert packaged == (EXAMPLE / "routes.json").read_bytes()
    assert not any(name.startswith("chalicelib/") for name in names)
    assert any(n.startswith("examples/__pycache__/authorizer.") for n in names)


def test_a_route_s_acr_and_max_age_reach_the_example_s_authorizer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SECURITY.md 62 on AWS: an example's routes.json keeps its step-up routes whole in the
    authorizer's TOLLGATE_ROUTE_POLICY, not as scopes alone."""
    routes = {
        "POST /mcp": {"scopes": ["notes:read"], "acr": "phr", "max_age": 300},
        "GET /mcp": ["notes:read"],
    }
    folder = tmp_path / "examples" / "mcp-server"
    folder.mkdir(parents=True)
    (folder / "routes.json").write_text(json.dumps(routes), encoding="utf-8")
    monkeypatch.setattr(example_stack, "ROOT", tmp_path)
    text, scopes = example_stack.route_policy("mcp-server")
    deployed = RoutePolicy.load(text)
    assert {r.source: r.need for r in deployed.routes} == {
        r.source: r.need for r in RoutePolicy.from_mapping(routes).routes
    }
    assert scopes == ["notes:read"]
