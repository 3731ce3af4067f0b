"""UserInfo endpoint (OpenID Connect Core 5.3): claims about the signed-in user, by scope.

GET or POST, with the access token in the Authorization header (RFC 6750 2.1) or, for
POST, as the form parameter access_token (RFC 6750 2.2). A token is accepted only while its
grant is active and the token itself is not revoked (RFC 7009, `check_grant`), so revoking
consent, a refresh token or the access token at /revoke takes effect here at once.

DPoP (RFC 9449 7): `Authorization: DPoP <token>` with a `DPoP` proof for this request's
method and UserInfo's URL under the issuer; a DPoP-bound token sent as Bearer (or in the
form) is refused with the DPoP challenge (chalicelib/authorizer/dpop_binding.py). With
nonces on (TOLLGATE_DPOP_NONCE), a proof without the current nonce gets use_dpop_nonce and
a DPoP-Nonce header.
"""

from __future__ import annotations

from chalicelib.authorizer import dpop_binding
from chalicelib.authorizer.errors import (
    AuthorizerError,
    InsufficientScope,
    InvalidDpopProof,
    InvalidToken,
    UseDpopNonce,
)
from chalicelib.authorizer.gate import check_grant
from chalicelib.authorizer.in_process import keys_for
from chalicelib.authorizer.validate import Claims, verify
from chalicelib.deps import Deps
from chalicelib.endpoints import dpop_request
from chalicelib.errors import InvalidRequest, OAuthError
from chalicelib.http import cors
from chalicelib.http.message import FORM, HttpRequest, HttpResponse
from chalicelib.observability import audit
from chalicelib.protocol import claims
from chalicelib.protocol.params import Params

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


PATH = "/userinfo"


def _token(request: HttpRequest) -> tuple[str, str]:
    """(scheme, token): the Authorization header's, or Bearer for the form's."""
    header = request.header("authorization")
    if request.method == "POST" and request.content_type == FORM:
        try:
            form = Params(request.form())
            in_body = form.get("access_token")
        except OAuthError:
            raise InvalidToken("unreadable form") from None
        if in_body is not None:
            if header is not None:
                raise InvalidToken("token in both the header and the body")
            return dpop_binding.BEARER, in_body
    return dpop_binding.presented(header)


def handle(deps: Deps, request: HttpRequest) -> HttpResponse:
    origin = cors.ClientOrigin(request)
    return origin.apply(_userinfo(deps, request, origin))


def _userinfo(deps: Deps, request: HttpRequest, origin: cors.ClientOrigin) -> HttpResponse:
    try:
        scheme, token = _token(request)
        found = verify(
            token,
            keys_for(deps),
            issuer=deps.settings.issuer,
            # Only tokens that name UserInfo (every token granting openid does: README,
            # "Resource indicators and UserInfo"); an API's token is not for us.
            audience=deps.settings.userinfo_audience,
            now=deps.clock.now(),
        )
        if origin.origin is not None:
            # CORS: the token's client must own the calling page (chalicelib/http/cors.py).
            client = deps.clients.get(found.client_id)
            origin.check(found.client_id, client.redirect_uris if client else [])
        if "openid" not in found.scopes:
            raise InsufficientScope(["openid"], "token without the openid scope")
        check_grant(deps.store.grants, found)
        user = deps.store.users.get_by_sub(found.sub)
        if user is None or user.disabled:
            raise InvalidToken("the token's user is gone or disabled")
        _bound(deps, request, found, scheme, token)  # last: its jti is recorded
    except AuthorizerError as error:
        headers = dict(NO_STORE)
        headers["WWW-Authenticate"] = error.www_authenticate()
        if isinstance(error, UseDpopNonce):
            headers["DPoP-Nonce"] = error.nonce
        return HttpResponse.json(error.body(), status=error.status, headers=headers)
    except InvalidRequest as refused:
        return HttpResponse.json(refused.body(), status=refused.status, headers=NO_STORE)
    return HttpResponse.json(claims.released(user, list(found.scopes)), headers=NO_STORE)


def _bound(deps: Deps, request: HttpRequest, found: Claims, scheme: str, token: str) -> None:
    """The DPoP rules of RFC 9449 7 for this request (SECURITY.md 44, 45)."""
    now = deps.clock.now()
    nonces = dpop_request.nonces(deps)
    try:
        dpop_binding.check(
            found,
            scheme,
            token,
            request.header("dpop"),
            method=request.method,
            url=deps.settings.endpoint(PATH),
            now=now,
            guard=deps.store.dpop,
            nonce=(lambda nonce: nonces.accepts(nonce, now)) if nonces else None,
            current_nonce=(lambda: nonces.current(now)) if nonces else None,
        )
    except InvalidDpopProof as error:
        audit.dpop_refused(found.client_id, PATH, error.detail)
        raise
