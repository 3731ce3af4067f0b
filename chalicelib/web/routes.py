"""Routes: each one a thin call into its endpoint module.

Every route takes every method API Gateway can route and any content type, so Chalice
never answers with its own 405 (`MethodNotAllowedError`) or 415 (`UnsupportedMediaType`)
body: chalicelib/web/adapter.py `serve` gives a method the endpoint does not take
Tollgate's own 405, and OPTIONS the allowed methods (and a CORS preflight's answer where
chalicelib/http/cors.py allows one), all with the security headers (SECURITY.md item 41).
"""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.deps import Deps
from chalicelib.endpoints import (
    account,
    authorize,
    demo_api,
    demo_callback,
    discovery,
    interaction,
    introspection,
    jwks,
    logout,
    mfa,
    par,
    passkey,
    registration,
    revocation,
    token,
    userinfo,
)
from chalicelib.http import cors, pages
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.web.adapter import Endpoint, secured, serve

routes = Blueprint(__name__)

# Any content type reaches the endpoints, which answer a wrong one with an OAuth error
# rather than Chalice's own 415 body.
ANY = ["*/*"]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _api(endpoints: dict[str, Endpoint], policy: cors.Policy | None = None) -> Response:
    return serve(routes.current_request, endpoints, html=False, policy=policy)


def _page(endpoints: dict[str, Endpoint]) -> Response:
    return serve(routes.current_request, endpoints, html=True)


@routes.route("/authorize", methods=METHODS, content_types=ANY)
def authorization_endpoint() -> Response:
    return _page({"GET": authorize.handle, "POST": authorize.handle})


@routes.route("/token", methods=METHODS, content_types=ANY)
def token_endpoint() -> Response:
    return _api({"POST": token.handle}, cors.Policy.CLIENT)


@routes.route("/par", methods=METHODS, content_types=ANY)
def pushed_authorization_request_endpoint() -> Response:
    return _api({"POST": par.handle})


@routes.route("/revoke", methods=METHODS, content_types=ANY)
def revocation_endpoint() -> Response:
    return _api({"POST": revocation.handle}, cors.Policy.CLIENT)


@routes.route("/introspect", methods=METHODS, content_types=ANY)
def introspection_endpoint() -> Response:
    return _api({"POST": introspection.handle})


@routes.route("/interaction/{interaction_id}/login", methods=METHODS, content_types=ANY)
def login(interaction_id: str) -> Response:
    def get(d: Deps, r: HttpRequest) -> HttpResponse:
        return interaction.login_get(d, r, interaction_id)

    def post(d: Deps, r: HttpRequest) -> HttpResponse:
        return interaction.login_post(d, r, interaction_id)

    return _page({"GET": get, "POST": post})


@routes.route("/interaction/{interaction_id}/consent", methods=METHODS, content_types=ANY)
def consent(interaction_id: str) -> Response:
    def get(d: Deps, r: HttpRequest) -> HttpResponse:
        return interaction.consent_get(d, r, interaction_id)

    def post(d: Deps, r: HttpRequest) -> HttpResponse:
        return interaction.consent_post(d, r, interaction_id)

    return _page({"GET": get, "POST": post})


@routes.route("/interaction/{interaction_id}/mfa", methods=METHODS, content_types=ANY)
def second_step(interaction_id: str) -> Response:
    def get(d: Deps, r: HttpRequest) -> HttpResponse:
        return mfa.mfa_get(d, r, interaction_id)

    def post(d: Deps, r: HttpRequest) -> HttpResponse:
        return mfa.mfa_post(d, r, interaction_id)

    return _page({"GET": get, "POST": post})


@routes.route("/interaction/{interaction_id}/passkey", methods=METHODS, content_types=ANY)
def passkey_step(interaction_id: str) -> Response:
    def post(d: Deps, r: HttpRequest) -> HttpResponse:
        return passkey.passkey_post(d, r, interaction_id)

    return _page({"POST": post})


@routes.route("/account/security", methods=METHODS, content_types=ANY)
def security() -> Response:
    return _page({"GET": account.security_get, "POST": account.security_post})


@routes.route("/interaction/{interaction_id}/cancel", methods=METHODS, content_types=ANY)
def cancel(interaction_id: str) -> Response:
    def post(d: Deps, r: HttpRequest) -> HttpResponse:
        return interaction.cancel_post(d, r, interaction_id)

    return _page({"POST": post})  # leaving changes state: never a GET


@routes.route("/interaction/{interaction_id}/signout", methods=METHODS, content_types=ANY)
def signout(interaction_id: str) -> Response:
    def post(d: Deps, r: HttpRequest) -> HttpResponse:
        return interaction.signout_post(d, r, interaction_id)

    return _page({"POST": post})


@routes.route("/register", methods=METHODS, content_types=ANY)
def registration_endpoint() -> Response:
    return _api({"POST": registration.register}, cors.Policy.CLIENT)


@routes.route("/register/{client_id}", methods=METHODS, content_types=ANY)
def client_configuration_endpoint(client_id: str) -> Response:
    def manage(d: Deps, r: HttpRequest) -> HttpResponse:
        return registration.manage(d, r, client_id)

    return _api({"GET": manage, "PUT": manage, "DELETE": manage}, cors.Policy.CLIENT)


@routes.route("/userinfo", methods=METHODS, content_types=ANY)
def userinfo_endpoint() -> Response:
    return _api({"GET": userinfo.handle, "POST": userinfo.handle}, cors.Policy.CLIENT)


@routes.route("/logout", methods=METHODS, content_types=ANY)
def end_session_endpoint() -> Response:
    return _page({"GET": logout.handle, "POST": logout.handle})


@routes.route("/.well-known/oauth-authorization-server", methods=METHODS, content_types=ANY)
def oauth_metadata() -> Response:
    return _api({"GET": discovery.oauth_metadata}, cors.Policy.PUBLIC)


@routes.route("/.well-known/openid-configuration", methods=METHODS, content_types=ANY)
def openid_configuration() -> Response:
    return _api({"GET": discovery.openid_configuration}, cors.Policy.PUBLIC)


@routes.route("/.well-known/oauth-protected-resource", methods=METHODS, content_types=ANY)
def protected_resource() -> Response:
    """RFC 9728 metadata of the demo API (chalicelib/web/protected.py)."""
    return _api({"GET": demo_api.protected_resource}, cors.Policy.PUBLIC)


@routes.route("/jwks.json", methods=METHODS, content_types=ANY)
def jwks_endpoint() -> Response:
    return _api({"GET": jwks.handle}, cors.Policy.PUBLIC)


@routes.route("/demo/callback", methods=METHODS, content_types=ANY)
def demo_callback_page() -> Response:
    return _page({"GET": demo_callback.handle})


def _stylesheet() -> HttpResponse:
    headers = {"Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, max-age=3600"}
    return HttpResponse(200, headers, pages.stylesheet())


@routes.route("/static/tollgate.css", methods=METHODS, content_types=ANY)
def stylesheet() -> Response:
    if routes.current_request.method == "GET":
        # A file: no reason to build the settings, store and signer for it.
        return secured(_stylesheet())
    return _api({"GET": lambda _deps, _request: _stylesheet()})


def _script() -> HttpResponse:
    headers = {
        "Content-Type": "text/javascript; charset=utf-8",
        "Cache-Control": "public, max-age=3600",
    }
    return HttpResponse(200, headers, pages.script())


@routes.route("/static/passkey.js", methods=METHODS, content_types=ANY)
def script() -> Response:
    if routes.current_request.method == "GET":
        return secured(_script())
    return _api({"GET": lambda _deps, _request: _script()})
