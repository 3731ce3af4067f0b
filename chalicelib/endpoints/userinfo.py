"""UserInfo endpoint (OpenID Connect Core 5.3): claims about the signed-in user, by scope.

GET or POST, with the access token in the Authorization header (RFC 6750 2.1) or, for
POST, as the form parameter access_token (RFC 6750 2.2). A token is accepted only while its
grant is active and the token itself is not revoked (RFC 7009, `check_grant`), so revoking
consent, a refresh token or the access token at /revoke takes effect here at once.
"""

from __future__ import annotations

from chalicelib.authorizer.errors import AuthorizerError, InsufficientScope, InvalidToken
from chalicelib.authorizer.gate import check_grant
from chalicelib.authorizer.in_process import keys_for
from chalicelib.authorizer.validate import bearer_token, verify
from chalicelib.deps import Deps
from chalicelib.errors import InvalidRequest, OAuthError
from chalicelib.http import cors
from chalicelib.http.message import FORM, HttpRequest, HttpResponse
from chalicelib.protocol import claims
from chalicelib.protocol.params import Params

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _token(request: HttpRequest) -> str:
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
            return in_body
    return bearer_token(header)


def handle(deps: Deps, request: HttpRequest) -> HttpResponse:
    origin = cors.ClientOrigin(request)
    return origin.apply(_userinfo(deps, request, origin))


def _userinfo(deps: Deps, request: HttpRequest, origin: cors.ClientOrigin) -> HttpResponse:
    try:
        token = _token(request)
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
    except AuthorizerError as error:
        headers = dict(NO_STORE)
        headers["WWW-Authenticate"] = error.www_authenticate()
        return HttpResponse.json(error.body(), status=error.status, headers=headers)
    except InvalidRequest as refused:
        return HttpResponse.json(refused.body(), status=refused.status, headers=NO_STORE)
    return HttpResponse.json(claims.released(user, list(found.scopes)), headers=NO_STORE)
