"""The demo protected API (local and dev stages): who am I, and each user's notes.

    GET  /api/whoami   any valid access token: its sub, client_id and scopes
    GET  /api/notes    notes:read    the caller's newest notes
    POST /api/notes    notes:write   {"text": "..."} (at most 2000 characters)
    GET  /.well-known/oauth-protected-resource   its RFC 9728 metadata (no token)

Tollgate's built-in authorizer (chalicelib/web/protected.py) guards these routes with
ROUTE_POLICY; the handlers read the principal it put in the request context and never
see the token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib import json_input
from chalicelib.authorizer import metadata
from chalicelib.authorizer.policy import RoutePolicy
from chalicelib.deps import Deps
from chalicelib.errors import InvalidRequest
from chalicelib.http import cors
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.ids import new_id
from chalicelib.stores.notes import Note

ROUTE_POLICY = RoutePolicy.from_mapping(
    {
        "GET /api/whoami": [],
        "GET /api/notes": ["notes:read"],
        "POST /api/notes": ["notes:write"],
    }
)
MAX_TEXT = 2000
MAX_BODY = 16 * 1024
LIST_LIMIT = 100
NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class Principal:
    """Who called, as the authorizer's context says (flat strings)."""

    sub: str
    client_id: str
    scopes: tuple[str, ...]

    @classmethod
    def from_context(cls, context: Mapping[str, Any] | None) -> Principal | None:
        if not context:
            return None
        sub, client_id = context.get("sub"), context.get("client_id")
        scope = context.get("scope", "")
        if not (isinstance(sub, str) and sub and isinstance(client_id, str) and client_id):
            return None
        scopes = tuple(s for s in scope.split(" ") if s) if isinstance(scope, str) else ()
        return cls(sub, client_id, scopes)


Handler = Callable[[Deps, HttpRequest, Principal], HttpResponse]
Guarded = Callable[[Deps, HttpRequest, Principal | None], HttpResponse]


def demo_only(handler: Handler) -> Guarded:
    """Off in prod (404). No principal means no authorizer ran: refuse (401), never serve."""

    def guarded(deps: Deps, request: HttpRequest, principal: Principal | None) -> HttpResponse:
        if not deps.settings.demo_enabled:
            return HttpResponse.json({"error": "not_found"}, 404, NO_STORE)
        if principal is None:
            headers = {"WWW-Authenticate": "Bearer", **NO_STORE}
            return HttpResponse.json({"error": "unauthorized"}, 401, headers)
        return handler(deps, request, principal)

    return guarded


def resource_metadata_url(deps: Deps) -> str:
    """Inside the issuer's path: on API Gateway's own URL the stage is part of it."""
    return deps.settings.endpoint(metadata.WELL_KNOWN)


def protected_resource(deps: Deps, request: HttpRequest) -> HttpResponse:
    """RFC 9728: the demo API's audience, issuer and scopes, for clients that start here."""
    if not deps.settings.demo_enabled:
        return HttpResponse.json({"error": "not_found"}, 404, NO_STORE)
    s = deps.settings
    doc = metadata.document(s.audience, s.issuer, ROUTE_POLICY.scopes())
    return cors.public(HttpResponse.json(doc, headers={"Cache-Control": "public, max-age=300"}))


@demo_only
def whoami(deps: Deps, request: HttpRequest, caller: Principal) -> HttpResponse:
    body = {"sub": caller.sub, "client_id": caller.client_id, "scopes": list(caller.scopes)}
    return HttpResponse.json(body, headers=NO_STORE)


def _shown(note: Note) -> dict[str, Any]:
    return {"id": note.note_id, "text": note.text, "created_at": note.created_at}


def _not_a_user(caller: Principal) -> HttpResponse | None:
    """Notes belong to users. A client_credentials token's subject is the client itself
    (sub = client_id, RFC 9068 2.2; SECURITY.md item 37): it has no notes, even if its id
    were once registered equal to some user's sub."""
    if caller.sub != caller.client_id:
        return None
    body = {"error": "forbidden", "error_description": "notes belong to users, not clients"}
    return HttpResponse.json(body, 403, NO_STORE)


@demo_only
def list_notes(deps: Deps, request: HttpRequest, caller: Principal) -> HttpResponse:
    # A client reads its own notes, which are none: never a user's, even where a legacy
    # client id equals that user's sub. Writing is refused (below).
    if _not_a_user(caller) is not None:
        return HttpResponse.json({"notes": []}, headers=NO_STORE)
    notes = deps.store.notes.list_for(caller.sub, limit=LIST_LIMIT)
    return HttpResponse.json({"notes": [_shown(n) for n in notes]}, headers=NO_STORE)


def note_text(request: HttpRequest) -> str:
    """The body must be JSON {"text": str}, 1 to 2000 characters, nothing else."""
    if request.content_type != "application/json":
        raise InvalidRequest("Content-Type must be application/json")
    if len(request.body) > MAX_BODY:
        raise InvalidRequest("request body too large", f"{len(request.body)} bytes")
    try:
        # The strict reader: bounded nesting, valid Unicode only (a lone surrogate was a 503).
        doc = json_input.loads(request.body)
    except json_input.JsonInputError as error:
        raise InvalidRequest(f"the body is not acceptable JSON: {error}") from None
    if not isinstance(doc, dict) or set(doc) != {"text"}:
        raise InvalidRequest('the body must be {"text": "..."}')
    text = doc["text"]
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest("text must be a non-empty string")
    if len(text) > MAX_TEXT:
        raise InvalidRequest(f"text is longer than {MAX_TEXT} characters")
    return text


@demo_only
def create_note(deps: Deps, request: HttpRequest, caller: Principal) -> HttpResponse:
    refused = _not_a_user(caller)
    if refused is not None:
        return refused
    note = Note(new_id(), caller.sub, note_text(request), deps.clock.now())
    deps.store.notes.put(note)
    return HttpResponse.json(_shown(note), 201, NO_STORE)
