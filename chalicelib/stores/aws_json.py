"""A lean client for AWS's JSON protocol (DynamoDB, KMS): operations signed with SigV4 and
sent over pooled keep-alive connections (http_connections.py), with botocore's retry rules.

botocore's client walks its service model to validate, serialize and parse every call, and
builds, signs and sends each request through about ten events: about 80% of a token
request's CPU went there (bench/flows.py), and making one (its session, loaders, endpoint
rules and service model) was a quarter of a Lambda cold start. A JSON-protocol request body
is the operation's parameters as they are, so this client keeps only what callers rely on
from botocore, unchanged:
- errors are botocore's ClientError with the response botocore would parse (Error.Code and
  Message, the error's own fields such as CancellationReasons and Item), and botocore's
  connection and timeout exceptions;
- retries are botocore's standard mode, from its own checkers (transient, throttling, 429, a
  service's modeled retryable errors, a CRC32 mismatch), its exponential backoff with jitter
  and its retry quota, at most 3 attempts; botocore is imported only when a call fails;
- credentials are the environment's (a Lambda function's are there), else botocore's chain.
The signature is SigV4 in a few lines (sigv4.py), checked against botocore's signer.
"""

from __future__ import annotations

import base64
import json
import os
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.util import find_spec
from typing import Any, cast

from chalicelib.stores.http_connections import Connections
from chalicelib.stores.sigv4 import Signer

ATTEMPTS = 3  # counting the first try (botocore's total_max_attempts)
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 3.0


@dataclass
class HttpAnswer:
    """What botocore's retry checkers read of an HTTP response."""

    status_code: int
    headers: dict[str, str]
    content: bytes = field(repr=False)


# What botocore's after-call rule reads of a success (its status code only).
_SUCCEEDED = HttpAnswer(200, {}, b"")


def default_endpoint(service: str, region: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{service}.{region}.{suffix}"


def _bytes_as_base64(value: object) -> str:
    # The JSON protocol carries binary values (blobs, DynamoDB's B and BS) as base64 strings.
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot send {type(value).__name__} to AWS")


# Made once (json.dumps with options builds an encoder per call).
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_bytes_as_base64)


@dataclass(frozen=True)
class Protocol:
    """One service's JSON protocol: its signing name, target prefix and content type."""

    service: str
    target: str
    content_type: str
    modeled_retryable: tuple[str, ...] = ()  # error codes its model marks retryable


class AwsJsonClient:
    """Calls one service's JSON operations with botocore's keyword arguments and answers."""

    def __init__(
        self,
        protocol: Protocol,
        region: str,
        endpoint_url: str | None = None,
        *,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self.protocol = protocol
        self.endpoint = (endpoint_url or default_endpoint(protocol.service, region)).rstrip("/")
        self._signer = Signer(_credentials(), region, protocol.service)
        self._read_timeout = read_timeout
        self._connections = self._make_connections()
        self._rules: _RetryRules | None = None  # made on the first failure
        # Tests count the back-off instead of waiting it out.
        self.sleep: Callable[[float], None] = time.sleep

    def _make_connections(self) -> Connections:
        ca_certs = None
        if self.endpoint.startswith("https:"):
            ca_certs = ca_bundle()
        return Connections(
            self.endpoint,
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=self._read_timeout,
            ca_certs=ca_certs,
        )

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
                if self._rules is not None:
                    self._rules.release(request_context)
                return parsed
            # A failure: botocore's retry rules decide (nothing of them is built on success).
            if self._rules is None:
                self._rules = _RetryRules(self.protocol)
            delay = self._rules.delay(attempt, parsed, answer, caught, request_context)
            if delay is None:
                if caught is not None:
                    raise caught
                assert parsed is not None
                raise _client_error(parsed, operation)
            self.sleep(delay)
            attempt += 1

    def _send(self, operation: str, body: bytes) -> HttpAnswer:
        headers = {
            "Host": self._connections.host,
            "Content-Type": self.protocol.content_type,
            "X-Amz-Target": self.protocol.target + operation,
        }
        self._signer.sign("POST", "/", headers, body)
        answer = self._connections.post("/", headers, body)
        return HttpAnswer(answer.status, answer.headers, answer.body)


class _RetryRules:
    """botocore's standard retry policy and quota for one client."""

    def __init__(self, protocol: Protocol) -> None:
        from botocore.retries import quota, standard

        detector = standard.ThrottlingErrorDetector(standard.RetryEventAdapter())
        self._policy = standard.RetryPolicy(
            retry_checker=_conditions(standard, protocol.modeled_retryable),
            retry_backoff=standard.ExponentialBackoff(
                service_name=protocol.service, throttling_detector=detector
            ),
        )
        self._quota = standard.RetryQuotaChecker(quota.RetryQuota(), detector)

    def delay(
        self,
        attempt: int,
        parsed: dict[str, Any] | None,
        answer: HttpAnswer | None,
        caught: Exception | None,
        request_context: dict[str, Any],
    ) -> float | None:
        """Seconds to wait before the next attempt, or None: give up."""
        from botocore.retries.standard import RetryContext

        context = RetryContext(
            attempt_number=attempt,
            parsed_response=parsed,
            http_response=answer,
            caught_exception=caught,
            request_context=request_context,
        )
        if not self._policy.should_retry(context) or not self._quota.acquire_retry_quota(context):
            return None
        return float(self._policy.compute_retry_delay(context))

    def release(self, request_context: dict[str, Any]) -> None:
        # botocore's after-call rule: a success gives its retry's cost back, or 1. It hands
        # the request's context dict, not a RetryContext as the stubs say.
        self._quota.release_retry_quota(cast(Any, request_context), _SUCCEEDED)


@dataclass(frozen=True)
class EnvCredentials:
    """Credentials from the environment, as botocore's EnvProvider reads them when they do
    not expire; the Signer reads their frozen value per request."""

    access_key: str
    secret_key: str
    token: str | None

    def get_frozen_credentials(self) -> EnvCredentials:
        return self


def _credentials() -> Any:
    """The environment's credentials (a Lambda function's are there), read without importing
    botocore; else (expiring ones, a profile, a role) botocore's chain, refreshed as it does."""
    access, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    token = os.environ.get("AWS_SECURITY_TOKEN") or os.environ.get("AWS_SESSION_TOKEN")
    if access and secret and not os.environ.get("AWS_CREDENTIAL_EXPIRATION"):
        return EnvCredentials(access, secret, token or None)
    import botocore.session

    found = botocore.session.get_session().get_credentials()
    if found is None:
        from botocore.exceptions import NoCredentialsError

        raise NoCredentialsError()
    return found


def ca_bundle() -> str:
    """What botocore verifies TLS with: AWS_CA_BUNDLE, else certifi's bundle, else its own
    (botocore.httpsession.get_cert_path), found without importing botocore's HTTP stack."""
    given = os.environ.get("AWS_CA_BUNDLE")
    if given:
        return given
    for package in ("certifi", "botocore"):
        spec = find_spec(package)
        if spec is not None and spec.origin:
            return os.path.join(os.path.dirname(spec.origin), "cacert.pem")
    raise RuntimeError("no CA bundle: neither certifi nor botocore is installed")


def _conditions(standard: Any, modeled_retryable: tuple[str, ...]) -> Any:
    """botocore's StandardRetryConditions, less its checks that need a service model (whose
    cases, the modeled retryable errors, are transient error codes here)."""
    transient = standard.TransientRetryableChecker(
        transient_error_codes=[
            *standard.TransientRetryableChecker._TRANSIENT_ERROR_CODES,
            *modeled_retryable,
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
    # botocore's rule for both forms, "ns#Code" and "Code:http://...": before ':', after '#'.
    code = str(body.pop("__type", "") or answer.status_code).split(":", 1)[0].rsplit("#", 1)[-1]
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
