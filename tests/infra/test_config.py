"""Stage settings from CDK context, the entry point's wiring, and the post-deploy summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from chalicelib.authorizer.policy import RoutePolicy
from infra import app as entry
from infra import outputs
from infra.chalice_app import FUNCTION_ARN, unlink_functions
from infra.config import ConfigError, StageConfig, stage_config


def test_defaults_make_an_envelope_stage_on_the_api_s_own_url() -> None:
    config = stage_config("dev", {})
    assert config == StageConfig(stage="dev")
    assert (config.signer, config.domain_name, config.prod) == ("envelope", "", False)
    assert (config.table_name, config.stack_name) == ("tollgate-dev", "tollgate-dev")


def test_flags_win_over_the_stage_s_section_of_cdk_json() -> None:
    context: dict[str, Any] = {
        "tollgate": {"prod": {"signer": "kms", "throttleRate": 20, "throttleBurst": "40"}},
        "throttleRate": "30",
    }
    config = stage_config("prod", context)
    assert (config.signer, config.throttle_rate, config.throttle_burst) == ("kms", 30.0, 40)
    assert config.prod


def test_a_route_policy_file_passes_through_context_unquoted() -> None:
    """README "Protect your API": `CONTEXT="-c authorizerRoutePolicy=<file>"` names the file
    (no JSON to quote through make and the shell); the function gets its document."""
    context = entry.direct_context(
        ["-c", "authorizerRoutePolicy=examples/protected-api/routes.json"]
    )
    config = stage_config("dev", context)
    assert json.loads(config.authorizer_route_policy) == {
        "GET /profile": [],
        "GET /reports": ["reports:read"],
        "GET /reports/{report_id}": ["reports:read"],
        "POST /reports": ["reports:write"],
    }


def test_the_default_route_policy_allows_nothing() -> None:
    """SECURITY.md 55: the deployed authorizer lets no token through any route by default."""
    policy = RoutePolicy.load(stage_config("dev", {}).authorizer_route_policy)
    assert policy.routes == ()
    assert policy.allowed(["api", "openid", "notes:read"]) == []


def test_a_route_policy_may_be_given_as_an_object() -> None:
    policy = {"GET /orders": ["orders:read"]}
    config = stage_config("dev", {"authorizerRoutePolicy": policy, "tags": '{"team": "id"}'})
    assert json.loads(config.authorizer_route_policy) == policy
    assert config.tags == {"team": "id"}


@pytest.mark.parametrize(
    ("stage", "context", "message"),
    [
        ("local", {}, "not local"),
        ("Dev", {}, "lowercase"),
        ("dev", {"signer": "local"}, "signer must be one of envelope, kms"),
        ("dev", {"domainName": "auth.example.com"}, "go together"),
        ("dev", {"accessTokenTtl": "5"}, "between 30 and 86400"),
        ("dev", {"throttleRate": "0"}, "must be positive"),
        ("dev", {"throttleBurst": "many"}, "throttleBurst"),
        ("dev", {"logRetentionDays": "10"}, "logRetentionDays must be one of"),
        ("dev", {"authorizerRoutePolicy": "{nope"}, "not JSON"),
        ("dev", {"authorizerRoutePolicy": "examples/none.json"}, "cannot read"),
        ("dev", {"authorizerRoutePolicy": '{"GET /a": "x"}'}, "list of strings"),
        ("dev", {"authorizerAudience": "http://api.example/"}, "https URI"),
        ("dev", {"registration": "anyone"}, "registration must be one of public, open, token, off"),
    ],
)
def test_bad_settings_are_refused(stage: str, context: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        stage_config(stage, context)


GOOD_URL = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev"
DOMAIN = {"domainName": "auth.example.com", "certificateArn": "arn:aws:acm:x"}


@pytest.mark.parametrize(
    ("context", "accepted"),
    [
        ({"apiUrl": GOOD_URL, "exampleApiUrl": GOOD_URL.replace("a1", "z9")}, True),
        ({"apiUrl": "https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn/dev"}, True),
        ({"apiUrl": "https://a1b2c3d4e5.execute-api.us-gov-west-1.amazonaws.com/dev"}, True),
        ({"apiUrl": "https://auth.example.com", **DOMAIN}, True),
        ({"apiUrl": GOOD_URL, **DOMAIN}, True),
        ({"apiUrl": "https://auth.example.com"}, False),  # no such domain configured
        ({"apiUrl": GOOD_URL.replace("https", "http")}, False),
        ({"apiUrl": GOOD_URL + "/"}, False),
        ({"apiUrl": GOOD_URL[:-4] + "/prod"}, False),  # another stage's
        ({"exampleApiUrl": GOOD_URL + "/mcp"}, False),
        ({"apiUrl": GOOD_URL.replace("amazonaws.com", "amazonaws.com.evil.example")}, False),
        # A header literal: no quote may end it (infra/api.py).
        ({"exampleApiUrl": GOOD_URL.replace("a1b2", "a1'b2")}, False),
        ({"exampleApiUrl": "https://auth.example.com", **DOMAIN}, False),  # the stage's domain
    ],
)
def test_an_api_url_must_be_the_api_s_own(context: dict[str, Any], accepted: bool) -> None:
    """apiUrl and exampleApiUrl (infra/api_urls.py) go into the challenges as text: only an
    API Gateway URL of this stage (or the stage's own custom domain) is taken."""
    if accepted:
        config = stage_config("dev", context)
        assert (config.api_url, config.example_api_url) == (
            context.get("apiUrl", ""),
            context.get("exampleApiUrl", ""),
        )
    else:
        with pytest.raises(ConfigError, match="piUrl must be https:"):
            stage_config("dev", context)


def test_the_entry_point_reads_the_stage_and_its_settings_from_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[StageConfig] = []
    monkeypatch.setattr(entry, "TollgateStack", lambda app, config: built.append(config))
    app = cdk.App(context={"stage": "prod", "signer": "kms", "alarmEmail": "ops@example.com"})
    entry.build(app)
    assert built == [stage_config("prod", {"signer": "kms", "alarmEmail": "ops@example.com"})]
    entry.build(cdk.App())
    assert built[-1].stage == "dev"


def test_unlinking_names_functions_and_refers_to_them_by_name() -> None:
    sub = "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
    template: dict[str, Any] = {
        "Resources": {
            "APIHandler": {"Type": "AWS::Serverless::Function", "Properties": {}},
            "Auth": {"Type": "AWS::Serverless::Function", "Properties": {}},
            "RestAPI": {
                "Type": "AWS::Serverless::Api",
                "Properties": {
                    "DefinitionBody": {
                        "paths": {"/": {"get": {"uri": {"Fn::Sub": sub + "${APIHandler.Arn}/x"}}}},
                        "securityDefinitions": [{"uri": {"Fn::Sub": "${Auth.Arn}"}}],
                        "other": {"Ref": "APIHandler"},
                    }
                },
            },
        }
    }
    names = unlink_functions(template, lambda logical: f"tollgate-dev-{logical}")
    assert names == {"APIHandler": "tollgate-dev-APIHandler", "Auth": "tollgate-dev-Auth"}
    resources = template["Resources"]
    assert resources["APIHandler"]["Properties"]["FunctionName"] == "tollgate-dev-APIHandler"
    body = resources["RestAPI"]["Properties"]["DefinitionBody"]
    assert body["paths"]["/"]["get"]["uri"] == {
        "Fn::Sub": sub + FUNCTION_ARN + "tollgate-dev-APIHandler/x"
    }
    assert body["securityDefinitions"] == [{"uri": {"Fn::Sub": FUNCTION_ARN + "tollgate-dev-Auth"}}]
    assert body["other"] == {"Ref": "APIHandler"}  # only Fn::Sub spellings are rewritten


def test_the_deploy_summary_leads_with_the_issuer(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(
        json.dumps(
            {
                "tollgate-dev": {
                    "IssuerUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/dev",
                    "JwksUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/dev/jwks.json",
                    "TableName": "tollgate-dev",
                    "RestAPIId": "abc",
                }
            }
        )
    )
    text = outputs.render(json.loads(path.read_text()), "tollgate-dev")
    assert text.splitlines()[0].split() == [
        "Issuer:",
        "https://abc.execute-api.eu-west-1.amazonaws.com/dev",
    ]
    assert "RestAPIId" not in text
    assert outputs.main([str(path), "tollgate-dev"]) == 0
    assert outputs.main([str(path), "tollgate-prod"]) == 1
    assert outputs.main([]) == 2


def test_a_direct_run_reads_cdk_json_and_context_flags() -> None:
    context = entry.direct_context(["-c", "stage=prod", "--context", "signer=kms"])
    assert (context["stage"], context["signer"]) == ("prod", "kms")
    assert context["tollgate"]["prod"]["logRetentionDays"] == 365  # from infra/cdk.json
    assert stage_config("prod", context).log_retention_days == 365
    with pytest.raises(SystemExit, match="usage"):
        entry.direct_context(["-c", "stage"])
    with pytest.raises(SystemExit, match="usage"):
        entry.direct_context(["stage=dev"])


def test_the_cdk_command_line_is_pinned_exactly() -> None:
    infra = Path(entry.__file__).parent
    pinned = json.loads((infra / "package.json").read_text())["devDependencies"]["aws-cdk"]
    lock = json.loads((infra / "package-lock.json").read_text())
    assert pinned[0].isdigit()  # no range: every machine runs the same CLI
    assert lock["packages"]["node_modules/aws-cdk"]["version"] == pinned
    assert lock["packages"][""]["devDependencies"]["aws-cdk"] == pinned


def test_registration_is_set_per_stage() -> None:
    """README "Client registration": the policy per stage, from cdk.json or a flag."""
    assert stage_config("dev", {}).registration == "public"
    context = {"tollgate": {"prod": {"registration": "token", "metadataDocuments": False}}}
    prod = stage_config("prod", context)
    assert prod.registration == "token" and prod.metadata_documents is False
