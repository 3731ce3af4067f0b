"""A lean DynamoDB client: the handful of JSON operations DynamoTable uses, signed with SigV4
and sent over pooled keep-alive connections (http_connections.py), with botocore's retry rules.

botocore's client walks its service model to validate, serialize and parse every call, and
builds, signs and sends each request through about ten events: about 80% of a token
request's CPU went there (bench/flows.py). This client speaks DynamoDB's JSON protocol
(the request body is the operation's parameters as they are) and keeps what the table
relies on from botocore, unchanged:
- errors are botocore's ClientError with the response botocore would parse (Error.Code and
  Message, the error's own fields such as CancellationReasons and Item), and botocore's
  connection and timeout exceptions;
- retries are botocore's standard mode, from its own checkers (transient, throttling, 429,
  DynamoDB's retryable ReplicatedWriteConflict, a CRC32 mismatch), its exponential backoff
  with jitter and its retry quota, at most 3 attempts;
- TransactWriteItems gets one ClientRequestToken per call, so a retry of a transaction that
  committed is answered as success, as botocore's idempotency token does;
- credentials come from botocore's chain (the Lambda environment), refreshed as botocore does.
The signature is SigV4 in a few lines (sigv4.py), checked against botocore's signer.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from chalicelib.stores.http_connections import Connections
from chalicelib.stores.sigv4 import Signer

TARGET = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"
ATTEMPTS = 3  # counting the first try (botocore's total_max_attempts)
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 3.0
_MODELED_RETRYABLE = ["ReplicatedWriteConflictException"]  # DynamoDB's model marks it so


@dataclass
class HttpAnswer:
    """What botocore's retry checkers read of an HTTP response."""

    status_code: int
    headers: dict[str, str]
    content: bytes = field(repr=False)


# What botocore's after-call rule reads of a success (its status code only).
_SUCCEEDED = HttpAnswer(200, {}, b"")


def default_endpoint(region: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://dynamodb.{region}.{suffix}"


def _bytes_as_base64(value: object) -> str:
    # DynamoDB's JSON carries binary attribute values (B, BS) as base64 strings.
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot send {type(value).__name__} to DynamoDB")


# Made once (json.dumps with options builds an encoder per call).
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_bytes_as_base64)


class DynamoHttpClient:
    """get_item, put_item, update_item, delete_item, query, scan, batch_get_item and
    transact_write_items with botocore's keyword arguments and parsed answers."""

    def __init__(
        self, region: str, endpoint_url: str | None = None, *, read_timeout: float = READ_TIMEOUT
    ) -> None:
        from botocore.retries import quota, standard

        self.endpoint = (endpoint_url or default_endpoint(region)).rstrip("/")
        self._signer = Signer(_credentials(), region, "dynamodb")
        self._read_timeout = read_timeout
        self._connections = self._make_connections()
        detector = standard.ThrottlingErrorDetector(standard.RetryEventAdapter())
        self._retry = standard.RetryPolicy(
            retry_checker=_conditions(standard),
            retry_backoff=standard.ExponentialBackoff(
                service_name="dynamodb", throttling_detector=detector
            ),
        )
        self._quota = standard.RetryQuotaChecker(quota.RetryQuota(), detector)
        # Tests count the back-off instead of waiting it out.
        self.sleep: Callable[[float], None] = time.sleep

    def _make_connections(self) -> Connections:
        ca_certs = None
        if self.endpoint.startswith("https:"):
            from botocore.httpsession import get_cert_path

            # What botocore verifies with: AWS_CA_BUNDLE, else certifi's or its own bundle.
            ca_certs = os.environ.get("AWS_CA_BUNDLE") or get_cert_path(True)
        return Connections(
            self.endpoint,
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=self._read_timeout,
            ca_certs=ca_certs,
        )

    # -- operations -------------------------------------------------------------------------

    def get_item(self, **params: Any) -> dict[str, Any]:
        return self._call("GetItem", params)

    def put_item(self, **params: Any) -> dict[str, Any]:
        return self._call("PutItem", params)

    def update_item(self, **params: Any) -> dict[str, Any]:
        return self._call("UpdateItem", params)

    def delete_item(self, **params: Any) -> dict[str, Any]:
        return self._call("DeleteItem", params)

    def query(self, **params: Any) -> dict[str, Any]:
        return self._call("Query", params)

    def scan(self, **params: Any) -> dict[str, Any]:
        return self._call("Scan", params)

    def batch_get_item(self, **params: Any) -> dict[str, Any]:
        return self._call("BatchGetItem", params)

    def transact_write_items(self, **params: Any) -> dict[str, Any]:
        params.setdefault("ClientRequestToken", str(uuid.uuid4()))  # the same on every retry
        return self._call("TransactWriteItems", params)

    # -- one call, with retries ---------------------------------------------------------------

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        body = _ENCODER.encode(params).encode()
        request_context: dict[str, Any] = {}
        attempt = 1
        while True:
            answer: HttpAnswer | None = None
            parsed: dict[str, Any] | None = None
            caught: Exception | None = None
            try:
                answer = self._send(operation, body)
                parsed = _parse(answer)
            except Exception as exc:
                from botocore.exceptions import BotoCoreError

                if not isinstance(exc, BotoCoreError):
                    raise
                caught = exc
            if parsed is not None and "Error" not in parsed:
                self._release(request_context)
                return parsed
            # A failure: botocore's retry rules decide (nothing of this is built on success).
            from botocore.retries.standard import RetryContext

            context = RetryContext(
                attempt_number=attempt,
                parsed_response=parsed,
                http_response=answer,
                caught_exception=caught,
                request_context=request_context,
            )
            if not self._retry.should_retry(context) or not self._quota.acquire_retry_quota(
                context
            ):
                if caught is not None:
                    raise caught
                assert parsed is not None
                raise _client_error(parsed, operation)
            self.sleep(self._retry.compute_retry_delay(context))
            attempt += 1

    def _release(self, request_context: dict[str, Any]) -> None:
        # botocore's after-call rule: a success gives its retry's cost back, or 1. It hands
        # the request's context dict, not a RetryContext as the stubs say.
        self._quota.release_retry_quota(cast(Any, request_context), _SUCCEEDED)

    def _send(self, operation: str, body: bytes) -> HttpAnswer:
        headers = {
            "Host": self._connections.host,
            "Content-Type": CONTENT_TYPE,
            "X-Amz-Target": TARGET + operation,
        }
        self._signer.sign("POST", "/", headers, body)
        answer = self._connections.post("/", headers, body)
        return HttpAnswer(answer.status, answer.headers, answer.body)


def _credentials() -> Any:
    """botocore's credential chain, whose first link is the environment: a Lambda function's
    credentials are there, read without loading botocore's session and client machinery."""
    from botocore.credentials import EnvProvider

    found = EnvProvider().load()
    if found is None:
        import botocore.session

        found = botocore.session.get_session().get_credentials()
    if found is None:
        from botocore.exceptions import NoCredentialsError

        raise NoCredentialsError()
    return found


def _conditions(standard: Any) -> Any:
    """botocore's StandardRetryConditions, less its checks that need a service model (whose
    one DynamoDB case, ReplicatedWriteConflict, is a transient error code here)."""
    transient = standard.TransientRetryableChecker(
        transient_error_codes=[
            *standard.TransientRetryableChecker._TRANSIENT_ERROR_CODES,
            *_MODELED_RETRYABLE,
        ]
    )

    class Conditions(standard.BaseRetryableChecker):  # type: ignore[misc]
        def __init__(self) -> None:
            self._max = standard.MaxAttemptsChecker(ATTEMPTS)
            self._any = standard.OrRetryChecker(
                [
                    transient,
                    standard.ThrottledRetryableChecker(),
                    standard.ThrottlingStatusCodeChecker(),
                ]
            )

        def is_retryable(self, context: Any) -> bool:
            if not self._max.is_retryable(context):
                return False
            return bool(self._any.is_retryable(context)) or _crc32_mismatch(context)

    return Conditions()


def _crc32_mismatch(context: Any) -> bool:
    # botocore's RetryDDBChecksumError: DynamoDB's x-amz-crc32 of the body, checked.
    answer = context.http_response
    if answer is None or "x-amz-crc32" not in answer.headers:
        return False
    return int(answer.headers["x-amz-crc32"]) != zlib.crc32(answer.content) & 0xFFFFFFFF


def _parse(answer: HttpAnswer) -> dict[str, Any]:
    """The parsed answer as botocore's JSON parser gives it, an error included."""
    metadata = {"HTTPStatusCode": answer.status_code, "HTTPHeaders": answer.headers}
    try:
        body = json.loads(answer.content) if answer.content else {}
    except ValueError:
        body = None
    if answer.status_code < 300 and not _crc32_mismatch(_Only(answer)):
        out = body if isinstance(body, dict) else {}
        out["ResponseMetadata"] = metadata
        return out
    if not isinstance(body, dict):
        error = {
            "Code": str(answer.status_code),
            "Message": answer.content.decode(errors="replace"),
        }
        return {"Error": error, "ResponseMetadata": metadata}
    code = str(body.pop("__type", "") or answer.status_code).rsplit("#", 1)[-1]
    message = body.pop("message", None) or body.pop("Message", "")
    if answer.status_code < 300:
        code, message = "CRC32CheckFailed", "the answer's CRC32 does not match its body"
    return {**body, "Error": {"Code": code, "Message": message}, "ResponseMetadata": metadata}


@dataclass
class _Only:
    http_response: HttpAnswer


def _client_error(parsed: dict[str, Any], operation: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError(parsed, operation)  # type: ignore[arg-type]
