"""Compact JWS, read strictly (RFC 7515 3.1 and 7.1, RFC 8725 2.1 and 3.1).

The one reader of every JWS that comes from outside: access tokens (the authorizer core,
chalicelib/authorizer/validate.py, so UserInfo, introspection, revocation and both
authorizers), client assertions (chalicelib/protocol/client_assertion.py) and ID token
hints (chalicelib/tokens/id_token.py). All refuse the same things before any key is looked
up or any signature checked:

- a segment that is not unpadded, canonical base64url (RFC 7515 2: no '=', and the last
  character's unused bits zero), so that one token has exactly one spelling: `==` appended
  to a signature must not make a second valid token (issue 10 item 10);
- a header or payload that is not a JSON object as chalicelib/json_input.py reads it:
  nesting bounded before parsing, no duplicate members, only finite numbers within the
  exact range of a double, only valid Unicode strings (issue 10 item 3; issue 17 items 3, 4);
- header parameters of the wrong type: `alg`, `typ`, `kid`, `cty` must be strings
  (issue 17 item 1: `{"alg": []}` was an unhashable dictionary key).
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import Any

from chalicelib import json_input

# Headers that point a verifier at other keys, or change how the JWS is read: never honoured.
REFUSED_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c", "crit", "b64", "enc", "zip"})
# Header parameters this server reads: each must be a string when present.
STRING_HEADERS = ("alg", "typ", "kid", "cty")
MAX_JWS = 8 * 1024

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_VALUE = {c: n for n, c in enumerate(_ALPHABET)}
# Bits of the last character that encode nothing, by the segment's length mod 4: a canonical
# spelling has them zero (RFC 7515 2, RFC 4648 3.5).
_UNUSED_BITS = (0, 0, 0b1111, 0b11)
_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/***")
_PADDING = (b"", b"", b"==", b"=")


class JoseError(ValueError):
    """A segment is not what a compact JWS allows; the message names the problem."""


@dataclass(frozen=True, slots=True)
class Compact:
    """A compact JWS read strictly: its header and (unverified) claims."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signature: bytes  # may be empty: the caller refuses it after judging the header

    def string(self, name: str) -> str | None:
        """A header parameter known to be a string (or absent): checked by `read`."""
        value = self.header.get(name)
        return value if isinstance(value, str) else None


def segment_bytes(segment: str, what: str) -> bytes:
    """The bytes of an unpadded, canonical base64url segment; JoseError for anything else."""
    if not segment:
        return b""
    size = len(segment) % 4
    if size == 1:
        raise JoseError(f"the {what} is not base64url")
    try:
        # '+', '/' and '=' become '*', which strict decoding refuses like any other character
        # outside the alphabet: only base64url, unpadded, passes.
        raw = binascii.a2b_base64(
            segment.encode("ascii").translate(_TO_STANDARD) + _PADDING[size], strict_mode=True
        )
    except (binascii.Error, ValueError):  # UnicodeEncodeError is a ValueError
        raise JoseError(f"the {what} is not base64url") from None
    # One spelling per value: the last character's unused bits must be 0 (issue 10 item 10).
    if _VALUE[segment[-1]] & _UNUSED_BITS[size]:
        raise JoseError(f"the {what} is not canonical base64url")
    return raw


def segment_json(segment: str, what: str) -> dict[str, Any]:
    """The JSON object a base64url segment holds; JoseError for anything else."""
    raw = segment_bytes(segment, what)
    try:
        return json_input.loads_object(raw)
    except json_input.JsonInputError as error:
        raise JoseError(f"the {what}: {error}") from None


def read(token: str, max_bytes: int = MAX_JWS, allow: frozenset[str] = frozenset()) -> Compact:
    """A compact JWS (three segments, only the signature may be empty), every segment
    strict; JoseError otherwise. `allow` names refused headers the caller takes itself (a
    DPoP proof carries its key in `jwk`: chalicelib/tokens/dpop.py).

    The signature is only decoded here to judge its spelling; verifying it is the caller's.
    """
    if len(token) > max_bytes:
        raise JoseError(f"a JWS of {len(token)} bytes (at most {max_bytes})")
    if token[:1] == "{":
        raise JoseError("JSON serialization is not accepted")
    parts = token.split(".")
    if len(parts) == 5:
        raise JoseError("JWE is not accepted")
    if len(parts) != 3:
        raise JoseError(f"not a compact JWS ({len(parts)} segments)")
    if not parts[0] or not parts[1]:
        raise JoseError("empty header or payload")
    header = _header(parts[0], allow)
    claims = segment_json(parts[1], "payload")
    return Compact(header, claims, segment_bytes(parts[2], "signature"))


# Headers already read, by their segment: every token of one key has the same header, so a
# warm verifier reads it once. Only headers that passed are kept (and never modified).
_HEADERS: dict[tuple[str, frozenset[str]], dict[str, Any]] = {}
MAX_HEADERS = 64


def _header(segment: str, allow: frozenset[str]) -> dict[str, Any]:
    header = _HEADERS.get((segment, allow))
    if header is not None:
        return header
    header = segment_json(segment, "header")
    for name in STRING_HEADERS:
        if name in header and not isinstance(header[name], str):
            raise JoseError(f"the header's {name} is not a string")
    refused = sorted((REFUSED_HEADERS - allow) & header.keys())
    if refused:
        raise JoseError(f"header parameters {refused} are not accepted")
    if len(_HEADERS) >= MAX_HEADERS:
        _HEADERS.clear()
    _HEADERS[segment, allow] = header
    return header
