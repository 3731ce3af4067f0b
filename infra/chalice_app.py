"""The Chalice app as a CDK construct: `chalice package` output, named and unlinked.

chalice.cdk.Chalice runs `chalice package` and includes the SAM template it writes. Three
edits to that template, made before it is included:

1. Every function gets a fixed name, `tollgate-<stage>-<LogicalId>`, so that log groups,
   alarms and IAM statements can name it before it exists.
2. The API definition reaches each function by that name rather than by `${Function.Arn}`.
   The functions need the API's URL (TOLLGATE_ISSUER is https://<api-id>.execute-api...):
   with the API pointing at the functions' ARNs as well, CloudFormation would refuse the
   circular dependency. API Gateway resolves an integration's function at call time, so the
   API and the functions can be created in either order.
3. The built-in authorizer becomes a REQUEST authorizer (chalice writes TOKEN ones): it must
   see the `DPoP` header and the path to check a DPoP proof (chalicelib/web/protected.py).
   With its cache off (TTL 0, the default) it has no identity source, so API Gateway calls
   it on every request, a missing Authorization header included (SECURITY.md 45).

4. For an API of one's own (infra/example.py) whose routes use Tollgate's authorizer attached
   by ARN (`CustomAuthorizer`): the app is packaged with a placeholder ARN, and its
   authorizers' URIs then name the stack's authorizer function by name, in the stack's
   partition, region and account.

And one edit to the zips: compiled bytecode beside every source (infra/bytecode.py).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aws_cdk import CfnResource
from chalice.cdk import Chalice
from constructs import Construct

from infra.bytecode import add_bytecode, add_files

FUNCTION = "AWS::Serverless::Function"
API = "AWS::Serverless::Api"
FUNCTION_ARN = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"


def _replace_arns(node: Any, names: dict[str, str]) -> Any:
    """The API definition with every `${<function>.Arn}` in an Fn::Sub spelled by name."""
    if isinstance(node, dict):
        if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            text = node["Fn::Sub"]
            for logical, name in names.items():
                text = text.replace(f"${{{logical}.Arn}}", FUNCTION_ARN + name)
            return {"Fn::Sub": text}
        return {key: _replace_arns(value, names) for key, value in node.items()}
    if isinstance(node, list):
        return [_replace_arns(value, names) for value in node]
    return node


def unlink_functions(template: dict[str, Any], name_of: Callable[[str], str]) -> dict[str, str]:
    """Name every function and make the API refer to them by name; logical id -> name."""
    resources: dict[str, Any] = template["Resources"]
    names = {
        logical: name_of(logical)
        for logical, resource in resources.items()
        if resource["Type"] == FUNCTION
    }
    for logical, name in names.items():
        resources[logical]["Properties"]["FunctionName"] = name
    for resource in resources.values():
        if resource["Type"] == API:
            body = resource["Properties"]["DefinitionBody"]
            resource["Properties"]["DefinitionBody"] = _replace_arns(body, names)
    return names


def invocation_uri(function_name: str) -> dict[str, str]:
    """API Gateway's URI for invoking a function of this stack's region and account, by name."""
    return {
        "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31"
        f"/functions/{FUNCTION_ARN}{function_name}/invocations"
    }


def _authorizers(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, x-amazon-apigateway-authorizer) of every Lambda authorizer the APIs define."""
    for resource in template["Resources"].values():
        if resource["Type"] != API:
            continue
        definitions = resource["Properties"]["DefinitionBody"].get("securityDefinitions", {})
        for name, definition in definitions.items():
            authorizer = definition.get("x-amazon-apigateway-authorizer")
            if authorizer:
                yield name, authorizer


def attach_authorizer(template: dict[str, Any], function_name: str) -> list[str]:
    """Point every Lambda authorizer of the API definitions at `function_name`."""
    attached = []
    for name, authorizer in _authorizers(template):
        if "authorizerUri" in authorizer:  # not a Cognito one
            authorizer["authorizerUri"] = invocation_uri(function_name)
            attached.append(name)
    return attached


def request_authorizers(template: dict[str, Any]) -> list[str]:
    """Turn every TOKEN authorizer of the API definitions into a REQUEST one; their names."""
    changed = []
    for name, authorizer in _authorizers(template):
        if authorizer.get("type") != "token":
            continue
        authorizer["type"] = "request"
        if authorizer.get("authorizerResultTtlInSeconds", 300):
            # With a cache, API Gateway keys it on the identity source.
            authorizer["identitySource"] = "method.request.header.Authorization"
        changed.append(name)
    return changed


class ChaliceApp(Chalice):
    """chalice.cdk.Chalice, with the template edits of the module docstring."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source_dir: str,
        stage_config: dict[str, Any],
        name_of: Callable[[str], str],
        stage: str = "",
        authorizer: str = "",
        environ: dict[str, str] | None = None,
        extra_files: dict[str, Path] | None = None,
    ) -> None:
        self._name_of = name_of
        self._stage = stage  # chalice's stage; by default the scope's id (a Tollgate stage)
        self._authorizer = authorizer  # a function name (item 4 above)
        self._environ = environ or {}  # what the app reads when it is imported to be packaged
        self._extra_files = extra_files or {}  # zip path -> file: modules beside app.py
        self.function_names: dict[str, str] = {}
        super().__init__(scope, construct_id, source_dir=source_dir, stage_config=stage_config)

    def _package_app(self) -> None:
        # chalice loads the app to package it, and puts the stage's environment variables
        # into os.environ first: keep them out of the process that synthesizes (tests).
        saved = dict(os.environ)
        if self._stage:
            self.stage_name = self._stage
        os.environ.update(self._environ)
        # chalice imports the project's `app` module by that name: another project's (the
        # stage's, packaged first in the same process) must not be taken for this one's; it is
        # put back afterwards. This project's own stays (importing it twice would register
        # its routes twice).
        loaded = sys.modules.get("app")
        where = Path(getattr(loaded, "__file__", None) or "/").resolve().parent
        ours = where == Path(self.source_dir).resolve()
        if loaded is not None and not ours:
            del sys.modules["app"]
        try:
            super()._package_app()
        finally:
            os.environ.clear()
            os.environ.update(saved)
            if loaded is not None and not ours:
                sys.modules["app"] = loaded
        if self._extra_files:
            add_files(self.package_dir / "deployment.zip", self._extra_files)
        # Where Lambda unzips each: the function's code, and the layer.
        for archive, root in (("deployment.zip", "/var/task"), ("layer-deployment.zip", "/opt")):
            if (self.package_dir / archive).is_file():
                add_bytecode(self.package_dir / archive, root)
        path = self.package_dir / "sam.json"
        template = json.loads(path.read_text(encoding="utf-8"))
        self.function_names = unlink_functions(template, self._name_of)
        if self._authorizer:
            attach_authorizer(template, self._authorizer)
        request_authorizers(template)
        path.write_text(json.dumps(template, indent=2), encoding="utf-8")

    def resource(self, logical_id: str) -> CfnResource:
        """A resource of the included template, by its logical id in `chalice package`."""
        found: CfnResource = self.sam_template.get_resource(logical_id)
        return found

    @property
    def package_dir(self) -> Path:
        """Where `chalice package` wrote deployment.zip, layer-deployment.zip and sam.json."""
        return Path(self._sam_package_dir)
