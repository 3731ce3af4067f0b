"""Authorization code grant at the token endpoint (RFC 6749 4.1.3, RFC 7636 4.6, RFC 9700 4.2.4).

The code is read, checked against the client, redirect URI and PKCE verifier, then consumed
together with creating its grant and storing its refresh token, in one transaction that
also requires the user to be enabled (SECURITY.md items 27 and 35).

A code presented again by its own client after it was consumed is reuse: the grant it
created is revoked with everything issued under it. The client is checked first: a public
client authenticates with its id alone, so a consumed code that leaked to another client
must not let that client revoke the victim's grant. The consuming write carries this
request's own id, so a DynamoDB retry of our own committed write is not mistaken for reuse.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from chalicelib.deps import Deps
from chalicelib.errors import InvalidGrant
from chalicelib.grants import tokens
from chalicelib.ids import digest, new_id, same
from chalicelib.observability import audit
from chalicelib.protocol import pkce
from chalicelib.protocol.params import Params
from chalicelib.stores.models import AuthorizationCode, Client
from chalicelib.stores.records import AccountDisabled, AlreadyUsed, Gone

MAX_CODE = 128


def _reused(deps: Deps, code: AuthorizationCode) -> InvalidGrant:
    deps.store.grants.revoke(code.grant_id, deps.clock.now(), "code reuse")
    audit.code_replayed(code)
    return InvalidGrant("invalid authorization code", f"code reuse; grant {code.grant_id} revoked")


def _disabled() -> InvalidGrant:
    return InvalidGrant("invalid authorization code", "the user is disabled or gone")


def _with_username(deps: Deps, record: AuthorizationCode) -> AuthorizationCode:
    """A code issued before codes named their user: find the user by `sub` (one read)."""
    if record.username is not None:
        return record
    user = deps.store.users.get_by_sub(record.sub)
    if user is None or user.disabled:
        raise _disabled()
    return dataclasses.replace(record, username=user.username, stamp=user.stamp)


def exchange(deps: Deps, client: Client, params: Params, jkt: str | None = None) -> dict[str, Any]:
    code = params.require("code")
    if len(code) > MAX_CODE:
        raise InvalidGrant("invalid authorization code", "oversized code")
    record = deps.store.codes.get(digest(code))
    if record is None:
        raise InvalidGrant("invalid authorization code", "unknown or expired code")
    if not same(record.client_id, client.client_id):
        # Before the reuse check: another client's code revokes nothing (issue 16).
        raise InvalidGrant("invalid authorization code", "code issued to another client")
    if record.consumed_by is not None:
        raise _reused(deps, record)
    redirect = params.get("redirect_uri")
    if record.redirect_uri and redirect != record.redirect_uri:
        raise InvalidGrant("redirect_uri does not match", "redirect_uri mismatch")
    pkce.verify(record.code_challenge, params.get("code_verifier"))
    if record.dpop_jkt is not None and (jkt is None or not same(jkt, record.dpop_jkt)):
        # RFC 9449 10: dpop_jkt at /authorize; the code is not consumed (SECURITY.md 47).
        raise InvalidGrant("the code is bound to another DPoP key", "dpop_jkt mismatch")
    record = _with_username(deps, record)

    auth = tokens.Authorization.of(record, nonce=record.nonce)
    refresh_token, refresh = (
        tokens.new_refresh(deps, client, auth, jkt)
        if tokens.wants_refresh(client, record.scopes)
        else (None, None)
    )
    # Sign first: a signer outage (KMS throttled) must leave the code unused for a retry.
    resources = tokens.target(params, record.resources, deps.settings.audience)
    body = tokens.response(
        deps, client, auth, resources=resources, refresh_token=refresh_token, jkt=jkt
    )
    try:
        deps.store.codes.redeem(record, new_id(), refresh, deps.clock.now())
    except AlreadyUsed as used:
        raise _reused(deps, used.record) from None
    except Gone:
        raise InvalidGrant("invalid authorization code", "code expired while redeeming") from None
    except AccountDisabled:
        raise _disabled() from None
    audit.code_redeemed(record)
    return body
