"""cfn-lint on the template and on what CloudFormation makes of it: the SAM transform expanded.

    python -m infra.lint infra/cdk.out/dev.template.json     (make synth runs it)

cfn-lint reads a SAM template against SAM's schema; the resources CloudFormation creates
are the transform's output, so it is expanded here as CloudFormation's first step does it
(aws-sam-translator, offline) and linted too. The expansion is written beside the template
(`<stage>.expanded.json`) to be read.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

# Every check ignored, and why. Nothing else may be reported, warnings included.
IGNORED = {
    # The DependsOn on its role's policy that CDK's Lambda construct adds beside its GetAtt
    # of the role: redundant, harmless, and not ours to remove.
    "W3005": "DependsOn already enforced by a GetAtt",
}
REGIONS = ["us-east-1", "eu-west-1"]
SAM = "AWS::Serverless-2016-10-31"


class NoManagedPolicies:
    """SAM's policy templates by name: the stack attaches its own policies, never those."""

    def load(self) -> dict[str, str]:
        return {}


def expand(template: dict[str, Any], region: str = REGIONS[0]) -> dict[str, Any]:
    """The template after the SAM transform; the input is left as it was."""
    import boto3
    from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
    from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

    policies = NoManagedPolicies()
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    expanded: dict[str, Any] = translator.translate(
        copy.deepcopy(template), parameter_values={}, get_managed_policy_map=policies.load
    )
    return expanded


def expanded_path(path: Path) -> Path:
    return path.with_name(path.name.replace(".template.json", "") + ".expanded.json")


def lint(path: Path) -> list[str]:
    """cfn-lint's findings, as text, for the template at `path` and for its expansion."""
    from cfnlint.api import lint_file  # type: ignore[import-untyped]
    from cfnlint.config import ManualArgs  # type: ignore[import-untyped]

    template = json.loads(path.read_text(encoding="utf-8"))
    paths = [path]
    transforms = template.get("Transform") or []
    if SAM in ([transforms] if isinstance(transforms, str) else transforms):
        expanded = expanded_path(path)
        expanded.write_text(json.dumps(expand(template), indent=1), encoding="utf-8")
        paths.append(expanded)
    config = ManualArgs(regions=REGIONS, ignore_checks=sorted(IGNORED))
    return [f"{p.name}: {m}" for p in paths for m in lint_file(p, config)]


def main(argv: list[str]) -> int:
    findings = [finding for name in argv for finding in lint(Path(name))]
    for finding in findings:
        print(finding)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
