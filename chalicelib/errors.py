"""OAuth errors (RFC 6749 sections 4.1.2.1 and 5.2), one class per error code.

    OAuthError                      status, redirectable, public description
    +-- InvalidRequest              400 invalid_request
    +-- InvalidClient               401 invalid_client (never redirected)
    |   +-- TooManyAttempts         429 invalid_client (Retry-After): SECURITY.md item 18
    |   +-- TooManyRequests         429 invalid_request (Retry-After): SECURITY.md item 53
    +-- InvalidGrant                400 invalid_grant
    +-- UnauthorizedClient          400 unauthorized_client
    +-- UnsupportedGrantType        400 unsupported_grant_type
    +-- UnsupportedResponseType     400 unsupported_response_type
    +-- InvalidScope                400 invalid_scope
    +-- InvalidTarget               400 invalid_target (RFC 8707)
    +-- InvalidClientMetadata       400 invalid_client_metadata (RFC 7591 3.2.2)
    +-- InvalidRedirectUri          400 invalid_redirect_uri (RFC 7591 3.2.2)
    +-- InvalidToken                401 invalid_token (RFC 6750 3.1; RFC 7592 management)
    +-- AccessDenied                403 access_denied
    +-- LoginRequired               400 login_required (OIDC)
    +-- ConsentRequired             400 consent_required (OIDC)
    +-- InteractionRequired         400 interaction_required (OIDC)
    +-- RequestNotSupported         400 request_not_supported (OIDC)
    +-- RequestUriNotSupported      400 request_uri_not_supported (OIDC)
    +-- InvalidDpopProof            400 invalid_dpop_proof (RFC 9449 5)
    +-- UseDpopNonce                400 use_dpop_nonce (RFC 9449 8), with DPoP-Nonce
    +-- InvalidRequestUri           400 invalid_request_uri (RFC 9101, RFC 9126)
    +-- ServerError                 500 server_error
    +-- TemporarilyUnavailable      503 temporarily_unavailable (Retry-After)

    PageError                       an HTML error page that is never redirected: a bad
                                    client_id or redirect_uri, a bad interaction

The public `description` is short and generic and never holds CR, LF or TAB; `detail`
carries the real cause for the log only.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")  # RFC 6749 error_description charset


def clean_description(text: str) -> str:
    return _UNSAFE.sub(" ", text)[:200]


class OAuthError(Exception):
    error = "invalid_request"
    status = 400
    redirectable = True

    def __init__(self, description: str = "", detail: str = "") -> None:
        super().__init__(detail or description or self.error)
        self.description = clean_description(description)
        self.detail = detail or description

    def body(self) -> dict[str, str]:
        out = {"error": self.error}
        if self.description:
            out["error_description"] = self.description
        return out


class InvalidRequest(OAuthError):
    error = "invalid_request"


class TooManyRequests(InvalidRequest):
    """Refused unread: too many requests of this kind from this source address (dynamic
    registration; /par, RFC 9126 2.3). No RFC error code says so: invalid_request with 429
    and Retry-After."""

    status = 429

    def __init__(self, retry_after: int, detail: str = "") -> None:
        super().__init__("too many requests", detail)
        self.retry_after = retry_after


class InvalidClient(OAuthError):
    error = "invalid_client"
    status = 401
    redirectable = False


class TooManyAttempts(InvalidClient):
    """Client authentication refused unchecked: too many recent failures for this client or
    source address (chalicelib/accounts/rate_limit.py). RFC 6749 has no error code for
    this: the code stays invalid_client, the status is 429 with Retry-After (RFC 6585)."""

    status = 429

    def __init__(self, retry_after: int, detail: str = "") -> None:
        super().__init__("too many failed attempts", detail)
        self.retry_after = retry_after


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class InvalidTarget(OAuthError):
    error = "invalid_target"


class InvalidClientMetadata(OAuthError):
    error = "invalid_client_metadata"
    redirectable = False


class InvalidRedirectUri(OAuthError):
    error = "invalid_redirect_uri"
    redirectable = False


class InvalidToken(OAuthError):
    error = "invalid_token"
    status = 401
    redirectable = False


class AccessDenied(OAuthError):
    error = "access_denied"
    status = 403


class LoginRequired(OAuthError):
    error = "login_required"


class ConsentRequired(OAuthError):
    error = "consent_required"


class InteractionRequired(OAuthError):
    error = "interaction_required"


class RequestNotSupported(OAuthError):
    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    error = "request_uri_not_supported"


class InvalidDpopProof(OAuthError):
    error = "invalid_dpop_proof"


class UseDpopNonce(OAuthError):
    """The proof lacks the server's current nonce, which the answer's DPoP-Nonce carries."""

    error = "use_dpop_nonce"

    def __init__(self, nonce: str, detail: str = "") -> None:
        super().__init__("a DPoP nonce is required: use the DPoP-Nonce header's", detail)
        self.nonce = nonce


class InvalidRequestUri(OAuthError):
    error = "invalid_request_uri"


class ServerError(OAuthError):
    error = "server_error"
    status = 500


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status = 503
    retry_after = 2


class PageError(Exception):
    """An error shown to the person in the browser as an HTML page, never redirected."""

    def __init__(
        self,
        title: str,
        message: str,
        status: int = 400,
        detail: str = "",
        link: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(detail or message)
        self.title = title
        self.message = message
        self.status = status
        self.detail = detail or message
        # (label, URL): the one way on that the page offers, for example "Start again".
        self.link = link
