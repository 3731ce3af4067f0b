"""The lean KMS client the Lambda functions use (aws_json.py): the four operations the
envelope and kms signers call at run time. The CLI's key administration keeps botocore's
client (kms_client.make_client): it runs once, where a cold start does not matter.

KMS speaks the same JSON protocol as DynamoDB; what differs is that its binary fields
(blobs) travel as base64, which botocore's parser turns into bytes: so does this client.
"""

from __future__ import annotations

import base64
from typing import Any

from chalicelib.stores.aws_json import READ_TIMEOUT, AwsJsonClient, Protocol

KMS = Protocol(service="kms", target="TrentService.", content_type="application/x-amz-json-1.1")
# The blob members of the answers of the operations below (KMS's service model).
_BLOBS = ("Plaintext", "CiphertextBlob", "Signature", "PublicKey")


class KmsHttpClient(AwsJsonClient):
    """decrypt, encrypt, sign and get_public_key with botocore's keyword arguments and parsed
    answers (bytes given are sent as base64; blobs answered come back as bytes)."""

    def __init__(
        self, region: str, endpoint_url: str | None = None, *, read_timeout: float = READ_TIMEOUT
    ) -> None:
        super().__init__(KMS, region, endpoint_url, read_timeout=read_timeout)

    def decrypt(self, **params: Any) -> dict[str, Any]:
        return self._blobs(self._call("Decrypt", params))

    def encrypt(self, **params: Any) -> dict[str, Any]:
        return self._blobs(self._call("Encrypt", params))

    def sign(self, **params: Any) -> dict[str, Any]:
        return self._blobs(self._call("Sign", params))

    def get_public_key(self, **params: Any) -> dict[str, Any]:
        return self._blobs(self._call("GetPublicKey", params))

    @staticmethod
    def _blobs(answer: dict[str, Any]) -> dict[str, Any]:
        for name in _BLOBS:
            if isinstance(answer.get(name), str):
                answer[name] = base64.b64decode(answer[name], validate=True)
        return answer
