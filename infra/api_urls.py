"""The URLs API Gateway gave a stage's API and its example's, as CDK context for a synthesis.

    python -m infra.api_urls STAGE [EXAMPLE]      as the stacks are now (DescribeStacks)

Prints `-c apiUrl=<url> -c exampleApiUrl=<url>` (what is known; nothing before the stacks
exist). Synthesized with them, the 401 and 403 challenges name the API's RFC 9728 metadata
literally (infra/api.py): an API's URL holds its id, which its own definition cannot refer to,
so it is only known once the API exists. `make deploy` and `make deploy-example` pass what
the stacks have before `cdk deploy`, and ask again after it: `make deploy-example` deploys
once more when they differ (first creation, or an API replaced). After it, not from cdk's
outputs file: that one may leave out a stack the deploy did not change.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from infra.config import StageConfig, valid_api_url

# Context key -> the output that holds it: the stage's issuer is its API's URL (without a
# custom domain, which needs nothing of this), the example's stack names its API's URL.
STAGE_OUTPUT = ("apiUrl", "IssuerUrl")
EXAMPLE_OUTPUT = ("exampleApiUrl", "ApiUrl")

Outputs = Mapping[str, Mapping[str, str]]


def wanted(stage: str, example: str = "") -> dict[str, tuple[str, str]]:
    """Context key -> (stack name, output key), for the stacks one deploy synthesizes."""
    config = StageConfig(stage=stage)
    keys = {STAGE_OUTPUT[0]: (config.stack_name, STAGE_OUTPUT[1])}
    if example:
        keys[EXAMPLE_OUTPUT[0]] = (config.name(example), EXAMPLE_OUTPUT[1])
    return keys


def context(outputs: Outputs, stage: str, example: str = "") -> dict[str, str]:
    """The API URLs among the stacks' outputs. An issuer on a custom domain is left out:
    the domain already gives the challenges a literal URL."""
    found = {}
    for key, (stack, output) in wanted(stage, example).items():
        url = outputs.get(stack, {}).get(output, "")
        if url and valid_api_url(url, stage):
            found[key] = url
    return found


def flags(values: Mapping[str, str]) -> str:
    return " ".join(f"-c {key}={url}" for key, url in sorted(values.items()))


def deployed(client: Any, stacks: list[str]) -> dict[str, dict[str, str]]:
    """Each existing stack's outputs (CloudFormation DescribeStacks); an absent one is left
    out, as is one without outputs (a creation that failed, or not yet executed)."""
    from botocore.exceptions import ClientError

    found = {}
    for name in stacks:
        try:
            (stack,) = client.describe_stacks(StackName=name)["Stacks"]
        except ClientError as error:
            if "does not exist" in str(error):
                continue
            raise
        found[name] = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.api_urls", description=__doc__)
    parser.add_argument("stage")
    parser.add_argument("example", nargs="?", default="")
    args = parser.parse_args(argv)
    try:
        import boto3

        stacks = [stack for stack, _ in wanted(args.stage, args.example).values()]
        outputs = deployed(boto3.client("cloudformation"), stacks)
    except Exception as exc:  # any failure stops the deploy, said in one line
        print(f"infra.api_urls: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(flags(context(outputs, args.stage, args.example)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
