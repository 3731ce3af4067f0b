"""The demo clients' redirect URI (local and dev stages only): shows the code or error."""

from __future__ import annotations

from chalicelib.deps import Deps
from chalicelib.errors import PageError
from chalicelib.http import pages
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.protocol.params import Params

SHOWN = ("code", "state", "iss", "error", "error_description")


def handle(deps: Deps, request: HttpRequest) -> HttpResponse:
    if not deps.settings.demo_enabled:
        raise PageError("Not found", "There is no page at this address.", 404)
    params = Params(request.query)
    shown = {name: value for name in SHOWN if (value := params.get(name)) is not None}
    page = pages.demo_callback_page(settings=deps.settings, params=shown)
    return HttpResponse(200, {"Content-Type": "text/html; charset=utf-8"}, page)
