"""Routes: each one a thin call into its endpoint module."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.endpoints import (
    authorize,
    demo_callback,
    discovery,
    interaction,
    introspection,
    jwks,
    logout,
    revocation,
    token,
    userinfo,
)
from chalicelib.http import pages
from chalicelib.web.adapter import run

routes = Blueprint(__name__)

# Any content type reaches the endpoints, which answer a wrong one with an OAuth error
# rather than Chalice's own 415 body.
ANY = ["*/*"]


@routes.route("/authorize", methods=["GET", "POST"], content_types=ANY)
def authorization_endpoint() -> Response:
    return run(authorize.handle, routes.current_request, html=True)


@routes.route("/token", methods=["POST"], content_types=ANY)
def token_endpoint() -> Response:
    return run(token.handle, routes.current_request, html=False)


@routes.route("/revoke", methods=["POST"], content_types=ANY)
def revocation_endpoint() -> Response:
    return run(revocation.handle, routes.current_request, html=False)


@routes.route("/introspect", methods=["POST"], content_types=ANY)
def introspection_endpoint() -> Response:
    return run(introspection.handle, routes.current_request, html=False)


@routes.route("/interaction/{interaction_id}/login", methods=["GET", "POST"], content_types=ANY)
def login(interaction_id: str) -> Response:
    method = routes.current_request.method
    handler = interaction.login_get if method == "GET" else interaction.login_post
    return run(lambda d, r: handler(d, r, interaction_id), routes.current_request, html=True)


@routes.route("/interaction/{interaction_id}/consent", methods=["GET", "POST"], content_types=ANY)
def consent(interaction_id: str) -> Response:
    method = routes.current_request.method
    handler = interaction.consent_get if method == "GET" else interaction.consent_post
    return run(lambda d, r: handler(d, r, interaction_id), routes.current_request, html=True)


@routes.route("/userinfo", methods=["GET", "POST"], content_types=ANY)
def userinfo_endpoint() -> Response:
    return run(userinfo.handle, routes.current_request, html=False)


@routes.route("/logout", methods=["GET", "POST"], content_types=ANY)
def end_session_endpoint() -> Response:
    return run(logout.handle, routes.current_request, html=True)


@routes.route("/.well-known/oauth-authorization-server", methods=["GET"])
def oauth_metadata() -> Response:
    return run(discovery.oauth_metadata, routes.current_request, html=False)


@routes.route("/.well-known/openid-configuration", methods=["GET"])
def openid_configuration() -> Response:
    return run(discovery.openid_configuration, routes.current_request, html=False)


@routes.route("/jwks.json", methods=["GET"])
def jwks_endpoint() -> Response:
    return run(jwks.handle, routes.current_request, html=False)


@routes.route("/demo/callback", methods=["GET"])
def demo_callback_page() -> Response:
    return run(demo_callback.handle, routes.current_request, html=True)


@routes.route("/static/tollgate.css", methods=["GET"])
def stylesheet() -> Response:
    return Response(
        body=pages.stylesheet(),
        headers={
            "Content-Type": "text/css; charset=utf-8",
            "Cache-Control": "public, max-age=3600",
            "X-Content-Type-Options": "nosniff",
        },
    )
