"""One Tollgate stage on AWS: table, KMS keys, functions, API, IAM, gateway responses, alarms.

Least privilege, by construction:
- The app's functions (the API handler and the built-in authorizer, which shares its
  wiring) may use the table's items (no Scan, no table administration) and, per signer
  mode, Encrypt/Decrypt under the envelope key for signing-key blobs only, or Sign and
  GetPublicKey on the signing keys. Every data action names the table's or a key's ARN.
- The standalone authorizer may only write its own logs (and read grants when the
  revocation check is on).
- Logs go to log groups made here, with a retention; functions may write only there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from chalicelib.stores import schema
from chalicelib.tokens.envelope import PURPOSE
from infra import api, authorizer, observability
from infra.chalice_app import ChaliceApp
from infra.config import StageConfig
from infra.example import issuer_export

PROJECT_ROOT = Path(__file__).resolve().parents[1]
API_HANDLER = "APIHandler"
REST_API = "RestAPI"
# What the app does with its items (chalicelib/stores/dynamodb.py): a transaction is
# authorized item by item with these same actions. Scan is for `tollgate` listings only.
TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",  # the brute-force counters of one attempt, in one read
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
]
SIGNING_KEY_SPECS = {"ES256": kms.KeySpec.ECC_NIST_P256, "RS256": kms.KeySpec.RSA_2048}
PLACEHOLDER_ROLE = "arn:aws:iam::000000000000:role/set-by-infra"


def _attribute(name: str) -> dynamodb.Attribute:
    """A key attribute as chalicelib.stores.schema defines it."""
    definition = schema.table_definition("-")
    types = {a["AttributeName"]: a["AttributeType"] for a in definition["AttributeDefinitions"]}
    kinds = {
        "S": dynamodb.AttributeType.STRING,
        "N": dynamodb.AttributeType.NUMBER,
        "B": dynamodb.AttributeType.BINARY,
    }
    return dynamodb.Attribute(name=name, type=kinds[types[name]])


def _key(kind: str) -> str:
    definition = schema.table_definition("-")
    (name,) = [str(k["AttributeName"]) for k in definition["KeySchema"] if k["KeyType"] == kind]
    return name


class TollgateStack(cdk.Stack):
    def __init__(self, scope: Construct, config: StageConfig, **kwargs: Any) -> None:
        # The construct id is the stage: chalice.cdk packages the stage named by its scope.
        super().__init__(
            scope,
            config.stage,
            stack_name=config.stack_name,
            termination_protection=config.prod,
            description=f"Tollgate: OAuth 2.1 and OpenID Connect server, stage {config.stage}",
            **kwargs,
        )
        self.config = config
        for name, value in {"tollgate:stage": config.stage, **config.tags}.items():
            cdk.Tags.of(self).add(name, value)
        removal = cdk.RemovalPolicy.RETAIN if config.prod else cdk.RemovalPolicy.DESTROY

        self.table = self._table(removal)
        self.envelope_key: kms.Key | None = None
        self.signing_keys: dict[str, kms.Key] = {}
        self.app_role = self._role("AppRole", "the API handler and the built-in authorizer")
        self.authorizer_role = self._role("StandaloneAuthorizerRole", "the standalone authorizer")
        self._keys(removal)

        self.chalice = ChaliceApp(
            self,
            "Chalice",
            source_dir=str(PROJECT_ROOT),
            stage_config={
                "manage_iam_role": False,
                "iam_role_arn": PLACEHOLDER_ROLE,  # each function's Role is set below
                "autogen_policy": False,
                "api_gateway_endpoint_type": "REGIONAL",
                **self._custom_domain(),
            },
            name_of=config.name,
        )
        self.rest_api = self.chalice.resource(REST_API)
        # SAM keeps every layer version it replaces or deletes unless told otherwise: a
        # destroyed stage would leave its layer behind, and each deploy with new dependencies
        # the old one. The layer holds no state (the package's dependencies), and a deleted
        # version stays usable by a function already configured with it.
        self.chalice.resource("ManagedLayer").add_property_override("RetentionPolicy", "Delete")
        self.issuer = self._issuer()
        self._app_functions()
        self.standalone = self._standalone_authorizer(removal)
        self._permissions()
        api.configure(self.rest_api, config, base_url=self._literal_url())
        self._alarms()
        self._outputs()

    # -- state ------------------------------------------------------------------------------

    def _table(self, removal: cdk.RemovalPolicy) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            "Table",
            table_name=self.config.table_name,
            partition_key=_attribute(_key("HASH")),
            sort_key=_attribute(_key("RANGE")),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=schema.TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=self.config.prod,
            removal_policy=removal,
        )

    def _keys(self, removal: cdk.RemovalPolicy) -> None:
        pending = cdk.Duration.days(30 if self.config.prod else 7)
        if self.config.signer == "envelope":
            self.envelope_key = kms.Key(
                self,
                "EnvelopeKey",
                alias=f"alias/{self.config.name('envelope')}",
                description=f"Tollgate {self.config.stage}: encrypts the token signing keys",
                enable_key_rotation=True,
                pending_window=pending,
                removal_policy=removal,
            )
            return
        for alg, spec in SIGNING_KEY_SPECS.items():
            key = kms.Key(
                self,
                f"SigningKey{alg}",
                alias=f"alias/{self.config.name(alg.lower())}",
                description=f"Tollgate {self.config.stage}: signs {alg} tokens",
                key_spec=spec,
                key_usage=kms.KeyUsage.SIGN_VERIFY,
                pending_window=pending,
                removal_policy=removal,
            )
            # In the key policy too, so that `tollgate keys rotate`, which gives a new key the
            # policy of the one it replaces, makes a key the functions may sign with.
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="TollgateFunctionsSign",
                    principals=[iam.ArnPrincipal(self.app_role.role_arn)],
                    actions=["kms:Sign", "kms:GetPublicKey"],
                    resources=["*"],  # in a key policy, "*" is this key
                )
            )
            self.signing_keys[alg] = key

    def _role(self, construct_id: str, who: str) -> iam.Role:
        return iam.Role(
            self,
            construct_id,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Tollgate {self.config.stage}: {who}",
        )

    # -- functions --------------------------------------------------------------------------

    def _custom_domain(self) -> dict[str, Any]:
        if not self.config.domain_name:
            return {}
        return {
            "api_gateway_custom_domain": {
                "domain_name": self.config.domain_name,
                "certificate_arn": self.config.certificate_arn,
                "tls_version": "TLS_1_2",
            }
        }

    def _issuer(self) -> str:
        if self.config.domain_name:
            # chalice's base path mapping names the stage before SAM has made it: refer to
            # the stage resource instead (aws/chalice#1735, SAM's documented workaround).
            mapping = self.chalice.resource("ApiGatewayCustomDomainMapping")
            mapping.add_property_override("Stage", {"Ref": f"{REST_API}.Stage"})
            return f"https://{self.config.domain_name}"
        return (
            f"https://{self.rest_api.ref}.execute-api.{cdk.Aws.REGION}.{cdk.Aws.URL_SUFFIX}"
            f"/{self.config.stage}"
        )

    def _literal_url(self) -> str:
        """The API's URL as text, when known: its custom domain, else the URL it was given."""
        if self.config.domain_name:
            return f"https://{self.config.domain_name}"
        return self.config.api_url

    def _environment(self) -> dict[str, str]:
        env = {
            "TOLLGATE_ISSUER": self.issuer,
            "TOLLGATE_TABLE": self.table.table_name,
            "TOLLGATE_STAGE": self.config.stage,
            "TOLLGATE_SIGNER": self.config.signer,
            "TOLLGATE_ACCESS_TOKEN_TTL": str(self.config.access_token_ttl),
            "TOLLGATE_REGISTRATION": self.config.registration,
            "TOLLGATE_METADATA_DOCUMENTS": str(self.config.metadata_documents).lower(),
        }
        if self.envelope_key is not None:
            env["TOLLGATE_KMS_KEY_ID"] = self.envelope_key.key_arn
        for alg, key in self.signing_keys.items():
            env[f"TOLLGATE_KMS_SIGNING_KEY_{alg}"] = key.key_arn
        return env

    def _app_functions(self) -> None:
        self.log_groups: dict[str, logs.LogGroup] = {}
        env = self._environment()
        for logical, name in self.chalice.function_names.items():
            function = self.chalice.resource(logical)
            function.add_property_override("Role", self.app_role.role_arn)
            for key, value in env.items():
                function.add_property_override(f"Environment.Variables.{key}", value)
            self.log_groups[logical] = self._log_group(logical, name)
        # The API's name is the ApiName of its metrics (the 5xx alarm): the OpenAPI title too,
        # whichever of the two API Gateway goes by.
        self.rest_api.add_property_override("Name", self.config.name("api"))
        self.rest_api.add_property_override("DefinitionBody.info.title", self.config.name("api"))

    def _log_group(self, construct_id: str, function_name: str) -> logs.LogGroup:
        return authorizer.log_group(
            self, construct_id, function_name, self.config.log_retention_days
        )

    def _standalone_authorizer(self, removal: cdk.RemovalPolicy) -> lambda_.Function:
        """The authorizer other APIs attach by ARN: the app's package, another handler."""
        name = self.config.name("authorizer")
        self.log_groups["StandaloneAuthorizer"] = self._log_group("StandaloneAuthorizer", name)
        layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "ManagedLayer", self.chalice.resource("ManagedLayer").ref
        )
        return authorizer.function(
            self,
            "StandaloneAuthorizer",
            name=name,
            description=f"Tollgate {self.config.stage}: validates access tokens for other APIs",
            package_dir=self.chalice.package_dir,
            layer=layer,
            role=self.authorizer_role,
            env=authorizer.environment(
                issuer=self.issuer,
                table_name=self.table.table_name,
                route_policy=self.config.authorizer_route_policy,
                audience=self.config.authorizer_audience or self.issuer,
            ),
        )

    # -- permissions ------------------------------------------------------------------------

    def _logs_statement(self, *function_ids: str) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            sid="OwnLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[f"{self.log_groups[i].log_group_arn}" for i in function_ids],
        )

    def _permissions(self) -> None:
        app_ids = list(self.chalice.function_names)
        self.app_role.add_to_policy(self._logs_statement(*app_ids))
        self.app_role.add_to_policy(
            iam.PolicyStatement(
                sid="TableItems", actions=TABLE_ACTIONS, resources=[self.table.table_arn]
            )
        )
        if self.envelope_key is not None:
            self.app_role.add_to_policy(
                iam.PolicyStatement(
                    sid="SealedSigningKeys",
                    actions=["kms:Encrypt", "kms:Decrypt"],
                    resources=[self.envelope_key.key_arn],
                    conditions={"StringEquals": {"kms:EncryptionContext:purpose": PURPOSE}},
                )
            )
        if self.signing_keys:
            self.app_role.add_to_policy(
                iam.PolicyStatement(
                    sid="KmsSigning",
                    actions=["kms:Sign", "kms:GetPublicKey"],
                    resources=[key.key_arn for key in self.signing_keys.values()],
                )
            )
        authorizer.grant(
            self.authorizer_role,
            self.log_groups["StandaloneAuthorizer"].log_group_arn,
            self.table.table_arn,
        )
        # The functions start only once their role may do its work.
        policy = self.app_role.node.find_child("DefaultPolicy").node.default_child
        assert isinstance(policy, cdk.CfnResource)
        for logical in app_ids:
            self.chalice.resource(logical).add_resource_dependency(policy)

    # -- alarms -----------------------------------------------------------------------------

    def _alarms(self) -> None:
        period = cdk.Duration.minutes(5)
        topic: sns.Topic | None = None
        if self.config.alarm_email:
            topic = sns.Topic(self, "Alarms", display_name=f"Tollgate {self.config.stage}")
            topic.add_subscription(subscriptions.EmailSubscription(self.config.alarm_email))
        dimensions = {"ApiName": self.config.name("api"), "Stage": self.config.stage}
        server_errors = cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions_map=dimensions,
            statistic="Sum",
            period=period,
        )
        functions = [*self.chalice.function_names.values(), self.config.name("authorizer")]
        throttled = {
            f"lambda{i}": cloudwatch.Metric(
                namespace="AWS/Lambda",
                metric_name="Throttles",
                dimensions_map={"FunctionName": name},
                statistic="Sum",
                period=period,
            )
            for i, name in enumerate(functions)
        }
        for kind in ("Read", "Write"):
            throttled[f"table{kind.lower()}"] = self.table.metric(
                f"{kind}ThrottleEvents", statistic="Sum", period=period
            )
        throttles = cloudwatch.MathExpression(
            expression="+".join(f"FILL({name}, 0)" for name in throttled),
            using_metrics=throttled,
            label="Lambda and DynamoDB throttles",
            period=period,
        )
        alarms = [
            self._alarm("ServerErrors", server_errors, 5, "API answered 5xx"),
            self._alarm("Throttles", throttles, 1, "a function or the table was throttled"),
            self._alarm(
                "AuthorizerErrors", self._authorizer_errors(period), 1, "an authorizer failed"
            ),
        ]
        alarms += observability.add(self)  # access logs, dashboard, security alarms
        if topic is not None:
            for alarm in alarms:
                alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))

    def _authorizer_errors(self, period: cdk.Duration) -> cloudwatch.IMetric:
        """Errors the authorizers log, except "Unauthorized": that is how an authorizer
        rejects a token (API Gateway's contract), so it is not a failure."""
        namespace = "Tollgate"
        authorizers = [
            logical
            for logical in self.chalice.function_names
            if logical != API_HANDLER and "authorizer" in logical.lower()
        ] + ["StandaloneAuthorizer"]
        metric_name = f"AuthorizerErrors-{self.config.stage}"
        for logical in authorizers:
            logs.MetricFilter(
                self,
                f"{logical}Errors",
                log_group=self.log_groups[logical],
                metric_namespace=namespace,
                metric_name=metric_name,
                filter_pattern=logs.FilterPattern.literal('"[ERROR]" -Unauthorized'),
                metric_value="1",
                default_value=0,
            )
        return cloudwatch.Metric(
            namespace=namespace, metric_name=metric_name, statistic="Sum", period=period
        )

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, threshold: int, what: str
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=self.config.name(construct_id),
            alarm_description=f"Tollgate {self.config.stage}: {what}",
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    # -- outputs ----------------------------------------------------------------------------

    def _outputs(self) -> None:
        outputs = {
            "IssuerUrl": (self.issuer, "the issuer: iss of every token, base of discovery"),
            "JwksUrl": (f"{self.issuer}/jwks.json", "the public signing keys"),
            "AuthorizerArn": (self.standalone.function_arn, "attach to other APIs by ARN"),
            "TableName": (self.table.table_name, "tollgate --stage STAGE uses it by default"),
        }
        if self.envelope_key is not None:
            outputs["EnvelopeKeyArn"] = (self.envelope_key.key_arn, "seals the signing keys")
        if self.config.domain_name:
            target = self.chalice.resource("ApiGatewayCustomDomain").get_att("RegionalDomainName")
            outputs["DomainTarget"] = (target.to_string(), "point the domain's DNS here")
        for name, (value, description) in outputs.items():
            # The issuer never changes for a stage: example stacks import it (infra/example.py).
            export = issuer_export(self.config) if name == "IssuerUrl" else None
            cdk.CfnOutput(self, name, value=value, description=description, export_name=export)
