"""Chalice <-> plain request/response: the only place endpoints meet the framework.

Also where each request's log context begins and ends (chalicelib/observability/logs.py):
its ids, endpoint, status and latency, in one summary line that carries its metrics. Every
error page and every 5xx answer shows the request's reference, which its log lines carry.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextvars import Token

from chalice.app import Request, Response

from chalicelib import deps as wiring
from chalicelib.deps import Deps
from chalicelib.errors import InvalidRequest, OAuthError, PageError, TemporarilyUnavailable
from chalicelib.http import cors, headers, pages
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.observability import logs, metrics
from chalicelib.settings import Settings
from chalicelib.stores.table import StoreUnavailable

log = logging.getLogger("tollgate")
requests = logging.getLogger("tollgate.request")

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


def page(error: PageError, reference: str | None = None) -> HttpResponse:
    body = pages.error_page(
        settings=current_settings(),
        title=error.title,
        message=error.message,
        reference=reference,
        link=error.link,
    )
    return HttpResponse(error.status, {"Content-Type": "text/html; charset=utf-8"}, body)


def unavailable(html: bool, reference: str | None = None) -> HttpResponse:
    if html:
        body = pages.error_page(
            settings=current_settings(),
            title="Temporarily unavailable",
            message="Please try again in a moment.",
            reference=reference,
        )
        response = HttpResponse(503, {"Content-Type": "text/html; charset=utf-8"}, body)
    else:
        error = TemporarilyUnavailable("try again shortly")
        response = HttpResponse.json(error.body(), status=503)
    response.headers["Retry-After"] = "2"
    return response


def secured(response: HttpResponse) -> Response:
    return to_response(headers.secure(response))


def begin(request: Request) -> tuple[logs.RequestContext, Token[logs.RequestContext | None]]:
    """The request's log context: Lambda's and API Gateway's ids, its route, its source."""
    context = request.context or {}
    lambda_context = getattr(request, "lambda_context", None)
    return logs.begin(
        aws_request_id=getattr(lambda_context, "aws_request_id", None),
        api_request_id=context.get("requestId"),
        endpoint=context.get("resourcePath") or request.path,
        method=request.method,
        source_ip=context.get("identity", {}).get("sourceIp"),
    )


def with_reference(response: HttpResponse, reference: str) -> HttpResponse:
    """A JSON 5xx answer names the request's reference in its error_description."""
    if response.status < 500 or response.headers.get("Content-Type") != "application/json":
        return response
    try:
        body = json.loads(response.body)
    except ValueError:
        return response
    if isinstance(body, dict) and "error" in body:
        said = body.get("error_description")
        body["error_description"] = f"{said} (reference {reference})" if said else reference
        response.body = json.dumps(body, separators=(",", ":"))
    return response


def logged(request: Request, work: Callable[[str], HttpResponse]) -> Response:
    """Run `work` (given the request's reference) inside the request's log context, and end
    with the summary line: status, latency and the request's metrics."""
    logs.apply_level()
    context, token = begin(request)
    started = time.perf_counter()
    try:
        response = with_reference(work(context.reference), context.reference)
        latency = (time.perf_counter() - started) * 1000
        fields: dict[str, object] = {"status": response.status, "latency_ms": round(latency, 3)}
        fields.update(metrics.summary(context, response.status))
        summary = "%s %s %s"
        requests.info(
            summary, request.method, context.endpoint, response.status, extra={"fields": fields}
        )
        return secured(response)
    finally:
        logs.end(token)


def run(endpoint: Endpoint, request: Request, *, html: bool) -> Response:
    """Call an endpoint; map what escapes it to a clean answer, never a stack trace."""
    return logged(request, lambda reference: answer(endpoint, request, html, reference))


def answer(endpoint: Endpoint, request: Request, html: bool, reference: str) -> HttpResponse:
    plain = to_request(request)
    try:
        return endpoint(wiring.get(), plain)
    except PageError as error:
        log.info("error page %s: %s", error.status, error.detail)
        return page(error, reference)
    except OAuthError as error:
        log.info("oauth error %s: %s", error.error, error.detail)
        if html:
            # A person's page never answers JSON (an over-long form field, for example).
            return page(PageError("Invalid request", "This request could not be read."), reference)
        return HttpResponse.json(error.body(), status=error.status)
    except StoreUnavailable as error:
        log.warning("store unavailable: %s", error)
        return unavailable(html, reference)
    except Exception:
        log.exception("unhandled error on %s %s", plain.method, plain.path)
        if html:
            failed = PageError("Something went wrong", "Please try again later.", 500)
            return page(failed, reference)
        return HttpResponse.json({"error": "server_error"}, status=500)


def not_allowed(
    request: HttpRequest, allowed: list[str], html: bool, reference: str | None = None
) -> HttpResponse:
    """405 with `Allow` (RFC 9110 15.5.6): an error page for a person, OAuth JSON otherwise."""
    if request.method == "HEAD":
        response = HttpResponse(405, {"Content-Type": "text/plain; charset=utf-8"})
    elif html:
        message = "This address does not accept this kind of request."
        body = pages.error_page(
            settings=current_settings(), title="Not allowed", message=message, reference=reference
        )
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
        return logged(request, lambda _: cors.options(plain, methods, policy))
    allowed = sorted({*methods, "OPTIONS"})
    return logged(request, lambda reference: not_allowed(plain, allowed, html, reference))
