"""The lean client's SigV4 signature is botocore's, header for header."""

from __future__ import annotations

import datetime
import time

import pytest
from botocore import auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from chalicelib.stores.sigv4 import Signer

WHEN = time.gmtime(1_800_000_000)


@pytest.mark.parametrize("token", [None, "session-token"])
def test_signature_equals_botocores(token: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = datetime.datetime(*WHEN[:6], tzinfo=datetime.UTC)
    monkeypatch.setattr(auth, "get_current_datetime", lambda: fixed)
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    body = b'{"TableName":"t","Key":{"pk":{"S":"a  b"}}}'
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "DynamoDB_20120810.GetItem",
        "Host": "dynamodb.eu-west-1.amazonaws.com",
    }
    ours = Signer(credentials, "eu-west-1", "dynamodb")
    ours.now = lambda: WHEN
    signed = dict(headers)
    ours.sign("POST", "/", signed, body)

    theirs = AWSRequest("POST", "https://dynamodb.eu-west-1.amazonaws.com/", dict(headers), body)
    SigV4Auth(credentials, "dynamodb", "eu-west-1").add_auth(theirs)

    assert signed["Authorization"] == theirs.headers["Authorization"]
    assert signed["X-Amz-Date"] == theirs.headers["X-Amz-Date"]
    assert signed.get("X-Amz-Security-Token") == theirs.headers.get("X-Amz-Security-Token")
