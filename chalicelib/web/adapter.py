"""Chalice <-> plain request/response: the only place endpoints meet the framework."""

from __future__ import annotations

import logging
from collections.abc import Callable

from chalice.app import Request, Response

from chalicelib import deps as wiring
from chalicelib.deps import Deps
from chalicelib.errors import InvalidRequest, OAuthError, PageError, TemporarilyUnavailable
from chalicelib.http import cors, headers, pages
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.settings import Settings
from chalicelib.stores.table import StoreUnavailable

log = logging.getLogger("tollgate")

Endpoint = Callable[[Deps, HttpRequest], HttpResponse]


def to_request(request: Request) -> HttpRequest:
    query: dict[str, list[str]] = {}
    if request.query_params:
        for name in request.query_params:
            query[name] = list(request.query_params.getlist(name))
    raw = request.raw_body if request.method in {"POST", "PUT", "PATCH"} else b""
    body = raw.encode("utf-8") if isinstance(raw, str) else (raw or b"")
    source = request.context.get("identity", {}).get("sourceIp", "") if request.context else ""
    return HttpRequest(
        method=request.method,
        path=request.path,
        query=query,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        source_ip=source,
    )


def to_response(response: HttpResponse) -> Response:
    out: dict[str, str | list[str]] = dict(response.headers)
    if response.cookies:
        out["Set-Cookie"] = list(response.cookies)
    return Response(body=response.body, headers=out, status_code=response.status)


def current_settings() -> Settings | None:
    """The settings for an error page's links; None when they cannot be loaded."""
    try:
        return wiring.get().settings
    except Exception:  # the page must still be answered (unstyled)
        return None


def page(error: PageError) -> HttpResponse:
    body = pages.error_page(settings=current_settings(), title=error.title, message=error.message)
    return HttpResponse(error.status, {"Content-Type": "text/html; charset=utf-8"}, body)


def unavailable(html: bool) -> HttpResponse:
    if html:
        body = pages.error_page(
            settings=current_settings(),
            title="Temporarily unavailable",
            message="Please try again in a moment.",
        )
        response = HttpResponse(503, {"Content-Type": "text/html; charset=utf-8"}, body)
    else:
        error = TemporarilyUnavailable("try again shortly")
        response = HttpResponse.json(error.body(), status=503)
    response.headers["Retry-After"] = "2"
    return response


def secured(response: HttpResponse) -> Response:
    return to_response(headers.secure(response))


def run(endpoint: Endpoint, request: Request, *, html: bool) -> Response:
    """Call an endpoint; map what escapes it to a clean answer, never a stack trace."""
    plain = to_request(request)
    try:
        response = endpoint(wiring.get(), plain)
    except PageError as error:
        log.info("error page %s: %s", error.status, error.detail)
        response = page(error)
    except OAuthError as error:
        log.info("oauth error %s: %s", error.error, error.detail)
        if html:
            # A person's page never answers JSON (an over-long form field, for example).
            response = page(PageError("Invalid request", "This request could not be read."))
        else:
            response = HttpResponse.json(error.body(), status=error.status)
    except StoreUnavailable as error:
        log.warning("store unavailable: %s", error)
        response = unavailable(html)
    except Exception:
        log.exception("unhandled error on %s %s", plain.method, plain.path)
        if html:
            response = page(PageError("Something went wrong", "Please try again later.", 500))
        else:
            response = HttpResponse.json({"error": "server_error"}, status=500)
    return secured(response)


def not_allowed(request: HttpRequest, allowed: list[str], html: bool) -> HttpResponse:
    """405 with `Allow` (RFC 9110 15.5.6): an error page for a person, OAuth JSON otherwise."""
    if request.method == "HEAD":
        response = HttpResponse(405, {"Content-Type": "text/plain; charset=utf-8"})
    elif html:
        message = "This address does not accept this kind of request."
        body = pages.error_page(settings=current_settings(), title="Not allowed", message=message)
        response = HttpResponse(405, {"Content-Type": "text/html; charset=utf-8"}, body)
    else:
        error = InvalidRequest("method not allowed", f"{request.method} {request.path}")
        response = HttpResponse.json(error.body(), status=405)
    response.headers["Allow"] = ", ".join(allowed)
    return response


def serve(
    request: Request,
    endpoints: dict[str, Endpoint],
    *,
    html: bool,
    policy: cors.Policy | None = None,
) -> Response:
    """Dispatch on the method: every method reaches the app (no framework 405 or 415), and
    what the endpoint does not take is answered by `refuse`."""
    endpoint = endpoints.get(request.method)
    if endpoint is not None:
        return run(endpoint, request, html=html)
    return refuse(request, sorted(endpoints), html=html, policy=policy)


def refuse(
    request: Request, methods: list[str], *, html: bool, policy: cors.Policy | None = None
) -> Response:
    """A method the route's endpoints do not take: OPTIONS gets the allowed methods (and a
    CORS preflight's answer where `policy` allows one), the rest 405; security headers on."""
    plain = to_request(request)
    if plain.method == "OPTIONS":
        return secured(cors.options(plain, methods, policy))
    return secured(not_allowed(plain, sorted({*methods, "OPTIONS"}), html))
