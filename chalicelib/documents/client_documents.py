"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): an https
URL used as client_id names a JSON document with the client's metadata. Tollgate fetches
it (chalicelib/documents/fetch.py, SECURITY.md 52) when /authorize or /token first meets
the URL, and reads it like a dynamic registration (chalicelib/protocol/client_metadata.py
and client_rules.py) with the draft's own rules: its `client_id` is exactly the URL, it
holds no client secret, and the client is public (token_endpoint_auth_method none;
private_key_jwt with jwks_uri is not supported).

Cache: the client read from a document is kept in the table (CIMD#<sha256(url)>) for the
document's Cache-Control max-age bounded by TOLLGATE_DOCUMENT_CACHE_MIN and _MAX, and in
the container's client cache (at most MAX_ENTRIES clients) for TOLLGATE_CLIENT_CACHE_TTL.
Fetches are limited per source address (SECURITY.md 53); a refused document is not cached,
so a fixed document works at its next use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chalicelib import json_input
from chalicelib.documents import fetch
from chalicelib.errors import OAuthError
from chalicelib.observability import audit, logs
from chalicelib.protocol import client_metadata, client_rules
from chalicelib.stores.models import METADATA_DOCUMENT, PUBLIC, Client
from chalicelib.stores.scope_policies import DYNAMIC_SCOPE_POLICY

if TYPE_CHECKING:
    from chalicelib.deps import Deps

log = logging.getLogger("tollgate.documents")
FORBIDDEN = ("client_secret", "client_secret_expires_at")  # the draft, section 4.1


def is_document_url(client_id: str) -> bool:
    """A client_id the draft allows as a document URL: https, a host and a path, no
    fragment, no user or password, no dot segments."""
    if not client_id.startswith("https://"):
        return False
    try:
        parts = urlsplit(client_id)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        return False
    segments = parts.path.split("/")
    return (
        bool(parts.hostname)
        and parts.path not in {"", "/"}
        and "#" not in client_id
        and "@" not in parts.netloc
        and "." not in segments
        and ".." not in segments
    )


class DocumentRefused(Exception):
    """The document cannot be used as a client; the message says why."""


def read(url: str, body: bytes, known_scopes: list[str], now: int) -> Client:
    """The client `body` (the document at `url`) describes; DocumentRefused if none."""
    try:
        doc = json_input.loads_object(body)
    except json_input.JsonInputError as error:
        raise DocumentRefused(f"not one JSON object: {error}") from None
    if doc.get("client_id") != url:
        raise DocumentRefused("its client_id is not the URL it was fetched from")
    for name in FORBIDDEN:
        if name in doc:
            raise DocumentRefused(f"a client metadata document must not contain {name}")
    doc.setdefault("token_endpoint_auth_method", "none")
    try:
        metadata = client_metadata.read(doc, known_scopes)
    except OAuthError as error:
        raise DocumentRefused(f"{error.error}: {error.description}") from None
    if metadata.auth_method != "none":
        raise DocumentRefused("only token_endpoint_auth_method none is supported")
    if not metadata.redirect_uris:
        raise DocumentRefused("redirect_uris is required")
    client = Client(
        client_id=url,
        name=metadata.name or (urlsplit(url).hostname or url),
        client_type=PUBLIC,
        auth_method="none",
        redirect_uris=metadata.redirect_uris,
        grant_types=metadata.grant_types,
        scopes=metadata.scopes,
        created_at=now,
        id_token_signed_response_alg=metadata.id_token_alg,
        post_logout_redirect_uris=metadata.post_logout_redirect_uris,
        origin=METADATA_DOCUMENT,
        scope_policy=DYNAMIC_SCOPE_POLICY,
        metadata=metadata.information,
    )
    try:
        client_rules.check(client)
    except client_rules.ClientRuleError as error:
        raise DocumentRefused(str(error)) from None
    return client


def resolver(deps: Deps) -> Callable[[str], Client | None]:
    """The client_cache's lookup for URL client ids (None: not a usable document)."""

    def resolve(client_id: str) -> Client | None:
        settings = deps.settings
        if not settings.metadata_documents or not is_document_url(client_id):
            return None
        cached = deps.store.client_documents.get(client_id)
        if cached is not None:
            return cached
        try:
            client, max_age = _fetch(deps, client_id)
        except DocumentRefused as refused:
            log.info("client metadata document refused: %s", refused)
            audit.document_fetched(client_id, refused=str(refused)[:200])
            return None
        low, high = settings.document_cache_min, settings.document_cache_max
        lifetime = min(max(max_age if max_age is not None else low, low), high)
        if lifetime > 0:
            deps.store.client_documents.put(client, deps.clock.now() + lifetime)
        audit.document_fetched(client_id)
        return client

    return resolve


def _fetch(deps: Deps, url: str) -> tuple[Client, int | None]:
    from chalicelib.accounts import rate_limit

    context = logs.current()
    source = context.source_ip if context and context.source_ip else ""
    wait = rate_limit.for_documents(deps, source).failed()
    if wait is not None:
        raise DocumentRefused(f"too many document fetches from this source; retry in {wait} s")
    s = deps.settings
    policy = fetch.Policy(
        max_bytes=s.document_max_bytes,
        timeout=s.document_timeout,
        ca_bundle=s.document_ca_bundle,
        allow_private=s.document_allow_private,
    )
    try:
        fetched = fetch.get(url, policy)
    except fetch.FetchRefused as error:
        raise DocumentRefused(str(error)) from None
    return read(url, fetched.body, list(s.scopes), deps.clock.now()), fetched.max_age
