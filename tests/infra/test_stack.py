"""The synthesized CloudFormation templates, asserted without an AWS account.

Both stages come from the real app (tests/infra/conftest.py). Each assertion names what a
deployment needs: the table as the app's schema defines it, least-privilege IAM, the
environment the functions read, and no circular dependency. What the SAM transform makes of
the template (stages, gateway responses, retention, cfn-lint) is in test_expanded.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from chalicelib.authorizer.errors import DPOP_ALGS
from chalicelib.authorizer.policy import RoutePolicy
from chalicelib.stores import schema
from chalicelib.tokens.envelope import PURPOSE
from infra.config import ROOT
from infra.stack import TABLE_ACTIONS
from tests.infra.conftest import API_URL, DevTemplates, Synthesized

APP_FUNCTIONS = ("APIHandler", "TollgateAuthorizer")


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def one(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    (found,) = of_type(template, kind).items()
    return found


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every statement of every identity policy: IAM policies and roles' inline policies."""
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Policy":
            for statement in props["PolicyDocument"]["Statement"]:
                yield name, statement
        if resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    yield name, statement


@pytest.fixture(params=["dev", "prod"])
def stage(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def template(synthesized: Synthesized, stage: str) -> dict[str, Any]:
    chosen: dict[str, Any] = getattr(synthesized, stage)
    return chosen


# -- the table --------------------------------------------------------------------------


def test_the_table_is_the_one_the_app_s_schema_defines(
    template: dict[str, Any], stage: str
) -> None:
    definition = schema.table_definition(f"tollgate-{stage}")
    assertions = Template.from_json(template)
    assertions.resource_count_is("AWS::DynamoDB::Table", 1)
    assertions.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": definition["TableName"],
            "KeySchema": definition["KeySchema"],
            "AttributeDefinitions": definition["AttributeDefinitions"],
            "BillingMode": definition["BillingMode"],
            "TimeToLiveSpecification": {"AttributeName": schema.TTL_ATTRIBUTE, "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )


def test_only_prod_protects_its_table_from_deletion(synthesized: Synthesized) -> None:
    _, prod = one(synthesized.prod, "AWS::DynamoDB::Table")
    _, dev = one(synthesized.dev, "AWS::DynamoDB::Table")
    assert prod["Properties"]["DeletionProtectionEnabled"] is True
    assert prod["DeletionPolicy"] == prod["UpdateReplacePolicy"] == "Retain"
    assert not dev["Properties"].get("DeletionProtectionEnabled")
    assert dev["DeletionPolicy"] == "Delete"


def test_synthesis_leaves_the_environment_as_it_found_it(synthesized: Synthesized) -> None:
    """`chalice package` exports the stage's variables: they must not leak into this process."""
    assert synthesized.environ_changes == {}


def test_only_prod_has_termination_protection(synthesized: Synthesized) -> None:
    assert synthesized.prod_stack.termination_protection
    assert not synthesized.dev_stack.termination_protection


# -- IAM --------------------------------------------------------------------------------


def test_no_data_action_has_a_wildcard_resource(template: dict[str, Any]) -> None:
    data_statements = 0
    for name, statement in statements(template):
        actions = _listed(statement["Action"])
        assert "*" not in actions, name
        data = [a for a in actions if a.split(":")[0] in {"dynamodb", "kms"}]
        if not data:
            continue
        data_statements += 1
        assert not any(a.endswith(":*") for a in data), (name, data)
        for resource in _listed(statement["Resource"]):
            assert "*" not in json.dumps(resource), (name, statement)
    assert data_statements >= 2  # the table's, and the keys'


def test_the_functions_may_use_the_table_s_items_and_nothing_else_of_dynamodb(
    template: dict[str, Any],
) -> None:
    table, _ = one(template, "AWS::DynamoDB::Table")
    role, _ = one_role(template, "StandaloneAuthorizerRole")
    granted = [
        (name, s)
        for name, s in statements(template)
        if "dynamodb:GetItem" in _listed(s["Action"])
        and not (role in name or name.startswith("Standalone"))
    ]
    assert len(granted) == 1  # the standalone authorizer's DPOP# items: the test above
    _, statement = granted[0]
    assert sorted(statement["Action"]) == sorted(TABLE_ACTIONS)
    assert statement["Resource"] == {"Fn::GetAtt": [table, "Arn"]}
    everything = {a for _, s in statements(template) for a in _listed(s["Action"])}
    assert not {"dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:UpdateTable"} & everything


def test_envelope_mode_may_only_seal_and_open_signing_keys(synthesized: Synthesized) -> None:
    template = synthesized.dev
    key, props = one(template, "AWS::KMS::Key")
    assert props["Properties"]["EnableKeyRotation"] is True
    assert "KeySpec" not in props["Properties"]  # symmetric
    kms = [
        s
        for _, s in statements(template)
        if any(a.startswith("kms:") for a in _listed(s["Action"]))
    ]
    assert kms == [
        {
            "Sid": "SealedSigningKeys",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt"],
            "Resource": {"Fn::GetAtt": [key, "Arn"]},
            "Condition": {"StringEquals": {"kms:EncryptionContext:purpose": PURPOSE}},
        }
    ]


def test_kms_mode_has_a_signing_key_per_algorithm(synthesized: Synthesized) -> None:
    template = synthesized.prod
    keys = of_type(template, "AWS::KMS::Key")
    specs = sorted((k["Properties"]["KeySpec"], k["Properties"]["KeyUsage"]) for k in keys.values())
    assert specs == [("ECC_NIST_P256", "SIGN_VERIFY"), ("RSA_2048", "SIGN_VERIFY")]
    (signing,) = [s for _, s in statements(template) if "kms:Sign" in _listed(s["Action"])]
    assert sorted(_listed(signing["Resource"]), key=json.dumps) == sorted(
        ({"Fn::GetAtt": [k, "Arn"]} for k in keys), key=json.dumps
    )
    role, _ = one_role(template, "AppRole")
    for key in keys.values():
        grants = [
            s
            for s in key["Properties"]["KeyPolicy"]["Statement"]
            if s.get("Sid") == "TollgateFunctionsSign"
        ]
        assert grants[0]["Principal"] == {"AWS": {"Fn::GetAtt": [role, "Arn"]}}
        assert key["DeletionPolicy"] == "Retain"


def one_role(template: dict[str, Any], prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v) for k, v in of_type(template, "AWS::IAM::Role").items() if k.startswith(prefix)
    ]
    return found


def test_the_app_functions_run_as_the_app_role(template: dict[str, Any]) -> None:
    role, _ = one_role(template, "AppRole")
    for name in APP_FUNCTIONS:
        function = template["Resources"][name]["Properties"]
        assert function["Role"] == {"Fn::GetAtt": [role, "Arn"]}
    assert not of_type(template, "AWS::IAM::Role").keys() & {"DefaultRole"}  # chalice's own


def test_the_standalone_authorizer_may_only_write_its_logs_and_used_dpop_proofs(
    template: dict[str, Any],
) -> None:
    """SECURITY.md 45: the replay guard's items (DPOP#...) and nothing else of the table."""
    role, _ = one_role(template, "StandaloneAuthorizerRole")
    granted = [
        s for name, s in statements(template) if role in name or name.startswith("Standalone")
    ]
    assert [s["Action"] for s in granted] == [
        ["logs:CreateLogStream", "logs:PutLogEvents"],
        ["dynamodb:PutItem", "dynamodb:GetItem"],
    ]
    assert granted[1]["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["DPOP#*"]}
    }


# -- the functions ----------------------------------------------------------------------


def env_of(template: dict[str, Any], name: str) -> dict[str, Any]:
    variables: dict[str, Any] = template["Resources"][name]["Properties"]["Environment"][
        "Variables"
    ]
    return variables


def standalone(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return one(template, "AWS::Lambda::Function")


def test_the_app_functions_get_their_settings_from_the_stack(
    synthesized: Synthesized,
) -> None:
    dev, prod = synthesized.dev, synthesized.prod
    table, _ = one(dev, "AWS::DynamoDB::Table")
    key, _ = one(dev, "AWS::KMS::Key")
    signing = {
        ("ES256" if v["Properties"]["KeySpec"].startswith("ECC") else "RS256"): k
        for k, v in of_type(prod, "AWS::KMS::Key").items()
    }
    for name in APP_FUNCTIONS:
        env = env_of(dev, name)
        assert env["TOLLGATE_TABLE"] == {"Ref": table}
        assert env["TOLLGATE_STAGE"] == "dev"
        assert env["TOLLGATE_SIGNER"] == "envelope"
        assert env["TOLLGATE_KMS_KEY_ID"] == {"Fn::GetAtt": [key, "Arn"]}
        assert "RestAPI" in json.dumps(env["TOLLGATE_ISSUER"])
        assert env["TOLLGATE_REGISTRATION"] == "public"
        assert env["TOLLGATE_METADATA_DOCUMENTS"] == "true"
        env = env_of(prod, name)
        assert env["TOLLGATE_SIGNER"] == "kms"
        assert env["TOLLGATE_ISSUER"] == "https://auth.example.com"
        for alg, logical in signing.items():
            assert env[f"TOLLGATE_KMS_SIGNING_KEY_{alg}"] == {"Fn::GetAtt": [logical, "Arn"]}
        assert "TOLLGATE_KMS_KEY_ID" not in env


def test_the_standalone_authorizer_is_configured_for_this_issuer(
    synthesized: Synthesized,
) -> None:
    _, function = standalone(synthesized.prod)
    props = function["Properties"]
    assert props["Handler"] == "chalicelib.authorizer.lambda_handler.handler"
    assert props["Runtime"] == "python3.11"
    assert props["Layers"] == [{"Ref": "ManagedLayer"}]
    env = props["Environment"]["Variables"]
    assert env["TOLLGATE_ISSUER"] == "https://auth.example.com"
    assert env["TOLLGATE_JWKS_URI"] == "https://auth.example.com/jwks.json"
    table, _ = one(synthesized.prod, "AWS::DynamoDB::Table")
    assert env["TOLLGATE_TABLE"] == {"Ref": table}
    assert env["TOLLGATE_AUDIENCE"] == "https://reports.example.com/"
    # SECURITY.md 45: attached with a cache unless its API says otherwise: DPoP refused.
    assert env["TOLLGATE_AUTHORIZER_CACHE_TTL"] == "60"
    assert json.loads(env["TOLLGATE_ROUTE_POLICY"]) == json.loads(
        (ROOT / "examples" / "protected-api" / "routes.json").read_text(encoding="utf-8")
    )


def test_the_standalone_authorizer_allows_nothing_by_default(synthesized: Synthesized) -> None:
    """SECURITY.md 55: with no authorizerRoutePolicy, no token opens any route; its audience
    is the issuer until authorizerAudience names the API."""
    env = standalone(synthesized.dev)[1]["Properties"]["Environment"]["Variables"]
    assert json.loads(env["TOLLGATE_ROUTE_POLICY"]) == {}
    assert env["TOLLGATE_AUDIENCE"] == env["TOLLGATE_ISSUER"]


def test_the_stage_s_authorizer_gets_step_up_routes_and_its_cache_ttl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SECURITY.md 62 on AWS: a route's acr and max_age reach the deployed function whole;
    SECURITY.md 45: `authorizerCacheTtl=0` tells it that its cache is off (DPoP accepted)."""
    import aws_cdk as cdk

    from infra.config import stage_config
    from infra.stack import TollgateStack

    routes = {
        "GET /orders": ["orders:read"],
        "POST /payments": {"scopes": ["pay"], "acr": "urn:tollgate:mfa", "max_age": 600},
    }
    monkeypatch.chdir(tmp_path)  # chalice.cdk writes its packages to ./chalice.out
    config = stage_config("dev", {"authorizerRoutePolicy": routes, "authorizerCacheTtl": 0})
    stack = TollgateStack(cdk.App(outdir=str(tmp_path / "cdk.out")), config)
    template = dict(Template.from_stack(stack).to_json())
    env = standalone(template)[1]["Properties"]["Environment"]["Variables"]
    deployed = RoutePolicy.load(env["TOLLGATE_ROUTE_POLICY"])
    assert {r.source: r.need for r in deployed.routes} == {
        r.source: r.need for r in RoutePolicy.from_mapping(routes).routes
    }
    assert env["TOLLGATE_AUTHORIZER_CACHE_TTL"] == "0"


def test_the_gateway_s_challenges_name_the_resource_metadata(synthesized: Synthesized) -> None:
    """RFC 9728 5.1 on AWS: with a custom domain the 401 and 403 gateway responses name
    the demo API's metadata; on the API's own URL (which the API cannot name) they do not."""
    _, prod_api = one(synthesized.prod, "AWS::Serverless::Api")
    responses = prod_api["Properties"]["GatewayResponses"]
    url = "https://auth.example.com/.well-known/oauth-protected-resource"
    assert responses["UNAUTHORIZED"]["ResponseParameters"]["Headers"]["WWW-Authenticate"] == (
        f'\'Bearer error="invalid_token", resource_metadata="{url}", '
        f'DPoP error="invalid_token", algs="{DPOP_ALGS}"\''
    )
    assert responses["ACCESS_DENIED"]["ResponseParameters"]["Headers"]["WWW-Authenticate"] == (
        f'\'Bearer error="insufficient_scope", resource_metadata="{url}"\''
    )
    _, dev_api = one(synthesized.dev, "AWS::Serverless::Api")
    dev_challenge = dev_api["Properties"]["GatewayResponses"]["UNAUTHORIZED"]
    assert (
        "resource_metadata"
        not in dev_challenge["ResponseParameters"]["Headers"]["WWW-Authenticate"]
    )


def test_given_its_url_the_stage_s_challenges_name_the_metadata(with_urls: DevTemplates) -> None:
    """RFC 9728 5.1 on the API's own URL: once the stack exists, `make deploy` synthesizes
    with the URL API Gateway gave it (infra/api_urls.py), and the challenges name it."""
    _, api = one(with_urls.dev, "AWS::Serverless::Api")
    responses = api["Properties"]["GatewayResponses"]
    url = API_URL + "/.well-known/oauth-protected-resource"
    assert responses["UNAUTHORIZED"]["ResponseParameters"]["Headers"]["WWW-Authenticate"] == (
        f'\'Bearer error="invalid_token", resource_metadata="{url}", '
        f'DPoP error="invalid_token", algs="{DPOP_ALGS}"\''
    )
    assert responses["ACCESS_DENIED"]["ResponseParameters"]["Headers"]["WWW-Authenticate"] == (
        f'\'Bearer error="insufficient_scope", resource_metadata="{url}"\''
    )
    body = json.loads(responses["UNAUTHORIZED"]["ResponseTemplates"]["application/json"])
    assert body["resource_metadata"] == url
    (beside,) = [
        r["Properties"]
        for r in of_type(with_urls.dev, "AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["ResponseType"] == "UNAUTHORIZED"
    ]
    assert (
        f'resource_metadata="{url}"'
        in beside["ResponseParameters"]["gatewayresponse.header.WWW-Authenticate"]
    )


def test_every_function_has_a_fixed_name_and_a_log_group_with_retention(
    template: dict[str, Any], stage: str
) -> None:
    names = [template["Resources"][n]["Properties"]["FunctionName"] for n in APP_FUNCTIONS]
    names.append(standalone(template)[1]["Properties"]["FunctionName"])
    assert names == [
        f"tollgate-{stage}-APIHandler",
        f"tollgate-{stage}-TollgateAuthorizer",
        f"tollgate-{stage}-authorizer",
    ]
    groups = {
        g["Properties"]["LogGroupName"]: g["Properties"]
        for g in of_type(template, "AWS::Logs::LogGroup").values()
    }
    access = f"/aws/apigateway/tollgate-{stage}-access"  # tests/infra/test_observability.py
    assert set(groups) == {f"/aws/lambda/{n}" for n in names} | {access}
    assert all(g["RetentionInDays"] == (30 if stage == "dev" else 365) for g in groups.values())


# -- the API ----------------------------------------------------------------------------


def test_the_stage_is_throttled(synthesized: Synthesized) -> None:
    for template, rate in ((synthesized.dev, 100), (synthesized.prod, 50)):
        settings = template["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
        assert settings == [
            {
                "ResourcePath": "/*",
                "HttpMethod": "*",
                "ThrottlingRateLimit": rate,
                "ThrottlingBurstLimit": 200,
            }
        ]


def test_the_custom_domain_maps_to_the_stage_sam_makes(synthesized: Synthesized) -> None:
    mapping = synthesized.prod["Resources"]["ApiGatewayCustomDomainMapping"]["Properties"]
    assert mapping["Stage"] == {"Ref": "RestAPI.Stage"}
    domain = synthesized.prod["Resources"]["ApiGatewayCustomDomain"]["Properties"]
    assert domain["DomainName"] == "auth.example.com"
    assert domain["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert "ApiGatewayCustomDomain" not in synthesized.dev["Resources"]


def test_outputs_name_the_issuer_jwks_authorizer_and_table(synthesized: Synthesized) -> None:
    for template in (synthesized.dev, synthesized.prod):
        outputs = template["Outputs"]
        assert {"IssuerUrl", "JwksUrl", "AuthorizerArn", "TableName"} <= set(outputs)
        function, _ = standalone(template)
        assert outputs["AuthorizerArn"]["Value"] == {"Fn::GetAtt": [function, "Arn"]}
        table, _ = one(template, "AWS::DynamoDB::Table")
        assert outputs["TableName"]["Value"] == {"Ref": table}
    prod = synthesized.prod["Outputs"]
    assert prod["IssuerUrl"]["Value"] == "https://auth.example.com"
    assert prod["JwksUrl"]["Value"] == "https://auth.example.com/jwks.json"
    dev = json.dumps(synthesized.dev["Outputs"]["JwksUrl"]["Value"])
    assert "RestAPI" in dev
    assert dev.endswith('"/dev/jwks.json"]]}')


# -- alarms -----------------------------------------------------------------------------


def test_alarms_watch_5xx_throttles_and_authorizer_errors(synthesized: Synthesized) -> None:
    for template, stage in ((synthesized.dev, "dev"), (synthesized.prod, "prod")):
        alarms = {
            a["Properties"]["AlarmName"]: a["Properties"]
            for a in of_type(template, "AWS::CloudWatch::Alarm").values()
        }
        assert set(alarms) == {
            f"tollgate-{stage}-{n}"
            for n in (
                "ServerErrors",
                "Throttles",
                "AuthorizerErrors",
                "ReuseDetected",
                "LoginFailures",
            )
        }
        errors = alarms[f"tollgate-{stage}-ServerErrors"]
        assert (errors["Namespace"], errors["MetricName"]) == ("AWS/ApiGateway", "5XXError")
        api = template["Resources"]["RestAPI"]["Properties"]
        assert api["Name"] == api["DefinitionBody"]["info"]["title"] == f"tollgate-{stage}-api"
        assert {"Name": "ApiName", "Value": api["Name"]} in errors["Dimensions"]
        assert {"Name": "Stage", "Value": stage} in errors["Dimensions"]
        throttles = json.dumps(alarms[f"tollgate-{stage}-Throttles"]["Metrics"])
        for function in ("APIHandler", "TollgateAuthorizer", "authorizer"):
            assert f'"tollgate-{stage}-{function}"' in throttles
        assert "ReadThrottleEvents" in throttles
        assert "WriteThrottleEvents" in throttles
        filters = of_type(template, "AWS::Logs::MetricFilter").values()
        assert len(filters) == 2
        assert all(f["Properties"]["FilterPattern"] == '"[ERROR]" -Unauthorized' for f in filters)
        actions = [a.get("AlarmActions") for a in alarms.values()]
        if stage == "prod":
            ((topic, _),) = of_type(template, "AWS::SNS::Topic").items()
            assert actions == [[{"Ref": topic}]] * 5
        else:
            assert actions == [None] * 5


# -- CloudFormation would accept it -----------------------------------------------------


_SUB = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def references(node: Any, names: set[str]) -> set[str]:
    """The resources a template fragment depends on: Ref, Fn::GetAtt and Fn::Sub."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value.split(".")[0])
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text, local = (value, {}) if isinstance(value, str) else (value[0], value[1])
                found |= {m for m in _SUB.findall(text) if m not in local}
                found |= references(local, names)
            else:
                found |= references(value, names)
    elif isinstance(node, list):
        for value in node:
            found |= references(value, names)
    return found & names


def cycle(template: dict[str, Any]) -> list[str] | None:
    resources = template["Resources"]
    names = set(resources)
    edges = {
        name: references(r.get("Properties", {}), names) | set(_listed(r.get("DependsOn", [])))
        for name, r in resources.items()
    }
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = 1
        for target in sorted(edges[name]):
            if state.get(target) == 1:
                return [*path, name, target]
            if target not in state and (found := visit(target, [*path, name])):
                return found
        state[name] = 2
        return None

    for name in sorted(names):
        if name not in state and (found := visit(name, [])):
            return found
    return None


def test_no_resource_depends_on_itself(template: dict[str, Any]) -> None:
    assert cycle(template) is None
    body = json.dumps(template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"])
    assert ".Arn}" not in body


def test_the_cycle_check_finds_the_loop_chalice_s_own_template_would_make(
    synthesized: Synthesized,
) -> None:
    """The API reaching the handler by ARN while the handler names the API: a loop."""
    relinked = json.loads(
        json.dumps(synthesized.dev).replace(
            "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
            "tollgate-dev-APIHandler",
            "${APIHandler.Arn}",
        )
    )
    found = cycle(relinked)
    assert found is not None
    assert {"APIHandler", "RestAPI"} <= set(found)
