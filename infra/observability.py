"""What an operator sees of a stage: API Gateway access logs in JSON, a CloudWatch dashboard,
and the alarms on security events (refresh token or code reuse, a spike of failed logins).

The app's metrics are CloudWatch Embedded Metric Format lines in its own log
(chalicelib/observability/metrics.py): namespace `Tollgate`, dimension `Stage`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs

if TYPE_CHECKING:
    from infra.stack import TollgateStack

NAMESPACE = "Tollgate"
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
# One JSON object per request. Never the query string: /demo/callback's holds a code.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTimeEpoch",
    "sourceIp": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "authorizerError": "$context.authorizer.error",
    "errorMessage": "$context.error.message",
    "errorType": "$context.error.responseType",
}
AUDIT_FAILURES = (
    "fields @timestamp, event, client_id, sub, source_ip, reason\n"
    '| filter logger = "tollgate.audit" and outcome = "failure"\n'
    "| sort @timestamp desc\n"
    "| limit 50"
)


def app_metric(stack: TollgateStack, name: str, **dimensions: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={"Stage": stack.config.stage, **dimensions},
        statistic="Sum",
        period=cdk.Duration.minutes(5),
        label=name if not dimensions else " ".join(dimensions.values()),
    )


def access_logs(stack: TollgateStack) -> logs.LogGroup:
    """The stage's access log, one JSON object per request, in its own log group."""
    group = logs.LogGroup(
        stack,
        "AccessLogs",
        log_group_name=f"/aws/apigateway/{stack.config.name('access')}",
        retention=getattr(logs.RetentionDays, _retention_name(stack)),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    # API Gateway documents the destination as the group's plain ARN; the group's `Arn`
    # attribute ends in ":*". Built from the group's name (a Ref, so the order holds).
    destination = cdk.Fn.sub(
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Group}",
        {"Group": group.log_group_name},
    )
    stack.rest_api.add_property_override(
        "AccessLogSetting",
        {"DestinationArn": destination, "Format": json.dumps(ACCESS_LOG_FORMAT)},
    )
    if stack.config.api_gateway_account_role:
        # API Gateway writes access logs only once the account (per region) names a role
        # for it. That setting outlives the stack, while the role goes with it (a stage
        # leaves nothing behind but its data): README, apiGatewayAccountRole.
        role = iam.Role(
            stack,
            "ApiGatewayLogsRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                )
            ],
            description="API Gateway: writes the access logs of this account's APIs",
        )
        account = apigateway.CfnAccount(
            stack, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn
        )
        stack.rest_api.add_dependency(account)
    return group


def _retention_name(stack: TollgateStack) -> str:
    from infra.config import RETENTION_DAYS

    return RETENTION_DAYS[stack.config.log_retention_days]


def alarms(stack: TollgateStack) -> list[cloudwatch.Alarm]:
    """Reuse of a refresh token or a code is theft or a broken client: at once. Failed logins
    past the stage's threshold in 5 minutes are guessing (SECURITY.md item 18)."""
    period = cdk.Duration.minutes(5)
    reuse = cloudwatch.MathExpression(
        expression="FILL(refresh, 0) + FILL(codes, 0)",
        using_metrics={
            "refresh": app_metric(stack, "RefreshReuse"),
            "codes": app_metric(stack, "CodeReplays"),
        },
        label="refresh token and code reuse",
        period=period,
    )
    return [
        stack._alarm("ReuseDetected", reuse, 1, "a refresh token or code was used twice"),
        stack._alarm(
            "LoginFailures",
            app_metric(stack, "LoginFailures"),
            stack.config.login_failure_alarm,
            f"{stack.config.login_failure_alarm} or more failed logins in 5 minutes",
        ),
    ]


def _per_endpoint(stack: TollgateStack, name: str) -> cloudwatch.MathExpression:
    stage = stack.config.stage
    return cloudwatch.MathExpression(
        expression=(
            f'SEARCH(\'{{{NAMESPACE},Endpoint,Stage}} MetricName="{name}" '
            f"Stage=\"{stage}\"', 'Sum', 300)"
        ),
        label=name,
        period=cdk.Duration.minutes(5),
    )


def dashboard(stack: TollgateStack) -> cloudwatch.Dashboard:
    api = {"ApiName": stack.config.name("api"), "Stage": stack.config.stage}

    def gateway(name: str, statistic: str = "Sum") -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name=name,
            dimensions_map=api,
            statistic=statistic,
            period=cdk.Duration.minutes(5),
        )

    board = cloudwatch.Dashboard(stack, "Dashboard", dashboard_name=stack.config.name("dashboard"))
    board.add_widgets(
        cloudwatch.GraphWidget(
            title="Tokens issued per grant type",
            left=[app_metric(stack, "TokensIssued", GrantType=g) for g in GRANT_TYPES],
            width=12,
        ),
        cloudwatch.GraphWidget(
            title="Failed and blocked sign-ins, failed client authentication",
            left=[
                app_metric(stack, name)
                for name in ("LoginFailures", "LoginsBlocked", "ClientAuthFailures")
            ],
            width=12,
        ),
    )
    board.add_widgets(
        cloudwatch.GraphWidget(
            title="Reuse detected (each revoked a grant)",
            left=[app_metric(stack, "RefreshReuse"), app_metric(stack, "CodeReplays")],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="4xx per endpoint", left=[_per_endpoint(stack, "ClientErrors")], width=8
        ),
        cloudwatch.GraphWidget(
            title="5xx per endpoint", left=[_per_endpoint(stack, "ServerErrors")], width=8
        ),
    )
    board.add_widgets(
        cloudwatch.GraphWidget(
            title="API Gateway: requests and errors",
            left=[gateway("Count"), gateway("4XXError"), gateway("5XXError")],
            right=[gateway("Latency", "p99")],
            width=12,
        ),
        cloudwatch.LogQueryWidget(
            title="Latest failed security events (audit)",
            log_group_names=[stack.log_groups["APIHandler"].log_group_name],
            query_string=AUDIT_FAILURES,
            width=12,
        ),
    )
    return board


def add(stack: TollgateStack) -> list[cloudwatch.Alarm]:
    """Access logs, the dashboard and the security alarms of a stage; the alarms, for the
    stack to send where its other alarms go."""
    access_logs(stack)
    dashboard(stack)
    return alarms(stack)
