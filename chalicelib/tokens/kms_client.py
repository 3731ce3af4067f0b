"""KMS for the envelope and kms signers: botocore's client (the CLI's key administration),
made lazily, and KMS errors translated for both it and the Lambda functions' lean client
(kms_http.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, cast

from chalicelib.tokens.signer import SignerError, SignerUnavailable

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient

# KMS answers these when it is busy or briefly unable to: worth a 503 and a retry.
_UNAVAILABLE = {
    "ThrottlingException",
    "KMSInternalException",
    "DependencyTimeoutException",
    "KeyUnavailableException",
    "LimitExceededException",
}


def make_client(region: str, endpoint_url: str | None = None) -> KMSClient:
    # botocore alone, as for DynamoDB: boto3's import would load its S3 transfer code.
    import botocore.session
    from botocore.config import Config

    # As for DynamoDB: few attempts and short timeouts, so retries fit in the Lambda timeout.
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 3},
        connect_timeout=2,
        read_timeout=3,
    )
    session = botocore.session.get_session()
    client = session.create_client(
        "kms", region_name=region, endpoint_url=endpoint_url, config=config
    )
    return cast("KMSClient", client)


class LazyClient:
    """Creates the client on first use, once per container."""

    def __init__(self, factory: Callable[[], KMSClient]) -> None:
        self._factory = factory
        self._client: KMSClient | None = None

    def __call__(self) -> KMSClient:
        if self._client is None:
            self._client = self._factory()
        return self._client


@contextmanager
def errors(what: str) -> Iterator[None]:
    """KMS trouble as the signer's own exceptions: busy -> SignerUnavailable, else SignerError.
    botocore's exceptions are imported only when a call failed (the lean client's calls load
    no botocore module while they succeed)."""
    try:
        yield
    except Exception as exc:
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _UNAVAILABLE:
                raise SignerUnavailable(f"KMS {what}: {code}") from exc
            raise SignerError(f"KMS {what}: {code}") from exc
        if isinstance(exc, BotoCoreError):
            raise SignerUnavailable(f"KMS {what}: {type(exc).__name__}") from exc
        raise
