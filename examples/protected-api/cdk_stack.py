"""Plain API Gateway (no Chalice) protected by Tollgate's authorizer, with AWS CDK v2.

    TollgateRestApi    a REST API: REQUEST authorizer on the Authorization header, its answer
                       cached per token; gateway responses give 401, 403 and 503 their
                       RFC 6750 WWW-Authenticate challenges, the first two naming the API's
                       RFC 9728 metadata, which /.well-known/oauth-protected-resource serves
    TollgateHttpApi    an HTTP API: Lambda authorizer with IAM policy responses (never the
                       simple ones: their cached yes would hold for every route)

The authorizer is attached by ARN: it is Tollgate's function (handler
`chalicelib.authorizer.lambda_handler.handler`) deployed with this API's route policy
(routes.json) and audience. The backends here are stand-ins (a mock and a public URL).

    cdk synth --app "python cdk_stack.py" -c authorizerArn=arn:aws:lambda:... \
        -c issuer=https://auth.example.com
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import App, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

# API Gateway's own answers, given their RFC 6750 challenges (it cannot tell a missing token
# from a bad one: both are UNAUTHORIZED). AUTHORIZER_FAILURE: no decision, never an allow.
ANSWERS = {
    apigw.ResponseType.UNAUTHORIZED: ("401", 'Bearer error="invalid_token"', "invalid_token"),
    apigw.ResponseType.ACCESS_DENIED: (
        "403",
        'Bearer error="insufficient_scope"',
        "insufficient_scope",
    ),
    apigw.ResponseType.AUTHORIZER_FAILURE: ("503", "Bearer", "temporarily_unavailable"),
}
STAGE = "prod"
WELL_KNOWN = "/.well-known/oauth-protected-resource"
SCOPES = ["reports:read", "reports:write"]


class ProtectedApiStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        authorizer_arn: str,
        issuer: str,
        cache_ttl: int = 60,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.issuer = issuer
        function = lambda_.Function.from_function_attributes(
            self, "Tollgate", function_arn=authorizer_arn, same_environment=True
        )
        self.rest_api = self._rest_api(function, cache_ttl)
        self.http_api = self._http_api(function, cache_ttl)

    def _rest_api(self, function: lambda_.IFunction, cache_ttl: int) -> apigw.RestApi:
        api = apigw.RestApi(
            self, "TollgateRestApi", deploy_options=apigw.StageOptions(stage_name=STAGE)
        )
        # The API's URL from its id and a literal stage: a reference to the stage resource
        # would make the gateway responses wait for a deployment that waits for them.
        url = f"https://{api.rest_api_id}.execute-api.{self.region}.{self.url_suffix}/{STAGE}"
        authorizer = apigw.RequestAuthorizer(
            self,
            "TollgateRequestAuthorizer",
            handler=function,
            identity_sources=[apigw.IdentitySource.header("Authorization")],
            results_cache_ttl=Duration.seconds(cache_ttl),
        )
        for response_type, (status, plain, error) in ANSWERS.items():
            challenge = plain
            if status != "503":  # RFC 9728 5.1: where a client finds the issuer
                challenge += f', resource_metadata="{url}{WELL_KNOWN}"'
            api.add_gateway_response(
                f"Gateway{status}",
                type=response_type,
                status_code=status,
                response_headers={
                    "WWW-Authenticate": f"'{challenge}'",
                    "Cache-Control": "'no-store'",
                },
                templates={"application/json": f'{{"error":"{error}"}}'},
            )
        backend = apigw.MockIntegration(
            request_templates={"application/json": '{"statusCode": 200}'},
            integration_responses=[
                apigw.IntegrationResponse(
                    status_code="200", response_templates={"application/json": '{"ok":true}'}
                )
            ],
        )
        ok = [apigw.MethodResponse(status_code="200")]
        # RFC 9728 metadata, without a token: the API's URL is the audience (authorizerAudience
        # of the authorizer's stage).
        document = {
            "resource": url,
            "authorization_servers": [self.issuer],
            "scopes_supported": SCOPES,
            "bearer_methods_supported": ["header"],
        }
        metadata = apigw.MockIntegration(
            request_templates={"application/json": '{"statusCode": 200}'},
            integration_responses=[
                apigw.IntegrationResponse(
                    status_code="200",
                    response_templates={"application/json": json.dumps(document)},
                )
            ],
        )
        well_known = api.root.add_resource(".well-known")
        well_known.add_resource("oauth-protected-resource").add_method(
            "GET", metadata, method_responses=ok
        )
        reports = api.root.add_resource("reports")
        for resource, method in (
            (api.root.add_resource("profile"), "GET"),
            (reports, "GET"),
            (reports, "POST"),
            (reports.add_resource("{report_id}"), "GET"),
        ):
            resource.add_method(method, backend, authorizer=authorizer, method_responses=ok)
        return api

    def _http_api(self, function: lambda_.IFunction, cache_ttl: int) -> apigwv2.HttpApi:
        authorizer = authorizers.HttpLambdaAuthorizer(
            "TollgateHttpAuthorizer",
            function,
            response_types=[authorizers.HttpLambdaResponseType.IAM],
            identity_source=["$request.header.Authorization"],
            results_cache_ttl=Duration.seconds(cache_ttl),
        )
        api = apigwv2.HttpApi(self, "TollgateHttpApi")
        backend = integrations.HttpUrlIntegration("Backend", "https://backend.example.com")
        for path, method in (
            ("/profile", apigwv2.HttpMethod.GET),
            ("/reports", apigwv2.HttpMethod.GET),
            ("/reports", apigwv2.HttpMethod.POST),
            ("/reports/{report_id}", apigwv2.HttpMethod.GET),
        ):
            api.add_routes(path=path, methods=[method], integration=backend, authorizer=authorizer)
        return api


def main() -> None:
    app = App()
    arn = app.node.try_get_context("authorizerArn")
    issuer = app.node.try_get_context("issuer")
    if not isinstance(arn, str) or not isinstance(issuer, str):
        raise SystemExit(
            "pass -c authorizerArn=arn:aws:lambda:...:function:... -c issuer=https://..."
        )
    ProtectedApiStack(app, "ProtectedApi", authorizer_arn=arn, issuer=issuer)
    app.synth()


if __name__ == "__main__":
    main()
