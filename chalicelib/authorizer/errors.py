"""Authorizer errors (RFC 6750 section 3.1), one class per answer:

    AuthorizerError                 status, error code, WWW-Authenticate challenge
    +-- InvalidToken                401 Bearer error="invalid_token"
    |   +-- ExpiredToken            ... error_description="the access token expired"
    |   +-- RevokedToken            ... error_description="the access token was revoked"
    |   +-- MissingToken            401 Bearer (no error code: the request had no bearer token)
    |   +-- InvalidDpopProof        401 DPoP error="invalid_dpop_proof" (RFC 9449 7.1)
    |   +-- UseDpopNonce            401 DPoP error="use_dpop_nonce", with DPoP-Nonce (9)
    +-- InsufficientScope           403 Bearer error="insufficient_scope", scope="..."
    +-- InsufficientUserAuthentication
    |                               401 Bearer error="insufficient_user_authentication",
    |                               acr_values="...", max_age=N (RFC 9470 3)
    (each 401 and 403 also names the API's RFC 9728 metadata: resource_metadata="...")
    +-- AuthorizerUnavailable       503: the keys or the grant store could not be read

`detail` carries the real cause for the log only; the challenge never holds it. Only an
expired or revoked token is told so (`description`, RFC 6750 3): the caller then knows to
get a new token rather than to debug its request. Every other invalid token hears nothing more. An
unavailable authorizer is never an allow: API Gateway answers it with a 500.

An error about a DPoP-bound token, or a request that used the DPoP scheme, is answered with
the DPoP challenge instead (`scheme` "DPoP"): `DPoP error="...", algs="ES256 ..."` (RFC 9449
7.1), which tells the client which proof algorithms are accepted.

`Unauthorized` is not an answer of its own but API Gateway's contract: a Lambda authorizer
that fails with exactly the message "Unauthorized" gets the client a 401.
"""

from __future__ import annotations

from collections.abc import Iterable

# The proof algorithms accepted (chalicelib/tokens/dpop.py ALGORITHMS), for the challenge.
DPOP_ALGS = "ES256 RS256 PS256 EdDSA"


class AuthorizerError(Exception):
    status = 401
    error: str | None = None
    description: str | None = None  # said to the caller: fixed text, never the detail
    scheme = "Bearer"  # or "DPoP": see the module docstring

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.error or type(self).__name__)
        self.detail = detail or self.error or type(self).__name__

    def as_dpop(self) -> AuthorizerError:
        """This error, answered with the DPoP challenge."""
        self.scheme = "DPoP"
        return self

    def www_authenticate(self, resource_metadata: str | None = None) -> str:
        """The challenge; with `resource_metadata` (RFC 9728 5.1) the URL of the API's
        protected resource metadata, where a client finds the issuer of its tokens."""
        params = []
        if self.error:
            params.append(f'error="{self.error}"')
        if self.error and self.description:
            params.append(f'error_description="{self.description}"')
        params.extend(self._more())
        if self.scheme == "DPoP":
            params.append(f'algs="{DPOP_ALGS}"')
        if resource_metadata:
            params.append(f'resource_metadata="{resource_metadata}"')
        return f"{self.scheme} {', '.join(params)}" if params else self.scheme

    def _more(self) -> list[str]:
        return []

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


class InvalidDpopProof(InvalidToken):
    """The DPoP proof is missing, malformed, replayed or for another request (RFC 9449 7.1)."""

    error = "invalid_dpop_proof"
    scheme = "DPoP"


class UseDpopNonce(InvalidToken):
    """A valid proof without the server's current nonce (RFC 9449 9)."""

    error = "use_dpop_nonce"
    scheme = "DPoP"

    def __init__(self, nonce: str, detail: str = "") -> None:
        super().__init__(detail)
        self.nonce = nonce


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

    def _more(self) -> list[str]:
        return [f'scope="{" ".join(self.needed)}"'] if self.needed else []


class InsufficientUserAuthentication(AuthorizerError):
    """The token's scopes allow the route, but its sign-in was too weak or too long ago:
    the client gets a new token with a step-up (RFC 9470 3, SECURITY.md item 62)."""

    status = 401
    error = "insufficient_user_authentication"
    description = "a stronger or more recent sign-in is needed"

    def __init__(self, acr: str | None, max_age: int | None, detail: str = "") -> None:
        self.acr = acr
        self.max_age = max_age
        super().__init__(detail or f"needs acr {acr}, max_age {max_age}")

    def _more(self) -> list[str]:
        more = [] if self.acr is None else [f'acr_values="{self.acr}"']
        return more if self.max_age is None else [*more, f'max_age="{self.max_age}"']


class AuthorizerUnavailable(AuthorizerError):
    """The keys or the grant store could not be read: never an allow."""

    status = 503
    error = "temporarily_unavailable"

    def www_authenticate(self, resource_metadata: str | None = None) -> str:
        return "Bearer"


class Unauthorized(Exception):
    """Raised by a Lambda authorizer to make API Gateway answer 401 (UNAUTHORIZED)."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")
