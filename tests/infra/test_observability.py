"""What an operator sees of a stage (infra/observability.py): JSON access logs, the dashboard,
and the alarms on reuse and failed logins, each on the metrics the app really emits."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chalicelib.observability.metrics import EVENT_METRICS, NAMESPACE, REQUEST_METRICS
from infra.observability import GRANT_TYPES
from tests.infra.conftest import Synthesized
from tests.infra.test_stack import of_type, one


@pytest.fixture(params=["dev", "prod"])
def staged(request: pytest.FixtureRequest, synthesized: Synthesized) -> tuple[str, dict[str, Any]]:
    stage: str = request.param
    template: dict[str, Any] = getattr(synthesized, stage)
    return stage, template


def _flat(value: Any) -> str:
    """A CloudFormation string, its Fn::Join parts concatenated (references as <ref>)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return str(sep).join(_flat(p) for p in parts)
    return "<ref>"


def test_access_logs_are_json_in_their_own_log_group(staged: tuple[str, dict[str, Any]]) -> None:
    stage, template = staged
    setting = template["Resources"]["RestAPI"]["Properties"]["AccessLogSetting"]
    groups = {
        name: r["Properties"]
        for name, r in of_type(template, "AWS::Logs::LogGroup").items()
        if r["Properties"].get("LogGroupName") == f"/aws/apigateway/tollgate-{stage}-access"
    }
    ((group_id, group),) = groups.items()
    # The group's plain ARN (API Gateway's form; the group's Arn attribute ends in ":*").
    assert setting["DestinationArn"] == {
        "Fn::Sub": [
            "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Group}",
            {"Group": {"Ref": group_id}},
        ]
    }
    assert group["RetentionInDays"] == (365 if stage == "prod" else 30)
    fields = json.loads(setting["Format"])
    assert fields["requestId"] == "$context.requestId"  # the reference the app shows
    for needed in ("status", "sourceIp", "resourcePath", "responseLatency", "authorizerError"):
        assert needed in fields
    # Never the query string: the demo callback's carries an authorization code.
    assert not any("querystring" in v.lower() or "requestOverride" in v for v in fields.values())


def test_the_account_names_the_role_api_gateway_logs_with(
    staged: tuple[str, dict[str, Any]],
) -> None:
    _stage, template = staged
    account_id, account = one(template, "AWS::ApiGateway::Account")
    role_ref = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = template["Resources"][role_ref]
    assert role.get("DeletionPolicy", "Delete") == "Delete"  # no stage leaves it behind
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role["Properties"])
    assert account_id in template["Resources"]["RestAPI"]["DependsOn"]


def _dashboard_body(template: dict[str, Any]) -> dict[str, Any]:
    _, dashboard = one(template, "AWS::CloudWatch::Dashboard")
    body: dict[str, Any] = json.loads(_flat(dashboard["Properties"]["DashboardBody"]))
    return body


def test_the_dashboard_graphs_tokens_sign_ins_reuse_and_errors_per_endpoint(
    staged: tuple[str, dict[str, Any]],
) -> None:
    stage, template = staged
    widgets = {
        w["properties"].get("title"): w["properties"] for w in _dashboard_body(template)["widgets"]
    }
    tokens = widgets["Tokens issued per grant type"]["metrics"]
    assert [m[1:4] for m in tokens] == [["TokensIssued", "GrantType", g] for g in GRANT_TYPES]
    for title, name in (("4xx per endpoint", "ClientErrors"), ("5xx per endpoint", "ServerErrors")):
        ((search, *_),) = widgets[title]["metrics"]
        assert search["expression"] == (
            f'SEARCH(\'{{Tollgate,Endpoint,Stage}} MetricName="{name}" Stage="{stage}"\', '
            "'Sum', 300)"
        )
    query = widgets["Latest failed security events (audit)"]["query"]
    assert 'filter logger = "tollgate.audit" and outcome = "failure"' in query


def test_graphs_and_alarms_use_only_metrics_the_app_emits(
    staged: tuple[str, dict[str, Any]],
) -> None:
    stage, template = staged
    emitted = set(REQUEST_METRICS) | set(EVENT_METRICS)
    used: set[str] = set()
    for widget in _dashboard_body(template)["widgets"]:
        for metric in widget["properties"].get("metrics", []):
            if metric[0] == NAMESPACE:
                used.add(metric[1])
                pairs = dict(zip(metric[2::2], metric[3::2], strict=False))
                assert pairs.get("Stage") == stage, metric
            elif isinstance(metric[0], dict) and "expression" in metric[0]:
                used.update(re.findall(r'MetricName="(\w+)"', metric[0]["expression"]))
    for alarm in of_type(template, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        for metric in props.get("Metrics", []):
            stat = metric.get("MetricStat", {}).get("Metric", {})
            if stat.get("Namespace") == NAMESPACE:
                used.add(stat["MetricName"])
        if props.get("Namespace") == NAMESPACE:
            used.add(props["MetricName"])
    used.discard(f"AuthorizerErrors-{stage}")  # a log metric filter's (test_stack.py)
    assert {"TokensIssued", "LoginFailures", "RefreshReuse", "CodeReplays"} <= used
    assert used <= emitted


def test_reuse_alarms_at_once_and_failed_logins_past_the_threshold(
    staged: tuple[str, dict[str, Any]],
) -> None:
    stage, template = staged
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in of_type(template, "AWS::CloudWatch::Alarm").values()
    }
    reuse = alarms[f"tollgate-{stage}-ReuseDetected"]
    assert reuse["Threshold"] == 1
    assert reuse["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in reuse["Metrics"] if "MetricStat" in m}
    assert names == {"RefreshReuse", "CodeReplays"}
    logins = alarms[f"tollgate-{stage}-LoginFailures"]
    ((only,),) = [[m for m in logins["Metrics"] if "MetricStat" in m]]
    stat = only["MetricStat"]
    assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]) == (
        NAMESPACE,
        "LoginFailures",
    )
    assert stat["Metric"]["Dimensions"] == [{"Name": "Stage", "Value": stage}]
    assert (stat["Period"], stat["Stat"], logins["Threshold"]) == (300, "Sum", 50)
