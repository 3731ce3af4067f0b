"""Refresh token grant (RFC 6749 6, RFC 9700 4.14.2): every use rotates the token.

Strict by default (SECURITY.md item 28): a rotated token presented again is reuse, and the
whole grant is revoked. So is a voided successor: one exists only when a rotated token was
presented again, so two parties hold the chain. Only with TOLLGATE_REFRESH_GRACE > 0, and
only for a confidential client, a rotated token presented again within that many seconds,
while its successor was never used, is taken for a lost answer (a Lambda timeout, a dropped
connection): the successor is voided and a new one issued in its place. At any moment a
grant has one usable refresh token.

Each refresh re-reads what may have changed since the grant (issue 16): the user must still
be enabled (checked in the rotating transaction, SECURITY.md item 27), and the client's
current registration bounds what is issued: its scopes and resources now, and whether it
may still hold refresh tokens at all.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from chalicelib.deps import Deps
from chalicelib.errors import InvalidGrant, InvalidScope, UnauthorizedClient
from chalicelib.grants import tokens
from chalicelib.ids import digest, new_id, same
from chalicelib.observability import audit
from chalicelib.protocol import resource, scope
from chalicelib.protocol.params import Params
from chalicelib.stores.models import Client, RefreshToken
from chalicelib.stores.records import AccountDisabled, Gone, GrantRevoked, RefreshAlreadyUsed
from chalicelib.stores.scope_policies import SUBSET

MAX_TOKEN = 128
SUPERSEDED = "superseded:"


def _reuse(deps: Deps, record: RefreshToken) -> InvalidGrant:
    deps.store.grants.revoke(record.grant_id, deps.clock.now(), "refresh token reuse")
    audit.refresh_reuse_detected(record)
    return InvalidGrant(
        "invalid refresh token", f"refresh token reuse; grant {record.grant_id} revoked"
    )


def _revoked() -> InvalidGrant:
    return InvalidGrant("invalid refresh token", "grant revoked")


def _disabled() -> InvalidGrant:
    return InvalidGrant("invalid refresh token", "the user is disabled or gone")


def _in_grace(deps: Deps, client: Client, record: RefreshToken) -> bool:
    consumed_at = record.consumed_at or 0
    return (
        not client.is_public
        and deps.settings.refresh_grace > 0
        and record.successor_hash is not None
        and deps.clock.now() - consumed_at <= deps.settings.refresh_grace
    )


def _with_username(deps: Deps, record: RefreshToken) -> RefreshToken:
    """A token issued before tokens named their user: find the user by `sub` (one read)."""
    if record.username is not None:
        return record
    user = deps.store.users.get_by_sub(record.sub)
    if user is None or user.disabled:
        raise _disabled()
    return dataclasses.replace(record, username=user.username, stamp=user.stamp)


def _as_registered_now(deps: Deps, client: Client, record: RefreshToken) -> tokens.Authorization:
    """The token's authorization cut down to the client's current registration."""
    scopes = [s for s in record.scopes if s in client.scopes]
    if record.scopes and not scopes:
        raise InvalidGrant("invalid refresh token", "the client may no longer use these scopes")
    if not tokens.wants_refresh(client, scopes):
        raise UnauthorizedClient("this client may no longer use refresh tokens")
    resources = resource.Registry.of(deps, record.resources).kept(client, record.resources)
    if record.resources and not resources:
        # An empty list would mean the default audience: never widen to it.
        raise InvalidGrant("invalid refresh token", "the client may no longer use these resources")
    auth = tokens.Authorization.of(record)  # no nonce: OIDC Core 12.2
    return dataclasses.replace(auth, scopes=scopes, resources=resources)


def _check_used(deps: Deps, record: RefreshToken) -> None:
    """A voided successor is reuse. For a consumed token (reuse or the grace window) a
    revoked grant answers first, as it is never revoked again; an unused token's grant is
    checked by its rotation's transaction instead (no read, no window)."""
    if (record.consumed_by or "").startswith(SUPERSEDED):
        # Voided because its predecessor was presented again: two parties hold the chain.
        raise _reuse(deps, record)
    if record.consumed_by is not None:
        grant = deps.store.grants.get(record.grant_id)
        if grant is None or not grant.active:
            raise _revoked()


def _narrowed(client: Client, auth: tokens.Authorization, requested: list[str]) -> list[str]:
    """The scopes asked for, which may narrow but never widen the grant's (RFC 6749 6); a
    subset client gets what the grant holds of them (RFC 6749 3.3)."""
    if not requested or set(requested) <= set(auth.scopes):
        return requested
    wider = scope.render([s for s in requested if s not in auth.scopes])
    kept = [s for s in requested if s in auth.scopes]
    if client.scope_policy != SUBSET or not kept:
        raise InvalidScope(f"scope may narrow but never widen: {wider}", f"asked {requested}")
    return kept


def refresh(deps: Deps, client: Client, params: Params, jkt: str | None = None) -> dict[str, Any]:
    presented = params.require("refresh_token")
    if len(presented) > MAX_TOKEN:
        raise InvalidGrant("invalid refresh token", "oversized token")
    record = deps.store.refresh.get(digest(presented))
    if record is None:
        raise InvalidGrant("invalid refresh token", "unknown or expired refresh token")
    if not same(record.client_id, client.client_id):
        raise InvalidGrant("invalid refresh token", "refresh token of another client")
    if record.dpop_jkt is not None and (jkt is None or not same(jkt, record.dpop_jkt)):
        # RFC 9449 5: a public client's token works only with its key (SECURITY.md 46).
        raise InvalidGrant("invalid refresh token", "bound to another DPoP key")
    _check_used(deps, record)
    record = _with_username(deps, record)
    auth = _as_registered_now(deps, client, record)
    requested = _narrowed(client, auth, scope.parse(params.get("scope")))

    # The successor keeps the token's scopes (RFC 6749 6): narrowing is per access token.
    token, successor = tokens.new_refresh(deps, client, auth, record.dpop_jkt or jkt)
    now = deps.clock.now()
    consumer = new_id()
    # Sign first: a signer outage must leave the presented token unused for a retry.
    resources = tokens.target(params, auth.resources, deps.settings.audience)
    body = tokens.response(
        deps,
        client,
        auth,
        scopes=requested or auth.scopes,
        resources=resources,
        refresh_token=token,
        jkt=jkt,
    )
    try:
        if record.consumed_by is None:
            deps.store.refresh.rotate(record, consumer, now, successor)
        elif _in_grace(deps, client, record):
            deps.store.refresh.supersede(record, consumer, now, successor)
        else:
            raise _reuse(deps, record)
    except RefreshAlreadyUsed as used:
        # Lost a race, or the successor was used: retry once as a grace case, else reuse.
        current = deps.store.refresh.get(record.token_hash)
        if current is None or used.record.token_hash != record.token_hash:
            raise _reuse(deps, record) from None
        if not _in_grace(deps, client, current):
            raise _reuse(deps, current) from None
        try:
            deps.store.refresh.supersede(current, consumer, now, successor)
        except (RefreshAlreadyUsed, Gone):
            raise _reuse(deps, current) from None
    except Gone:
        raise InvalidGrant("invalid refresh token", "expired while rotating") from None
    except GrantRevoked:
        raise _revoked() from None
    except AccountDisabled:
        raise _disabled() from None
    audit.refresh_rotated(record)
    return body
