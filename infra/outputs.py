"""After `cdk deploy --outputs-file FILE`: print where the deployed stage answers.

python -m infra.outputs FILE STACK      (a stage's stack, or an example's: infra/example.py)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

LABELS = {
    "IssuerUrl": "Issuer",
    "JwksUrl": "JWKS",
    "AuthorizerArn": "Standalone authorizer",
    "TableName": "Table",
    "DomainTarget": "Point your domain's DNS (CNAME) at",
}


EXAMPLE_LABELS = {
    "ApiUrl": "Example API",
    "ResourceUri": "Its resource (audience)",
    "AuthorizerArn": "Its authorizer",
}


def render_example(values: dict[str, str]) -> str:
    width = max(len(label) for label in EXAMPLE_LABELS.values()) + 1
    lines = [f"{label + ':':<{width}} {values[key]}" for key, label in EXAMPLE_LABELS.items()]
    lines += [
        "",
        "Register it once (README: Resource servers), with the scopes of its routes.json:",
        f"  tollgate --stage STAGE resource create --uri {values['ResourceUri']} --scope ...",
    ]
    return "\n".join(lines)


def render(outputs: dict[str, dict[str, str]], stack: str) -> str:
    values = outputs.get(stack)
    if values and set(EXAMPLE_LABELS) <= set(values):
        return render_example(values)
    if not values or "IssuerUrl" not in values:
        raise KeyError(f"no outputs for stack {stack!r}")
    width = max(len(label) for label in LABELS.values()) + 1
    lines = [f"{LABELS[key] + ':':<{width}} {values[key]}" for key in LABELS if key in values]
    issuer = values["IssuerUrl"]
    lines += ["", f"Discovery: curl {issuer}/.well-known/openid-configuration"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m infra.outputs OUTPUTS_FILE STACK", file=sys.stderr)
        return 2
    try:
        outputs = json.loads(Path(args[0]).read_text(encoding="utf-8"))
        print(render(outputs, args[1]))
    except (OSError, ValueError, KeyError) as exc:
        print(f"infra.outputs: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
