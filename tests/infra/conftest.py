"""One synthesis per test session: a dev stage (envelope signer, API Gateway's own URL) and
a prod stage (kms signer, custom domain, alarm email), both from the real app, and the
example MCP server beside the dev stage (`make deploy-example`, infra/example.py).

Synthesis runs `chalice package` for each stage (about 2 s each once the dependency layer
is cached in .chalice/deployments; the first run downloads the Lambda wheels from PyPI) and
jsii's node process: about 10 s in all, paid once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

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
