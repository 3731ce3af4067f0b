"""Compact JWS segments, read strictly (RFC 7515 7.1, RFC 8725 2.1 and 3.1).

Shared by the access token validator (chalicelib/authorizer/validate.py) and client
assertions (chalicelib/protocol/client_assertion.py), so both refuse the same things before
any signature is checked: a segment outside the base64url alphabet, JSON that is not an
object, a member that appears twice (parsers disagree on which one wins), and the non-JSON
constants NaN and Infinity (RFC 8259 6).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

# Headers that point a verifier at other keys, or change how the JWS is read: never honoured.
REFUSED_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c", "crit", "b64", "enc", "zip"})

_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


class JoseError(ValueError):
    """A segment is not what a compact JWS allows; the message names the problem."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise JoseError(f"member {name!r} appears twice")
        out[name] = value
    return out


def _no_constant(name: str) -> Any:
    raise JoseError(f"{name} is not JSON (RFC 8259 6)")


def segment_json(segment: str, what: str) -> dict[str, Any]:
    """The JSON object a base64url segment holds; JoseError for anything else."""
    if not _SEGMENT.fullmatch(segment):
        raise JoseError(f"the {what} is not base64url")
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except JoseError as error:
        raise JoseError(f"the {what}: {error}") from None
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise JoseError(f"the {what} is not JSON") from None
    if not isinstance(value, dict):
        raise JoseError(f"the {what} is not a JSON object")
    return value
