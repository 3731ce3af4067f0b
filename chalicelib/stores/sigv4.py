"""AWS Signature Version 4 for one JSON POST: what botocore's SigV4Auth computes, without
its request objects (tests/stores/test_sigv4.py checks each header against botocore's)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class Signer:
    """Signs with botocore credentials (their frozen value read per request, so temporary
    credentials are refreshed as botocore refreshes them)."""

    def __init__(self, credentials: Any, region: str, service: str) -> None:
        self._credentials = credentials
        self._region = region
        self._service = service
        self._key: tuple[str, str, bytes] | None = None  # (secret, date, signing key)
        self.now: Callable[[], time.struct_time] = time.gmtime  # tests fix it

    def _signing_key(self, secret: str, date: str) -> bytes:
        if self._key is None or self._key[:2] != (secret, date):
            key = _hmac(f"AWS4{secret}".encode(), date)
            for part in (self._region, self._service, "aws4_request"):
                key = _hmac(key, part)
            self._key = (secret, date, key)
        return self._key[2]

    def sign(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        """Add X-Amz-Date, X-Amz-Security-Token (temporary credentials) and Authorization
        to `headers`, which must hold Host; every header given is signed."""
        frozen = self._credentials.get_frozen_credentials()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", self.now())
        headers["X-Amz-Date"] = stamp
        if frozen.token:
            headers["X-Amz-Security-Token"] = frozen.token
        signed = sorted((name.lower(), " ".join(value.split())) for name, value in headers.items())
        names = ";".join(name for name, _ in signed)
        canonical = "\n".join(
            [
                method,
                path,
                "",  # no query string
                "".join(f"{name}:{value}\n" for name, value in signed),
                names,
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{stamp[:8]}/{self._region}/{self._service}/aws4_request"
        to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        key = self._signing_key(frozen.secret_key, stamp[:8])
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (
            f"{ALGORITHM} Credential={frozen.access_key}/{scope}, "
            f"SignedHeaders={names}, Signature={signature}"
        )
