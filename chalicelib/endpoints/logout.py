"""RP-Initiated Logout 1.0: the end_session_endpoint.

With a valid `id_token_hint` naming the signed-in user, the session ends at once. Without
one, the person confirms with a POST that carries a CSRF token derived from the session
cookie, so a third-party page cannot sign anyone out. `post_logout_redirect_uri` must be
registered for the client exactly; otherwise no redirect happens.
"""

from __future__ import annotations

import hashlib
import hmac

from chalicelib.accounts import sessions
from chalicelib.deps import Deps
from chalicelib.endpoints.authorization_response import redirect_to_client
from chalicelib.errors import OAuthError, PageError
from chalicelib.http import cookies, headers, pages
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.ids import same
from chalicelib.observability import audit
from chalicelib.protocol.params import Params
from chalicelib.stores.models import Session
from chalicelib.tokens import id_token

FORWARDED = ("id_token_hint", "post_logout_redirect_uri", "state", "client_id")


def _csrf(session: Session) -> str:
    # The session's stored hash is secret to the browser holding the cookie (HttpOnly).
    key = session.sid_hash.encode("ascii")
    return hmac.new(key, b"tollgate-logout", hashlib.sha256).hexdigest()


def _params(request: HttpRequest) -> Params:
    try:
        raw = request.query if request.method == "GET" else request.form()
        params = Params(raw)
        params.reject_duplicates()
    except OAuthError as error:
        raise PageError("Invalid request", "This sign-out request is malformed.") from error
    return params


def _redirect_target(deps: Deps, params: Params, hint: dict[str, object] | None) -> str | None:
    uri = params.get("post_logout_redirect_uri")
    if uri is None:
        return None
    audience = hint.get("aud") if hint else None
    client_id = params.get("client_id") or (audience if isinstance(audience, str) else None)
    if hint is not None and params.get("client_id") and params.get("client_id") != audience:
        raise PageError("Invalid request", "The sign-out request names two different apps.")
    client = deps.clients.get(client_id) if client_id else None
    if client is None or uri not in client.post_logout_redirect_uris:
        raise PageError(
            "Invalid sign-out redirect",
            "The application asked to return to an address it has not registered.",
            detail=f"unregistered post_logout_redirect_uri {uri!r}",
        )
    return uri


def handle(deps: Deps, request: HttpRequest) -> HttpResponse:
    params = _params(request)
    raw_hint = params.get("id_token_hint")
    hint = id_token.read_hint(deps.signer, raw_hint, deps.settings.issuer) if raw_hint else None
    if raw_hint and hint is None:
        raise PageError("Invalid request", "The sign-out request carries an invalid ID token.")
    target = _redirect_target(deps, params, hint)
    found = sessions.current(deps, request)

    confirmed = request.method == "POST" and found is not None
    if confirmed and found is not None:
        csrf = params.get("csrf")
        if csrf is None or not same(csrf, _csrf(found[0])):
            raise PageError("This form has expired", "Reload the page and try again.", 403)
    hinted_user = found is not None and hint is not None and hint.get("sub") == found[1].sub
    if found is not None and not confirmed and not hinted_user:
        fields = {name: value for name in FORWARDED if (value := params.get(name)) is not None}
        page = pages.logout_page(
            settings=deps.settings,
            action=deps.settings.endpoint("/logout"),
            csrf=_csrf(found[0]),
            fields=fields,
        )
        response = HttpResponse(200, {"Content-Type": "text/html; charset=utf-8"}, page)
        return headers.secure(response, [target] if target else [])

    if confirmed and params.get("decision") == "cancel":
        return _cancelled(deps, params, target)
    if found is not None:
        deps.store.sessions.delete(found[0])
        audit.session_ended(found[0].sub, "signed out (RP-initiated logout)")
    if target is not None:
        state = params.get("state")
        response = redirect_to_client(target, {"state": state} if state else {})
    else:
        response = HttpResponse(
            200,
            {"Content-Type": "text/html; charset=utf-8"},
            pages.signed_out_page(settings=deps.settings),
        )
    response.cookies.append(cookies.clear_cookie(deps.settings, cookies.SESSION))
    return response


def _cancelled(deps: Deps, params: Params, target: str | None) -> HttpResponse:
    """Cancel on the confirmation: the session stays. The app that asked is sent back to,
    as oidc-provider does (it has ended its own session already); otherwise a page says so."""
    if target is not None:
        state = params.get("state")
        return redirect_to_client(target, {"state": state} if state else {})
    page = pages.still_signed_in_page(settings=deps.settings)
    return HttpResponse(200, {"Content-Type": "text/html; charset=utf-8"}, page)
