"""The API's settings, written into the `AWS::Serverless::Api` that `chalice package` makes.

Everything goes through SAM's own properties, so that the API Gateway resources SAM expands
them into are the whole API and nothing more:

- `OpenApiVersion`: without it SAM deploys a second stage named "Stage" beside the configured
  one (public, and without the stage's throttling). SAM converts only bodies that have no
  `swagger` member to OpenAPI 3, so chalice's Swagger 2.0 body is deployed as it is.
- `GatewayResponses`: SAM writes them into the API's body (x-amazon-apigateway-gateway-
  responses). Separate `AWS::ApiGateway::GatewayResponse` resources beside a body may be
  missing from the first deployment and are dropped when the body changes (cfn-lint W3660):
  the body is what AWS serves. The same responses are also written as such resources
  (`gateway_response_resources`), for tools that replay a template without reading API
  bodies (moto ignores them); identical content makes them harmless on AWS, where a body
  overwrite re-puts exactly what they hold.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import CfnResource, Stack

from chalicelib.authorizer.errors import DPOP_ALGS
from chalicelib.authorizer.metadata import WELL_KNOWN
from infra.config import StageConfig

# Any 3.x turns SAM's extra stage off; the version of the body itself is unchanged.
OPENAPI_VERSION = "3.0.1"

# API Gateway's own answers, as RFC 6750 3 asks of a protected resource:
# response type -> (status, WWW-Authenticate challenge, JSON error code).
CHALLENGES = {
    # API Gateway cannot tell a missing token from a bad one: both are UNAUTHORIZED.
    # invalid_token tells a client holding a token to get a new one (RFC 6750 3.1). Nor a
    # Bearer client from a DPoP one: both challenges, the DPoP one naming the proof
    # algorithms (RFC 9449 7.1, SECURITY.md 44).
    "UNAUTHORIZED": (
        "401",
        f'Bearer error="invalid_token", DPoP error="invalid_token", algs="{DPOP_ALGS}"',
        "invalid_token",
    ),
    "ACCESS_DENIED": ("403", 'Bearer error="insufficient_scope"', "insufficient_scope"),
    # The authorizer could not decide (keys unreadable): never an allow, retry later.
    "AUTHORIZER_FAILURE": ("503", "Bearer", "temporarily_unavailable"),
}


# Where an API's metadata is, for a body template (VTL): the host and stage the request came
# in by. A header value cannot say it: a header mapping is a literal or one whole variable,
# "without any partial substitution", and stage variables allow no space or quote (AWS API
# Gateway developer guide, "stage variables reference"), which a challenge needs.
METADATA_TEMPLATE = "https://$context.domainName/$context.stage" + WELL_KNOWN


def gateway_responses(resource_metadata: str = "", scope: str = "") -> dict[str, Any]:
    """SAM's GatewayResponses: header values are API Gateway literals, hence the quotes.
    With `resource_metadata`, the 401 and 403 challenges name the API's RFC 9728 metadata,
    as the built-in authorizer does locally; without, their JSON bodies name it from the
    request. With `scope`, the 403 challenge names the scopes the API's routes need."""
    responses: dict[str, Any] = {}
    for kind, (status, plain, error) in CHALLENGES.items():
        challenge = plain
        body: dict[str, str] = {"error": error}
        if status == "403" and scope:
            challenge += f', scope="{scope}"'
            body["scope"] = scope
        if status != "503":
            body["resource_metadata"] = resource_metadata or METADATA_TEMPLATE
        if resource_metadata and status != "503":
            # A parameter of the Bearer challenge, before any DPoP challenge that follows.
            bearer, dpop_sep, dpop = challenge.partition(", DPoP ")
            challenge = f'{bearer}, resource_metadata="{resource_metadata}"{dpop_sep}{dpop}'
        headers = {"WWW-Authenticate": f"'{challenge}'", "Cache-Control": "'no-store'"}
        if status == "503":
            headers["Retry-After"] = "'5'"
        responses[kind] = {
            "StatusCode": status,
            "ResponseParameters": {"Headers": headers},
            "ResponseTemplates": {"application/json": json.dumps(body)},
        }
    return responses


def gateway_response_resources(rest_api: CfnResource, responses: dict[str, Any]) -> None:
    """SAM's GatewayResponses of `rest_api` as `AWS::ApiGateway::GatewayResponse` resources,
    with the content SAM puts in the body (header names as API Gateway's parameter keys)."""
    for kind, response in responses.items():
        headers = response["ResponseParameters"]["Headers"]
        CfnResource(
            Stack.of(rest_api),
            "GatewayResponse" + kind.title().replace("_", ""),
            type="AWS::ApiGateway::GatewayResponse",
            properties={
                "RestApiId": rest_api.ref,
                "ResponseType": kind,
                "StatusCode": response["StatusCode"],
                "ResponseParameters": {
                    f"gatewayresponse.header.{name}": value for name, value in headers.items()
                },
                "ResponseTemplates": response["ResponseTemplates"],
            },
        )
    # cfn-lint W3660 warns of resources beside a body, which drift from it. These are the
    # body's own responses (the module docstring), so nothing can drift. cfn-lint reports it
    # on the API (its Body) and reads a resource's ignore_checks for findings on that resource
    # only: the API's own metadata says it (tests/infra check that nothing else is beside it).
    rest_api.add_override("Metadata.cfn-lint.config.ignore_checks", ["W3660"])


def configure(
    rest_api: CfnResource, config: StageConfig, *, base_url: str = "", scope: str = ""
) -> None:
    """Throttling on the one stage, no second stage, and the RFC 6750 gateway responses.
    `base_url`: the API's URL as a literal, when known (its custom domain, or the URL API
    Gateway gave it at a previous deployment: infra/api_urls.py); `scope`: see
    gateway_responses."""
    rest_api.add_property_override(
        "MethodSettings",
        [
            {
                "ResourcePath": "/*",
                "HttpMethod": "*",
                "ThrottlingRateLimit": config.throttle_rate,
                "ThrottlingBurstLimit": config.throttle_burst,
            }
        ],
    )
    rest_api.add_property_override("OpenApiVersion", OPENAPI_VERSION)
    # The API's definition cannot refer to the API's own URL (a cycle): a literal only.
    metadata = base_url + WELL_KNOWN if base_url else ""
    responses = gateway_responses(metadata, scope)
    rest_api.add_property_override("GatewayResponses", responses)
    gateway_response_resources(rest_api, responses)
