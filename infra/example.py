"""An example API of examples/ on AWS, beside a Tollgate stage: `make deploy-example`.

    make deploy-example EXAMPLE=mcp-server STAGE=dev      (CDK context: -c example=mcp-server)

Its own stack, `tollgate-<stage>-<example>`, made the way the stage is made (infra/chalice_app.py:
`chalice package` of the example's folder, named functions), holding:

- the example's API and function (`chalice package` of examples/<example>);
- its own standalone authorizer (infra/authorizer.py: the stage's package and handler) with the
  example's routes.json and, as audience, the API's own URL (the resource a client asks for),
  attached by name to every route that names the `tollgate` authorizer, and allowed to be
  invoked by this API's authorizers only;
- gateway responses: 401 and 403 challenges (403 naming the scopes the routes need), 503;
  the challenges name the API's RFC 9728 metadata once its URL is known (`exampleApiUrl`,
  which `make deploy-example` reads from the stack and passes: infra/api_urls.py).

The stage's issuer comes from the stage's stack (an export that never changes for a stage),
and the table's ARN from its name: nothing else ties the two stacks, so `make deploy` of the
stage alone leaves the example alone, and `make destroy-example` removes only the example.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from chalicelib.authorizer.metadata import WELL_KNOWN
from chalicelib.authorizer.policy import RoutePolicy
from infra import api, authorizer
from infra.chalice_app import FUNCTION_ARN, ChaliceApp
from infra.config import ROOT, StageConfig

# Each example and the path of its resource under the API's URL: the tokens' audience, as the
# example's clients ask for it with `resource` (README "An MCP server", "With Chalice").
EXAMPLES = {"mcp-server": "/mcp", "protected-api": "/"}
PLACEHOLDER_ROLE = "arn:aws:iam::000000000000:role/set-by-infra"
# What the example reads when it is packaged (it only has to be an ARN): the authorizer URIs
# are then rewritten to the stack's own function (infra/chalice_app.py, attach_authorizer).
PACKAGING_ARN = "arn:aws:lambda:us-east-1:000000000000:function:set-by-infra"


def issuer_export(config: StageConfig) -> str:
    """The name under which the stage's stack exports its issuer."""
    return config.name("issuer")


def route_policy(example: str) -> tuple[str, list[str]]:
    """The example's routes.json as the authorizer's TOLLGATE_ROUTE_POLICY, and its scopes."""
    policy = RoutePolicy.load("routes.json", ROOT / "examples" / example)
    document = {route.source: sorted(route.scopes) for route in policy.routes}
    scopes = sorted({scope for route in policy.routes for scope in route.scopes})
    return json.dumps(document, separators=(",", ":")), scopes


class ExampleStack(cdk.Stack):
    """The example's stack; `package_dir` is the stage's `chalice package` output (the
    authorizer's code and dependency layer, as the stage's stack deploys them)."""

    def __init__(
        self, scope: Construct, config: StageConfig, example: str, package_dir: Path
    ) -> None:
        if example not in EXAMPLES:
            raise ValueError(f"example must be one of {', '.join(EXAMPLES)}, got {example!r}")
        stack_name = config.name(example)
        super().__init__(
            scope,
            stack_name,
            stack_name=stack_name,
            description=f"Tollgate {config.stage}: the example {example}",
        )
        self.config = config
        for name, value in {"tollgate:stage": config.stage, **config.tags}.items():
            cdk.Tags.of(self).add(name, value)
        self.authorizer_name = config.name(f"{example}-authorizer")
        self.chalice = ChaliceApp(
            self,
            "Chalice",
            source_dir=str(ROOT / "examples" / example),
            stage_config={
                "manage_iam_role": False,
                "iam_role_arn": PLACEHOLDER_ROLE,  # the function's Role is set below
                "autogen_policy": False,
                "api_gateway_endpoint_type": "REGIONAL",
                "api_gateway_stage": config.stage,
            },
            environ={"TOLLGATE_AUTHORIZER_ARN": PACKAGING_ARN},
            # The wiring the examples share (examples/authorizer.py), which their app imports,
            # and routes.json, which their RFC 9728 metadata reads beside app.py.
            extra_files={
                **{
                    f"examples/{name}": ROOT / "examples" / name
                    for name in ("__init__.py", "authorizer.py")
                },
                "routes.json": ROOT / "examples" / example / "routes.json",
            },
            name_of=lambda logical: config.name(f"{example}-{logical}"),
            stage=config.stage,
            authorizer=self.authorizer_name,
        )
        self.rest_api = self.chalice.resource("RestAPI")
        self.url = (
            f"https://{self.rest_api.ref}.execute-api.{cdk.Aws.REGION}.{cdk.Aws.URL_SUFFIX}"
            f"/{config.stage}"
        )
        self.audience = self.url + EXAMPLES[example]
        self.issuer = cdk.Fn.import_value(issuer_export(config))
        self.policy, self.scopes = route_policy(example)
        self.authorizer = self._authorizer(package_dir)
        self._app_functions()
        api.configure(
            self.rest_api, config, base_url=config.example_api_url, scope=" ".join(self.scopes)
        )
        self.rest_api.add_property_override("Name", config.name(example))
        self._outputs()

    def _authorizer(self, package_dir: Path) -> lambda_.Function:
        role = iam.Role(
            self,
            "AuthorizerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Tollgate {self.config.stage}: the authorizer of {self.stack_name}",
        )
        logs = authorizer.log_group(
            self, "Authorizer", self.authorizer_name, self.config.log_retention_days
        )
        table_arn = cdk.Stack.of(self).format_arn(
            service="dynamodb", resource="table", resource_name=self.config.table_name
        )
        authorizer.grant(role, logs.log_group_arn, table_arn)
        layer = lambda_.LayerVersion(
            self,
            "TollgateLayer",
            code=lambda_.Code.from_asset(str(package_dir / "layer-deployment.zip")),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_11],
            description="Tollgate's dependencies, for its authorizer",
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        function = authorizer.function(
            self,
            "Authorizer",
            name=self.authorizer_name,
            description=f"Tollgate {self.config.stage}: validates access tokens for "
            f"{self.stack_name}",
            package_dir=package_dir,
            layer=layer,
            role=role,
            env=authorizer.environment(
                issuer=self.issuer,
                table_name=self.config.table_name,
                route_policy=self.policy,
                audience=self.audience,
                # Inside the API's stage, where the example serves it (RFC 9728 3.1's URL
                # of the audience would be outside the stage, which API Gateway never routes).
                resource_metadata=self.url + WELL_KNOWN,
                # The TTL the example's Chalice authorizer is packaged with (its app reads
                # the same variable): DPoP only when it is 0.
                cache_ttl=int(os.environ.get("TOLLGATE_AUTHORIZER_CACHE_TTL", "60")),
            ),
        )
        function.node.add_dependency(role)
        # Only this API's authorizers may invoke it (what `aws lambda add-permission` did).
        lambda_.CfnPermission(
            self,
            "AuthorizerInvoke",
            action="lambda:InvokeFunction",
            function_name=function.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=(
                f"arn:{cdk.Aws.PARTITION}:execute-api:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:"
                f"{self.rest_api.ref}/authorizers/*"
            ),
        )
        return function

    def _app_functions(self) -> None:
        """The example's own function: its role (logs only), its log group, its settings."""
        role = iam.Role(
            self,
            "AppRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Tollgate {self.config.stage}: the functions of {self.stack_name}",
        )
        arns = []
        env = {
            # The app attaches the authorizer by ARN when it is imported (here, at run time).
            "TOLLGATE_AUTHORIZER_ARN": f"{FUNCTION_ARN}{self.authorizer_name}",
            "TOLLGATE_ISSUER": self.issuer,
            "TOLLGATE_AUDIENCE": self.audience,
        }
        for logical, name in self.chalice.function_names.items():
            logs = authorizer.log_group(self, logical, name, self.config.log_retention_days)
            arns.append(logs.log_group_arn)
            function = self.chalice.resource(logical)
            function.add_property_override("Role", role.role_arn)
            for key, value in env.items():
                function.add_property_override(
                    f"Environment.Variables.{key}",
                    {"Fn::Sub": value} if key == "TOLLGATE_AUTHORIZER_ARN" else value,
                )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="OwnLogs", actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=arns
            )
        )
        policy = role.node.find_child("DefaultPolicy").node.default_child
        assert isinstance(policy, cdk.CfnResource)
        for logical in self.chalice.function_names:
            self.chalice.resource(logical).add_resource_dependency(policy)

    def _outputs(self) -> None:
        outputs = {
            "ApiUrl": (self.url, "the example API's URL"),
            "ResourceUri": (
                self.audience,
                "its audience: register it with tollgate resource create --uri",
            ),
            "AuthorizerArn": (self.authorizer.function_arn, "its own authorizer"),
        }
        for name, (value, description) in outputs.items():
            cdk.CfnOutput(self, name, value=value, description=description)
