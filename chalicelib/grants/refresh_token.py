"""Refresh token grant (RFC 6749 6, RFC 9700 4.14.2): every use rotates the token.

A rotated token presented again is reuse, and the whole grant is revoked, unless it comes
within the grace window after its rotation and its successor was never used: then the
client most likely lost the answer (a Lambda timeout, a dropped connection), so the lost
successor is voided and a new one issued in its place. At any moment a grant has one
usable refresh token.
"""

from __future__ import annotations

from typing import Any

from chalicelib.deps import Deps
from chalicelib.errors import InvalidGrant, InvalidScope
from chalicelib.grants import tokens
from chalicelib.ids import digest, new_id, same
from chalicelib.protocol import scope
from chalicelib.protocol.params import Params
from chalicelib.stores.models import Client, RefreshToken
from chalicelib.stores.records import Gone, RefreshAlreadyUsed

MAX_TOKEN = 128
SUPERSEDED = "superseded:"


def _reuse(deps: Deps, record: RefreshToken) -> InvalidGrant:
    deps.store.grants.revoke(record.grant_id, deps.clock.now(), "refresh token reuse")
    return InvalidGrant(
        "invalid refresh token", f"refresh token reuse; grant {record.grant_id} revoked"
    )


def _in_grace(deps: Deps, record: RefreshToken) -> bool:
    consumed_at = record.consumed_at or 0
    return (
        record.successor_hash is not None
        and deps.clock.now() - consumed_at <= deps.settings.refresh_grace
    )


def refresh(deps: Deps, client: Client, params: Params) -> dict[str, Any]:
    presented = params.require("refresh_token")
    if len(presented) > MAX_TOKEN:
        raise InvalidGrant("invalid refresh token", "oversized token")
    record = deps.store.refresh.get(digest(presented))
    if record is None:
        raise InvalidGrant("invalid refresh token", "unknown or expired refresh token")
    if not same(record.client_id, client.client_id):
        raise InvalidGrant("invalid refresh token", "refresh token of another client")
    if (record.consumed_by or "").startswith(SUPERSEDED):
        # Voided by a grace-window retry: never usable, but no sign of theft either.
        raise InvalidGrant("invalid refresh token", "superseded refresh token")
    grant = deps.store.grants.get(record.grant_id)
    if grant is None or not grant.active:
        raise InvalidGrant("invalid refresh token", "grant revoked")
    requested = scope.parse(params.get("scope"))
    if requested and not set(requested) <= set(record.scopes):
        raise InvalidScope("scope may narrow but never widen", f"asked {requested}")

    auth = tokens.Authorization.of(record)  # no nonce: OIDC Core 12.2
    # The successor keeps the original scopes (RFC 6749 6): narrowing is per access token.
    token, successor = tokens.new_refresh(deps, client, auth)
    now = deps.clock.now()
    consumer = new_id()
    # Sign first: a signer outage must leave the presented token unused for a retry.
    resources = tokens.target(params, record.resources, deps.settings.audience)
    body = tokens.response(
        deps,
        client,
        auth,
        scopes=requested or record.scopes,
        resources=resources,
        refresh_token=token,
    )
    try:
        if record.consumed_by is None:
            deps.store.refresh.rotate(record, consumer, now, successor)
        elif _in_grace(deps, record):
            deps.store.refresh.supersede(record, consumer, now, successor)
        else:
            raise _reuse(deps, record)
    except RefreshAlreadyUsed as used:
        # Lost a race, or the successor was used: retry once as a grace case, else reuse.
        current = deps.store.refresh.get(record.token_hash)
        if current is None or used.record.token_hash != record.token_hash:
            raise _reuse(deps, record) from None
        if not _in_grace(deps, current):
            raise _reuse(deps, current) from None
        try:
            deps.store.refresh.supersede(current, consumer, now, successor)
        except (RefreshAlreadyUsed, Gone):
            raise _reuse(deps, current) from None
    except Gone:
        raise InvalidGrant("invalid refresh token", "expired while rotating") from None
    return body
