"""The CDK app: one Tollgate stage per synthesis (`-c stage=dev`, the default).

Run by the CDK command line from this directory (cdk.json), or directly for an offline
synthesis into cdk.out/ (`make synth`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, this directory comes first on sys.path, and this file would shadow the
# Chalice app's own `app` module when chalice packages it: put the project root there.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import aws_cdk as cdk  # noqa: E402

from infra.config import stage_config  # noqa: E402
from infra.example import ExampleStack  # noqa: E402
from infra.stack import TollgateStack  # noqa: E402


def build(app: cdk.App) -> TollgateStack:
    stage = app.node.try_get_context("stage") or "dev"
    context = {
        key: app.node.try_get_context(key)
        for key in ("tollgate", *_CONTEXT_KEYS)
        if app.node.try_get_context(key) is not None
    }
    config = stage_config(str(stage), context)
    # `chalice package` needs a region to build the package; the template itself stays
    # region-agnostic (the CDK command line deploys it to your profile's region).
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("CDK_DEFAULT_REGION") or "us-east-1")
    stack = TollgateStack(app, config)
    # `-c example=mcp-server` (make deploy-example): that example's stack too, after the stage's.
    example = app.node.try_get_context("example")
    if example:
        example_stack = ExampleStack(app, config, str(example), stack.chalice.package_dir)
        example_stack.add_stack_dependency(stack)
    return stack


_CONTEXT_KEYS = (
    "signer",
    "domainName",
    "certificateArn",
    "throttleRate",
    "throttleBurst",
    "accessTokenTtl",
    "alarmEmail",
    "logRetentionDays",
    "authorizerRoutePolicy",
    "authorizerAudience",
    "apiUrl",
    "exampleApiUrl",
    "tags",
)


def direct_context(argv: list[str]) -> dict[str, Any]:
    """Run without the CDK command line (`make synth`): cdk.json's context, then `-c k=v`."""
    config = json.loads((HERE / "cdk.json").read_text(encoding="utf-8"))
    context: dict[str, Any] = dict(config.get("context", {}))
    args = iter(argv)
    for arg in args:
        pair = next(args, "") if arg in {"-c", "--context"} else ""
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"usage: python app.py [-c key=value ...] (got {arg} {pair})")
        context[key] = value
    return context


def main(argv: list[str]) -> None:
    if "CDK_CONTEXT_JSON" in os.environ or "CDK_OUTDIR" in os.environ:
        app = cdk.App()  # the CDK command line passes context and outdir itself
    else:
        app = cdk.App(context=direct_context(argv), outdir=str(HERE / "cdk.out"))
    build(app)
    app.synth()


if __name__ == "__main__":
    main(sys.argv[1:])
