"""Tollgate's standalone authorizer as a Lambda function: the stage's own, and one per example
API (infra/example.py), each with its route policy and audience (README: "Give each API its
own authorizer function").

The code is the app's package (`chalice package`'s deployment.zip) with another handler; its
dependencies come from a layer. Its role may only write its logs and the DPoP replay guard's
items of the stage's table (SECURITY.md 45).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import RETENTION_DAYS

HANDLER = "chalicelib.authorizer.lambda_handler.handler"


def log_group(scope: Construct, construct_id: str, function_name: str, days: int) -> logs.LogGroup:
    """The function's log group, made here so that it has a retention and goes with the stack."""
    return logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        log_group_name=f"/aws/lambda/{function_name}",
        retention=getattr(logs.RetentionDays, RETENTION_DAYS[days]),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )


def environment(
    *,
    issuer: str,
    table_name: str,
    route_policy: str,
    audience: str,
    resource_metadata: str = "",
    cache_ttl: int = 60,
) -> dict[str, str]:
    """The authorizer's settings (README: "The standalone authorizer's settings").
    `cache_ttl`: that of the API Gateway authorizer calling it; DPoP is accepted at 0 only."""
    env = {
        "TOLLGATE_ISSUER": issuer,
        "TOLLGATE_JWKS_URI": f"{issuer}/jwks.json",
        "TOLLGATE_ROUTE_POLICY": route_policy,
        # The DPoP replay guard (SECURITY.md 45): used proofs, DPOP# items only.
        "TOLLGATE_TABLE": table_name,
        "TOLLGATE_AUDIENCE": audience,
        "TOLLGATE_AUTHORIZER_CACHE_TTL": str(cache_ttl),
    }
    if resource_metadata:
        env["TOLLGATE_RESOURCE_METADATA"] = resource_metadata
    return env


def grant(role: iam.Role, logs_arn: str, table_arn: str) -> None:
    """What an authorizer may do: write its logs, and put and get used DPoP proofs."""
    role.add_to_policy(
        iam.PolicyStatement(
            sid="OwnLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[logs_arn],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="DpopProofs",
            actions=["dynamodb:PutItem", "dynamodb:GetItem"],
            resources=[table_arn],
            conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["DPOP#*"]}},
        )
    )


def function(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    description: str,
    package_dir: Path,
    layer: lambda_.ILayerVersion,
    role: iam.IRole,
    env: dict[str, str],
) -> lambda_.Function:
    """The authorizer function: the app's package, the standalone handler."""
    return lambda_.Function(
        scope,
        construct_id,
        function_name=name,
        description=description,
        runtime=lambda_.Runtime.PYTHON_3_11,
        handler=HANDLER,
        code=lambda_.Code.from_asset(str(package_dir / "deployment.zip")),
        layers=[layer],
        memory_size=512,
        timeout=cdk.Duration.seconds(10),
        role=role,
        environment=env,
    )
