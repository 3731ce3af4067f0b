"""JWS compact serialization (RFC 7515 3.1, 7.1): what every signer signs and returns.

The signers differ only in who computes the signature (a key in memory, or KMS), so the
header, the payload and the assembly live here, once.
"""

from __future__ import annotations

import base64
import json
from typing import Any


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# Made once: json.dumps with any option builds a new encoder on every call (a few µs, and a
# token request encodes a header and claims per token).
_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True)


def _json(value: dict[str, Any]) -> bytes:
    return _ENCODER.encode(value).encode("utf-8")


def signing_input(header: dict[str, Any], claims: dict[str, Any]) -> bytes:
    """ASCII(BASE64URL(header) || '.' || BASE64URL(payload))."""
    return f"{b64url(_json(header))}.{b64url(_json(claims))}".encode("ascii")


def compact(data: bytes, signature: bytes) -> str:
    return f"{data.decode('ascii')}.{b64url(signature)}"
