"""infra/api_urls.py: which API URLs `make deploy` and `make deploy-example` synthesize with,
read from the stacks (CloudFormation DescribeStacks, moto in-process) before a deploy and again
after it; a difference means a second deploy (the Makefile)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import api_urls

STAGE_URL = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev"
EXAMPLE_URL = "https://f6g7h8i9j0.execute-api.us-east-1.amazonaws.com/dev"


@pytest.fixture
def cloudformation() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cloudformation", region_name="us-east-1")


def make_stack(client: Any, name: str, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Nothing": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    client.create_stack(StackName=name, TemplateBody=json.dumps(template))


def test_before_the_first_deploy_there_is_no_url(
    cloudformation: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert api_urls.deployed(cloudformation, ["tollgate-dev", "tollgate-dev-mcp-server"]) == {}
    assert api_urls.main(["dev", "mcp-server"]) == 0
    assert capsys.readouterr().out == "\n"


def test_the_stacks_urls_become_context_flags(
    cloudformation: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    make_stack(cloudformation, "tollgate-dev", {"IssuerUrl": STAGE_URL, "TableName": "t"})
    make_stack(cloudformation, "tollgate-dev-mcp-server", {"ApiUrl": EXAMPLE_URL})
    make_stack(cloudformation, "tollgate-prod", {"IssuerUrl": STAGE_URL[:-3] + "prod"})
    assert api_urls.main(["dev", "mcp-server"]) == 0
    assert capsys.readouterr().out.split() == [
        "-c",
        f"apiUrl={STAGE_URL}",
        "-c",
        f"exampleApiUrl={EXAMPLE_URL}",
    ]
    # `make deploy` (no example) synthesizes the stage only.
    assert api_urls.main(["dev"]) == 0
    assert capsys.readouterr().out.split() == ["-c", f"apiUrl={STAGE_URL}"]


def test_only_the_stage_exists_before_the_example_s_first_deploy(cloudformation: Any) -> None:
    make_stack(cloudformation, "tollgate-dev", {"IssuerUrl": STAGE_URL})
    outputs = api_urls.deployed(cloudformation, ["tollgate-dev", "tollgate-dev-mcp-server"])
    assert api_urls.context(outputs, "dev", "mcp-server") == {"apiUrl": STAGE_URL}


def test_a_custom_domain_needs_no_url() -> None:
    """Its issuer is the domain, which already gives the challenges a literal URL."""
    outputs = {"tollgate-prod": {"IssuerUrl": "https://auth.example.com"}}
    assert api_urls.context(outputs, "prod") == {}


def test_a_replaced_api_gives_other_flags(
    cloudformation: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the Makefile compares before and after `cdk deploy`: the example's first
    creation (or a replaced API) changes the flags, and means a second deploy."""
    make_stack(cloudformation, "tollgate-dev", {"IssuerUrl": STAGE_URL})
    assert api_urls.main(["dev", "mcp-server"]) == 0
    before = capsys.readouterr().out.strip()
    make_stack(cloudformation, "tollgate-dev-mcp-server", {"ApiUrl": EXAMPLE_URL})
    assert api_urls.main(["dev", "mcp-server"]) == 0
    after = capsys.readouterr().out.strip()
    assert before == api_urls.flags({"apiUrl": STAGE_URL})
    assert after == api_urls.flags({"apiUrl": STAGE_URL, "exampleApiUrl": EXAMPLE_URL})
    assert api_urls.main(["dev", "mcp-server"]) == 0
    assert capsys.readouterr().out.strip() == after  # unchanged: one deploy was enough


def test_a_failed_look_up_stops_the_deploy(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")  # nothing answers there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert api_urls.main(["dev"]) == 1
    assert "infra.api_urls: EndpointConnectionError" in capsys.readouterr().err
