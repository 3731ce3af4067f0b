"""Random identifiers and secrets, and the hashes under which they are stored.

Every secret carries 256 bits from `secrets` (SECURITY.md item 17 asks for at least 128).
Every random identifier and secret comes from `random_token`, which never starts with `-`
(SECURITY.md item 40): such a value would read as an option on a command line
(`tollgate client show -abc...`). Redrawing keeps the draw uniform over the values allowed
and costs 6 bits of 256 (or 128) only on paper: 63 in 64 draws are kept as they are.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

# A client_id is at most 255 visible ASCII characters (RFC 6749 A.1: *VSCHAR). Anything
# else is refused before it reaches a storage lookup: DynamoDB refuses keys over 2,048
# bytes with an error that would surface as a 503 (issue 17 item 6; README "Input limits").
MAX_CLIENT_ID = 255
_CLIENT_ID = re.compile(rf"[\x20-\x7e]{{1,{MAX_CLIENT_ID}}}")


def random_token(nbytes: int) -> str:
    """`nbytes` random bytes, base64url without padding, never starting with `-`."""
    while True:
        token = secrets.token_urlsafe(nbytes)
        if not token.startswith("-"):
            return token


def new_secret() -> str:
    """A bearer secret: 32 random bytes, base64url (43 characters)."""
    return random_token(32)


def new_id() -> str:
    """An identifier that is not a secret but must not be guessable (16 random bytes)."""
    return random_token(16)


def is_client_id(value: object) -> bool:
    """Whether `value` may be a client_id at all (RFC 6749 A.1, at most MAX_CLIENT_ID)."""
    return isinstance(value, str) and _CLIENT_ID.fullmatch(value) is not None


def digest(value: str) -> str:
    """The stored form of a secret: hex SHA-256. Secrets are high-entropy, so no salt is needed."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two strings."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
