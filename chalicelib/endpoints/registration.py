"""Dynamic Client Registration (RFC 7591) at POST /register, and its management protocol
(RFC 7592) at /register/<client_id>: GET reads, PUT replaces, DELETE removes, each with the
client's registration access token as a Bearer token.

Policy (TOLLGATE_REGISTRATION, SECURITY.md 50): "public" (the default) lets anyone register
a public client (token_endpoint_auth_method none: loopback, private-use scheme or https
redirect URIs, PKCE required like every client); any other client needs an initial access
token (`tollgate registration token create`). "open" also lets anyone register a client
with a secret that acts for users (MCP SDKs that register with client_secret_post), never a
client_credentials client. "token" needs one for every registration, "off" refuses them
all (and discovery does not advertise the endpoint).

Every registration is checked by the same rules as the command line's
(chalicelib/protocol/client_rules.py) after its metadata is read strictly
(chalicelib/protocol/client_metadata.py). Registration access tokens, initial access tokens
and client secrets are stored as SHA-256 hashes only (SECURITY.md 51). Registrations are
limited per source address, and a client never used is deleted after
TOLLGATE_REGISTRATION_UNUSED_TTL (SECURITY.md 53). Every registration, update, deletion
and refusal is an audit event.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from chalicelib import ids, json_input
from chalicelib.accounts import rate_limit
from chalicelib.deps import Deps
from chalicelib.endpoints import discovery
from chalicelib.errors import (
    AccessDenied,
    InvalidClientMetadata,
    InvalidRequest,
    InvalidToken,
    OAuthError,
    TemporarilyUnavailable,
    TooManyRequests,
)
from chalicelib.http import cors
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.observability import audit
from chalicelib.protocol import client_metadata, client_rules
from chalicelib.protocol.client_metadata import Metadata
from chalicelib.stores.models import DYNAMIC, Client
from chalicelib.stores.scope_policies import DYNAMIC_SCOPE_POLICY
from chalicelib.stores.table import ItemExists, StoreUnavailable

log = logging.getLogger("tollgate.registration")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_BODY = 16 * 1024
UNNAMED = "Unnamed application"
# RFC 7592 2.2: what the server issues; a client may not send them in an update.
SERVER_FIELDS = (
    "registration_access_token",
    "registration_client_uri",
    "client_secret_expires_at",
    "client_id_issued_at",
)


def register(deps: Deps, request: HttpRequest) -> HttpResponse:
    # CORS (chalicelib/http/cors.py): a page may register only a client whose redirect URIs
    # it owns, and manage only such a client.
    origin = cors.ClientOrigin(request)
    return origin.apply(_answer(lambda: _register(deps, request, origin)))


def manage(deps: Deps, request: HttpRequest, client_id: str) -> HttpResponse:
    origin = cors.ClientOrigin(request)
    return origin.apply(_answer(lambda: _manage(deps, request, client_id, origin)))


def known_scopes(deps: Deps) -> list[str]:
    """The scopes a registration may ask for: those the deployment offers (the stage's and
    those of its registered resources)."""
    return discovery.scopes_supported(deps)


# -- RFC 7591 ------------------------------------------------------------------------------


def _register(deps: Deps, request: HttpRequest, origin: cors.ClientOrigin) -> HttpResponse:
    if deps.settings.registration == "off":
        raise AccessDenied("dynamic client registration is off")
    wait = rate_limit.for_registration(deps, request.source_ip).failed()
    if wait is not None:
        raise TooManyRequests(wait, "registrations from this source")
    metadata = client_metadata.read(_body(request), known_scopes(deps))
    client_id = ids.new_id()
    origin.check(client_id, metadata.redirect_uris)
    now = deps.clock.now()
    client = _build(metadata, client_id, now)
    _check(client)
    client.initial_token_hash = _admit(deps, request, metadata, client_id)
    client.registered_with_token = client.initial_token_hash is not None
    secret = _new_secret(client)
    token = ids.new_secret()
    client.registration_token_hash = ids.digest(token)
    client.unused_expires_at = now + deps.settings.registration_unused_ttl
    try:
        deps.store.clients.create(client)
    except ItemExists:  # a random 128-bit id taken: never, but never a silent overwrite
        raise TemporarilyUnavailable("try again", "new client id taken") from None
    audit.registration(
        "created",
        client_id,
        auth_method=client.auth_method,
        initial_token=client.registered_with_token,
    )
    body = _document(deps, client)
    body["registration_access_token"] = token
    if secret is not None:
        body["client_secret"] = secret
    return HttpResponse.json(body, status=201)


def _admit(deps: Deps, request: HttpRequest, metadata: Metadata, client_id: str) -> str | None:
    """The hash of the initial access token that admitted the registration (None: open
    registration); InvalidToken when one is needed and missing, or presented and not valid."""
    presented = _bearer(request)
    if presented is None:
        if is_open(deps.settings.registration, metadata):
            return None
        raise InvalidToken(
            "an initial access token is required for this registration",
            f"closed registration ({deps.settings.registration}, {metadata.auth_method})",
        )
    token_hash = ids.digest(presented)
    if not deps.store.registration_tokens.use(token_hash, client_id):
        raise InvalidToken("the initial access token is not valid")
    return token_hash


def _still_admitted(deps: Deps, client: Client) -> bool:
    """Whether the initial access token that admitted the client is still valid: its trust
    ends with it (revoked or expired), and updates then stay within open registration."""
    token_hash = client.initial_token_hash
    return token_hash is not None and deps.store.registration_tokens.get(token_hash) is not None


def is_open(mode: str, metadata: Metadata) -> bool:
    """Whether the policy admits this registration without an initial access token:
    "public" a public client; "open" any client that acts for a user (a secret adds
    nothing a user's consent does not already gate), never a client_credentials client,
    whose tokens need no user at all."""
    if mode == "public":
        return metadata.auth_method == "none"
    return mode == "open" and "client_credentials" not in metadata.grant_types


def _build(metadata: Metadata, client_id: str, now: int) -> Client:
    return Client(
        client_id=client_id,
        created_at=now,
        origin=DYNAMIC,
        scope_policy=DYNAMIC_SCOPE_POLICY,
        **_build_fields(metadata),
    )


def _build_fields(metadata: Metadata) -> dict[str, Any]:
    """The Client fields that registered metadata sets (RFC 7591 2), by Client's names."""
    return {
        "name": metadata.name or UNNAMED,
        "client_type": client_rules.type_of(metadata.auth_method),
        "auth_method": metadata.auth_method,
        "redirect_uris": metadata.redirect_uris,
        "grant_types": metadata.grant_types,
        "scopes": metadata.scopes,
        "id_token_signed_response_alg": metadata.id_token_alg,
        "post_logout_redirect_uris": metadata.post_logout_redirect_uris,
        "jwks": metadata.jwks,
        "metadata": metadata.information,
        "dpop_bound_access_tokens": metadata.dpop_bound,
    }


def _updated(client: Client, metadata: Metadata) -> Client:
    """The client with its RFC 7591 metadata replaced (RFC 7592 2.2) and everything else kept:
    the secret, the registration token, and what the operator set (`tollgate client update`:
    MFA, PAR, profile, resources, scope policy, introspection, PKCE), which a client must not
    undo by re-sending its metadata. Sender-constraining only goes up: a client may ask for
    DPoP-bound tokens, never stop a requirement already on its record."""
    built = _build_fields(metadata)
    built["dpop_bound_access_tokens"] = metadata.dpop_bound or client.dpop_bound_access_tokens
    return dataclasses.replace(client, **built)


def _check(client: Client) -> None:
    try:
        client_rules.check(client)
    except client_rules.ClientRuleError as error:
        raise InvalidClientMetadata(str(error)) from None


def _new_secret(client: Client) -> str | None:
    """A secret for a client that authenticates with one and has none (shown once); a
    client that no longer uses one loses its hash."""
    if client.auth_method not in client_rules.SECRET_METHODS:
        client.secret_hash = None
        return None
    if client.secret_hash is not None:
        return None
    secret = ids.new_secret()
    client.secret_hash = ids.digest(secret)
    return secret


def _document(deps: Deps, client: Client) -> dict[str, Any]:
    """The client's metadata as registered (RFC 7591 3.2.1), without any secret."""
    body: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": client.created_at,
        "client_name": client.name,
        "token_endpoint_auth_method": client.auth_method,
        "redirect_uris": list(client.redirect_uris),
        "grant_types": list(client.grant_types),
        "response_types": ["code"] if "authorization_code" in client.grant_types else [],
        "scope": " ".join(client.scopes),
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "dpop_bound_access_tokens": client.dpop_bound_access_tokens,
        "registration_client_uri": deps.settings.endpoint(f"/register/{client.client_id}"),
        **client.metadata,
    }
    if client.post_logout_redirect_uris:
        body["post_logout_redirect_uris"] = list(client.post_logout_redirect_uris)
    if client.jwks is not None:
        body["jwks"] = client.jwks
    if client.secret_hash is not None:
        body["client_secret_expires_at"] = 0  # RFC 7591 3.2.1: it does not expire
    return body


# -- RFC 7592 ------------------------------------------------------------------------------


def _manage(
    deps: Deps, request: HttpRequest, client_id: str, origin: cors.ClientOrigin
) -> HttpResponse:
    client = _authorized(deps, request, client_id)
    origin.check(client.client_id, client.redirect_uris)
    if request.method == "GET":
        return HttpResponse.json(_document(deps, client))
    if request.method == "DELETE":
        deps.store.clients.delete(client.client_id)
        deps.clients.reload(client.client_id)
        audit.registration("deleted", client.client_id)
        return HttpResponse(204, {})
    return _update(deps, request, client)


def _authorized(deps: Deps, request: HttpRequest, client_id: str) -> Client:
    """The dynamic client whose registration access token the request presents. Every
    failure is the same 401 (RFC 7592 3): no way to tell an unknown client from a bad token."""
    presented = _bearer(request)
    client = deps.store.clients.get(client_id) if ids.is_client_id(client_id) else None
    if (
        presented is None
        or client is None
        or client.registration_token_hash is None
        or not ids.same(ids.digest(presented), client.registration_token_hash)
    ):
        raise InvalidToken("the registration access token is not valid", f"client {client_id!r}")
    return client


def _update(deps: Deps, request: HttpRequest, client: Client) -> HttpResponse:
    doc = _body(request)
    if doc.get("client_id") != client.client_id:
        raise InvalidRequest("client_id must be the client's own")
    for name in SERVER_FIELDS:
        if name in doc:
            raise InvalidRequest(f"{name} is issued by the server and must not be sent")
    sent = doc.get("client_secret")
    if sent is not None and (
        not isinstance(sent, str)
        or client.secret_hash is None
        or not ids.same(ids.digest(sent), client.secret_hash)
    ):
        raise InvalidRequest("client_secret must be the client's current secret")
    metadata = client_metadata.read(doc, known_scopes(deps))
    if not is_open(deps.settings.registration, metadata) and not _still_admitted(deps, client):
        # What open registration admitted stays within it: anything more needs a token.
        raise InvalidClientMetadata(
            "beyond open registration, an update needs the client's initial access token to be"
            " still valid (a client registered openly stays within open registration)"
        )
    updated = _updated(client, metadata)
    _check(updated)
    secret = _new_secret(updated)
    deps.store.clients.save(updated)
    deps.clients.reload(updated.client_id)
    audit.registration("updated", updated.client_id, auth_method=updated.auth_method)
    body = _document(deps, updated)
    if secret is not None:
        body["client_secret"] = secret
    return HttpResponse.json(body)


# -- the request and the answer ----------------------------------------------------------


def _body(request: HttpRequest) -> dict[str, Any]:
    content_type = request.header("content-type") or ""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise InvalidRequest("the body must be application/json")
    if len(request.body) > MAX_BODY:
        raise InvalidRequest("request body too large", f"{len(request.body)} bytes")
    try:
        return json_input.loads_object(request.body)
    except json_input.JsonInputError as error:
        raise InvalidClientMetadata("the body must be one JSON object", str(error)) from None


def _bearer(request: HttpRequest) -> str | None:
    header = request.header("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 512:
        raise InvalidToken("send the token as Authorization: Bearer <token>")
    return token.strip()


def _answer(work: Callable[[], HttpResponse]) -> HttpResponse:
    try:
        try:
            response = work()
        except StoreUnavailable as down:
            raise TemporarilyUnavailable("try again shortly", str(down)) from down
    except OAuthError as error:
        log.info("registration refused: %s (%s)", error.error, error.detail)
        audit.registration("refused", None, refused=f"{error.error}: {error.detail}"[:200])
        headers = dict(NO_STORE)
        if isinstance(error, InvalidToken):
            headers["WWW-Authenticate"] = (
                f'Bearer error="invalid_token", error_description="{error.description}"'
            )
        if isinstance(error, TooManyRequests):
            headers["Retry-After"] = str(error.retry_after)
        elif error.status == 503:
            headers["Retry-After"] = str(TemporarilyUnavailable.retry_after)
        return HttpResponse.json(error.body(), status=error.status, headers=headers)
    response.headers.update(NO_STORE)
    return response
