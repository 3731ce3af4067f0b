"""One synthesis per test session: a dev stage (envelope signer, API Gateway's own URL) and
a prod stage (kms signer, custom domain, alarm email), both from the real app, and the
example MCP server beside the dev stage (`make deploy-example`, infra/example.py). And each
stage "deployed" locally (`deployed`): its Lambda packages unzipped, its table and KMS keys
made in a moto server, each function's environment as its template sets it.

Synthesis runs `chalice package` for each stage (about 2 s each once the dependency layer
is cached in .chalice/deployments; the first run downloads the Lambda wheels from PyPI) and
jsii's node process: about 10 s in all, paid once.
"""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
import pytest

from chalicelib import ids
from chalicelib.admin import local
from chalicelib.stores.models import Client
from tests.infra import lambda_package as package
from tests.support.logs import proxy_event

if TYPE_CHECKING:
    from infra.example import ExampleStack
    from infra.stack import TollgateStack

PROD_CONTEXT: dict[str, Any] = {
    "signer": "kms",
    "domainName": "auth.example.com",
    "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abcd-1234",
    "alarmEmail": "ops@example.com",
    "throttleRate": 50,
    "logRetentionDays": 365,
    # README "Protect your API": the example's own file and its URI, no quoting.
    "authorizerRoutePolicy": "examples/protected-api/routes.json",
    "authorizerAudience": "https://reports.example.com/",
}


@dataclass(frozen=True)
class DevTemplates:
    """The dev stage's template and its example's, as the CDK writes them (SAM templates:
    chalice's part is SAM), and their files."""

    dev: dict[str, Any]
    dev_path: Path
    example: dict[str, Any]
    example_path: Path


@dataclass(frozen=True)
class Synthesized(DevTemplates):
    """Each stage's template, and the stacks that made them."""

    prod: dict[str, Any]
    prod_path: Path
    dev_stack: TollgateStack
    prod_stack: TollgateStack
    example_stack: ExampleStack
    environ_changes: dict[str, tuple[str | None, str | None]]


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    import aws_cdk as cdk

    from infra.config import stage_config
    from infra.example import ExampleStack
    from infra.stack import TollgateStack

    work = tmp_path_factory.mktemp("cdk")
    before = Path.cwd()
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    environ = dict(os.environ)
    os.chdir(work)  # chalice.cdk writes its packages to ./chalice.out
    try:
        app = cdk.App(outdir=str(work / "cdk.out"))
        dev = TollgateStack(app, stage_config("dev", {}))
        prod = TollgateStack(app, stage_config("prod", PROD_CONTEXT))
        example = ExampleStack(app, dev.config, "mcp-server", dev.chalice.package_dir)
        assembly = app.synth()
    finally:
        os.chdir(before)
    dev_artifact = assembly.get_stack_artifact(dev.artifact_id)
    prod_artifact = assembly.get_stack_artifact(prod.artifact_id)
    example_artifact = assembly.get_stack_artifact(example.artifact_id)
    yield Synthesized(
        dev=dev_artifact.template,
        prod=prod_artifact.template,
        dev_path=Path(assembly.directory) / dev_artifact.template_file,
        prod_path=Path(assembly.directory) / prod_artifact.template_file,
        dev_stack=dev,
        prod_stack=prod,
        example=example_artifact.template,
        example_path=Path(assembly.directory) / example_artifact.template_file,
        example_stack=example,
        environ_changes={
            name: (environ.get(name), os.environ.get(name))
            for name in set(environ) | set(os.environ)
            if environ.get(name) != os.environ.get(name)
        },
    )


# What `make deploy-example` passes once the stacks exist (infra/api_urls.py).
API_URL = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev"
EXAMPLE_API_URL = "https://f6g7h8i9j0.execute-api.eu-west-1.amazonaws.com/dev"


@pytest.fixture(scope="session")
def with_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTemplates]:
    """The dev stage and its example synthesized again, given their APIs' URLs."""
    import aws_cdk as cdk

    from infra.config import stage_config
    from infra.example import ExampleStack
    from infra.stack import TollgateStack

    work = tmp_path_factory.mktemp("cdk-urls")
    before = Path.cwd()
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.chdir(work)  # its own chalice.out: the first synthesis's packages stay as they are
    try:
        app = cdk.App(outdir=str(work / "cdk.out"))
        config = stage_config("dev", {"apiUrl": API_URL, "exampleApiUrl": EXAMPLE_API_URL})
        dev = TollgateStack(app, config)
        example = ExampleStack(app, config, "mcp-server", dev.chalice.package_dir)
        assembly = app.synth()
    finally:
        os.chdir(before)
    artifacts = [assembly.get_stack_artifact(s.artifact_id) for s in (dev, example)]
    yield DevTemplates(
        dev=artifacts[0].template,
        dev_path=Path(assembly.directory) / artifacts[0].template_file,
        example=artifacts[1].template,
        example_path=Path(assembly.directory) / artifacts[1].template_file,
    )


@dataclass(frozen=True)
class Expanded:
    """Each stage's template after the SAM transform: what CloudFormation deploys."""

    dev: dict[str, Any]
    prod: dict[str, Any]
    example: dict[str, Any]


@pytest.fixture(scope="session")
def expanded(synthesized: Synthesized) -> Expanded:
    from infra.lint import expand

    return Expanded(
        dev=expand(synthesized.dev),
        prod=expand(synthesized.prod),
        example=expand(synthesized.example),
    )


# -- the stages deployed locally: moto, and each function's environment ----------------------

REGION = "us-east-1"
ACCOUNT = "123456789012"
API_ID = "abcdef1234"  # the RestAPI's id, as API Gateway would make it
HANDLERS = {
    "APIHandler": "app.app",
    "TollgateAuthorizer": "chalicelib.web.protected.tollgate_authorizer",
    "StandaloneAuthorizer9ECA7970": "chalicelib.authorizer.lambda_handler.handler",
}
CLIENT_ID = "nightly-job"
SECRET = "package-test-secret-0123456789abcdef"
SCOPES = "notes:read api"  # api: what the standalone authorizer's default policy asks


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    child = local.start_moto(port, log)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        local.stop(child)
        log.close()


@dataclass(frozen=True)
class Deployed:
    """One stage's functions, and what the template's references resolve to locally."""

    stage: str
    functions: dict[str, package.Function]
    environments: dict[str, dict[str, str]]
    issuer: str
    work: Path
    template: dict[str, Any]
    attributes: dict[str, str]  # Fn::GetAtt values: "<logical id>.Arn" of each KMS key


def _aws(moto_url: str) -> dict[str, str]:
    """What Lambda gives every function, but AWS_ENDPOINT_URL: moto instead of AWS."""
    return {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def _deploy(template: dict[str, Any], moto_url: str) -> tuple[dict[str, str], dict[str, str]]:
    """The table, keys and client in moto; Ref and Fn::GetAtt values for the template."""
    refs = {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "RestAPI": API_ID,
    }
    attributes: dict[str, str] = {}
    kms = boto3.client(
        "kms",
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for logical, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::DynamoDB::Table":
            local.ensure_table(moto_url, props["TableName"], REGION)
            refs[logical] = props["TableName"]
        elif resource["Type"] == "AWS::KMS::Key":
            spec = {k: props[k] for k in ("KeySpec", "KeyUsage") if k in props}
            key = kms.create_key(Description=props.get("Description", logical), **spec)
            refs[logical] = key["KeyMetadata"]["KeyId"]
            attributes[f"{logical}.Arn"] = key["KeyMetadata"]["Arn"]
    return refs, attributes


@pytest.fixture(scope="module", params=["dev", "prod"])
def deployed(
    request: pytest.FixtureRequest,
    synthesized: Synthesized,
    moto_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Deployed:
    """dev: envelope signer, issuer with the stage's path; prod: kms signer, custom domain."""
    stage: str = request.param
    template: dict[str, Any] = getattr(synthesized, stage)
    path: Path = getattr(synthesized, f"{stage}_path")
    work = tmp_path_factory.mktemp(f"lambda-{stage}")
    functions = package.functions(template, path.parent, work)
    assert {f.logical_id: f.handler for f in functions.values()} == HANDLERS
    refs, attributes = _deploy(template, moto_url)
    environments = {
        logical: {
            **_aws(moto_url),
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "LAMBDA_TASK_ROOT": str(function.code),
            **package.resolve(function.environment, refs, attributes),
        }
        for logical, function in functions.items()
    }
    issuer = environments["APIHandler"]["TOLLGATE_ISSUER"]
    table = environments["APIHandler"]["TOLLGATE_TABLE"]
    local.local_store(moto_url, table, REGION).clients.create(
        Client(
            client_id=CLIENT_ID,
            name="Nightly Job",
            client_type="confidential",
            auth_method="client_secret_basic",
            redirect_uris=[],
            grant_types=["client_credentials"],
            scopes=SCOPES.split(),
            secret_hash=ids.digest(SECRET),
        )
    )
    return Deployed(stage, functions, environments, issuer, work, template, attributes)


def api_event(issuer: str, method: str, path: str, body: str | None = None) -> dict[str, Any]:
    """A REST API proxy event (payload 1.0), as API Gateway sends it to the handler."""
    headers = {"Host": urlsplit(issuer).netloc, "X-Forwarded-Proto": "https"}
    if body is not None:
        basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
        headers |= {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Basic {basic}",
        }
    return proxy_event(
        method,
        path,
        headers=headers,
        body=body,
        request_id="package-test",
        source_ip="198.51.100.7",
        context_path=urlsplit(issuer).path + path,
        api_id=API_ID,
    )
