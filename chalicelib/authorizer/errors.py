"""Authorizer errors (RFC 6750 section 3.1), one class per answer:

    AuthorizerError                 status, error code, WWW-Authenticate challenge
    +-- InvalidToken                401 Bearer error="invalid_token"
    |   +-- ExpiredToken            ... error_description="the access token expired"
    |   +-- RevokedToken            ... error_description="the access token was revoked"
    |   +-- MissingToken            401 Bearer (no error code: the request had no bearer token)
    +-- InsufficientScope           403 Bearer error="insufficient_scope", scope="..."
    +-- AuthorizerUnavailable       503: the keys or the grant store could not be read

`detail` carries the real cause for the log only; the challenge never holds it. Only an
expired or revoked token is told so (`description`, RFC 6750 3): the caller then knows to
get a new token rather than to debug its request. Every other invalid token hears nothing more. An
unavailable authorizer is never an allow: API Gateway answers it with a 500.

`Unauthorized` is not an answer of its own but API Gateway's contract: a Lambda authorizer
that fails with exactly the message "Unauthorized" gets the client a 401.
"""

from __future__ import annotations

from collections.abc import Iterable


class AuthorizerError(Exception):
    status = 401
    error: str | None = None
    description: str | None = None  # said to the caller: fixed text, never the detail

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.error or type(self).__name__)
        self.detail = detail or self.error or type(self).__name__

    def www_authenticate(self) -> str:
        if not self.error:
            return "Bearer"
        if self.description:
            return f'Bearer error="{self.error}", error_description="{self.description}"'
        return f'Bearer error="{self.error}"'

    def body(self) -> dict[str, str]:
        out = {"error": self.error or "unauthorized"}
        if self.description:
            out["error_description"] = self.description
        return out


class InvalidToken(AuthorizerError):
    """The token is malformed, expired, revoked, or not signed by the issuer's key."""

    status = 401
    error: str | None = "invalid_token"


class ExpiredToken(InvalidToken):
    description = "the access token expired"


class RevokedToken(InvalidToken):
    """Its grant was revoked (or is gone), or the token itself was revoked at /revoke."""

    description = "the access token was revoked"


class MissingToken(InvalidToken):
    """No Authorization header, or one without the Bearer scheme (RFC 6750 3.1: no code)."""

    error = None


class InsufficientScope(AuthorizerError):
    """The token is valid, but its scopes do not allow this route."""

    status = 403
    error = "insufficient_scope"

    def __init__(self, needed: Iterable[str], detail: str = "") -> None:
        self.needed = tuple(sorted(needed))
        super().__init__(detail or f"needs {' '.join(self.needed)}")

    def www_authenticate(self) -> str:
        challenge = f'Bearer error="{self.error}"'
        if self.needed:
            challenge += f', scope="{" ".join(self.needed)}"'
        return challenge


class AuthorizerUnavailable(AuthorizerError):
    """The keys or the grant store could not be read: never an allow."""

    status = 503
    error = "temporarily_unavailable"

    def www_authenticate(self) -> str:
        return "Bearer"


class Unauthorized(Exception):
    """Raised by a Lambda authorizer to make API Gateway answer 401 (UNAUTHORIZED)."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")
