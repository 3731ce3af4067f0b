"""What a deployed function calls, seen on the wire: its DynamoDB and KMS calls go through
Tollgate's lean client (chalicelib/stores/aws_json.py), which no botocore hook sees, so a
forwarder in front of moto records them (tests/support/aws_recorder.py).

A cold API container signs with the keys already stored, opening them with KMS (envelope
mode: Decrypt of the sealed key; kms mode: Sign by KMS), and every call either stage's
functions make is one that their template's IAM policy allows: action, resource and the
encryption context condition (the sealing purpose).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.infra import lambda_package as package
from tests.infra.conftest import ACCOUNT, REGION, SCOPES, Deployed, api_event
from tests.support.aws_recorder import Call, recording

# What TransactWriteItems needs of IAM: each item's own action.
TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def _needed(call: Call, deployed: Deployed) -> list[tuple[str, str, dict[str, str]]]:
    """(action, resource ARN, encryption context) for each permission the call needs."""
    if call.service == "kms":
        key = call.params["KeyId"]
        arn = key if key.startswith("arn:") else f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key}"
        return [(f"kms:{call.operation}", arn, call.params.get("EncryptionContext", {}))]
    if call.operation == "TransactWriteItems":
        return [
            (TRANSACT_ACTIONS[kind], _table_arn(body["TableName"]), {})
            for item in call.params["TransactItems"]
            for kind, body in item.items()
        ]
    if call.operation == "BatchGetItem":
        return [("dynamodb:BatchGetItem", _table_arn(t), {}) for t in call.params["RequestItems"]]
    return [(f"dynamodb:{call.operation}", _table_arn(call.params["TableName"]), {})]


def _table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _resource(value: Any, deployed: Deployed) -> str:
    """A statement's resource with its references resolved as the local deployment did."""
    if isinstance(value, str):
        return value
    if "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        found = deployed.attributes.get(f"{logical}.{attribute}")
        if found is not None:
            return found
        resource = deployed.template["Resources"][logical]
        if resource["Type"] == "AWS::DynamoDB::Table" and attribute == "Arn":
            return _table_arn(resource["Properties"]["TableName"])
    return json.dumps(value)  # anything else matches no call


def _allows(statement: dict[str, Any], need: tuple[str, str, dict[str, str]], d: Deployed) -> bool:
    action, arn, context = need
    actions = (
        statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    )
    resources = statement["Resource"]
    resources = resources if isinstance(resources, list) else [resources]
    if statement["Effect"] != "Allow" or action not in actions:
        return False
    if arn not in {_resource(r, d) for r in resources}:
        return False
    for operator, tests in statement.get("Condition", {}).items():
        if operator != "StringEquals":
            return False  # a condition this check does not evaluate is not taken as met
        for name, value in tests.items():
            prefix = "kms:EncryptionContext:"
            if not name.startswith(prefix) or context.get(name[len(prefix) :]) != value:
                return False
    return True


def _role_statements(deployed: Deployed, function: str) -> list[dict[str, Any]]:
    """The statements of the function's own role: its inline policies and the policies
    attached to it (never another function's role)."""
    resources = deployed.template["Resources"]
    role_ref = resources[function]["Properties"]["Role"]
    role = role_ref["Fn::GetAtt"][0] if "Fn::GetAtt" in role_ref else role_ref["Ref"]
    found = []
    for policy in resources[role]["Properties"].get("Policies", []):
        found += policy["PolicyDocument"]["Statement"]
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in props.get("Roles", []):
            found += props["PolicyDocument"]["Statement"]
    return found


@pytest.mark.slow
def test_a_cold_container_opens_the_stored_keys_with_kms_as_its_role_allows(
    deployed: Deployed, moto_url: str
) -> None:
    api = deployed.functions["APIHandler"]
    body = urlencode({"grant_type": "client_credentials", "scope": SCOPES})
    token = api_event(deployed.issuer, "POST", "/token", body)
    with recording(moto_url) as recorder:
        env = {**deployed.environments["APIHandler"], "AWS_ENDPOINT_URL": recorder.url}
        first = package.run(api, env, [token], deployed.work)  # the keys exist after it
        start = len(recorder.calls)
        cold = package.run(api, env, [token], deployed.work)  # a new container
        calls = recorder.calls
    for run in (first, cold):
        assert run.answers[0]["result"]["statusCode"] == 200, run.answers
    in_cold = [(c.service, c.operation) for c in calls[start:]]
    if deployed.stage == "dev":  # envelope: the sealed private key opened, nothing sealed
        assert ("kms", "Decrypt") in in_cold and ("kms", "Encrypt") not in in_cold
    else:  # kms: the access token signed by KMS; no private key anywhere
        assert in_cold.count(("kms", "Sign")) == 1 and ("kms", "Decrypt") not in in_cold
    statements = _role_statements(deployed, "APIHandler")
    assert statements
    refused = [
        (call.operation, need)
        for call in calls
        for need in _needed(call, deployed)
        if not any(_allows(s, need, deployed) for s in statements)
    ]
    assert calls and refused == []
